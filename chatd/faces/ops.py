"""Operator endpoints: ``/healthz`` (the process is up), ``/readyz`` (it can serve: the database answers
and takes writes), ``/metrics`` (Prometheus), and the middleware that gives every request an id, times it
for ``/metrics`` and, with ``server.access_log``, logs it."""

from __future__ import annotations

import logging
import re
import random
import time
from typing import Awaitable, Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from typing_extensions import NotRequired, TypedDict

from .. import logs
from ..domain.errors import Unavailable
from ..edge.described import described
from ..edge.headers import header
from ..edge.responses import JSON
from ..metrics import Metrics

access_log = logging.getLogger("chatd.access")
_GOOD_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class Status(TypedDict):
    """``reason``: what is wrong with the database, in a few words, when it cannot serve. ``bus``:
    ``unavailable`` while this node has lost Redis; the node stays ready (sends are committed and reach this
    node's sockets, the others fill from the store), so only the field says so (docs/operations.md §8.1)."""

    status: Literal["ok", "ready", "starting", "unavailable"]
    reason: NotRequired[str]
    bus: NotRequired[Literal["unavailable"]]


@described(response=Status, authenticated=False, errors=())
async def healthz(_request: Request) -> Response:
    """The process is up."""
    return JSON({"status": "ok"})


@described(response=Status, statuses=(503,), authenticated=False, errors=())
async def readyz(request: Request) -> Response:
    """The node can serve: started, and its database answers (503 while it cannot); and whether it has lost
    the bus (still 200)."""
    if not getattr(request.app.state, "ready", False):
        return JSON({"status": "starting"}, status_code=503)
    body: Status
    try:
        await request.app.state.core.db.probe_ready()
    except Unavailable as exc:
        body = {"status": "unavailable", "reason": exc.reason}
    else:
        body = {"status": "ready"}
    if not getattr(request.app.state.bus, "connected", True):  # the memory bus cannot be lost
        body["bus"] = "unavailable"
    return JSON(body, status_code=200 if body["status"] == "ready" else 503)


@described(media_type="text/plain", authenticated=False, errors=())
async def metrics(request: Request) -> Response:
    """Prometheus metrics, in its text format."""
    body, content_type = request.app.state.metrics.render()
    return Response(body, media_type=content_type)


class RequestMetrics:
    """Per request: an id (the caller's ``X-Request-ID`` if sane, else a new one) set for the logs and sent
    back; the time and status by route *template* (raw paths would explode the label set); an access
    log line without the query string (Crust parameters, passwords included, may ride in it)."""

    def __init__(self, app: ASGIApp, registry: Metrics, log_requests: bool = False) -> None:
        self.app = app
        self.registry = registry
        self.log_requests = log_requests

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] not in ("http", "websocket"):
            return self.app(scope, receive, send)
        guard = getattr(scope["app"].state, "guard", None) if "app" in scope else None
        if guard is not None and guard.full(scope):
            return guard.refuse(scope, receive, send)  # type: ignore[no-any-return]
        given = header(scope, b"x-request-id")
        rid = given if given and _GOOD_ID.fullmatch(given) else _new_request_id()
        if scope["type"] == "websocket":
            # Set for the socket's own task, which ends with it: nothing to reset, and no frame of ours
            # stays alive as long as the socket does (thousands of them: docs/performance.md).
            logs.request_id.set(rid)
            return self.app(scope, receive, send)
        return self._http(scope, receive, send, rid)

    async def _http(self, scope: Scope, receive: Receive, send: Send, rid: str) -> None:
        token = logs.request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            seconds = time.perf_counter() - started
            route = _template(scope)
            self.registry.http_request(scope["method"], route, status, seconds)
            if self.log_requests:
                client = scope.get("client")
                access_log.info(
                    "%s %s %d", scope["method"], scope["path"], status,
                    extra={"route": route, "status": status, "duration_ms": round(seconds * 1000, 1),
                           "client": client[0] if client else None},
                )
            logs.request_id.reset(token)


def _new_request_id() -> str:
    """16 hex digits, as ``secrets.token_hex(8)`` gave: an id that ties log lines together, not a secret, so
    Python's generator (reseeded in every forked worker) rather than a system call per request."""
    return f"{random.getrandbits(64):016x}"


def _template(scope: Scope) -> str:
    """The route template. Starlette >= 1.8 leaves the route it matched in the scope; before that, match again."""
    route = scope.get("route")
    if route is None and "app" in scope:
        route = next((r for r in scope["app"].router.routes if r.matches(scope)[0] is Match.FULL), None)
    return route.path if isinstance(route, Route) else "unmatched"


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
