"""Shared test helpers live in one place: a test module (and ``conftest.py``) imports nothing of the tests'
own but the ``harness`` package, so no test module imports another, and a helper is found where
``harness/__init__.py`` lists it. The package itself may use ``servers.py`` (shared with the benchmarks).
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

TESTS = Path(__file__).resolve().parent
LOCAL = {p.stem for p in TESTS.glob("*.py")} | {p.name for p in TESTS.iterdir() if (p / "__init__.py").exists()}


def _imported(path: Path) -> list[tuple[int, str]]:
    """(line, top-level module) of every absolute import in ``path``, also those inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def _ours(module: str) -> bool:
    """A module of the tests' own, or one that does not exist (such as a helper file since moved into harness)."""
    if module in LOCAL:
        return True
    if (TESTS.parent / "scripts" / module).is_dir():  # the benchmark's package: on the path only once a test
        return False  # module put it there (``test_bench_fill.py``), so alone this check must not need it
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


def test_test_modules_import_only_the_harness() -> None:
    wrong = [
        f"{path.name}:{line} imports {module}"
        for path in sorted(TESTS.glob("*.py"))
        if path.name != "servers.py"
        for line, module in _imported(path)
        if _ours(module) and module != "harness"
    ]
    assert not wrong, f"import shared helpers from harness, not from other test files: {wrong}"


def test_the_harness_imports_no_test_module() -> None:
    wrong = [
        f"harness/{path.name}:{line} imports {module}"
        for path in sorted((TESTS / "harness").glob("*.py"))
        for line, module in _imported(path)
        if module in LOCAL - {"servers"}
    ]
    assert not wrong, f"the harness must not depend on test modules or conftest: {wrong}"


def test_the_check_sees_local_modules() -> None:
    """Guards the check itself: it must know the local names, or it could never fail."""
    assert {"harness", "conftest", "servers", "test_imports"} <= LOCAL
    assert _ours("live") and _ours("two_nodes") and not _ours("pytest") and not _ours("chatd")
