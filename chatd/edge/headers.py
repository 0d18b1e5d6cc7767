"""A request's headers, read once: every layer of the edge asks for a few of them, and Starlette's
``Headers`` scans the whole list (lower-casing and encoding the name) on every lookup, and is built anew
by every ``Request`` (docs/performance.md, "Sends: the request path").

``headers_of(scope)`` maps each header name to its first value, which is what ``Headers.get`` and
``Headers[...]`` answer: names are matched as the server sent them (ASGI servers send them in lower case,
and Starlette lower-cases only the name asked for), later duplicates are ignored. An HTTP request keeps
the map in its scope for the next reader; a websocket reads its few headers once, and keeps nothing for as
long as it stays open (thousands of sockets). Nothing in chatd rewrites a request's headers; a layer that
replaced the list would get a fresh map.
"""

from __future__ import annotations

from starlette.types import Scope

_SCOPE_KEY = "chatd.headers"


def headers_of(scope: Scope) -> dict[bytes, bytes]:
    """Header name (lower case, as bytes) → its first value, raw."""
    raw = scope["headers"]
    cached: tuple[object, dict[bytes, bytes]] | None = scope.get(_SCOPE_KEY)
    if cached is not None and cached[0] is raw:
        return cached[1]
    if not isinstance(raw, list):  # ASGI allows any iterable; Starlette's ``Headers`` makes it a list too
        raw = scope["headers"] = list(raw)
    first = dict(raw[::-1])  # the first occurrence is written last, so it wins (a copy costs less than ``reversed``)
    if scope["type"] == "http":
        scope[_SCOPE_KEY] = (raw, first)
    return first


def header(scope: Scope, name: bytes) -> str:
    """One header's first value as Starlette decodes it (Latin-1), or ``""`` when it is absent."""
    return headers_of(scope).get(name, b"").decode("latin-1")
