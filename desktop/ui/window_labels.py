"""The window's labelling: the label store with undo, drawing spans, the label dialog,
the labels panel, jumping to an event (opening its recording when needed).

A mixin of :class:`~desktop.ui.main_window.MainWindow` (it uses the window's session,
plot, panels and undo stack); kept apart so each room of the window has one job.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from desktop.core.errors import LinewatchError
from desktop.labels.event import LabelEvent
from desktop.labels.store import LabelStore
from desktop.session.live import LiveSession
from desktop.ui.label_editing import AddLabel, DeleteLabel, EditLabel, LabelDialog, LabelHistory


class LabelsMixin:
    """Labels on the timeline and in the labels panel (see the module docstring)."""

    # -- labels ------------------------------------------------------------------------------
    def _open_label_store(self) -> None:
        """Open the store at start-up, so stored events are listed (and drawn when their
        recording is opened) from the first moment; a damaged file is reported."""
        try:
            self.label_history()
        except LinewatchError as exc:
            self.errors.append(str(exc))
            self.statusBar().showMessage(f"labels: {exc}", 15000)
            return
        self.refresh_labels()

    def label_history(self) -> LabelHistory:
        """The label store with its undo history."""
        if self._labels is None:
            self._labels = LabelHistory(LabelStore(), self.refresh_labels)
        return self._labels

    def _label_anchor(self) -> tuple[str, float] | None:
        """(recording, time of its first sample on the plot's axis): labels store times
        from the recording's start, so they stay valid wherever the file is opened."""
        return self.session.label_anchor() if self.session is not None else None

    def _span_drawn(self, start: float, end: float) -> None:
        if self._label_anchor() is not None:
            self._ask_label(start, end)
            return
        if not isinstance(self.session, LiveSession) or self.session.acq is None:
            return
        answer = QMessageBox.question(
            self, "Start recording?",
            "A label without its signal is useless for training: labels are kept with the "
            "recording they describe.\n\nStart recording now? (The history still in memory "
            "from just before this event is saved too.)")
        if answer == QMessageBox.StandardButton.Yes:
            self._pending_span = (start, end)
            self.start_recording(backfill_from=start - 1.0)
        else:
            self.statusBar().showMessage("Not labelled: start recording to label live events",
                                         8000)

    def _ask_label(self, start: float, end: float) -> None:
        classes = list(dict.fromkeys(
            [name for name, _ in self.label_history().store.labels()]
            + list(self.model_info.get("classes", []))))  # type: ignore[arg-type]
        anchor = self._label_anchor()
        t0 = anchor[1] if anchor is not None else 0.0
        # The dialog shows what the store will keep: seconds from the recording's start.
        dialog = LabelDialog(classes, start - t0, end - t0, self)
        if dialog.exec() == LabelDialog.DialogCode.Accepted and dialog.label.currentText():
            self.create_label(start, end, dialog.label.currentText().strip(),
                              dialog.note.text().strip())

    def create_label(self, start: float, end: float, label: str, note: str = "",
                     channel: str = "") -> LabelEvent | None:
        """Label ``[start, end]`` (times on the plot's axis) in the current recording."""
        anchor = self._label_anchor()
        if anchor is None:
            self.statusBar().showMessage("Labels need a recording: press Record first", 8000)
            return None
        recording, t0 = anchor
        try:
            event = LabelEvent(id=None, recording=recording, start_s=start - t0,
                               end_s=end - t0, label=label, channel=channel, note=note,
                               source=self.spec)
        except LinewatchError as exc:
            self.statusBar().showMessage(str(exc), 8000)
            return None
        command = AddLabel(self.label_history(), event)
        self.undo_stack.push(command)
        self.selected_label = command.event.id
        return command.event

    def delete_label(self, event_id: int) -> None:
        self.undo_stack.push(DeleteLabel(self.label_history(), event_id))
        self.selected_label = None

    def quick_class(self, k: int) -> None:
        """Keys 1–9: give the selected event the k-th most used class."""
        if self.selected_label is None:
            return
        ranked = [name for name, _ in self.label_history().store.labels()]
        if k <= len(ranked):
            self.undo_stack.push(EditLabel(self.label_history(), self.selected_label,
                                           label=ranked[k - 1]))

    def _label_edited(self, event_id: int, start: float, end: float) -> None:
        anchor = self._label_anchor()
        t0 = anchor[1] if anchor else 0.0
        self.undo_stack.push(EditLabel(self.label_history(), event_id, start_s=start - t0,
                                       end_s=end - t0))

    def _label_selected(self, event_id: int) -> None:
        self.selected_label = event_id

    def refresh_labels(self) -> None:
        """Redraw regions for this recording and the panel's list of all events."""
        if self._labels is None:
            return
        events = self._labels.store.list()
        self.labels_panel.set_events(events)
        anchor = self._label_anchor()
        self._shown_anchor = anchor
        shown = {}
        if anchor is not None:
            recording, t0 = anchor
            same = _same_file(recording)
            shown = {int(e.id): (e.start_s + t0, e.end_s + t0, e.label)
                     for e in events if same(e.recording)}
        self.plot.labels.set_events(shown)

    def jump_to_label(self, event_id: int) -> None:
        """Show an event; its recording is opened first when it is not the one shown."""
        event = self.label_history().store.get(self.label_history().resolve(event_id))
        self.selected_label = event.id
        anchor = self._label_anchor()
        if anchor is not None and _same_file(anchor[0])(event.recording):
            self.plot.show_span(event.start_s + anchor[1], event.end_s + anchor[1])
            return
        if Path(event.recording).exists():
            self._pending_jump = int(event.id)  # done when the file session has opened
            self.open_file(event.recording)
        else:
            self.statusBar().showMessage(f"{event.recording} is not on this PC", 8000)

    def _run_pending_jump(self) -> None:
        event_id, self._pending_jump = self._pending_jump, None
        if event_id is not None:
            self.jump_to_label(event_id)


def _same_file(recording: str) -> Callable[[str], bool]:
    """A test for "this label's recording is that file" (same path, however written)."""
    def resolved(text: str) -> str:
        try:
            return str(Path(text).expanduser().resolve())
        except OSError:
            return text

    target = resolved(recording)
    return lambda other: other == recording or resolved(other) == target
