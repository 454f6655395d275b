"""The import layers: data flows one way (settings < corpus < index < assistant < eval / app < kqa, the
command's entry point), and no modules import each other in a circle.

Every module under corpus/, index/, assistant/, eval/ and settings.py, app.py, kqa.py is read with `ast`
(nothing is imported or run); every `import` and `from … import` counts, at the top, inside functions or under
`if TYPE_CHECKING:` alike, because a function-local import is the usual way a circle hides. Each import of a
project module is an edge `module → module` with its line. The test fails on
- an upward import: a module importing a higher layer (`corpus` → `index`, `index` → `assistant`, …), or
  `eval` and `app` importing each other, or anything importing `app`;
- an import circle: a strongly connected component of more than one module.
The known violations below are allowed until the branches that remove them land; anything else fails.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("corpus", "index", "assistant", "eval")
TOP_MODULES = ("settings", "app", "kqa")
LAYERS = {"settings": 0, "corpus": 1, "index": 2, "assistant": 3, "eval": 4, "app": 4, "kqa": 5}

# The one allow-list. Each entry is a violation that exists today and is being removed on another branch; the
# coordinator empties this when those branches land. Circles are named by their modules (a circle found inside
# a listed one, after part of it is removed, is still allowed); upward imports by (importer, imported).
KNOWN_CIRCLES: dict[frozenset[str], str] = {}
KNOWN_UPWARD: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Edge:
    importer: str
    imported: str
    line: int

    def __str__(self) -> str:
        return f"{module_path(self.importer)}:{self.line} imports {self.imported}"


def module_path(module: str) -> str:
    return module.replace(".", "/") + ".py"


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    """Module name → file: `corpus.parser`, `corpus.__init__`, `settings`, …"""
    modules = {name: root / f"{name}.py" for name in TOP_MODULES if (root / f"{name}.py").exists()}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            modules[".".join(path.relative_to(root).with_suffix("").parts)] = path
    return modules


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module an imported dotted name means: itself, its package's `__init__`, or None (outside)."""
    if name in modules:
        return name
    if f"{name}.__init__" in modules:
        return f"{name}.__init__"
    return None


def _package_of(module: str) -> list[str]:
    parts = module.split(".")
    return parts[:-1]  # `corpus.parser` and `corpus.__init__` both live in package `corpus`


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> list[Edge]:
    """Every project module this file imports, with the line of the import."""
    edges = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(module)
                base = package[: len(package) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # `from corpus import parser` imports the module corpus.parser; `from corpus import Pledge` the package
            targets = [
                f"{prefix}.{alias.name}" if _resolve(f"{prefix}.{alias.name}", modules) else prefix
                for alias in node.names
            ]
        for target in targets:
            resolved = _resolve(target, modules)
            if resolved and resolved != module:
                edges.append(Edge(module, resolved, node.lineno))
    return list(dict.fromkeys(edges))  # `from m import a, b` is one edge


def import_graph(root: Path = ROOT) -> list[Edge]:
    modules = project_modules(root)
    return [edge for module, path in modules.items() for edge in imports_of(module, path, modules)]


def layer(module: str) -> str:
    return module.split(".")[0]


def upward(edges: list[Edge]) -> list[Edge]:
    """Imports that point up a layer, across the top (eval ↔ app), or at app."""
    found = []
    for edge in edges:
        src, dst = layer(edge.importer), layer(edge.imported)
        if src == dst:
            continue
        if dst == "app" or LAYERS[dst] >= LAYERS[src]:
            found.append(edge)
    return found


def circles(edges: list[Edge]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.importer, set()).add(edge.imported)
        graph.setdefault(edge.imported, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return sorted(components)


def _circle_message(component: list[str], edges: list[Edge]) -> str:
    members = set(component)
    inside = [str(e) for e in edges if e.importer in members and e.imported in members]
    return f"import circle {' ↔ '.join(component)}:\n    " + "\n    ".join(inside)


def test_no_upward_imports() -> None:
    edges = import_graph()
    new = [edge for edge in upward(edges) if (edge.importer, edge.imported) not in KNOWN_UPWARD]
    assert not new, (
        "imports pointing up the layers (settings < corpus < index < assistant < eval/app; nothing imports app):\n"
        + "\n".join(f"  {edge}" for edge in new)
        + "\nmove the shared piece down to the lower layer, or wire the call at the entry point"
    )
    found = {(edge.importer, edge.imported) for edge in upward(edges)}
    for stale in sorted(set(KNOWN_UPWARD) - found):
        warnings.warn(f"KNOWN_UPWARD entry {stale} no longer occurs; remove it from tests/test_layers.py", stacklevel=1)


def test_no_import_circles() -> None:
    edges = import_graph()
    found = circles(edges)
    new = [c for c in found if not any(set(c) <= known for known in KNOWN_CIRCLES)]
    assert not new, "\n".join(_circle_message(c, edges) for c in new) + (
        "\nbreak each circle: move what both need into the lower module (or a new one below both)"
    )
    for known in sorted(KNOWN_CIRCLES, key=sorted):
        if not any(set(c) <= known for c in found):
            warnings.warn(
                f"KNOWN_CIRCLES entry {sorted(known)} no longer occurs; remove it from tests/test_layers.py",
                stacklevel=1,
            )


def test_the_walk_finds_local_relative_and_circular_imports(tmp_path: Path) -> None:
    """The checker itself, on a made-up tree: a function-local upward import, a relative circle, `app`."""
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "settings.py").write_text("", encoding="utf-8")
    (tmp_path / "app.py").write_text("import assistant\n", encoding="utf-8")
    (tmp_path / "corpus" / "a.py").write_text("from . import b\n\ndef f():\n    from index import x\n", "utf-8")
    (tmp_path / "corpus" / "b.py").write_text("from .a import f\nimport settings\n", encoding="utf-8")
    (tmp_path / "index" / "x.py").write_text("from corpus.a import f\n", encoding="utf-8")
    (tmp_path / "eval" / "e.py").write_text("import app\nfrom assistant import core\n", encoding="utf-8")
    edges = import_graph(tmp_path)
    assert sorted(str(e) for e in upward(edges)) == [
        "corpus/a.py:4 imports index.x",
        "eval/e.py:1 imports app",
    ]
    assert circles(edges) == [["corpus.a", "corpus.b", "index.x"]]
    assert "corpus/b.py:1 imports corpus.a" in _circle_message(circles(edges)[0], edges)
