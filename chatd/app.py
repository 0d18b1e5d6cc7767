"""The app factory: ``create_app(settings)`` wires the faces to a ``Core``; the lifespan opens and closes it.

Nothing connects at import time. The core itself is made by ``core.assembly.build_core``, which the CLI
uses too, so every entry point shares one composition of store, clock and caches.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from .config import Settings
from .core.clock import Clock
from .core.assembly import build_core
from .core.context import Core
from .core.files import purge_files
from .core.node_ids import NodeLease
from .core import background, secrets
from .faces import apidocs, crust, ops, workdrive
from . import logs, web
from .edge.errors import HANDLERS
from .edge.front import Front
from .edge.responses import serve_directly
from .edge.routing import IndexedRouter
from .metrics import Metrics
from .realtime import endpoint as websocket
from .realtime import session
from .realtime.sweep import sweep_forever
from .realtime.bus import RedisBus, create_bus
from .realtime.hub import Hub
from .realtime.recovery import Recovery
from .store import migrations

log = logging.getLogger("chatd")


JANITOR_SECONDS = 3600.0


async def _every(seconds: float, job: Callable[[], Awaitable[object]]) -> None:
    """Housekeeping that must never take the server down: run ``job`` every ``seconds``, logging failures."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception as exc:
            background.failed(log, "housekeeping job failed", exc)


LOOP_WATCH_SECONDS = 0.01


async def watch_loop(core: Core) -> None:
    """How late the event loop runs a timer due every 10 ms, to the probe (``chatd_event_loop_lag_seconds``):
    a stall of the loop (a long synchronous stretch) delays every client by that much."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + LOOP_WATCH_SECONDS
        await asyncio.sleep(LOOP_WATCH_SECONDS)
        core.probe.loop_lag(max(0.0, loop.time() - due))


class AppState(State):
    """``app.state`` whose values are also plain attributes: Starlette's ``State`` keeps them in a dict and
    answers each read from its ``__getattr__``, after a failed attribute lookup (about 0.5 µs; a send reads
    the core, the settings and the connection guard four times). The dict stays complete, so this is still
    a ``State`` to anything reading it as one."""

    def __setattr__(self, key: str, value: Any) -> None:
        super().__setattr__(key, value)
        object.__setattr__(self, key, value)

    def __delattr__(self, key: str) -> None:
        super().__delattr__(key)
        object.__delattr__(self, key)


class ChatdApp(Starlette):
    """Starlette with ``edge.front.Front`` as its whole middleware stack: one layer for what Starlette
    would stack five for (its two error layers, and the request id and metrics, the browser rules and the
    body limit)."""

    def __init__(self, settings: Settings, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(exception_handlers=HANDLERS, **kwargs)
        self.settings = settings
        self.metrics = metrics

    def build_middleware_stack(self) -> ASGIApp:
        standard = super().build_middleware_stack()  # its error layers, for websockets and the lifespan
        assert isinstance(self.router, IndexedRouter)
        return Front(self.router, standard, self.state, self.settings, self.metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A coroutine function, as servers check (uvicorn takes anything else for an ASGI 2 app).
        scope["app"] = self
        stack = self.middleware_stack
        if stack is None:
            stack = self.middleware_stack = self.build_middleware_stack()
        await stack(scope, receive, send)


def _routes() -> list[BaseRoute]:
    return [*ops.routes, *apidocs.routes, *crust.routes(), *workdrive.routes(), *websocket.routes, *web.routes()]


def create_app(settings: Settings, *, clock: Clock | None = None) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        bus = create_bus(settings.bus.url, settings.bus)
        core = build_core(settings, clock, bus)
        registry.watch(core, bus)
        await migrations.upgrade(core.db, core.clock.now_ms())
        await secrets.load(core)
        lease = NodeLease(core)
        try:
            await lease.claim()
        except BaseException:  # a node refused to start still closes its connections
            await core.db.dispose()
            raise
        hub = Hub(bus, core.clock, core.probe)
        hub.refresher = lambda conn: session.refresh(hub, conn)
        hub.recheck = session.recheck
        hub.forget = core.credentials.forget_user  # revocations on other nodes reach this cache too
        bus.subscribe(hub.deliver)
        if isinstance(bus, RedisBus):  # after a bus gap, re-read access and fill from the store (recovery.py)
            recovery = Recovery(hub, core)
            bus.on_reconnect(recovery)
            bus.on_gap(recovery)
            app.state.recovery = recovery
        await bus.start()
        stamper = asyncio.get_running_loop().create_task(hub.stamp_seen(core))
        janitor = asyncio.get_running_loop().create_task(_every(JANITOR_SECONDS, lambda: purge_files(core)))
        keeper = asyncio.get_running_loop().create_task(lease.keep())
        heartbeat = asyncio.get_running_loop().create_task(hub.keep_presence(settings.websocket.presence_heartbeat_seconds))
        sweeper = asyncio.get_running_loop().create_task(sweep_forever(hub, core))
        watcher = asyncio.get_running_loop().create_task(watch_loop(core))
        flusher = asyncio.get_running_loop().create_task(registry.flushing())
        indexer = asyncio.get_running_loop().create_task(core.indexer.run())
        app.state.core = core
        app.state.bus = bus
        app.state.hub = hub
        app.state.lease = lease
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            stamper.cancel()
            janitor.cancel()
            keeper.cancel()
            heartbeat.cancel()
            sweeper.cancel()
            watcher.cancel()
            flusher.cancel()
            indexer.cancel()  # what it has not indexed stays in the backlog for the next start
            await asyncio.gather(
                stamper, janitor, keeper, heartbeat, sweeper, watcher, flusher, indexer, return_exceptions=True
            )
            await hub.close_all()
            await core.writes.stop()
            await bus.stop()
            await lease.release()
            await core.db.dispose()

    registry = Metrics()
    app = ChatdApp(settings, registry)
    app.state = AppState()  # before anything is kept in it
    routes = _routes()
    serve_directly(routes)  # the views of ``edge.responses.endpoint`` without Starlette's per-route wrapping
    app.router = IndexedRouter(routes, lifespan=lifespan)  # route lookup by exact path (edge/routing.py)
    app.state.settings = settings
    app.state.metrics = registry
    app.state.ready = False
    app.state.guard = None  # ``server.run_one`` sets the connection guard; every request asks for it
    logs.quiet_denied_handshakes()
    return app
