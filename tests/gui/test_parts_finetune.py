"""Fine-tuning a quality model from parts labelled in the window: parts arrive over a real
pty, the engineer labels some (select rows → Label as), clicks Fine-tune… in the Parts
dock; the refit really runs (a small base model trained here by the project's own tool, so
the test takes seconds, not the shipped ensemble's minute), a new version appears, Promote
makes it the window's model."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QPushButton

from desktop.ml.model_files import versions
from tests.gui.test_parts_live import FIXTURES, ROOT, choose, part_lines
from tests.support.ptydevice import PtyDevice

BASE = "line-q"


def small_base_model(tmp_path: Path) -> None:
    """``line-q`` v1: the training tool on the 140-plate excerpt, published as a user
    model (hgb_default, 2-fold CV: a few seconds)."""
    spec = importlib.util.spec_from_file_location(
        "train_quality_steel", ROOT / "tools" / "train_quality_steel.py")
    tool = importlib.util.module_from_spec(spec)
    sys.modules["train_quality_steel"] = tool
    spec.loader.exec_module(tool)
    data = tmp_path / "steel.csv"
    pd.read_csv(FIXTURES / "steel_excerpt.csv").drop(columns="part_id").to_csv(data, index=False)
    staging = versions.staging_dir(BASE)
    tool.main(["--data", str(data), "--out", str(staging), "--quick", "--folds", "2",
               "--candidates", "hgb_default"])
    versions.publish(staging, BASE)
    versions.promote(BASE, 1)


def test_label_parts_then_fine_tune_promote_from_the_parts_dock(
        qtbot, make_window, tmp_path: Path, linewatch_home: Path) -> None:
    small_base_model(tmp_path)
    link = tmp_path / "ttyParts"
    device = PtyDevice(link)
    device.plug()
    header, mixed, _ = part_lines()
    window = make_window()
    try:
        window.connect_source(f"serial:{link}", {"baud": "115200"})
        qtbot.waitUntil(lambda: window.state == "connected", timeout=10_000)
        choose(window, BASE)
        device.write(b"\n" + header + mixed)
        panel = window.parts_panel
        qtbot.waitUntil(lambda: panel.model.rowCount() == 40, timeout=30_000)
        finetune = next(b for b in panel.findChildren(QPushButton) if b.text() == "Fine-tune…")
        assert finetune.isVisible()

        finetune.click()  # nothing labelled yet: a message, no dialog
        assert window.parts_table.parts_finetune_dialog is None
        assert "Label some parts first" in window.statusBar().currentMessage()

        # The engineer confirms 32 parts as the class the model gave them, one class at a
        # time: select its rows, Label as <class> (the context menu's action).
        selection = panel.table.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        classes = {row: panel.proxy.index(row, 0) for row in range(32)}
        by_class: dict[str, list[int]] = {}
        for row in classes:
            item = panel.model.item(panel.proxy.mapToSource(classes[row]).row())
            by_class.setdefault(item["class"], []).append(row)
        for cls, rows in by_class.items():
            selection.clearSelection()
            for row in rows:
                selection.select(panel.proxy.index(row, 0), flags)
            assert panel.label_selected(cls) == len(rows)
        assert sum(1 for r in panel.model.items if r.get("label")) == 32
        assert "32 labelled" in panel.count.text()

        finetune.click()
        dialog = window.parts_table.parts_finetune_dialog
        assert dialog is not None and dialog.isVisible()
        assert dialog.labels.is_file() and dialog.labels.parent.name == "parts-labels"
        assert len(pd.read_csv(dialog.labels)) == 32
        dialog.name.setText("line-q-tuned")
        dialog.start_training()
        assert dialog.cancel.isEnabled() and not dialog.start.isEnabled()
        qtbot.waitUntil(lambda: dialog.result is not None or "⚠" in dialog.status.text(),
                        timeout=240_000)
        assert dialog.result is not None, dialog.status.text()
        result = dialog.result
        assert result["version"] == 1 and result["parent"] == f"{BASE}@1"
        assert result["train_parts"] + result["heldout_parts"] == 32
        assert "Held-out parts" in dialog.status.text()
        # issue 26: the reject threshold is re-chosen and its coverage reported
        rej = result["reject"]
        assert rej is not None and 0 <= rej["coverage"] <= 1
        assert rej["rows"] == 140 + result["train_parts"]  # replay set + training parts
        assert "Reject option re-chosen" in dialog.status.text()
        fractions = [f for f, _ in dialog.progress_log]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0
        assert versions.versions_of("line-q-tuned") == [1]
        assert versions.active_version("line-q-tuned") is None  # not until promoted

        dialog.promote_result()
        assert versions.active_version("line-q-tuned") == 1
        dialog.close()
    finally:
        window.disconnect_source()
        device.unplug()


def test_the_model_panel_fine_tune_button_follows_the_selected_model_kind(
        qtbot, make_window) -> None:
    window = make_window()
    choose(window, "process-tep")
    dialog = window.open_finetune()  # a process model: refit on normal data instead
    assert type(dialog).__name__ == "ProcessRefitDialog"
    dialog.close()
    finetune = window.model_dialogs.finetune_dialog
    assert finetune is None or not finetune.isVisible()
    choose(window, "quality-steel")
    # a quality model: the parts fine-tune, which first needs the model running
    assert window.open_finetune() is None
    assert "quality model running" in window.statusBar().currentMessage()
    assert window.open_calibrate() is None
    assert "only fault classifiers" in window.statusBar().currentMessage()
