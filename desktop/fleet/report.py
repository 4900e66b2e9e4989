"""One recording's condition report, as HTML (charts inline, one self-contained file) or PDF.

:func:`build_report` gathers what the desk tools know about a file — the signal per channel,
the amplitude and envelope spectra with bearing fault markers, the ISO 20816-3 severity
zones, a model's verdicts (class shares and timeline), and the labels engineers put on it —
into a :class:`Report` of sections (paragraphs, tables, matplotlib figures).
:func:`write_html` and :func:`write_pdf` render the same sections and the same charts; no
browser, no display. The signal processing is :mod:`desktop.analysis`; verdicts come from
:func:`desktop.ml.inference.batch.judge_file` (the same numbers as ``linewatch predict``)
or from a fleet's verdict table.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from desktop import __version__
from desktop.core.errors import InputError, LinewatchError, UsageError
from desktop.core.tasks import TaskState

REPORT_SUFFIXES = (".html", ".htm", ".pdf")
ZONE_MEANING = {
    "A": "newly commissioned machines",
    "B": "unrestricted long-term operation",
    "C": "restricted operation until a suitable opportunity for remedial action",
    "D": "severe enough to cause damage",
}


@dataclass
class ReportOptions:
    """What the report should include beyond the signal and its spectra."""

    model: str | None = None
    verdicts: Path | None = None  # a `predict --out` table to take this file's rows from
    channel: str | None = None
    rate: float | None = None
    bearing: str | None = None
    rpm: float | None = None
    group: int | None = None
    foundation: str | None = None
    unit: str | None = None
    block_s: float = 10.0
    store: Path | None = None  # label store (default: the user's)
    device: str | None = "auto"
    machine: str | None = None  # a machine profile: adds the bearing diagnosis section


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Any] = field(default_factory=list)  # matplotlib Figure
    captions: list[str] = field(default_factory=list)  # one per figure


@dataclass
class Report:
    title: str
    file: str
    facts: list[tuple[str, str]]
    sections: list[Section]


def _same_file(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()
    except OSError:
        return False


def _f(v: float, spec: str = ".4g") -> str:
    return "-" if v is None or not math.isfinite(v) else format(v, spec)


# ---------------------------------------------------------------------------- building
def build_report(file: str | Path, options: ReportOptions | None = None,
                 task: TaskState | None = None) -> Report:
    """Read ``file`` and compute every section (a long job: ``task`` reports progress).

    Raises :class:`InputError` (no rate, unknown channel, unknown bearing) or the reader's
    :class:`~desktop.core.errors.RecordingError`. A section that cannot be computed (no
    unit for severity, a model that fails) says why in the report instead.
    """
    from desktop.analysis.channels import pick_channel
    from desktop.recording.readers import read_recording

    options = options or ReportOptions()
    task = task or TaskState()
    path = Path(file).expanduser()
    task.report(0.0, f"reading {path.name}")
    rec = read_recording(path, options.rate)
    fs = rec.effective_rate()
    if not fs:
        raise InputError(f"{path} does not say its sample rate: give --rate HZ")
    names = [c.name for c in rec.channels]
    if rec.timestamps is not None and rec.samples:
        times = np.asarray(rec.timestamps, dtype=np.float64) - float(rec.timestamps[0])
    else:
        times = np.arange(rec.samples, dtype=np.float64) / fs

    task.report(0.1, "verdicts")
    verdict_section, judged_channel = _verdicts(str(path), options)
    if options.channel:
        idx = pick_channel(names, options.channel)[0]
    elif judged_channel in names:
        idx = names.index(judged_channel)
    else:
        idx = 0
    x = np.asarray(rec.values[:, idx], dtype=np.float64)
    finite = np.isfinite(x)
    x = x[finite] if not finite.all() else x
    unit = rec.channels[idx].unit

    task.report(0.4, "labels")
    labels_section, spans = _labels(str(path), options.store)
    task.report(0.5, "overview")
    overview = Section("Signal overview", [
        f"{len(names)} channel{'s' if len(names) != 1 else ''} at {fs:g} Hz, "
        f"{rec.duration_s:.3f} s ({rec.samples:,} samples)."])
    from desktop.fleet import charts

    overview.figures.append(charts.overview(times, rec.values, names,
                                            [c.unit for c in rec.channels], spans))
    overview.captions.append("Every channel over the whole recording; labelled spans shaded.")
    task.report(0.6, "spectra")
    spectra = _spectra(x, fs, names[idx], unit, options, rec.metadata, rec, idx)
    task.report(0.8, "severity")
    severity = _severity(x, fs, names[idx], options.unit or unit, options)
    from desktop.fleet import report_diagnosis as rd

    diagnosis = [rd.diagnosis_section(x, fs, names[idx], rec.metadata, options.model,
                                      options.machine, options.bearing, options.rpm,
                                      Section, Table)
                 ] if rd.wanted(options.model, options.machine) else []
    facts = [("file", str(path)), ("channels", ", ".join(
        f"{c.name} [{c.unit}]" if c.unit else c.name for c in rec.channels)),
        ("sample rate", f"{fs:g} Hz"), ("duration", f"{rec.duration_s:.3f} s"),
        ("analysed channel", names[idx])]
    if rec.start_time:
        facts.append(("started", rec.start_time))
    if rec.source:
        facts.append(("source", rec.source))
    facts.append(("report made", datetime.now(UTC).isoformat(timespec="seconds")
                  + f" by Linewatch {__version__}"))
    task.finish("report ready")
    return Report(f"Condition report: {path.name}", str(path), facts,
                  [overview, spectra, severity, *diagnosis, verdict_section,
                   labels_section])


def _rpm(options: ReportOptions, metadata: dict[str, Any], rec: Any = None, idx: int = 0
         ) -> tuple[float | None, str]:
    """``--rpm``, else the speed the recording stores (a file variable or a speed channel:
    :func:`desktop.diagnosis.stored_speed.recording_rpm`, as ``spectrum`` reads it)."""
    if options.rpm:
        return float(options.rpm), "--rpm"
    from desktop.diagnosis.stored_speed import file_rpm, recording_rpm

    found = (recording_rpm(metadata, rec.channels, rec.values, idx) if rec is not None
             else file_rpm(metadata))
    return found if found is not None else (None, "")


def _spectra(x: np.ndarray, fs: float, name: str, unit: str, options: ReportOptions,
             metadata: dict[str, Any], rec: Any = None,
             idx: int = 0) -> Section:
    from desktop.analysis.bearings import Marker, fault_frequencies, fault_markers, find_preset
    from desktop.analysis.envelope import envelope_spectrum
    from desktop.analysis.errors import AnalysisError
    from desktop.analysis.spectrum import amplitude_spectrum, find_spectral_peaks
    from desktop.fleet import charts

    sec = Section(f"Spectra of {name}")
    geometry = find_preset(options.bearing) if options.bearing else None
    rpm, rpm_source = _rpm(options, metadata, rec, idx)
    faults = fault_frequencies(geometry, rpm) if geometry and rpm else None
    try:
        spec = amplitude_spectrum(x, fs)
        min_bw = min(4 * faults.bpfi if faults else 1000.0, fs / 8)
        env = envelope_spectrum(x, fs, min_bandwidth_hz=min_bw)
    except AnalysisError as exc:
        sec.paragraphs.append(f"No spectra: {exc}")
        return sec
    band = env.band.band_hz
    env_fmax = min(band[1] - band[0], max(6 * faults.bpfi, 500.0) if faults else 1000.0)
    if rpm is None:
        markers: list[Any] = []
        sec.paragraphs.append("No shaft speed (give --rpm): fault-frequency markers omitted.")
    elif geometry is None:
        markers = [Marker(f"{k}X", k * rpm / 60) for k in range(1, 4)]
        sec.paragraphs.append(f"Shaft {rpm:g} r/min ({rpm_source}); no bearing given "
                              "(--bearing 6205): shaft harmonics only.")
    else:
        markers = fault_markers(geometry, rpm, fmax=fs / 2)
        sec.paragraphs.append(
            f"Shaft {rpm:g} r/min ({rpm_source}); bearing {geometry.designation}: "
            f"BPFO {faults.bpfo:.2f} Hz, BPFI {faults.bpfi:.2f} Hz, BSF {faults.bsf:.2f} Hz, "
            f"FTF {faults.ftf:.2f} Hz.")
    sec.paragraphs.append(
        f"Amplitude spectrum: Welch, {spec.resolution_hz:.3g} Hz bins, {spec.window} window, "
        f"RMS amplitude. Envelope spectrum of {band[0]:g}-{band[1]:g} Hz "
        f"(chosen by {env.band.source}: {env.band.kurtosis:.2f}).")
    sec.figures.append(charts.spectrum(spec.freqs_hz, spec.amplitude,
                                       [m for m in markers if m.freq_hz <= fs / 2],
                                       f"Amplitude spectrum, {name}", unit))
    sec.captions.append("Amplitude spectrum with fault-frequency markers.")
    env_markers = [m for m in markers if m.freq_hz <= env_fmax]
    sec.figures.append(charts.spectrum(env.spectrum.freqs_hz, env.spectrum.amplitude,
                                       env_markers, f"Envelope spectrum, {name}", unit,
                                       fmax=env_fmax))
    sec.captions.append("Envelope spectrum (bearing defects show as lines at their marker).")
    if markers:
        rows = []
        for label, s, fmax in (("envelope", env.spectrum, env_fmax),
                               ("amplitude", spec, fs / 2)):
            peaks = find_spectral_peaks(s.freqs_hz, s.amplitude, count=15,
                                        fmin=2 * s.resolution_hz, fmax=fmax)
            for m in markers:
                if m.freq_hz > fmax:
                    continue
                tol = max(0.02 * m.freq_hz, 1.5 * s.resolution_hz)
                near = [p for p in peaks if abs(p.freq_hz - m.freq_hz) <= tol]
                if near:
                    p = max(near, key=lambda q: q.amplitude)
                    rows.append([m.name, f"{m.freq_hz:.2f}", label, f"{p.freq_hz:.2f}",
                                 _f(p.amplitude)])
        sec.tables.append(Table(["marker", "Hz", "spectrum", "peak Hz", "amplitude"], rows,
                                "Markers with a strong peak within 2 % (of the 15 strongest "
                                "peaks per spectrum)" if rows else
                                "No marker has one of the 15 strongest peaks within 2 %"))
        sec.tables.append(Table(["marker", "Hz"],
                                [[m.name, f"{m.freq_hz:.2f}"] for m in markers],
                                "Every marker"))
    return sec


def _severity(x: np.ndarray, fs: float, name: str, unit: str, options: ReportOptions
              ) -> Section:
    from desktop.analysis.errors import AnalysisError
    from desktop.analysis.severity import severity
    from desktop.fleet import charts

    sec = Section("Vibration severity (ISO 20816-3)")
    if options.group is None or options.foundation is None:
        sec.paragraphs.append("Not evaluated: give the machine --group 1|2 and --foundation "
                              "rigid|flexible.")
        return sec
    try:
        result = severity(x, fs, unit, options.group, options.foundation, options.block_s)
    except AnalysisError as exc:
        sec.paragraphs.append(f"Not evaluated: {exc}")
        return sec
    ab, bc, cd = result.limits_mm_s
    sec.paragraphs.append(
        f"{name} [{unit}]: velocity RMS {result.velocity_rms_mm_s:.3f} mm/s over "
        f"{result.band_hz[0]:g}-{result.band_hz[1]:g} Hz: zone {result.zone} "
        f"({ZONE_MEANING[result.zone]}), group {result.group}, {result.foundation} "
        "foundation.")
    sec.tables.append(Table(["zone", "velocity RMS, mm/s", "meaning"], [
        ["A", f"< {ab}", ZONE_MEANING["A"]], ["B", f"{ab} - {bc}", ZONE_MEANING["B"]],
        ["C", f"{bc} - {cd}", ZONE_MEANING["C"]], ["D", f">= {cd}", ZONE_MEANING["D"]]],
        "Zone boundaries (ISO 10816-3 Annex A, kept by ISO 20816-3; check your copy)"))
    sec.tables.append(Table(["start s", "end s", "mm/s", "zone"], [
        [f"{b.start_s:.2f}", f"{b.end_s:.2f}", f"{b.velocity_rms_mm_s:.3f}", b.zone]
        for b in result.trend], f"Per block of {options.block_s:g} s"))
    sec.figures.append(charts.severity_trend(
        [b.start_s for b in result.trend], [b.end_s for b in result.trend],
        [b.velocity_rms_mm_s for b in result.trend], result.limits_mm_s,
        f"Velocity RMS per {options.block_s:g} s block, zone {result.zone} overall"))
    sec.captions.append("Velocity RMS per block over the zones A-D.")
    return sec


def _verdicts(path: str, options: ReportOptions) -> tuple[Section, str | None]:
    from desktop.fleet import charts

    sec = Section("Verdicts")
    cols: dict[str, list[Any]] | None = None
    channel = None
    if options.verdicts is not None:
        from desktop.fleet.export import read_verdicts

        table, desc = read_verdicts(options.verdicts)
        keep = [i for i, f in enumerate(table.get("file", [])) if _same_file(str(f), path)]
        cols = {k: [v[i] for i in keep] for k, v in table.items()}
        model = desc.get("model", {})
        for f in desc.get("files", []):
            if _same_file(str(f.get("file", "")), path):
                channel = f.get("channel")
        sec.paragraphs.append(f"From {options.verdicts}: model {model.get('name', '?')} "
                              f"version {model.get('version', '?')}.")
        if not keep:
            sec.paragraphs.append("That table has no verdicts for this file.")
            return sec, channel
        classes = list(model.get("classes") or dict.fromkeys(cols["class"]))
    elif options.model is not None:
        from desktop.ml.inference.batch import JudgeOptions, judge_file

        result = judge_file(path, JudgeOptions(model=options.model, channel=options.channel,
                                               rate=options.rate, device=options.device,
                                               threads=None))
        if "error" in result:
            sec.paragraphs.append(f"Model {options.model} could not judge this file: "
                                  f"{result['error']}")
            return sec, None
        cols = result["columns"]
        channel = result["channel"]
        classes = list(result["model"]["classes"])
        sec.paragraphs.append(f"Model {result['model']['name']} version "
                              f"{result['model']['version']} ({result['model']['kind']}) "
                              f"on channel {channel}: {result['channel_reason']}.")
    else:
        sec.paragraphs.append("No model given: --model fault-cwru (or --verdicts TABLE from "
                              "`linewatch predict … --out`) adds class shares and a timeline.")
        return sec, None
    n = len(cols["class"])
    if n == 0:
        sec.paragraphs.append("No whole window to judge.")
        return sec, channel
    counts = {c: 0 for c in classes}
    for c in cols["class"]:
        counts[c] = counts.get(c, 0) + 1
    shares = {c: k / n for c, k in counts.items()}
    top = max(counts, key=lambda c: counts[c])
    sec.paragraphs.append(f"{n} windows; most frequent class {top} ({shares[top]:.1%}).")
    sec.tables.append(Table(["class", "windows", "share"],
                            [[c, str(counts[c]), f"{shares[c]:.1%}"] for c in counts
                             if counts[c]], "Class shares"))
    sec.figures.append(charts.verdicts(cols["start_s"], cols["end_s"], cols["class"], shares))
    sec.captions.append("Share of windows per class, and each window's class over time.")
    return sec, channel


def _labels(path: str, store_path: Path | None) -> tuple[Section, list[tuple[float, float, str]]]:
    from desktop.labels.store import LabelStore, default_store_path

    sec = Section("Labels")
    where = Path(store_path).expanduser() if store_path else default_store_path()
    if not where.exists():
        sec.paragraphs.append(f"No label store at {where}.")
        return sec, []
    try:
        with LabelStore(where) as store:
            events = [e for e in store.list() if _same_file(e.recording, path)]
    except LinewatchError as exc:
        sec.paragraphs.append(f"The label store could not be read: {exc}")
        return sec, []
    if not events:
        sec.paragraphs.append(f"No labels for this recording in {where}.")
        return sec, []
    sec.paragraphs.append(f"{len(events)} labelled event{'s' if len(events) != 1 else ''} "
                          f"in {where}.")
    sec.tables.append(Table(["start s", "end s", "label", "channel", "author", "note"], [
        [f"{e.start_s:.3f}", f"{e.end_s:.3f}", e.label, e.channel or "all", e.author, e.note]
        for e in events]))
    return sec, [(e.start_s, e.end_s, e.label) for e in events]


# ---------------------------------------------------------------------------- writing
def render_html(report: Report, folder: Path | None = None) -> str:
    """One self-contained HTML page: charts inline as PNG, no scripts, no links out; from
    the Jinja2 template with the user's override folder
    (:func:`desktop.fleet.report_html.render_html`)."""
    from desktop.fleet.report_html import render_html as render

    return render(report, folder)


def _text_lines(report: Report) -> list[tuple[str, str]]:
    """The report's words as (style, line) for the PDF's text pages."""
    import textwrap

    lines: list[tuple[str, str]] = [("h1", report.title)]
    lines += [("mono", f"{k:<17} {v}") for k, v in report.facts]
    for sec in report.sections:
        lines += [("", ""), ("h2", sec.title)]
        for p in sec.paragraphs:
            lines += [("p", w) for w in textwrap.wrap(p, 110)]
        for t in sec.tables:
            if t.caption:
                lines.append(("p", t.caption))
            widths = [min(TABLE_CELL_CHARS, max(len(str(c)) for c in col))
                      for col in zip(t.header, *t.rows, strict=False)]
            for r in [t.header, *t.rows]:
                lines.append(("mono", "  ".join(str(c)[:TABLE_CELL_CHARS].ljust(w)
                                                for c, w in zip(r, widths, strict=False))))
    return lines


#: Every PDF page is A4 portrait (inches); text and charts keep this margin.
A4_IN = (8.27, 11.69)
MARGIN_IN = 0.6
#: Text styles of the PDF's text pages, and the line height of each (× font size).
PDF_STYLES: dict[str, dict[str, Any]] = {
    "h1": {"fontsize": 14, "weight": "bold"}, "h2": {"fontsize": 11, "weight": "bold"},
    "p": {"fontsize": 8}, "mono": {"fontsize": 7, "family": "monospace"},
    "": {"fontsize": 8}}
LEADING = {"h1": 2.0, "h2": 1.6, "p": 1.35, "mono": 1.35, "": 1.35}
CHART_DPI = 200
TABLE_CELL_CHARS = 60  # a table cell in the PDF (7 pt monospace: ~120 characters a line)
CAPTION_IN = 0.45  # a chart's caption and the gap under it


def _text_pages(lines: list[tuple[str, str]]) -> list[list[tuple[str, str, float]]]:
    """The lines laid out top down on A4 pages: (style, text, inches from the top) each,
    every line as tall as its own font needs, so a title never overlaps the next line."""
    pages: list[list[tuple[str, str, float]]] = [[]]
    y = MARGIN_IN
    for style, text in lines:
        height = PDF_STYLES[style]["fontsize"] * LEADING[style] / 72.0
        if y + height > A4_IN[1] - MARGIN_IN and pages[-1]:
            pages.append([])
            y = MARGIN_IN
        pages[-1].append((style, text, y))
        y += height
    return pages


def _chart_image(fig: Any) -> Any:
    """``fig`` drawn to an RGBA array at :data:`CHART_DPI`."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(CHART_DPI)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())


def _chart_pages(charts: list[tuple[Any, str]]) -> Iterator[Any]:
    """A4 pages with the charts stacked top down at the text's width, each with its
    caption under it: every page of the PDF has the same size, whatever a chart's own."""
    from matplotlib.figure import Figure

    page_w, page_h = A4_IN
    width = page_w - 2 * MARGIN_IN
    page, y = None, MARGIN_IN
    for fig, caption in charts:
        image = _chart_image(fig)
        height = min(width * image.shape[0] / image.shape[1], page_h - 2 * MARGIN_IN - 0.5)
        shown_w = height * image.shape[1] / image.shape[0]
        if page is not None and y + height + CAPTION_IN > page_h - MARGIN_IN:
            yield page
            page = None
        if page is None:
            page, y = Figure(figsize=A4_IN), MARGIN_IN
        ax = page.add_axes((MARGIN_IN / page_w, 1.0 - (y + height) / page_h,
                            shown_w / page_w, height / page_h))
        ax.imshow(image, interpolation="antialiased")
        ax.set_axis_off()
        page.text(MARGIN_IN / page_w, 1.0 - (y + height + 0.08) / page_h, caption,
                  fontsize=8, va="top")
        y += height + CAPTION_IN
    if page is not None:
        yield page


def pdf_pages(report: Report) -> Iterator[Any]:
    """The PDF's pages as A4 matplotlib figures: text pages (facts, findings, tables),
    then the charts, stacked; the text laid out line by line in each line's own height."""
    from matplotlib.figure import Figure

    page_w, page_h = A4_IN
    for lines in _text_pages(_text_lines(report)):
        page = Figure(figsize=A4_IN)
        for style, text, y in lines:
            page.text(MARGIN_IN / page_w, 1.0 - y / page_h, text, va="top",
                      **PDF_STYLES[style])
        yield page
    yield from _chart_pages([(fig, f"{sec.title}: {caption}") for sec in report.sections
                             for fig, caption in zip(sec.figures, sec.captions, strict=True)])


def write_pdf(report: Report, out: Path) -> None:
    """:func:`pdf_pages` through matplotlib's own PDF backend (no browser, no display):
    the same charts as the HTML, every page A4 portrait."""
    from matplotlib.backends.backend_pdf import PdfPages

    from desktop.core.atomic import atomic_open

    with atomic_open(out, "wb") as fh, PdfPages(fh, metadata={
            "Title": report.title, "Creator": f"Linewatch {__version__}"}) as pdf:
        for page in pdf_pages(report):
            pdf.savefig(page)


def write_report(report: Report, out: Path) -> None:
    """``out`` by extension: .html/.htm or .pdf, replaced atomically."""
    from desktop.core.atomic import atomic_write_text

    suffix = out.suffix.lower()
    if suffix in (".html", ".htm"):
        atomic_write_text(out, render_html(report))
    elif suffix == ".pdf":
        write_pdf(report, out)
    else:
        raise UsageError(f"--out {out}: give a .html or .pdf file")
