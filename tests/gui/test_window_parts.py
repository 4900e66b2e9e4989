"""The main window is composed of parts that each get one WindowContext (issue 19): no mixin
comes back, no part imports the window or holds another part, and the menus, toolbar and
shortcuts the parts build are the ones the window always had."""

from __future__ import annotations

import ast
from pathlib import Path

from PySide6.QtWidgets import QMainWindow, QToolBar

import desktop.ui
from desktop.ui.main_window import MainWindow
from desktop.ui.window_context import WindowContext

UI = Path(desktop.ui.__file__).parent
PART_MODULES = sorted([*(p for p in UI.glob("window_*.py") if p.name != "window_context.py"),
                       UI / "workspace_actions.py"])
PART_NAMES = ("view", "labels", "files", "parts_table", "model_dialogs", "recording",
              "status_part", "frames", "workspace", "menus")


def test_the_window_has_no_mixins() -> None:
    assert MainWindow.__bases__ == (QMainWindow,)


def test_parts_do_not_know_the_window() -> None:
    """A part sees the window only as a WindowContext (its Qt parent and the WindowHost
    protocol, both checked by mypy): it never imports or names MainWindow."""
    assert len(PART_MODULES) >= 10
    for path in PART_MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.module != "desktop.ui.main_window", path.name
            if isinstance(node, ast.Import):
                assert all(a.name != "desktop.ui.main_window" for a in node.names), path.name
            if isinstance(node, ast.Name):
                assert node.id != "MainWindow", path.name


def test_each_part_holds_only_its_context(make_window) -> None:
    window = make_window()
    parts = [getattr(window, name) for name in PART_NAMES]
    ctx = window.view.ctx
    assert isinstance(ctx, WindowContext)
    assert ctx.parent is window and ctx.host is window and ctx.plot is window.plot
    assert ctx.settings is window.settings and ctx.errors is window.errors
    for part in parts:
        assert part.ctx is ctx, type(part).__name__  # one context, shared
        for name, value in vars(part).items():
            if name == "ctx":
                continue
            where = f"{type(part).__name__}.{name}"
            assert value is not window, f"{where} holds the window"
            assert not isinstance(value, WindowContext), f"{where}: a second context"
            assert all(value is not other for other in parts), f"{where} holds another part"


def test_menus_toolbar_and_shortcuts_stay(make_window) -> None:
    window = make_window()

    def entries(title: str) -> list[tuple[str, str]]:
        menu = next(a.menu() for a in window.menuBar().actions() if a.text() == title)
        return [(a.text(), a.shortcut().toString()) for a in menu.actions()
                if not a.isSeparator()]

    assert entries("&File")[2:] == [
        ("Open recording…", "Ctrl+O"), ("Open recent", ""), ("Choose recordings folder…", ""),
        ("Clear cache", ""), ("Quit", "Ctrl+Q")]
    assert entries("&Acquisition") == [("Connect", "F5"), ("● Record", "Ctrl+R")]
    assert entries("&Edit") == [("Undo", "Ctrl+Z"), ("Redo", "Ctrl+Shift+Z"),
                                ("Label mode", "E"), ("Delete label", "Del")]
    assert entries("&View")[:7] == [
        ("Pause view", "Space"), ("Follow live", "L"), ("Zoom to fit", "Ctrl+0"),
        ("Cursors", "C"), ("Overlay channels", "O"), ("Autoscale Y", "A"),
        ("Go to time…", "Ctrl+G")]
    assert entries("&Help")[:2] == [("Diagnostics (5 s measurement)", ""),
                                    ("About Linewatch", "")]
    toolbar = window.findChild(QToolBar, "main-toolbar")
    texts = [a.text() for a in toolbar.actions() if a.text()]
    assert texts[:9] == ["Connect", "● Record", "Pause view", "Follow live", "Zoom to fit",
                         "Cursors", "Overlay channels", "Autoscale Y", "Label mode"]
    shortcuts = {a.shortcut().toString() for a in window.actions()}
    assert {str(k) for k in range(1, 10)} <= shortcuts  # quick classes 1–9

