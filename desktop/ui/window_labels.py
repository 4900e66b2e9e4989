"""The window's labelling: the label store with undo, drawing spans, the label dialog,
the labels panel and dock, jumping to an event (opening its recording when needed), and
the label actions (Label mode, Undo/Redo, Delete label, quick classes 1–9).

A part of :class:`~desktop.ui.main_window.MainWindow` (it gets a
:class:`~desktop.ui.window_context.WindowContext`); the window tells it when a file has
opened (:meth:`LabelsPart.file_opened`) and a recording has started
(:meth:`LabelsPart.recording_started`), and calls :meth:`LabelsPart.tick` with the status.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import QDockWidget, QMessageBox

from desktop.core.errors import LinewatchError
from desktop.labels.event import LabelEvent
from desktop.labels.store import LabelStore
from desktop.session.live import LiveSession
from desktop.ui.label_editing import AddLabel, DeleteLabel, EditLabel, LabelDialog, LabelHistory
from desktop.ui.labels_panel import LabelsPanel
from desktop.ui.window_context import WindowContext


class LabelsPart:
    """Labels on the timeline and in the labels panel (see the module docstring)."""

    def __init__(self, ctx: WindowContext) -> None:
        self.ctx = ctx
        parent = ctx.parent
        self.undo_stack = QUndoStack(parent)
        self._labels: LabelHistory | None = None
        self._shown_anchor: tuple[str, float] | None = None
        self._pending_span: tuple[float, float] | None = None
        self._pending_jump: int | None = None
        self.selected_label: int | None = None
        self.labels_panel = LabelsPanel()
        self.labels_panel.jump_requested.connect(self.jump_to_label)
        self.labels_panel.delete_requested.connect(self.delete_label)
        self.labels_dock = QDockWidget("Labels", parent)
        self.labels_dock.setObjectName("labels-dock")
        self.labels_dock.setWidget(self.labels_panel)
        parent.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.labels_dock)
        plot = ctx.plot
        plot.label_span_drawn.connect(self._span_drawn)
        plot.label_edited.connect(self._label_edited)
        plot.label_selected.connect(self._label_selected)

        self.act_label_mode = ctx.action("Label mode", "E", plot.set_label_mode,
                                         checkable=True,
                                         tip="Drag across a lane to label an event")
        self.act_undo = self.undo_stack.createUndoAction(parent, "Undo")
        self.act_undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.act_redo = self.undo_stack.createRedoAction(parent, "Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        for action in (self.act_undo, self.act_redo):
            parent.addAction(action)
        self.act_delete_label = ctx.action("Delete label", "Del", self.delete_selected)
        for k in range(1, 10):
            ctx.action(f"Quick class {k}", str(k), lambda _=False, k=k: self.quick_class(k))

    @property
    def edit_actions(self) -> list[QAction]:
        """The Edit menu's actions, in order."""
        return [self.act_undo, self.act_redo, self.act_label_mode, self.act_delete_label]

    def delete_selected(self) -> None:
        """Del: delete the selected event, if any."""
        if self.selected_label is not None:
            self.delete_label(self.selected_label)

    def file_opened(self) -> None:
        """A file session can draw: show its labels, then an event asked for before."""
        self.refresh_labels()
        event_id, self._pending_jump = self._pending_jump, None
        if event_id is not None:
            self.jump_to_label(event_id)

    def recording_started(self) -> None:
        """A recording began: label the span drawn before it, if one waits."""
        if self._pending_span is not None:
            start, end = self._pending_span
            self._pending_span = None
            self.ask_label(start, end)

    def tick(self) -> None:
        """Called with the status (4×/s): redraw the labels when the recording shown
        changed (a live recording started or ended)."""
        if self._labels is not None and self.label_anchor() != self._shown_anchor:
            self.refresh_labels()

    # -- labels ------------------------------------------------------------------------------
    def open_store(self) -> None:
        """Open the store at start-up, so stored events are listed (and drawn when their
        recording is opened) from the first moment; a damaged file is reported."""
        try:
            self.label_history()
        except LinewatchError as exc:
            self.ctx.errors.append(str(exc))
            self.ctx.status(f"labels: {exc}", 15000)
            return
        self.refresh_labels()

    def label_history(self) -> LabelHistory:
        """The label store with its undo history."""
        if self._labels is None:
            self._labels = LabelHistory(LabelStore(), self.refresh_labels)
        return self._labels

    def label_anchor(self) -> tuple[str, float] | None:
        """(recording, time of its first sample on the plot's axis): labels store times
        from the recording's start, so they stay valid wherever the file is opened."""
        session = self.ctx.session()
        return session.label_anchor() if session is not None else None

    def _span_drawn(self, start: float, end: float) -> None:
        if self.label_anchor() is not None:
            self.ask_label(start, end)
            return
        session = self.ctx.session()
        if not isinstance(session, LiveSession) or session.acq is None:
            return
        answer = QMessageBox.question(
            self.ctx.parent, "Start recording?",
            "A label without its signal is useless for training: labels are kept with the "
            "recording they describe.\n\nStart recording now? (The history still in memory "
            "from just before this event is saved too.)")
        if answer == QMessageBox.StandardButton.Yes:
            self._pending_span = (start, end)
            self.ctx.host.start_recording(backfill_from=start - 1.0)
        else:
            self.ctx.status("Not labelled: start recording to label live events", 8000)

    def ask_label(self, start: float, end: float) -> None:
        classes = list(dict.fromkeys(
            [name for name, _ in self.label_history().store.labels()]
            + self.ctx.host.model_classes()))
        anchor = self.label_anchor()
        t0 = anchor[1] if anchor is not None else 0.0
        # The dialog shows what the store will keep: seconds from the recording's start.
        dialog = LabelDialog(classes, start - t0, end - t0, self.ctx.parent)
        if dialog.exec() == LabelDialog.DialogCode.Accepted and dialog.label.currentText():
            self.create_label(start, end, dialog.label.currentText().strip(),
                              dialog.note.text().strip())

    def create_label(self, start: float, end: float, label: str, note: str = "",
                     channel: str = "") -> LabelEvent | None:
        """Label ``[start, end]`` (times on the plot's axis) in the current recording."""
        anchor = self.label_anchor()
        if anchor is None:
            self.ctx.status("Labels need a recording: press Record first", 8000)
            return None
        recording, t0 = anchor
        try:
            event = LabelEvent(id=None, recording=recording, start_s=start - t0,
                               end_s=end - t0, label=label, channel=channel, note=note,
                               source=self.ctx.host.spec)
        except LinewatchError as exc:
            self.ctx.status(str(exc), 8000)
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
        anchor = self.label_anchor()
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
        listed: list[object] = list(events)
        self.labels_panel.set_events(listed)
        anchor = self.label_anchor()
        self._shown_anchor = anchor
        shown = {}
        if anchor is not None:
            recording, t0 = anchor
            same = _same_file(recording)
            shown = {e.id: (e.start_s + t0, e.end_s + t0, e.label)
                     for e in events if e.id is not None and same(e.recording)}
        self.ctx.plot.labels.set_events(shown)

    def jump_to_label(self, event_id: int) -> None:
        """Show an event; its recording is opened first when it is not the one shown."""
        event = self.label_history().store.get(self.label_history().resolve(event_id))
        self.selected_label = event.id
        anchor = self.label_anchor()
        if anchor is not None and _same_file(anchor[0])(event.recording):
            self.ctx.plot.show_span(event.start_s + anchor[1], event.end_s + anchor[1])
            return
        if Path(event.recording).exists():
            self._pending_jump = event.id  # done when the file session has opened
            self.ctx.host.open_file(event.recording)
        else:
            self.ctx.status(f"{event.recording} is not on this PC", 8000)


def _same_file(recording: str) -> Callable[[str], bool]:
    """A test for "this label's recording is that file" (same path, however written)."""
    def resolved(text: str) -> str:
        try:
            return str(Path(text).expanduser().resolve())
        except OSError:
            return text

    target = resolved(recording)
    return lambda other: other == recording or resolved(other) == target
