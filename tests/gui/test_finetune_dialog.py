"""Fine-tuning from the window: real labels on a real (demo rig) recording, real training."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.labels.event import LabelEvent
from desktop.ml.model_files import versions
from desktop.sources.demo import DemoRigSource
from desktop.streams.acquisition import Acquisition


def _demo_spans() -> list[tuple[str, float, float]]:
    """Two labelled spans inside each of the demo loop's first four segments (healthy,
    inner, ball, outer race), taken from the rig itself rather than hard-coded times."""
    rig = DemoRigSource()
    spans = []
    for seg in rig.segments[:4]:
        t0, t1 = seg.start / rig.sample_rate, seg.stop / rig.sample_rate
        mid = (t0 + t1) / 2
        spans += [(seg.label, t0 + 0.2, min(mid - 0.2, t0 + 1.8)),
                  (seg.label, mid + 0.2, min(t1 - 0.2, mid + 1.8))]
    return spans


SPANS = _demo_spans()


@pytest.fixture(scope="module")
def demo_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rec") / "demo.parquet"
    acq = Acquisition(DemoRigSource(speed=float("inf")), history_s=30)
    acq.open()
    acq.start_recording(out)
    end_s = max(end for _, _, end in SPANS) + 1.0
    while acq.counters.received < 12_000 * end_s:
        acq.step()
    acq.close()
    return out


@pytest.fixture
def labelled_window(qtbot, make_window, demo_recording: Path):
    window = make_window()
    window.settings.model = ""
    store = window.label_history().store
    for label, start, end in SPANS:
        store.add(LabelEvent(None, str(demo_recording), start, end, label, source="demo"))
    return window


def run_dialog(qtbot, dialog, name: str, mode: str = "head", epochs: int = 3) -> dict:
    dialog.name.setText(name)
    dialog.mode.setCurrentIndex(dialog.mode.findData(mode))
    dialog.epochs.setValue(epochs)
    dialog.start_training()
    qtbot.waitUntil(lambda: dialog.result is not None or "⚠" in dialog.status.text(),
                    timeout=120_000)
    assert dialog.result is not None, dialog.status.text()
    return dialog.result


def test_finetune_progress_promote_and_rollback(qtbot, labelled_window) -> None:
    window = labelled_window
    dialog = window.open_finetune()
    assert dialog.base.currentText() == "fault-cwru"
    assert len(dialog.spans()) == len(SPANS)
    result = run_dialog(qtbot, dialog, "rig-a")
    fractions = [f for f, _ in dialog.progress_log]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    stages = [info.get("stage") for _, info in dialog.progress_log]
    assert stages.index("training") < stages.index("done")
    assert result["version"] == 1 and result["heldout"]["accuracy"] >= 0.5
    assert dialog.table.rowCount() >= 2 and dialog.table.item(0, 1).text().endswith("%")
    assert versions.active_version("rig-a") is None  # nothing changes until promoted

    dialog.promote_result()
    assert versions.active_version("rig-a") == 1 and window.settings.model == "rig-a"
    assert window.model_panel.model.currentData() == "rig-a"
    dialog.close()

    second = window.open_finetune()
    run_dialog(qtbot, second, "rig-a")
    second.promote_result()
    assert versions.active_version("rig-a") == 2
    second.close()
    panel = window.open_versions()
    assert panel.table.rowCount() == 2
    panel.rollback()
    assert versions.active_version("rig-a") == 1


def test_cancel_leaves_the_registry_unchanged(qtbot, labelled_window) -> None:
    window = labelled_window
    dialog = window.open_finetune()
    dialog.name.setText("rig-b")
    dialog.mode.setCurrentIndex(dialog.mode.findData("full"))
    dialog.epochs.setValue(200)
    dialog.start_training()
    qtbot.waitUntil(lambda: any(i.get("stage") == "training" for _, i in dialog.progress_log),
                    timeout=60_000)
    dialog.cancel_training()
    qtbot.waitUntil(lambda: "Cancelled" in dialog.status.text(), timeout=5000)
    assert versions.versions_of("rig-b") == [] and versions.active_version("rig-b") is None
    assert dialog.result is None and dialog.start.isEnabled()
    dialog.close()


def test_one_labelled_event_trains_without_errors_and_promote_asks_first(
        qtbot, make_window, demo_recording: Path, monkeypatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    window = make_window()
    window.settings.model = ""
    window.label_history().store.add(
        LabelEvent(None, str(demo_recording), 3.2, 4.8, "inner_007", source="demo"))
    dialog = window.open_finetune()
    result = run_dialog(qtbot, dialog, "one-event", epochs=3)
    assert result["checked"] is False and result["heldout"] is None
    assert "no held-out events: the result is not checked" in dialog.status.text()
    rows = [info["history"] for _, info in dialog.progress_log if info.get("history")]
    assert len(rows) == 3 and all(r["val_loss"] is None for r in rows)
    xs, ys = dialog.acc_curve.getData()
    assert list(xs) == [1, 2, 3] and all(0 <= y <= 1 for y in ys)  # training accuracy drawn
    assert dialog.val_acc_curve.getData()[0] is None or len(dialog.val_acc_curve.getData()[0]) == 0

    asked: list[tuple[str, object]] = []

    def answer(reply):
        def question(parent, title, text, buttons, default):
            asked.append((text, default))
            return reply
        return question

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    dialog.promote_result()
    assert len(asked) == 1 and "not checked" in asked[0][0]
    assert asked[0][1] == QMessageBox.StandardButton.No  # the default is No
    assert versions.active_version("one-event") is None
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    dialog.promote_result()
    assert len(asked) == 2 and versions.active_version("one-event") == 1
    dialog.close()


def test_versions_of_a_shipped_model_say_how_to_make_one(qtbot, make_window) -> None:
    window = make_window()
    window.settings.model = "fault-cwru"
    panel = window.open_versions()
    assert panel.table.rowCount() == 0
    assert panel.status.text() == ("fault-cwru is a shipped model with no fine-tuned versions "
                                   "yet: use Fine-tune… to make one")
    panel.close()
