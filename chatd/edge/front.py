"""The one ASGI layer in front of chatd's routes: what every request passes through before its route runs.

For an HTTP request, in this order: the connection guard (503 at the open-files limit, before anything
else); a request id (the caller's ``X-Request-ID`` if sane, else a new one) set for the logs and sent back;
the browser rules (``browser.py``: a preflight or a refusal answers instead of the route, and every answer
gets the safe defaults and its CORS headers); the body limit (``body_limit.py``); the route; the error tree
rendered as JSON (``errors.py``), a 500 for anything unexpected; and the request's time and status by route
*template* for ``/metrics`` (raw paths would explode the label set), with an access log line without the
query string (Crust parameters, passwords included, may ride in it) where ``server.access_log`` asks.

Starlette stacks a layer per concern (its own two error layers around each of ours), and each is a
coroutine frame that every wake-up of the request passes through, wrapping ``send`` again: nine frames and
four wrappers for a send. Here the same rules, from the modules that hold them, cost one frame and one
wrapper (docs/performance.md, "Sends: one layer in front"). A websocket gets the guard and its request id
here, then goes on through Starlette's own stack, as the lifespan does.
"""

from __future__ import annotations

import logging
import random
import re
import time
from typing import Awaitable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import logs
from ..config import Settings
from ..metrics import Metrics
from . import body_limit
from .browser import BrowserGuard, Decorate, add_safe_defaults
from .errors import error_response, unexpected_error
from .headers import header
from .routing import IndexedRouter

access_log = logging.getLogger("chatd.access")
_GOOD_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class Front:
    """The layer the module docstring describes. ``standard``: Starlette's stack, for websockets and the
    lifespan. ``state``: the app's, whose ``guard`` (``capacity.ConnectionGuard``) ``server.run_one`` sets."""

    def __init__(self, router: IndexedRouter, standard: ASGIApp, state: object, settings: Settings, metrics: Metrics) -> None:
        self.router = router
        self.standard = standard
        self.state = state
        self.browser = BrowserGuard(settings)
        self.limits = settings.limits
        self.metrics = metrics
        self.log_requests = settings.server.access_log

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: a websocket goes on with no frame of ours alive as long as it stays open
        # (thousands of sockets: docs/performance.md).
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            return self.standard(scope, receive, send)
        guard = getattr(self.state, "guard", None)
        if guard is not None and guard.full(scope):
            return guard.refuse(scope, receive, send)  # type: ignore[no-any-return]
        given = header(scope, b"x-request-id")
        rid = given if given and _GOOD_ID.fullmatch(given) else _new_request_id()
        if kind == "websocket":
            logs.request_id.set(rid)  # the socket's own task ends with it: nothing to reset
            return self.standard(scope, receive, send)
        return self._http(scope, receive, send, rid)

    async def _http(self, scope: Scope, receive: Receive, send: Send, rid: str) -> None:
        token = logs.request_id.set(rid)
        started = time.perf_counter()
        status = 500
        answered = False
        decorate: Decorate | None = add_safe_defaults  # what an error answer gets if screening fails
        rid_header = (b"x-request-id", rid.encode())

        async def reply(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                answered = True
                status = message["status"]
                if decorate is None:
                    message["headers"] = [*message.get("headers", ()), rid_header]
                else:
                    decorate(message)  # the message's header list is its own now
                    message["headers"].append(rid_header)
            await send(message)

        try:
            screened = self.browser.screen(scope)
            if isinstance(screened, Response):
                decorate = None  # a browser answer (a preflight, a refusal) carries its own headers
                await screened(scope, receive, reply)
            else:
                decorate = screened
                bounded = body_limit.bounded(scope, receive, self.limits)
                if bounded is None:
                    await body_limit.refuse(reply, self.limits)
                else:
                    await self.router.dispatch(scope, bounded, reply)
        except Exception as exc:
            if answered:  # too late for an answer: the server ends the response, and logs the error
                await unexpected_error(Request(scope), exc)
                raise
            response, expected = await error_response(Request(scope, receive), exc)
            await response(scope, receive, reply)
            if not expected:
                raise  # as Starlette does: the server logs it too, and a test client sees it
            exc.__traceback__ = None  # a reused exception instance would gather tracebacks across requests
        finally:
            seconds = time.perf_counter() - started
            route = self._template(scope)
            self.metrics.http_request(scope["method"], route, status, seconds)
            if self.log_requests:
                client = scope.get("client")
                access_log.info(
                    "%s %s %d", scope["method"], scope["path"], status,
                    extra={"route": route, "status": status, "duration_ms": round(seconds * 1000, 1),
                           "client": client[0] if client else None},
                )
            logs.request_id.reset(token)

    def _template(self, scope: Scope) -> str:
        """The route template. ``dispatch`` and Starlette >= 1.8 leave the route matched in the scope; an
        older Starlette's own loop does not, so match again."""
        route = scope.get("route")
        if route is None:
            route = next((r for r in self.router.routes if r.matches(scope)[0] is Match.FULL), None)
        return route.path if isinstance(route, Route) else "unmatched"


def _new_request_id() -> str:
    """16 hex digits, as ``secrets.token_hex(8)`` gave: an id that ties log lines together, not a secret, so
    Python's generator (reseeded in every forked worker) rather than a system call per request. Its bytes'
    ``hex``, not ``f"{n:016x}"``, whose format specification is parsed on every call (about 2,000
    instructions)."""
    return random.getrandbits(64).to_bytes(8, "big").hex()


