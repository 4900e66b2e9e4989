"""Table models live in the window: parts over a serial line (quality-steel: parts table,
p-chart, the alarm when a run of one defect crosses its limit) and a replayed process run
(process-tep: scores, alarm, contributors in the hover).

Parts come from tests/fixtures/steel_excerpt.csv (20 real plates per class, see
tabular_excerpts.json): first 40 parts in about the training mix of classes, then a run
of 25 K_Scatch plates. With a 50-part window the K_Scatch share's upper 3σ limit is
≈ 37 %; the run crosses it after about ten plates (checked offline: part 51 of 65).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt

from tests.support.ptydevice import PtyDevice

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
MIX = {"Other_Faults": 14, "Bumps": 8, "K_Scatch": 8, "Z_Scratch": 4, "Pastry": 3,
       "Stains": 2, "Dirtiness": 1}


def part_lines() -> tuple[bytes, bytes, bytes]:
    """(header, 40 mixed parts, 25 K_Scatch parts) as serial lines, part_id numeric."""
    df = pd.read_csv(FIXTURES / "steel_excerpt.csv")
    parts: list[int] = []
    for cls, n in MIX.items():
        parts += list(df.index[df.fault == cls][:n])
    np.random.default_rng(0).shuffle(parts)
    ks = list(df.index[df.fault == "K_Scatch"])
    run = [ks[i % len(ks)] for i in range(8, 33)]
    cols = list(df.columns[1:-1])

    def lines(idx: list[int], first: int) -> bytes:
        out = []
        for k, i in enumerate(idx):
            values = ",".join(f"{v:g}" for v in df.loc[i, cols])
            out.append(f"{first + k},{values}\n")
        return "".join(out).encode()

    header = ("part_id," + ",".join(cols) + "\n").encode()
    return header, lines(parts, 1), lines(run, 41)


def choose(window, name: str) -> None:
    index = window.model_panel.model.findData(name)
    assert index >= 0, [window.model_panel.model.itemText(i)
                        for i in range(window.model_panel.model.count())]
    window.model_panel.model.setCurrentIndex(index)


def test_model_panel_lists_every_usable_model(qtbot, make_window) -> None:
    window = make_window()
    names = [window.model_panel.model.itemData(i) for i in range(window.model_panel.model.count())]
    assert {"fault-cwru", "anomaly-cwru", "quality-steel", "process-tep"} <= set(names)
    assert not window.parts_dock.isVisible()


def test_parts_over_serial_fill_the_table_and_chart_and_a_defect_run_alarms(
        qtbot, make_window, tmp_path: Path) -> None:
    link = tmp_path / "ttyParts"
    device = PtyDevice(link)
    device.plug()
    header, mixed, run = part_lines()
    window = make_window()
    try:
        window.connect_source(f"serial:{link}", {"baud": "115200"})
        qtbot.waitUntil(lambda: window.state == "connected", timeout=10_000)
        choose(window, "quality-steel")
        device.write(b"\n" + header + mixed)
        panel = window.parts_panel
        qtbot.waitUntil(lambda: panel.model.rowCount() == 40, timeout=30_000)
        assert window.parts_dock.isVisible()
        assert "quality-steel" in window.model_panel.status.text()
        # Newest first, coloured by class, top features on hover.
        top = panel.model.index(0, 0)
        assert panel.model.data(top) == "40"
        assert panel.model.data(panel.model.index(0, 1)) == "40"  # the part_id channel
        assert panel.model.data(top, Qt.ItemDataRole.BackgroundRole) is not None
        tip = panel.model.data(top, Qt.ItemDataRole.ToolTipRole)
        assert "features that pushed this verdict" in tip and " = " in tip
        # The running chart: one point per accepted part (a referred part waits for an
        # inspector, issue 26), no limit crossed by the usual mix.
        accepted = sum(r["decision"] == "accept" for r in panel.model.items)
        assert len(panel.chart.x) == accepted and panel.chart.crossings == []
        assert f"40 parts, {40 - accepted} referred" in panel.count.text()
        assert not window.banner.isVisible()
        # Filter by class.
        panel.filter.setCurrentText("K_Scatch")
        shown = panel.proxy.rowCount()
        assert 0 < shown < 40
        assert all(panel.proxy.data(panel.proxy.index(r, 2)) == "K_Scatch"
                   for r in range(shown))
        assert panel.chart.focus == "K_Scatch"
        panel.filter.setCurrentText("All")

        device.write(run)
        qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=30_000)
        qtbot.waitUntil(lambda: panel.model.rowCount() == 65, timeout=30_000)
        assert "K_Scatch" in window.banner.text() and "limit" in window.banner.text()
        assert [c for _, _, c in panel.chart.crossings] == ["K_Scatch"]
        assert panel.chart.crossings[0][0] > 41  # during the run, not before it

        # Label two parts and export them for fine-tuning.
        panel.table.selectRow(0)
        assert panel.label_selected("Bumps") == 1
        out = tmp_path / "parts.csv"
        assert panel.export_labelled(out) == 1
        written = pd.read_csv(out)
        assert list(written.columns) == ["part_id", *window.parts_panel.inputs, "label"]
        assert written["label"].tolist() == ["Bumps"] and written["part_id"].tolist() == [65]
    finally:
        window.disconnect_source()
        device.unplug()


def test_a_replayed_process_run_shows_scores_alarm_and_contributors(
        qtbot, make_window, tmp_path: Path) -> None:
    normal = pd.read_csv(FIXTURES / "tep_normal_excerpt.csv")
    fault = pd.read_csv(FIXTURES / "tep_idv6_excerpt.csv")
    run = tmp_path / "run.csv"
    pd.concat([normal, fault], ignore_index=True).to_csv(run, index=False)
    window = make_window()
    choose(window, "process-tep")
    window.connect_source(f"replay:{run}", {"rate": "200", "speed": "1"})
    panel = window.parts_panel
    qtbot.waitUntil(lambda: panel.model.rowCount() == 60, timeout=30_000)
    assert window.parts_dock.isVisible() and window.parts_dock.windowTitle() == "Process samples"
    rows = panel.model.items
    assert not any(r["alarm"] for r in rows[:30])
    assert all(r["alarm"] for r in rows[35:])
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=5000)
    tip = panel.model.data(panel.model.index(0, 0), Qt.ItemDataRole.ToolTipRole)
    assert "alarm: ON" in tip and "contributing variables" in tip
    assert len(panel.chart.alarms) >= 25
    # the contribution plot: the newest alarmed sample, bars in the contributors' order
    plot = panel.contributions
    assert plot.isVisible() and plot.row is rows[-1] and plot.row["alarm"]
    assert plot.names == rows[-1]["contributors"] and len(plot.names) >= 1
    assert list(plot.bars.opts["width"]) == rows[-1]["contributions"]
    assert rows[-1]["contributions"] == sorted(rows[-1]["contributions"], reverse=True)
    panel.table.selectRow(panel.model.rowCount() - 1)  # the oldest sample (bottom row)
    assert plot.row is rows[0] and "no alarm" in plot.getPlotItem().titleLabel.text
    panel.table.clearSelection()
    panel.filter.setCurrentText("Alarms only")
    assert panel.proxy.rowCount() == sum(1 for r in rows if r["alarm"])
    assert len(window.plot.verdicts) == 60
    window.disconnect_source()
