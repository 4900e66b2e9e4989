"""The report's "Bearing diagnosis" section: the ``diagnosis`` model kind
(:mod:`desktop.ml.inference.diagnosis`, the evidence of ``linewatch diagnose``) on the
report's channel — the location, the shaft speed and where it came from, and the table of
lines found per fault frequency (fault, harmonic order, Hz, SNR dB, present).

It is part of the report when the report's model is the diagnosis model
(``--model diagnosis``) or a machine profile is named (``--machine NAME``); the bearing
comes from the machine, else from ``--bearing``; the speed from ``--rpm``, the machine, the
file's RPM variable, or the spectrum.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from desktop.core.errors import LinewatchError


def wanted(model: str | None, machine: str | None) -> bool:
    """Whether the report gets a diagnosis section."""
    return bool(machine) or str(model or "").split(":", 1)[0] == "diagnosis"


def diagnosis_section(x: np.ndarray, fs: float, channel: str, metadata: dict[str, Any],
                      model: str | None, machine: str | None, bearing: str | None,
                      rpm: float | None, section: Any, table: Any) -> Any:
    """The section (``section``/``table``: the report's Section and Table classes, passed
    in so this module never imports the report). A diagnosis that cannot run (no bearing,
    a span too short) says why in the section."""
    from desktop.ml.inference.predictors import load_predictor

    sec = section("Bearing diagnosis")
    ref = str(model) if model and str(model).startswith("diagnosis") else "diagnosis"
    options: dict[str, Any] = {"channel": channel}
    if machine:
        options["machine"] = machine
    if bearing:
        options["bearing"] = bearing
    if rpm:
        options["rpm"] = rpm
    try:
        predictor = load_predictor(ref, options=options)
        predictor = predictor.with_metadata(metadata)
        verdicts = predictor.predict_signal(x, fs)
    except LinewatchError as exc:
        sec.paragraphs.append(f"No diagnosis: {exc}")
        return sec
    doc = getattr(predictor, "last_result", None) or {}
    rpm_text = "unknown" if doc.get("rpm") is None else f"{doc['rpm']:g} r/min"
    sec.paragraphs.append(
        f"Channel {channel}: location {str(doc.get('location', '?')).upper()}; shaft speed "
        f"{rpm_text} ({doc.get('rpm_source') or 'no source'}); bearing "
        f"{(doc.get('bearing') or {}).get('designation', '?')} "
        f"({predictor.info().get('bearing_source') or 'given'}).")
    if verdicts:
        counts: dict[str, int] = {}
        for v in verdicts:
            counts[v.location] = counts.get(v.location, 0) + 1
        sec.paragraphs.append(f"{len(verdicts)} windows of {predictor.window_s:g} s: " + ", ".join(
            f"{k} {n / len(verdicts):.0%}" for k, n in sorted(counts.items(),
                                                             key=lambda kv: -kv[1])) + ".")
    rows = []
    for f in doc.get("faults", []):
        for h in f.get("harmonics", []):
            snr = h.get("snr_db")
            rows.append([f["name"], f"{h['order']}x", f"{h['freq_hz']:.2f}",
                         "-" if snr is None else f"{snr:.1f}",
                         "yes" if f.get("present") else "no"])
    if rows:
        sec.tables.append(table(["fault", "order", "Hz", "SNR dB", "present"], rows,
                                "Lines searched in the envelope spectrum (the whole span); "
                                "a fault is present when its evidence passes the threshold "
                                "of docs/diagnosis.md."))
    for note in doc.get("notes", []):
        sec.paragraphs.append(f"Note: {note}")
    return sec
