"""The alarm banner: laid across the window under the toolbar, over the plots and the
docks' tops, so raising or clearing an alarm never moves anything, and word-wrapped to the
window's width (long names break after ``_ . / -``), so its whole text shows."""

from __future__ import annotations

import re

from PySide6 import QtGui
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLabel, QWidget

#: Where a long token may also break: after these characters.
BREAKS = re.compile(r"[_./\-](?=\w)")


class AlarmBanner(QLabel):
    """A QLabel across ``host`` (the main window) at the top of its central area; hidden
    when no alarm.

    It is in no layout: it follows the window's width, and its height is what its wrapped
    text needs. Clicks pass through it to what lies beneath. Text and style may be set by
    anyone (the diagnosis policy restyles it); it places itself again on every change.
    """

    def __init__(self, host: QWidget) -> None:
        super().__init__(host)
        self._plain = ""
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        host.installEventFilter(self)

    def setText(self, text: str) -> None:
        self._plain = text
        # Long class and model names (inner_race_0.014in) may break after _ . / - too:
        # a zero-width space there, so no word is ever cut off at the edge.
        rich = QtGui.Qt.mightBeRichText(text)  # never inside a tag
        super().setText(text if rich else BREAKS.sub(lambda m: m.group(0) + "\u200b", text))
        self.place()

    def text(self) -> str:
        """The text as it was set (without the break opportunities added for wrapping)."""
        return self._plain

    def place(self) -> None:
        """Span the window's width at the top of its central area (under the menus and
        the toolbar), as tall as the wrapped text needs."""
        host = self.parentWidget()
        if host is None:
            return
        central = getattr(host, "centralWidget", lambda: None)()
        top = central.geometry().top() if central is not None else 0
        width = max(1, host.width())
        self.setGeometry(0, top, width, max(self.heightForWidth(width),
                                            self.minimumSizeHint().height()))
        self.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget() and event.type() in (QEvent.Type.Resize,
                                                               QEvent.Type.LayoutRequest):
            self.place()
        return False

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.StyleChange, QEvent.Type.FontChange):
            self.place()

    def showEvent(self, event: object) -> None:
        super().showEvent(event)  # type: ignore[arg-type]
        self.place()
