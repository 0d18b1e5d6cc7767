"""Open files: every socket is one, so the open-files limit is the connection limit.

At start chatd raises its soft ``RLIMIT_NOFILE`` to the hard limit (systemd's ``LimitNOFILE`` sets both)
and logs the figure. Near the limit it refuses new connections itself, with 503 and a log line, rather than
letting ``accept()`` fail: a failed accept resets clients, including health checks, and logs nothing useful.
``/healthz``, ``/readyz`` and ``/metrics`` are never refused: the reserve leaves room for them.
"""

from __future__ import annotations

import logging
import resource
import time
from pathlib import Path
from typing import Callable

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

log = logging.getLogger("chatd.capacity")
OPS_PATHS = ("/healthz", "/readyz", "/metrics")
WARN_EVERY = 10.0


def raise_open_files_limit() -> tuple[int, int]:
    """Raise the soft open-files limit as far as the hard limit allows; returns (before, after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard
    if hard == resource.RLIM_INFINITY:
        try:
            target = int(Path("/proc/sys/fs/nr_open").read_text())
        except (OSError, ValueError):
            target = 1 << 20
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open files limit from %d to %d: %s", soft, target, exc)
            return soft, soft
        return soft, target
    return soft, soft


def connection_budget(open_files: int) -> int:
    """Connections accepted before refusing: the limit less a reserve for the database, Redis, logs and the
    operator endpoints (a tenth of the limit, at least 100)."""
    return max(1, open_files - max(100, open_files // 10))


class ConnectionGuard:
    """Refuses a request or websocket when ``count()`` open connections reached ``limit``."""

    def __init__(self, count: Callable[[], int], limit: int, open_files: int) -> None:
        self.count = count
        self.limit = limit
        self.open_files = open_files
        self._last_warning = float("-inf")
        self.refused = 0

    def full(self, scope: Scope) -> bool:
        if scope.get("path", "") in OPS_PATHS:
            return False
        open_now = self.count()
        if open_now < self.limit:
            return False
        self.refused += 1
        now = time.monotonic()
        if now - self._last_warning >= WARN_EVERY:
            self._last_warning = now
            log.warning(
                "refusing new connections: %d open, limit %d (open files limit %d); %d refused so far. "
                "Raise LimitNOFILE (systemd) or `ulimit -n`, or add nodes",
                open_now, self.limit, self.open_files, self.refused,
            )
        return True

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = orjson.dumps({"error": {"code": "unavailable", "message": "the server is at its connection limit; try again shortly"}})
        response = Response(body, status_code=503, media_type="application/json", headers={"Retry-After": "5"})
        if scope["type"] != "websocket":
            await response(scope, receive, send)
            return
        websocket = WebSocket(scope, receive, send)
        if "websocket.http.response" in scope.get("extensions", {}):
            await websocket.send_denial_response(response)
        else:
            await websocket.close(1013, "try again later")
