"""Credentials at the edge: ``X-Session-ID`` (+ ``X-Client-ID``), ``Authorization: Bearer``,
``X-API-KEY``, or the login cookie, in that order. The core decides whether the secret is good."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from ..core.auth import authenticate
from ..core.errors import Unauthenticated
from ..core.models import Principal

SESSION_COOKIE = "chatd_session"
_SCOPE_KEY = "chatd.principal"


def credential_of(conn: HTTPConnection) -> str:
    headers = conn.headers
    if secret := headers.get("x-session-id"):
        return secret.strip()
    authorization = headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if secret := headers.get("x-api-key"):
        return secret.strip()
    return conn.cookies.get(SESSION_COOKIE, "").strip()


async def authenticate_request(conn: HTTPConnection) -> Principal:
    cached = conn.scope.get(_SCOPE_KEY)
    if cached is not None:
        return cached
    secret = credential_of(conn)
    if not secret:
        raise Unauthenticated("authentication required: send X-Session-ID, a Bearer token, X-API-KEY or the cookie")
    principal = await authenticate(conn.app.state.core, secret, conn.headers.get("x-client-id", "").strip())
    conn.scope[_SCOPE_KEY] = principal
    return principal
