"""No import circles anywhere in ``desktop`` (issue 19): a module never needs, through any
chain, a module that needs it. grimp sees imports inside functions too, so a lazy import
does not hide a circle; only ``TYPE_CHECKING`` imports (never run) are left out."""

from __future__ import annotations


def cycles(package: str) -> list[list[str]]:
    """Strongly connected groups of >1 module among ``package``'s modules (grimp sees
    imports inside functions too)."""
    import grimp

    # Imports under ``if TYPE_CHECKING:`` never run, so they make no circle at run time.
    graph = grimp.build_graph("desktop", cache_dir=None, exclude_type_checking_imports=True)
    mods = {m for m in graph.modules if m == package or m.startswith(package + ".")}
    edges = {m: {i for i in graph.find_modules_directly_imported_by(m) if i in mods}
             for m in mods}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for m in sorted(mods):
        if m not in index:
            visit(m)
    return found


def test_no_import_circles_in_the_application() -> None:
    assert cycles("desktop") == []
