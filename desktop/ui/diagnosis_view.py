"""How the Diagnosis dock draws an outcome: the verdict, its speed and span, the policy
line, and the stars on the Analysis dock's envelope spectrum.

- :class:`VerdictView`: the verdict in its location colour, one line with the shaft speed
  (and where it came from), the bearing, the span and the windows, and one line saying what
  the fault model said and how the verdict policy shows it.
- :class:`EvidenceStars`: the lines the evidence found, starred on the envelope spectrum
  (present faults only: a stray line of an absent fault is no evidence).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy

from desktop.ui.diagnosis_run import LOCATION_TEXT, DiagnosisOutcome, model_adapted
from desktop.ui.diagnosis_table import FAULT_COLOURS
from desktop.ui.verdict_lane import LOCATION_COLOURS

POLICY_TIP = ("Verdict policy: the envelope evidence (bearing fault frequencies with their "
              "harmonics above the local noise floor) is the judge. On a machine with a "
              "profile the fault model's location is shown only where the evidence agrees, "
              "or where the model was calibrated or fine-tuned for that machine; otherwise "
              "the evidence's verdict is shown and the model's answer is marked as a "
              "suggestion. A red alarm needs evidence.")
_PLAIN = "font-weight: bold; font-size: 13pt; padding: 4px;"


def _wrapping() -> QLabel:
    label = QLabel("")
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


class VerdictView:
    """The labels ``verdict``, ``speed`` and ``policy`` (laid out by the dock)."""

    def __init__(self) -> None:
        self.verdict = QLabel("—")
        self.verdict.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.verdict.setToolTip(POLICY_TIP)
        self.verdict.setStyleSheet(_PLAIN)
        self.speed = _wrapping()
        self.speed.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.policy = _wrapping()
        self.policy.setToolTip(POLICY_TIP)

    def show_nothing(self) -> None:
        self.verdict.setText("—")
        self.verdict.setStyleSheet(_PLAIN)
        self.speed.setText("")
        self.policy.setText("")

    def draw(self, outcome: DiagnosisOutcome, x_offset: float) -> None:
        """The verdict and its speed line (times shown relative to the plot's
        ``x_offset``, as the main plot shows them)."""
        v = outcome.overall
        loc = v.location
        colour = LOCATION_COLOURS.get(loc, "#546e7a")
        self.verdict.setText(LOCATION_TEXT.get(loc, loc).upper())
        self.verdict.setStyleSheet(f"background: {colour}; color: white; font-weight: bold;"
                                   " font-size: 13pt; padding: 4px;")
        if v.rpm is None:
            speed = "speed unknown: no 1X line found (choose a machine with its speed)"
        else:
            conf = "" if v.rpm_confidence in (None, 1.0) else \
                f", confidence {v.rpm_confidence:.2f}"
            speed = f"<b>{v.rpm:.0f} rpm</b> from {v.rpm_source}{conf}"
        machine = f"machine {outcome.machine}" if outcome.machine else "no machine"
        mains = f" · mains {v.mains_hz:g} Hz masked" if v.mains_hz else ""
        bearing_from = outcome.bearing_source or machine
        self.speed.setText(
            f"{speed} · bearing {outcome.geometry.designation} ({bearing_from}) · "
            f"{outcome.channel} {outcome.start_s - x_offset:.2f}–"
            f"{outcome.end_s - x_offset:.2f} s · {len(outcome.diagnosis.windows)} windows"
            f"{mains}")
        self.speed.setToolTip(outcome.geometry.source)

    def draw_policy(self, outcome: DiagnosisOutcome | None, lane: list[dict],
                    model_verdicts: list[dict], info: dict[str, object],
                    model_setting: str) -> None:
        """One line under the verdict: what the fault model said and how the policy shows
        it (``lane``: the rows of the verdict lane; ``model_verdicts``: the model's own)."""
        if outcome is None:
            self.policy.setText("")
            return
        model = str(info.get("name") or model_setting or "the fault model")
        rows = [v for v in lane if v.get("source")]
        agreed = sum(1 for v in rows if v["source"] == "model")
        suggested = [v["suggestion"] for v in rows if v.get("suggestion")]
        declined = sum(1 for v in rows if v.get("model_declined"))
        if not model_verdicts:
            text = "Evidence verdict (no fault-model verdicts for this span)."
        elif declined and not suggested:
            text = (f"Model {model} declined (unknown) in {declined} of {len(rows)} windows: "
                    "the lane shows the evidence.")
        elif not suggested:
            text = (f"Model {model} agrees with the evidence in all {agreed} windows."
                    if not model_adapted(info, outcome.machine) else
                    f"Model {model} was adapted to {outcome.machine}: its location is shown.")
        else:
            text = (f"Model {model} disagrees in {len(suggested)} of {len(rows)} windows "
                    f"(e.g. {suggested[0]}): shown as a <i>suggestion</i>, the lane shows "
                    "the evidence (hover it).")
        self.policy.setText(f"{text} <span style='color:#888'>(policy: evidence first)"
                            "</span>")


class EvidenceStars:
    """Stars on the Analysis dock's spectrum plot; ``splot()`` is that PlotItem (None:
    no Analysis dock)."""

    def __init__(self, splot: Callable[[], Any]) -> None:
        self._splot = splot
        self.items: list[pg.PlotDataItem] = []

    def clear(self) -> None:
        plot = self._splot()
        for item in self.items:
            if plot is not None:
                plot.removeItem(item)
        self.items = []

    def draw(self, outcome: DiagnosisOutcome | None, result: Any) -> None:
        """Star the lines ``outcome`` found on ``result`` (a SpanResult) when it is an
        envelope spectrum."""
        self.clear()
        plot = self._splot()
        if plot is None or outcome is None or result is None or result.image is not None \
                or result.request.mode != "envelope" or result.freqs_hz is None:
            return
        freqs, amp = result.freqs_hz, result.amplitude
        for f in outcome.overall.faults:
            if not f.present:
                continue  # a stray line of an absent fault is no evidence: no star
            found = [h for h in f.harmonics if h.found and h.freq_hz <= freqs[-1]]
            if not found:
                continue
            xs = np.array([h.freq_hz for h in found])
            idx = np.clip(np.searchsorted(freqs, xs), 0, freqs.size - 1)
            lo = np.clip(idx - 2, 0, freqs.size - 1)
            ys = np.array([float(np.max(amp[a:b + 3])) for a, b in zip(lo, idx, strict=True)])
            colour = FAULT_COLOURS.get(f.name, "#ffffff")
            item = pg.PlotDataItem(xs, ys * 1.08, pen=None, symbol="star", symbolSize=15,
                                   symbolBrush=pg.mkBrush(colour),
                                   symbolPen=pg.mkPen("#000000", width=0.5),
                                   name=f"{f.name} found")
            item.setZValue(10)
            item.setToolTip(f"{f.name}: lines found by the evidence "
                            f"({', '.join(f'{h.order}× {h.freq_hz:.1f} Hz' for h in found)})")
            plot.addItem(item)
            self.items.append(item)

    def names(self) -> list[str]:
        """The faults whose found lines are starred."""
        return [str(item.name()).split()[0] for item in self.items]
