"""Operator endpoints: ``/healthz`` (the process is up), ``/readyz`` (it can serve: the database answers
and takes writes), ``/metrics`` (Prometheus). What gives every request an id, times it for ``/metrics``
and, with ``server.access_log``, logs it is ``edge/front.py``."""

from __future__ import annotations

from typing import Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from typing_extensions import NotRequired, TypedDict

from ..domain.errors import Unavailable
from ..edge.described import described
from ..edge.responses import JSON


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


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
