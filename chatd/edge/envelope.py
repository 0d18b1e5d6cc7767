"""The original Crust server's envelope, for clients written against it (docs/api.md, "Clients of the
original Crust server").

That server answered every call with HTTP 200: ``{"response": …}`` on success and ``{"error": {"message":
…}}`` on failure. The Crust face answers so when the deployment turns ``compat.crust_envelope`` on (unless a
request sends ``X-Chatd-Envelope: plain``), or when a request sends ``X-Chatd-Envelope: crust``. Failures
that are not about the call's own content keep their HTTP status, so proxies, retries and browsers still
see them: a missing or bad credential (401), a wrong method (405), a body too large (413), throttling (429)
and server failures (500, 503); so does a path no route knows (404 from routing, which belongs to no face).
The error body is the same as without the envelope (``code`` and ``fields`` next to ``message``).

Routes say which face they belong to (``on_face``), so this is decided once, here, for every route of the
face: ``responses.respond`` wraps successes and ``errors`` renders failures with it.
"""

from __future__ import annotations

from typing import Sequence

from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute, Route
from starlette.types import Scope

from .headers import header

HEADER = "x-chatd-envelope"
_HEADER = HEADER.encode()
CRUST = "crust"
PLAIN = "plain"
KEPT_STATUSES = frozenset({401, 405, 413, 416, 429, 500, 503})  # 416: a 200 would claim to be the whole file


class FaceRoute(Route):
    """A route that knows its face; the router leaves the matched route in ``scope["route"]``."""

    face: str

    @classmethod
    def of(cls, route: Route, face: str) -> "FaceRoute":
        methods = sorted(route.methods - {"HEAD"}) if route.methods else None
        tagged = cls(route.path, route.endpoint, methods=methods, name=route.name)
        tagged.face = face
        return tagged


def on_face(face: str, routes: Sequence[BaseRoute]) -> list[BaseRoute]:
    return [FaceRoute.of(route, face) if isinstance(route, Route) else route for route in routes]


def face_of(conn: HTTPConnection) -> str | None:
    route = conn.scope.get("route")
    return route.face if isinstance(route, FaceRoute) else None


def wanted(conn: HTTPConnection) -> bool:
    """Does this request get the Crust envelope? Only on the Crust face; the header, else the setting."""
    return wanted_in(conn.scope)


def wanted_in(scope: Scope) -> bool:
    """``wanted`` for a request's ASGI scope."""
    route = scope.get("route")
    if not isinstance(route, FaceRoute) or route.face != CRUST:
        return False
    asked = header(scope, _HEADER).strip().lower()
    if asked in (CRUST, PLAIN):
        return asked == CRUST
    return bool(scope["app"].state.settings.compat.crust_envelope)


def status(original: int) -> int:
    """The HTTP status of an enveloped failure: 200, as the original answered, unless it is kept."""
    return original if original in KEPT_STATUSES else 200


def success(payload: object) -> dict[str, object]:
    return {"response": payload}
