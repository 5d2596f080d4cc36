"""skmtl.neural's private modules import each other without a circle (issue 12, "House")."""

import ast
import pathlib

import skmtl.neural

PACKAGE = pathlib.Path(skmtl.neural.__file__).parent


def _imports(path: pathlib.Path) -> set:
    """The sibling modules a module imports (``from ._x import ...``), inside functions too:
    a deferred import is still a circle."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_import_circle_among_the_private_modules():
    graph = {p.stem: _imports(p) for p in PACKAGE.glob("_*.py") if p.stem != "__init__"}
    done, path = set(), []

    def visit(node):
        if node in path:
            raise AssertionError(f"import circle: {' -> '.join([*path[path.index(node) :], node])}")
        if node in done or node not in graph:
            return
        path.append(node)
        for dep in graph[node]:
            visit(dep)
        path.pop()
        done.add(node)

    for node in graph:
        visit(node)


def test_deferred_imports_count(tmp_path):
    (tmp_path / "_a.py").write_text("from ._b import x\n\n\ndef f():\n    from ._c import y\n")
    assert _imports(tmp_path / "_a.py") == {"_b", "_c"}
