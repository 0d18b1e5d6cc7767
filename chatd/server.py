"""``chatd serve``: bind the port, prepare the database and the admin account, then run uvicorn until SIGTERM.

The port is bound first, so a port in use is one line before anything else happens, and "serving on …"
is printed only once uvicorn has started on that socket (the lifespan ran: the database is open, the bus
connected). On SIGTERM uvicorn stops accepting, the lifespan tells websocket clients to resume elsewhere,
and in-flight requests get ``server.shutdown_grace_seconds`` to finish. ``--workers N`` runs N such servers
on the one socket (``workers.py``).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import secrets
import socket
import sys
from pathlib import Path
from typing import Any, Callable

import uvicorn

from . import capacity, logs
from .collector import Collector
from .app import create_app
from .core.assembly import build_core
from .config import Settings
from .core import users
from .domain.errors import Unavailable
from .http_protocol import OneWriteHttp
from .operator_errors import OperatorError
from .realtime.wire import WebSocketProtocol
from .store import migrations

log = logging.getLogger("chatd")


def ensure_database_dir(path: Path | None) -> None:
    """Create the directory of a new SQLite file (``path``; None on PostgreSQL), or say plainly why it cannot be:
    ``serve`` and the commands that create a database (``db init``, ``import``) share this."""
    if path is not None:
        _make_dir(path.parent, f"{path.parent} for the database", "create it (writable by the user chatd runs as) or set server.data_dir / database.url")


def _make_dir(path: Path, what: str, fix: str) -> None:
    """Create ``path`` (and its parents), or raise ``OperatorError`` naming ``what``, the cause and the ``fix``."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OperatorError(f"cannot create {what}: {exc.strerror or exc}; {fix}") from None


def listen_url(settings: Settings) -> str:
    host = settings.server.host
    return f"http://[{host}]:{settings.server.port}" if ":" in host else f"http://{host}:{settings.server.port}"


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, or ``OperatorError`` saying why not (in use, not this machine's address, privileged)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        where = f"{host}:{port}"
        if exc.errno == errno.EADDRINUSE:
            raise OperatorError(f"cannot listen on {where}: the port is in use; stop what uses it or choose another (--port, server.port)") from None
        if exc.errno == errno.EACCES:
            raise OperatorError(f"cannot listen on {where}: ports below 1024 need root or CAP_NET_BIND_SERVICE; choose a port above 1023 (--port)") from None
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(exc, socket.gaierror):
            raise OperatorError(f"cannot listen on {where}: not an address of this machine; use 127.0.0.1, 0.0.0.0 or one of its addresses (--host)") from None
        raise OperatorError(f"cannot listen on {where}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


async def prepare(settings: Settings) -> str | None:
    """Create or upgrade the schema and the first admin; returns a generated admin password, if any.

    A database that reads but refuses writes is served anyway (history stays readable) with a warning:
    ``/readyz`` answers 503 and writes are refused with 503 until it is writable again."""
    _make_dir(settings.data_path, f"the data directory {settings.data_path}",
              "create it, writable by the user chatd runs as, or set server.data_dir")
    ensure_database_dir(settings.sqlite_path)
    core = build_core(settings)
    try:
        await migrations.upgrade(core.db, core.clock.now_ms())
        password = os.environ.get("CHATD_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        created = await users.ensure_admin(core, password)
        try:
            await core.db.probe_ready()
        except Unavailable as exc:
            print(f"chatd: warning: {exc.detail}; serving reads only (/readyz answers 503) until then", file=sys.stderr, flush=True)
    finally:
        await core.close()
    if created and not os.environ.get("CHATD_ADMIN_PASSWORD"):
        return password
    return None


def uvicorn_config(settings: Settings, app: Any, log_config: dict[str, Any]) -> uvicorn.Config:
    forwarded = settings.server.forwarded_allow_ips
    return uvicorn.Config(
        app,
        loop="uvloop",
        http=OneWriteHttp,  # uvicorn's httptools protocol, each answer in one write (http_protocol.py)
        ws=WebSocketProtocol,  # uvicorn's sans-I/O protocol, writing frames as built (realtime/wire.py)
        ws_max_size=settings.websocket.max_frame_bytes,
        ws_per_message_deflate=settings.websocket.compression,
        ws_ping_interval=settings.websocket.ping_interval_seconds,
        ws_ping_timeout=settings.websocket.ping_interval_seconds,
        timeout_graceful_shutdown=int(settings.server.shutdown_grace_seconds),
        log_config=log_config,
        proxy_headers=bool(forwarded),
        forwarded_allow_ips=forwarded or None,
        access_log=False,  # our own access log (server.access_log) has the request id and no query string
    )


class Server(uvicorn.Server):
    """uvicorn's server, telling ``on_started`` once it serves (after the lifespan, on the bound socket).

    From then on the garbage collector's full passes traverse only what changed since the last one
    (``collector.py``): what startup built, and every long-lived connection, is frozen."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_started = on_started
        self.collector: Collector | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            self.collector = Collector(asyncio.get_running_loop())
            self.collector.start()
            self.on_started()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.collector is not None:
            self.collector.stop()
            self.collector = None
        await super().shutdown(sockets=sockets)


def run_one(settings: Settings, sock: socket.socket, log_config: dict[str, Any], on_started: Callable[[], None]) -> bool:
    """Serve on ``sock`` in this process until told to stop; returns whether it ever started."""
    _, open_files = capacity.raise_open_files_limit()
    app = create_app(settings)
    server = Server(uvicorn_config(settings, app, log_config), on_started)
    app.state.guard = capacity.ConnectionGuard(
        lambda: len(server.server_state.connections), capacity.connection_budget(open_files), open_files
    )
    server.run(sockets=[sock])
    return server.started


def serve(settings: Settings) -> int:
    if settings.server.workers > 1:
        from . import workers

        workers.check(settings)
    sock = bind(settings.server.host, settings.server.port)
    try:
        generated = asyncio.run(prepare(settings))  # before logging is set up: a failure is the one line main prints
    except BaseException:
        sock.close()
        raise
    log_config = logs.configure()
    before, open_files = capacity.raise_open_files_limit()
    log.info("open files limit %d%s; refusing connections above %d", open_files,
             f" (raised from {before})" if before != open_files else "", capacity.connection_budget(open_files))
    if generated:
        print(f"created the admin account: username 'admin', password '{generated}' (shown once)", flush=True)
    if settings.server.workers > 1:
        from . import workers

        return workers.run(settings, sock, log_config)

    def announce() -> None:
        print(f"chatd serving on {listen_url(settings)}", flush=True)

    if not run_one(settings, sock, log_config, announce):
        raise OperatorError("the server did not start; the log above says why")
    return 0
