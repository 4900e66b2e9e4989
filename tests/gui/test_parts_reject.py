"""The reject option in the Parts dock (issue 26): real plates the model never saw,
replayed into the real window; parts under the model's reject threshold are shown apart
(REFER, grey, the *Referred only* filter), counted above the table, left out of the
p-chart, and explained in the hover.

Parts: tests/fixtures/steel_excerpt.csv (20 real plates per class, see
tabular_excerpts.json). The shipped quality-steel learnt from every plate of the excerpt
(it is part of its training file) and is sure of them all, so the model here is trained by
the project's own tool (quick settings, calibrated, threshold for 80 % on accepted parts)
on half of each class, and the other half is replayed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
from PySide6.QtCore import Qt

from desktop.ml.model_files import versions
from desktop.ui.parts_panel import REFER_COLOUR, REFERRED
from tests.gui.test_parts_live import FIXTURES, ROOT, choose

MODEL = "line-r"


def half_trained_model(tmp_path: Path) -> pd.DataFrame:
    """Publish ``line-r`` v1, trained on every other plate of each class; return the other
    half (the plates to replay), without id and label."""
    spec = importlib.util.spec_from_file_location(
        "train_quality_steel", ROOT / "tools" / "train_quality_steel.py")
    tool = importlib.util.module_from_spec(spec)
    sys.modules["train_quality_steel"] = tool
    spec.loader.exec_module(tool)
    df = pd.read_csv(FIXTURES / "steel_excerpt.csv").drop(columns="part_id")
    first = df.groupby("fault").cumcount() % 2 == 0
    data = tmp_path / "steel.csv"
    df[first].to_csv(data, index=False)
    staging = versions.staging_dir(MODEL)
    tool.main(["--data", str(data), "--out", str(staging), "--quick", "--folds", "2",
               "--candidates", "hgb_et_geo", "--target-accuracy", "0.8"])
    versions.publish(staging, MODEL)
    versions.promote(MODEL, 1)
    return df[~first].drop(columns="fault").reset_index(drop=True)


def test_the_parts_dock_shows_and_counts_referred_parts_and_charts_accepted_ones(
        qtbot, make_window, tmp_path: Path, linewatch_home: Path) -> None:
    plates = half_trained_model(tmp_path)
    run = tmp_path / "plates.csv"
    plates.to_csv(run, index=False)
    window = make_window()
    choose(window, MODEL)
    window.connect_source(f"replay:{run}", {"rate": "200", "speed": "1"})
    panel = window.parts_panel
    try:
        qtbot.waitUntil(lambda: panel.model.rowCount() == len(plates), timeout=60_000)
        rows = panel.model.items
        referred = [r for r in rows if r["decision"] == "refer"]
        accepted = [r for r in rows if r["decision"] == "accept"]
        # unseen plates of hard classes (Bumps, Other_Faults, Pastry): some are referred
        assert 0 < len(referred) < len(rows)
        cut = rows[0]["refer_below"]
        assert all(r["probability"] < cut for r in referred)
        assert all(r["probability"] >= cut for r in accepted)
        # counted above the table
        share = len(referred) / len(rows)
        assert panel.count.text().startswith(
            f"{len(rows)} parts, {len(referred)} referred ({share:.0%})"), panel.count.text()
        assert panel.model.referred == len(referred)
        # shown apart: its own filter, the decision column, grey whatever the class
        panel.filter.setCurrentText(REFERRED)
        assert panel.proxy.rowCount() == len(referred)
        decision_col = panel.model.columns.index("decision")
        for r in range(panel.proxy.rowCount()):
            assert panel.proxy.data(panel.proxy.index(r, decision_col)) == "REFER"
            colour = panel.proxy.data(panel.proxy.index(r, 0), Qt.ItemDataRole.BackgroundRole)
            assert colour.getRgb() == REFER_COLOUR
        tip = panel.proxy.data(panel.proxy.index(0, 0), Qt.ItemDataRole.ToolTipRole)
        assert "REFER to an inspector" in tip and "not counted in the chart" in tip
        assert panel.chart.focus is None  # not a class: the chart shows every class
        panel.filter.setCurrentText("Accepted only")
        assert panel.proxy.rowCount() == len(accepted)
        panel.filter.setCurrentText("All")
        # the p-chart counts accepted parts only: one point per accepted part, and its last
        # window holds accepted parts only
        assert len(panel.chart.x) == len(accepted)
        last = accepted[-1]["chart"]
        assert last["parts"] == min(50, len(accepted))
        tail = accepted[-last["parts"]:]
        for cls, value in last["shares"].items():
            assert abs(value - sum(r["class"] == cls for r in tail) / len(tail)) < 1e-9
        assert all(r["chart"] is None for r in referred)
    finally:
        window.disconnect_source()
