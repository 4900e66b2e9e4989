"""Issue 24 (newcomer): after the first fine-tune is promoted, the Versions dialog offers a
rollback to the shipped model it was made from, and taking it tells the window to run that
shipped model."""

from __future__ import annotations

from desktop.ml.model_files import versions
from desktop.ui.versions_dialog import VersionsDialog
from tests.unit.ml.model_files.test_newcomer_round3 import publish_child


def test_versions_dialog_offers_and_takes_the_rollback_to_the_shipped_model(qtbot) -> None:
    publish_child("my-rig", "anomaly-cwru@1")
    dialog = VersionsDialog("my-rig")
    qtbot.addWidget(dialog)
    assert not dialog.rollback_button.isEnabled()  # nothing promoted: nothing to go back to
    versions.promote("my-rig", 1)
    dialog.refresh()
    assert dialog.rollback_button.isEnabled()
    assert dialog.rollback_button.text() == "Roll back to anomaly-cwru (shipped)"
    with qtbot.waitSignal(dialog.active_changed, timeout=5000) as signal:
        dialog.rollback_button.click()
    assert signal.args == ["anomaly-cwru"]
    assert "shipped anomaly-cwru" in dialog.status.text()
    assert versions.active_version("my-rig") is None
    assert not dialog.rollback_button.isEnabled()
