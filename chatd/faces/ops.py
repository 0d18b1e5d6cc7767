"""Operator endpoints: ``/healthz`` (the process is up), ``/readyz`` (it can serve: database reachable)."""

from __future__ import annotations

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .responses import JSON


async def healthz(_request: Request) -> Response:
    return JSON({"status": "ok"})


async def readyz(request: Request) -> Response:
    if not getattr(request.app.state, "ready", False):
        return JSON({"status": "starting"}, status_code=503)
    try:
        async with request.app.state.core.reading() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver failure means "not ready", never a 500 page
        return JSON({"status": "unavailable", "reason": type(exc).__name__}, status_code=503)
    return JSON({"status": "ready"})


routes = [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
