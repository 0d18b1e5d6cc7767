"""What every ``chatd`` command shares: ``--config`` before or after any command, settings read once, the
database checked before use, and passwords from a prompt or standard input. A mistake the operator can fix
is an ``OperatorError`` (``operator_errors.py``), shared with ``serve`` and ``--workers``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import TYPE_CHECKING, Any, Awaitable, Callable, TypeVar

import click

from ..config import Settings, load_settings
from ..core.assembly import build_core
from ..core.context import Core
from ..core.ids import IdGenerator
from ..core.node_ids import NodeLease
from ..domain.errors import Unavailable
from ..operator_errors import OperatorError
from ..store import migrations

if TYPE_CHECKING:
    from ..realtime.bus import RedisBus

T = TypeVar("T")
_CONFIG = "chatd.config"
_SETTINGS = "chatd.settings"


def _remember_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        ctx.meta[_CONFIG] = value  # ``meta`` is shared by every context of one invocation
    return value


def config_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--config FILE``, accepted on the root and on every group and command alike."""
    return click.option(
        "--config", metavar="FILE", expose_value=False, is_eager=True, callback=_remember_config,
        help="TOML config file (default: $CHATD_CONFIG, else built-in defaults).",
    )(function)


def settings() -> Settings:
    """The settings of this invocation, read once (``ConfigError`` propagates to ``main``)."""
    meta = click.get_current_context().meta
    if _SETTINGS not in meta:
        meta[_SETTINGS] = load_settings(meta.get(_CONFIG))
    found: Settings = meta[_SETTINGS]
    return found


def data_dir_origin(current: Settings) -> str:
    """Where the data directory came from, in words an operator can act on."""
    if os.environ.get("CHATD_SERVER__DATA_DIR"):
        return "from CHATD_SERVER__DATA_DIR"
    if current.config_file is not None:
        return f"from {current.config_file}"
    return "the default: var/ in the working directory"


def database_origin(current: Settings) -> str:
    if os.environ.get("CHATD_DATABASE__URL"):
        return "from CHATD_DATABASE__URL"
    if current.sqlite_path is not None and current.sqlite_path.parent == current.data_path:
        return f"in the data directory, {data_dir_origin(current)}"
    return f"from {current.config_file}" if current.config_file else "from database.url"


def location_chosen(current: Settings) -> bool:
    """Did the operator name the database (a config file, CHATD_DATABASE__URL or CHATD_SERVER__DATA_DIR)? Only
    then may a command create it: the built-in default is relative to the working directory, and a command
    run from elsewhere must not quietly start a second, empty database."""
    named = ("CHATD_DATABASE__URL", "CHATD_SERVER__DATA_DIR", "CHATD_CONFIG")
    return current.config_file is not None or any(os.environ.get(name) for name in named)


async def require_schema(core: Core, *, create: bool = False) -> None:
    """Refuse to work on a database that is missing, empty, or at another schema version than this chatd.

    ``create``: a command that adds data (``user add``) creates or upgrades the database instead, where the
    operator named its location."""
    path = core.db.path
    settings_now = core.settings
    if create and location_chosen(settings_now):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        await migrations.upgrade(core.db, core.clock.now_ms())
        return
    if path is not None and not path.exists():
        raise OperatorError(
            f"no database at {path} ({database_origin(settings_now)}): run this where `chatd serve` runs, "
            "or pass the server's --config (check-config shows its data directory); `chatd db init` creates a new one"
        )
    async with core.reading() as conn:
        version = await migrations.current_version(conn)
    if version == 0:
        raise OperatorError(f"the database {core.db.where} has no chatd tables: run `chatd db init`")
    if version < migrations.LATEST:
        raise OperatorError(
            f"the database {core.db.where} is at schema version {version}, this chatd needs "
            f"{migrations.LATEST}: run `chatd db upgrade` (a starting server does it too)"
        )
    if version > migrations.LATEST:
        raise OperatorError(
            f"the database {core.db.where} is at schema version {version}, newer than this chatd "
            f"({migrations.LATEST}): run a newer chatd"
        )


class _Refusing(IdGenerator):
    """The ids of a command that could not lease a node id: minting fails with the database's own reason
    (read-only, unreachable), so a command that only reads still works."""

    def __init__(self, core: Core, why: Unavailable) -> None:
        super().__init__(0, core.clock)
        self.why = why

    def next(self) -> int:
        raise Unavailable(self.why.message, detail=self.why.detail, reason=self.why.reason)


async def _leased(core: Core, action: Callable[[Core], Awaitable[T]]) -> T:
    """Run ``action`` with a node id leased for this process (``core/node_ids.py``): a command runs beside
    servers and other commands, and its ids must collide with none of theirs."""
    lease = NodeLease(core, command=True)
    try:
        await lease.claim()
    except Unavailable as why:
        core.ids = _Refusing(core, why)
        return await action(core)
    keeper = asyncio.get_running_loop().create_task(lease.keep())  # a long command (an export) can outlast a lease
    try:
        return await action(core)
    finally:
        keeper.cancel()
        await asyncio.gather(keeper, return_exceptions=True)
        await lease.release()


def run_with_core(
    action: Callable[[Core], Awaitable[T]], *, schema: bool = True, create: bool = False, announce: bool = False
) -> T:
    """Run ``action`` on a core over the configured database (checked first unless ``schema=False``;
    created first with ``create``, where the operator named its location).

    ``announce``: publish what the action changes on the Redis bus, if there is one, so running servers act
    at once (a revocation closes sockets); without a bus their credential sweep notices within seconds."""
    current = settings()

    async def main() -> T:
        bus = _announcer(current) if announce else None
        core = build_core(current, publisher=bus)
        try:
            if not schema:
                return await action(core)
            await require_schema(core, create=create)
            return await _leased(core, action)
        finally:
            if bus is not None:
                await bus.stop()
            await core.close()

    return asyncio.run(main())


def _announcer(current: Settings) -> RedisBus | None:
    """The Redis bus a command announces its change on, if the servers share one. Imported here, not at the
    top: most commands announce nothing, and the client library is a tenth of a command's start."""
    if not current.bus.url.startswith(("redis://", "rediss://")):
        return None
    from ..realtime.bus import RedisBus

    return RedisBus(current.bus.url)


def read_password(from_stdin: bool, prompt: str) -> str | None:
    """A password from standard input (one line), else from a prompt on a terminal; None when neither."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise OperatorError("no password on standard input (--password-stdin reads one line)")
        return line.rstrip("\r\n")
    if sys.stdin.isatty():
        value: str = click.prompt(prompt, hide_input=True, confirmation_prompt="Again")
        return value
    return None


def echo_json(value: Any) -> None:
    import orjson

    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())
