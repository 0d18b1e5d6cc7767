"""Credentials at the edge: ``X-Session-ID`` (+ ``X-Client-ID``), ``Authorization: Bearer``,
``X-API-KEY``, or the login cookie, in that order. The core decides whether the secret is good (a session
id, an access token, or the JWT that wraps a session for clients of the original Crust server).

A websocket may also carry that JWT in its ``jwt`` query parameter, as the original Crust web app did, when
``compat.crust_envelope`` is on; ``chatd/logs.py`` keeps it out of every log line."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from ..core.auth import authenticate
from ..domain.errors import Unauthenticated
from ..domain.models import Principal
from .headers import header, headers_of

SESSION_COOKIE = "chatd_session"
_SCOPE_KEY = "chatd.principal"
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def credential_of(conn: HTTPConnection) -> str:
    headers = headers_of(conn.scope)
    if secret := headers.get(b"x-session-id"):
        return secret.decode("latin-1").strip()
    scheme, _, value = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if secret := headers.get(b"x-api-key"):
        return secret.decode("latin-1").strip()
    return conn.cookies.get(SESSION_COOKIE, "").strip()


def socket_credential(conn: HTTPConnection) -> str:
    """What a websocket upgrade authenticates with: as for HTTP, then the ``jwt`` query parameter (compat)."""
    if secret := credential_of(conn):
        return secret
    if conn.app.state.settings.compat.crust_envelope:
        return conn.query_params.get("jwt", "").strip()
    return ""


async def authenticate_request(conn: HTTPConnection) -> Principal:
    """The caller; an authenticated write (POST, PUT, PATCH, DELETE) also spends one of the caller's writes
    (``core.write_limit``), here where every HTTP face passes once per request."""
    cached: Principal | None = conn.scope.get(_SCOPE_KEY)
    if cached is not None:
        return cached
    secret = credential_of(conn)
    if not secret:
        raise Unauthenticated("authentication required: send X-Session-ID, a Bearer token, X-API-KEY or the cookie")
    core = conn.app.state.core
    principal = await authenticate(core, secret, header(conn.scope, b"x-client-id").strip())
    conn.scope[_SCOPE_KEY] = principal
    if conn.scope["type"] == "http" and conn.scope["method"] in _WRITE_METHODS and core.write_limit is not None:
        core.write_limit.take(principal.user_id)
    return principal
