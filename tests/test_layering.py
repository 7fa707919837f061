"""No import circles in tui/: every import counts, those under TYPE_CHECKING and those inside a
function too, since each closes a loop a reader has to hold in mind (import-linter's contracts
in pyproject.toml say which way the arrows run; this says they never come back)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import tui

Graph = dict[str, set[str]]


def import_graph(package: Path) -> Graph:
    """Module -> the modules of `package` it imports, wherever the import statement stands."""
    files: dict[str, Path] = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def known(name: str) -> str | None:
        """The module `name` is, or is in (`from tui.wire import models` is tui.wire.models;
        `from tui.text import plural` is tui.text)."""
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: Graph = {}
    for module, path in files.items():
        here = module if path.name == "__init__.py" else module.rpartition(".")[0]
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                names = [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            imported.update(found for name in names if (found := known(name)))
        graph[module] = imported - {module}
    return graph


def circles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> Iterator[None]:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in sorted(graph.get(module, ())):
            if other not in index:
                yield from visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))
        yield

    for module in sorted(graph):
        if module not in index:
            for _ in visit(module):
                pass
    return found


def test_tui_has_no_import_circle() -> None:
    graph = import_graph(Path(tui.__file__).parent)
    assert "tui.screens.preview" in graph["tui.flow"]  # the graph sees imports in functions
    assert circles(graph) == []


def test_an_import_only_for_typing_closes_a_circle(tmp_path: Path) -> None:
    package = tmp_path / "shop"
    (package / "screens").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "screens" / "__init__.py").write_text("")
    (package / "app.py").write_text("def start():\n    from shop.screens.cart import Cart\n")
    (package / "screens" / "cart.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from ..app import start\n"
    )
    (package / "screens" / "till.py").write_text("from shop.screens import cart\n")
    assert circles(import_graph(package)) == [["shop.app", "shop.screens.cart"]]


def test_every_worker_of_the_app_survives_a_native_panic() -> None:
    """Textual's workers catch only Exception: a worker's body without `@never_hangs`
    (tui/screens/worker_errors.py) would hang on a library's native panic."""
    bare = []
    for path in sorted(Path(tui.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            names = [
                ast.unparse(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list
            ]
            if "work" in names and "never_hangs" not in names:
                bare.append(f"{path}:{node.lineno} {node.name}")
    assert bare == []
