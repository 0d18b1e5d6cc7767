"""``/user/*``: login and logout, the directory, one's own sessions and access tokens."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core import auth, session_jwt, users
from ...core.paging import PageRequest
from ...edge.auth import SESSION_COOKIE
from ...edge.params import Id, NoParams, Params, parse
from ...edge import envelope, shapes
from ...edge.responses import Call, endpoint, respond


class LoginParams(Params):
    username: str
    password: str


class SearchParams(Params):
    query: str = ""
    page: int | None = None
    per_page: int | None = None


class ReadParams(Params):
    id: Id | None = None


class RevokeSessionParams(Params):
    id: Id | None = None
    client_id: str | None = None


class PasswordParams(Params):
    old_password: str
    new_password: str


class TokenCreateParams(Params):
    label: str = ""


class TokenRevokeParams(Params):
    id: Id


async def login(request: Request) -> Response:
    """The one endpoint without a credential: returns the session id and sets it as a cookie; in the Crust
    envelope also a JWT wrapping the session, as ``JWT``."""
    params = await parse(request, LoginParams)
    core = request.app.state.core
    client_id = request.headers.get("x-client-id", "").strip()
    address = request.client.host if request.client else "unknown"
    result = await auth.do_login(
        core, params.username, params.password, client_id, address, request.headers.get("user-agent", "")
    )
    answer: dict[str, Any] = {
        "session_id": result.session_id,
        "client_id": result.session.client_id,
        "expires_at": shapes.iso(result.session.expires_at),
        "user": shapes.user(result.user),
    }
    if envelope.wanted(request):  # clients of the original Crust server take their credential from here
        answer["JWT"] = session_jwt.issue(core, result.session_id, result.user.id, result.session.expires_at)
    response = respond(request, answer)
    response.set_cookie(
        SESSION_COOKIE,
        result.session_id,
        max_age=int(core.settings.auth.session_ttl_days * 86400),
        httponly=True,
        samesite="lax",
        secure=core.settings.auth.cookie_secure,
        path="/",
    )
    return response


@endpoint(NoParams)
async def logout(call: Call[NoParams]) -> Response:
    await auth.do_logout(call.core, call.who)
    response = respond(call.request, {"ok": True})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@endpoint(SearchParams)
async def search(call: Call[SearchParams]) -> dict[str, Any]:
    page = PageRequest.of(call.params.page, call.params.per_page, call.core.settings.limits.page_size_max)
    return shapes.page(await users.search_users(call.core, call.who, call.params.query, page), shapes.user)


@endpoint(ReadParams)
async def read(call: Call[ReadParams]) -> dict[str, Any]:
    """One user by id; without ``id``, the caller."""
    if call.params.id is None:
        return shapes.user(call.who.user)
    return shapes.user(await users.get_user(call.core, call.params.id))


@endpoint(NoParams)
async def sessions(call: Call[NoParams]) -> dict[str, Any]:
    found = await auth.list_sessions(call.core, call.who)
    return {"items": [shapes.session(s, call.who.session_id) for s in found]}


@endpoint(RevokeSessionParams)
async def revoke_session(call: Call[RevokeSessionParams]) -> dict[str, Any]:
    """End one session (``id``) or every session of one device (``client_id``)."""
    ended = await auth.do_revoke_session(call.core, call.who, call.params.id, call.params.client_id)
    return {"revoked": ended}


@endpoint(PasswordParams)
async def password(call: Call[PasswordParams]) -> dict[str, Any]:
    await users.do_change_own_password(call.core, call.who, call.params.old_password, call.params.new_password)
    return {"ok": True}


@endpoint(NoParams)
async def tokens(call: Call[NoParams]) -> dict[str, Any]:
    return {"items": [shapes.token(t) for t in await auth.list_tokens(call.core, call.who)]}


@endpoint(TokenCreateParams)
async def token_create(call: Call[TokenCreateParams]) -> dict[str, Any]:
    secret, created = await auth.do_create_token(call.core, call.who.user_id, call.params.label)
    return {**shapes.token(created), "token": secret}


@endpoint(TokenRevokeParams)
async def token_revoke(call: Call[TokenRevokeParams]) -> dict[str, Any]:
    await auth.do_revoke_token(call.core, call.who, call.params.id)
    return {"ok": True}


routes = [
    Route("/user/login", login, methods=["POST"]),
    Route("/user/logout", logout, methods=["POST"]),
    Route("/user/search", search, methods=["GET"]),
    Route("/user/read", read, methods=["GET"]),
    Route("/user/sessions", sessions, methods=["GET"]),
    Route("/user/sessions/revoke", revoke_session, methods=["POST"]),
    Route("/user/password", password, methods=["POST"]),
    Route("/user/tokens", tokens, methods=["GET"]),
    Route("/user/tokens/create", token_create, methods=["POST"]),
    Route("/user/tokens/revoke", token_revoke, methods=["POST"]),
]
