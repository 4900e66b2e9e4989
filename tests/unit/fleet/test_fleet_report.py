"""``linewatch report``: one recording to HTML and PDF, with markers, zones, verdicts, labels."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from desktop.cli import main
from desktop.core.types import ChannelSpec
from desktop.labels.event import LabelEvent
from desktop.labels.store import LabelStore
from desktop.recording.schema import build_schema

RATE = 12000.0


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s of an outer-race-like signal: impacts at 107 Hz ringing at 3 kHz, plus 1X."""
    path = tmp_path_factory.mktemp("rep") / "pump 7.parquet"
    t = np.arange(int(3 * RATE)) / RATE
    rng = np.random.default_rng(1)
    impacts = np.zeros_like(t)
    impacts[(np.arange(0, 3, 1 / 107.36) * RATE).astype(int)] = 1.0
    ring = np.exp(-np.arange(60) / 10) * np.sin(2 * np.pi * 3000 * np.arange(60) / RATE)
    x = (np.convolve(impacts, ring)[: t.size] + 0.2 * np.sin(2 * np.pi * 29.95 * t)
         + 0.05 * rng.normal(size=t.size))
    y = 0.5 * rng.normal(size=t.size)
    schema = build_schema((ChannelSpec("DE_accel", "g"), ChannelSpec("FE_accel", "g")),
                          {"sample_rate": RATE, "source": "test rig"})
    pq.write_table(pa.Table.from_arrays([pa.array(t), pa.array(x), pa.array(y)],
                                        schema=schema), path)
    return path


@pytest.fixture
def store(tmp_path: Path, recording: Path) -> Path:
    path = tmp_path / "labels.sqlite3"
    with LabelStore(path) as s:
        s.add(LabelEvent(None, str(recording), 0.5, 1.25, "rattle", note="heard at the pump"))
        s.add(LabelEvent(None, "/elsewhere/other.parquet", 0.0, 1.0, "not-this-one"))
    return path


def test_report_html_names_markers_zones_verdicts_and_labels(
        tmp_path: Path, recording: Path, store: Path) -> None:
    out = tmp_path / "report.html"
    assert main(["report", str(recording), "--model", "fault-cwru", "--bearing", "6205",
                 "--rpm", "1797", "--group", "2", "--foundation", "rigid", "--block", "1",
                 "--store", str(store), "--quiet", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    for name in ("BPFO", "BPFI", "BSF", "FTF", "1X"):  # fault markers
        assert f"<td>{name}</td>" in text
    assert re.search(r"<td>BPFO</td><td>107\.\d\d</td><td>envelope</td>", text), \
        "the outer-race line is found at its marker"
    for zone in "ABCD":  # severity zones
        assert f"<td>{zone}</td>" in text
    assert "zone A" in text or "zone B" in text or "zone C" in text or "zone D" in text
    assert "ISO 20816-3" in text
    assert "Class shares" in text and "fault-cwru" in text  # verdict summary
    assert "rattle" in text and "heard at the pump" in text  # the file's label ...
    assert "not-this-one" not in text  # ... and only its own
    assert text.count("data:image/png;base64,") == 5  # overview, 2 spectra, severity, verdicts
    assert "<script" not in text and "http" not in text.replace("http-equiv", "")


def test_report_pdf_has_pages(tmp_path: Path, recording: Path, store: Path) -> None:
    out = tmp_path / "report.pdf"
    assert main(["report", str(recording), "--bearing", "6205", "--rpm", "1797", "--group",
                 "1", "--foundation", "flexible", "--store", str(store), "--quiet",
                 "--out", str(out)]) == 0
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", data))
    assert pages >= 3  # text page(s), then overview, two spectra, severity stacked
    # Every page is A4 portrait (595 x 842 pt), the chart pages too.
    boxes = [tuple(float(v) for v in box.split())
             for box in re.findall(rb"/MediaBox\s*\[([^\]]*)\]", data)]
    assert len(boxes) == pages
    assert all(b == pytest.approx((0, 0, 595.44, 841.68), abs=0.5) for b in boxes), boxes


def test_report_pdf_title_sits_above_its_first_line(recording: Path) -> None:
    """Each text line is placed in its own font's height: the 14 pt title's box ends
    above the first fact line's box (it overlapped it at a fixed 70 lines a page)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from desktop.fleet.report import ReportOptions, build_report, pdf_pages

    first = next(iter(pdf_pages(build_report(recording, ReportOptions(rpm=1797.0)))))
    canvas = FigureCanvasAgg(first)
    canvas.draw()
    texts = sorted(first.texts, key=lambda t: -t.get_position()[1])
    title, line = (t.get_window_extent(canvas.get_renderer()) for t in texts[:2])
    assert texts[0].get_text().startswith("Condition report")
    assert title.y0 >= line.y1  # display y grows upwards: the title is wholly above
    assert first.get_size_inches() == pytest.approx((8.27, 11.69))


def test_report_without_options_says_what_is_missing(tmp_path: Path, recording: Path) -> None:
    out = tmp_path / "r.html"
    assert main(["report", str(recording), "--quiet", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "give --rpm" in text and "--group 1|2" in text and "--model fault-cwru" in text
    assert main(["report", str(recording), "--group", "1", "--out",
                 str(tmp_path / "x.html")]) == 1  # --group without --foundation
    assert main(["report", str(recording), "--out", str(tmp_path / "x.docx")]) == 2  # bad --out


def test_report_reads_the_speed_channel_as_spectrum_does(tmp_path) -> None:
    """A file with a speed channel: `report` takes the shaft speed from it, as `spectrum`
    does (one reader, desktop/diagnosis/stored_speed.recording_rpm)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from desktop.fleet.report import ReportOptions, build_report

    fs = 12_000.0
    t = np.arange(int(fs * 2)) / fs
    path = tmp_path / "pump.parquet"
    pq.write_table(pa.table({"time_s": t, "acc": np.sin(2 * np.pi * 160 * t),
                             "speed": np.full(t.size, 1750.0)}), path)
    report = build_report(path, ReportOptions(bearing="6205", channel="acc"))
    text = " ".join(p for s in report.sections for p in s.paragraphs)
    assert "Shaft 1750 r/min (channel speed (median over the span))" in text
    assert "No shaft speed" not in text
