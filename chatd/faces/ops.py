"""Operator endpoints: ``/healthz`` (the process is up), ``/readyz`` (it can serve: database reachable),
``/metrics`` (Prometheus), and the middleware that counts requests for it."""

from __future__ import annotations

import time
from typing import Literal

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from typing_extensions import NotRequired, TypedDict

from ..metrics import Metrics
from ..edge.described import described
from ..edge.responses import JSON


class Status(TypedDict):
    """``reason``: the driver error's type name, when the database is unreachable."""

    status: Literal["ok", "ready", "starting", "unavailable"]
    reason: NotRequired[str]


@described(response=Status, authenticated=False, errors=())
async def healthz(_request: Request) -> Response:
    """The process is up."""
    return JSON({"status": "ok"})


@described(response=Status, statuses=(503,), authenticated=False, errors=())
async def readyz(request: Request) -> Response:
    """The node can serve: started, and its database answers (503 while it cannot)."""
    if not getattr(request.app.state, "ready", False):
        return JSON({"status": "starting"}, status_code=503)
    try:
        async with request.app.state.core.reading() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver failure means "not ready", never a 500 page
        return JSON({"status": "unavailable", "reason": type(exc).__name__}, status_code=503)
    return JSON({"status": "ready"})


@described(media_type="text/plain", authenticated=False, errors=())
async def metrics(request: Request) -> Response:
    """Prometheus metrics, in its text format."""
    return PlainTextResponse(request.app.state.metrics.render(), media_type="text/plain; version=0.0.4")


def register(metrics_registry: Metrics) -> None:
    metrics_registry.counter("chatd_http_requests_total", "HTTP requests by route template, method and status.")
    metrics_registry.counter("chatd_http_request_seconds_total", "Time spent answering HTTP requests, by route.")


class RequestMetrics:
    """Counts requests by route *template* (never the raw path: ids would explode the label set)."""

    def __init__(self, app: ASGIApp, registry: Metrics) -> None:
        self.app = app
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            route = _template(scope)
            self.registry.inc(
                "chatd_http_requests_total", method=scope["method"], route=route, status=str(status["code"])
            )
            self.registry.inc("chatd_http_request_seconds_total", time.perf_counter() - started, route=route)


def _template(scope: Scope) -> str:
    """The router leaves the route it matched in the scope; reuse it rather than matching again."""
    route = scope.get("route")
    return route.path if isinstance(route, Route) else "unmatched"


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
