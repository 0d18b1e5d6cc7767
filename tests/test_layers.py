"""The dependency direction of chatd's packages, read from the source (ast), so a wrong import fails here.

The layers, each importing only what lies below it (README, "Layout"; docs/design.md §1):

    domain  ←  store  ←  core  ←  edge  ←  faces/crust, faces/workdrive, faces/ops, realtime, web  ←  app …

- ``domain`` (models, events, errors, codes) imports no other chatd package: both the core and the store use it.
- ``store`` holds the SQL and uses the domain types only, never a core rule.
- ``core`` holds every rule and never reaches up to a transport: no face, edge, websocket or web client.
- ``edge`` is what the transports share; ``realtime`` (the websocket) calls the core, never a face or the
  store; a face never imports another face, the websocket, the store or the web client.
- ``app``, ``server`` and ``cli`` assemble the rest, so nothing below them imports them; ``client`` is the
  bots' library and imports nothing of the server.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import chatd

ROOT = Path(chatd.__file__).parent

# Where a module may not point, by layer (a layer is a package, or one face). Inner layers get allow-lists
# (what they may use), the outer ones deny-lists (what they must not reach), so a new top-level module
# such as a metrics helper can be used by a transport without editing this table.
ALLOWED: dict[str, set[str]] = {
    "domain": {"domain"},
    "store": {"store", "domain", "config"},
    "core": {"core", "domain", "store", "config"},
    "config": {"config"},  # settings are read by every layer, so they depend on none
}
ROOTS = {"app", "server", "cli", "workers", "__main__"}  # composition roots (workers starts servers): they import everything, nothing imports them
FORBIDDEN: dict[str, set[str]] = {
    "edge": {"faces", "faces.crust", "faces.workdrive", "faces.ops", "realtime", "web", "store", *ROOTS},
    "realtime": {"faces", "faces.crust", "faces.workdrive", "faces.ops", "store", "web", *ROOTS},
    "faces": {"realtime", "store", "web", *ROOTS},
    "faces.crust": {"faces.workdrive", "faces.ops", "realtime", "store", "web", *ROOTS},
    "faces.workdrive": {"faces.crust", "faces.ops", "realtime", "store", "web", *ROOTS},
    "faces.ops": {"faces.crust", "faces.workdrive", "realtime", "store", "web", *ROOTS},
    "web": {"faces", "faces.crust", "faces.workdrive", "faces.ops", "realtime", "store", *ROOTS},
}
# The bots' library runs in other programs: the package's version is all it may take from the server.
CLIENT_MAY_IMPORT = {"chatd"}


def forbidden(layer: str) -> set[str]:
    if layer in FORBIDDEN:
        return FORBIDDEN[layer]
    return {"__main__"} if layer in ROOTS else ROOTS


def layer_of(module: str) -> str:
    """``chatd.faces.crust.users`` → ``faces.crust``; ``chatd.core.access`` → ``core``; ``chatd.app`` → ``app``."""
    parts = module.split(".")[1:]
    if not parts:
        return "chatd"
    if parts[0] == "faces" and len(parts) > 1:
        return f"faces.{parts[1]}"
    return parts[0]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(package: str, level: int, target: str | None) -> str:
    base = package.split(".")
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def imports_of(source: str, module: str, is_package: bool, root: Path) -> list[tuple[int, str]]:
    """Every chatd module ``source`` imports (at any depth, ``TYPE_CHECKING`` blocks included), with its line."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "chatd"]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(package, node.level, node.module) if node.level else node.module or ""
            if target.split(".")[0] != "chatd":
                continue
            for alias in node.names:  # ``from .. import faces`` names a submodule: the edge points at it
                sub = f"{target}.{alias.name}"
                is_module = (root.parent / Path(*sub.split("."))).with_suffix(".py").exists() or (
                    root.parent / Path(*sub.split("."))
                ).is_dir()
                found.append((node.lineno, sub if is_module else target))
    return found


def violations(path: Path, source: str, root: Path = ROOT) -> list[str]:
    """The imports of the file at ``path`` (holding ``source``) that break the rules above."""
    module = module_name(path, root)
    layer = layer_of(module)
    problems = []
    for line, target in sorted(set(imports_of(source, module, path.name == "__init__.py", root))):
        to = layer_of(target)
        if to == layer:
            continue
        if layer == "client":
            wrong = target not in CLIENT_MAY_IMPORT
        elif layer in ALLOWED:
            wrong = to not in ALLOWED[layer]
        else:
            wrong = to in forbidden(layer)
        if wrong:
            problems.append(f"{path.relative_to(root.parent)}:{line}: {layer} imports {target} ({to})")
    return problems


def test_every_import_points_down() -> None:
    problems = [p for path in sorted(ROOT.rglob("*.py")) for p in violations(path, path.read_text())]
    assert problems == []


def sql_imports(path: Path, source: str, root: Path = ROOT) -> list[str]:
    """What a module outside the store imports that writes SQL: SQLAlchemy beyond a connection's type and the
    driver's errors, or the store's tables."""
    allowed = {"sqlalchemy.ext.asyncio", "sqlalchemy.exc"}
    module = module_name(path, root)
    names = [name for _, name in imports_of(source, module, path.name == "__init__.py", root)]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return [
        f"{path.relative_to(root.parent)}: {name}"
        for name in names
        if (name.split(".")[0] == "sqlalchemy" and name not in allowed) or name.startswith("chatd.store.tables")
    ]


def test_the_core_writes_no_sql() -> None:
    """SQL lives in the store: the core may name a connection's type and catch the store's errors, nothing more."""
    problems = [p for path in sorted((ROOT / "core").rglob("*.py")) for p in sql_imports(path, path.read_text())]
    assert problems == []


@pytest.mark.parametrize(
    "source", ["from sqlalchemy import select", "import sqlalchemy", "from ..store.tables import messages"]
)
def test_sql_in_the_core_is_caught(source: str) -> None:
    assert len(sql_imports(ROOT / "core" / "x.py", source + "\n")) == 1


@pytest.mark.parametrize(
    ("where", "source", "expected"),
    [
        ("core/x.py", "from ..faces.crust import users", "core imports chatd.faces.crust.users (faces.crust)"),
        ("core/x.py", "from ..edge import shapes", "core imports chatd.edge.shapes (edge)"),
        ("core/x.py", "from ..realtime.hub import Hub", "core imports chatd.realtime.hub (realtime)"),
        ("core/x.py", "import chatd.web", "core imports chatd.web (web)"),
        ("store/x.py", "from ..core.access import may_read_channel", "store imports chatd.core.access (core)"),
        ("store/x.py", "from ..core import access", "store imports chatd.core.access (core)"),
        ("domain/x.py", "from ..store import users", "domain imports chatd.store.users (store)"),
        ("realtime/x.py", "from ..store import events", "realtime imports chatd.store.events (store)"),
        ("realtime/x.py", "from ..faces.crust import routes", "realtime imports chatd.faces.crust (faces.crust)"),
        (
            "faces/crust/x.py",
            "from ..workdrive import shapes",
            "faces.crust imports chatd.faces.workdrive.shapes (faces.workdrive)",
        ),
        ("faces/workdrive/x.py", "from ..crust import users", "faces.workdrive imports chatd.faces.crust.users"),
        ("faces/crust/x.py", "from ... import web", "faces.crust imports chatd.web (web)"),
        ("web/x.py", "from ..faces import crust", "web imports chatd.faces.crust (faces.crust)"),
        ("edge/x.py", "from ..app import create_app", "edge imports chatd.app (app)"),
        ("client/x.py", "from ..core import auth", "client imports chatd.core.auth (core)"),
    ],
)
def test_a_wrong_import_is_caught(where: str, source: str, expected: str) -> None:
    """The checker itself: each kind of wrong import, put in a module of the real tree, is reported."""
    problems = violations(ROOT / where, "if True:\n    " + source + "\n")
    assert len(problems) == 1 and expected in problems[0], problems


@pytest.mark.parametrize(
    ("where", "source"),
    [
        ("core/x.py", "from ..domain.models import User"),
        ("core/x.py", "from ..store import users"),
        ("store/x.py", "from ..domain.errors import Conflict"),
        ("realtime/x.py", "from ..core import live"),
        ("realtime/x.py", "from ..edge import shapes"),
        ("faces/crust/x.py", "from ...edge.params import Params"),
        ("faces/crust/x.py", "from . import users"),
        ("client/x.py", "from .. import __version__"),
        ("app.py", "from .faces import crust"),
    ],
)
def test_a_right_import_passes(where: str, source: str) -> None:
    assert violations(ROOT / where, source + "\n") == []
