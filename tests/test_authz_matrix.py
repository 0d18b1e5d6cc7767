"""The authorization matrix (docs/security.md §5): every route of every face and every websocket client frame,
for seven callers — anonymous, an outsider (signed in, in no organisation), a member of another
organisation, a member of the organisation outside the channel, a channel member, the owner (of the
organisation and the channel) and a server admin — with the status each must get, and nothing written
when refused.

The table is checked against the app's route list: a new route without a row fails. One world per backend
serves every case; a case that succeeds at something destructive gets its own fresh target, so the shared
world stays as it was for the cases after it.
"""

from __future__ import annotations

import itertools
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable

import httpx
import orjson
import pytest
from typing_extensions import TypeIs
from harness import (
    BACKENDS,
    PASSWORD,
    LiveServer,
    Socket,
    Trace,
    error_of,
    fresh_database_url,
    make_settings,
    no_trace_between,
    png,
)
from starlette.routing import Route, WebSocketRoute
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from chatd.app import _routes
from chatd.config import Settings
from chatd.core.users import do_create_user
from chatd.faces.workdrive.unsupported import UNSUPPORTED
from chatd.realtime.handlers import HANDLERS
from chatd.web import Assets

pytestmark = pytest.mark.slow_on_postgresql  # a face or transport suite: SQLite every day, both in CI

ROLES = ("anonymous", "outsider", "other_org", "non_member", "member", "owner", "admin")
SIGNED_IN = ROLES[1:]
_names = itertools.count(1)


@dataclass
class Call:
    """One request: ``json`` for bodies, ``params`` for the query, ``files`` for multipart uploads."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    files: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    headers: dict[str, str] | None = None


@dataclass
class World:
    """The shared fixture: the Acme organisation (owner, member, non_member in it), its private channel
    ``secret`` (owner and member), public channel ``general`` (owner and member), a team, messages, a
    file; another organisation (other_org's); an outsider in none; a server admin in none."""

    server: LiveServer
    clients: dict[str, httpx.AsyncClient]
    secrets: dict[str, str]
    ids: dict[str, str]
    events: list[Any] = field(default_factory=list)

    async def api(self, role: str, method: str, path: str, expect: int = 200, **body: Any) -> Any:
        kwargs: dict[str, Any] = {"params": body} if method in ("GET", "DELETE") else {"json": body}
        response = await self.clients[role].request(method, path, **kwargs)
        assert response.status_code == expect, f"setup {role} {method} {path}: {response.status_code} {response.text}"
        return response.json()

    def id(self, name: str) -> str:
        return self.ids[name]

    # Fresh targets, for cases that succeed at changing or removing them --------------------------------

    async def org(self) -> str:
        org = (await self.api("owner", "POST", "/organisation/edit", name=f"Org{next(_names)}"))["id"]
        for role in ("member", "non_member"):
            await self.api("owner", "POST", "/organisation/members/add", id=org, user_id=self.id(role))
        return str(org)

    async def channel(self, type: str = "private", org: str | None = None) -> str:
        body = await self.api(
            "owner", "POST", "/channel/edit", organisation_id=org or self.id("org"), name=f"c{next(_names)}",
            type=type, members=[self.id("member")],
        )
        return str(body["id"])

    async def message(self, author: str = "member", channel: str | None = None) -> str:
        body = await self.api(author, "POST", "/message/edit", channel_id=channel or self.id("secret"), contents="hi")
        return str(body["id"])

    async def team(self) -> str:
        body = await self.api("owner", "POST", "/team/edit", organisation_id=self.id("org"), name=f"t{next(_names)}",
                              members=[self.id("member")])
        return str(body["id"])

    async def user(self) -> str:
        n = next(_names)
        body = await self.api("owner", "POST", "/api/users/add", email=f"new{n}@acme.test", userName=f"new{n}",
                              password=PASSWORD, organizationId=self.id("org"))
        return str(body["id"])

    async def plain_user(self) -> str:
        n = next(_names)
        return str((await do_create_user(self.server.core, f"plain{n}", f"plain{n}@example.com", PASSWORD)).id)

    async def login(self, role: str) -> str:
        """A second session of ``role``: its id and secret, for cases that end a session."""
        async with httpx.AsyncClient(base_url=self.server.http) as client:
            body = (await client.post("/user/login", json={"username": role, "password": PASSWORD})).json()
        return str(body["session_id"])


Build = Callable[[World, str, bool], Awaitable[Call]]


Undo = Callable[[World, str, httpx.Response], Awaitable[None]]


@dataclass(frozen=True)
class Row:
    method: str
    route: str
    build: Build
    expect: tuple[str, ...]
    note: str = ""
    undo: Undo | None = None  # after a case that succeeded: put the caller's standing back

    @property
    def name(self) -> str:
        return f"{self.method} {self.route}{' ' + self.note if self.note else ''}"


# A refusal's error code, unless the table names another (``409:last_owner``): statuses other than these must.
DEFAULT_CODE = {"401": "unauthenticated", "403": "forbidden", "404": "not_found", "501": "not_supported"}


def _expect(spec: str) -> tuple[str, ...]:
    parts = tuple(spec.split())
    assert len(parts) == len(ROLES), spec
    return parts


def _status(response: httpx.Response) -> str:
    """The answer as the table writes it: the status, and for a refusal its code when not the default one."""
    status = str(response.status_code)
    if response.status_code < 400:
        return status
    code = error_of(response, response.status_code)["error"]["code"]
    return status if DEFAULT_CODE.get(status) == code else f"{status}:{code}"


def _world_only(build: Build | Callable[[World], Any]) -> TypeIs[Callable[[World], Any]]:
    """Whether ``build`` takes the world alone (and gives parameters), not (world, role, fresh)."""
    return build.__code__.co_argcount == 1


def row(
    method: str, route: str, build: Build | Callable[[World], Any], expect: str, note: str = "", undo: Undo | None = None
) -> Row:
    """``build`` is either a full builder (world, role, fresh) → Call, or world → parameters for ``route``."""
    if _world_only(build):
        shared = build

        async def simple(w: World, role: str, fresh: bool) -> Call:
            built = shared(w)
            if isinstance(built, tuple):  # a path with ids in it: (method, path, body)
                return on(*built[:2], **built[2])
            return on(method, route, **built)

        return Row(method, route, simple, _expect(expect), note, undo)
    return Row(method, route, build, _expect(expect), note, undo)


class R(str):
    """A reference to an id of the world (``R("member")``), resolved when the case is built."""


def _resolve(w: World, value: Any) -> Any:
    if isinstance(value, R):
        return w.id(value)
    if isinstance(value, list):
        return [_resolve(w, item) for item in value]
    return value


def on(method: str, path: str, **body: Any) -> Call:
    if method in ("GET", "DELETE"):
        return Call(method, path, params=body)
    return Call(method, path, json=body)


# The table ----------------------------------------------------------------------------------------------
# Roles, in order:  anonymous outsider other_org non_member member owner admin
# A refusal is its status, with its error code after a colon unless it is the status's DEFAULT_CODE.

async def _wrong_login(w: World, role: str, fresh: bool) -> Call:
    return on("POST", "/user/login", username=role if role != "anonymous" else "nobody", password="wrong password")


async def _user_create(w: World, role: str, fresh: bool) -> Call:
    n = next(_names)
    return on("POST", "/user/create", email=f"created{n}@acme.test", organisation_id=w.id("org"))


async def _logout(w: World, role: str, fresh: bool) -> Call:
    return Call("POST", "/user/logout", headers={"X-Session-ID": await w.login(role)} if role != "anonymous" else None)


async def _revoke_session(w: World, role: str, fresh: bool) -> Call:
    spare = await w.login("owner")  # the owner's second session: only the owner may end it
    async with httpx.AsyncClient(base_url=w.server.http, headers={"X-Session-ID": spare}) as client:
        sessions = (await client.get("/user/sessions")).json()["items"]
    return on("POST", "/user/sessions/revoke", id=next(s["id"] for s in sessions if s["current"]))


async def _revoke_token(w: World, role: str, fresh: bool) -> Call:
    token = await w.api("owner", "POST", "/user/tokens/create", label="spare")
    return on("POST", "/user/tokens/revoke", id=token["id"])


def _org_or_fresh(path: str, **extra: Any) -> Build:
    async def build(w: World, role: str, fresh: bool) -> Call:
        return on("POST" if not path.endswith("remove") else "DELETE", path,
                  id=await w.org() if fresh else w.id("org"), **extra)
    return build


async def _org_unarchive(w: World, role: str, fresh: bool) -> Call:
    org = await w.org() if fresh else w.id("archived_org")
    if fresh:
        await w.api("owner", "POST", "/organisation/archive", id=org)
    return on("POST", "/organisation/unarchive", id=org)


def _org_members(path: str, method: str = "POST", **extra: Any) -> Build:
    async def build(w: World, role: str, fresh: bool) -> Call:
        return on(method, path, id=await w.org() if fresh else w.id("org"), **{k: _resolve(w, v) for k, v in extra.items()})
    return build


async def _org_add(w: World, role: str, fresh: bool) -> Call:
    """Adding someone changes their standing: a user of no organisation, never one of the seven callers."""
    return on("POST", "/organisation/members/add", id=await w.org() if fresh else w.id("org"), user_id=await w.plain_user())


def _team_or_fresh(path: str, method: str = "POST", **extra: Any) -> Build:
    async def build(w: World, role: str, fresh: bool) -> Call:
        return on(method, path, id=await w.team() if fresh else w.id("team"), **extra)
    return build


async def _team_unarchive(w: World, role: str, fresh: bool) -> Call:
    team = await w.team() if fresh else w.id("archived_team")
    if fresh:
        await w.api("owner", "POST", "/team/archive", id=team)
    return on("POST", "/team/unarchive", id=team)


async def _team_move(w: World, role: str, fresh: bool) -> Call:
    return on("POST", "/team/move", id=await w.team() if fresh else w.id("team"), organisation_id=w.id("org2"))


def _channel_or_fresh(path: str, method: str = "POST", type: str = "private", **extra: Any) -> Build:
    async def build(w: World, role: str, fresh: bool) -> Call:
        target = await w.channel(type) if fresh else w.id("secret" if type == "private" else "general")
        return on(method, path, id=target, **{k: _resolve(w, v) for k, v in extra.items()})
    return build


async def _channel_unarchive(w: World, role: str, fresh: bool) -> Call:
    channel = await w.channel() if fresh else w.id("archived_channel")
    if fresh:
        await w.api("owner", "POST", "/channel/archive", id=channel)
    return on("POST", "/channel/unarchive", id=channel)


async def _channel_merge(w: World, role: str, fresh: bool) -> Call:
    source = await w.channel() if fresh else w.id("secret")
    return on("POST", "/channel/merge", source=source, destination=await w.channel() if fresh else w.id("secret2"))


async def _channel_move(w: World, role: str, fresh: bool) -> Call:
    return on("POST", "/channel/move", id=await w.channel() if fresh else w.id("secret"), team_id=w.id("team"))


def _message_or_fresh(path: str, method: str = "POST", author: str = "owner", prepare: str = "", **extra: Any) -> Build:
    """A message of ``author`` in ``secret``; fresh when the case succeeds, ``prepare``d by the caller."""
    async def build(w: World, role: str, fresh: bool) -> Call:
        if not fresh:
            return on(method, path, id=w.id(f"message:{author}"), **extra)
        message = await w.message(author)
        if prepare:
            await w.api(role if prepare != "/message/pin" else "owner", "POST", prepare, id=message, **extra)
        return on(method, path, id=message, **extra)
    return build


def _upload(path: str, method: str = "POST", **fields: Any) -> Build:
    async def build(w: World, role: str, fresh: bool) -> Call:
        data = {k: _resolve(w, v) for k, v in fields.items()}
        return Call(method, path, data=data, files={"file": ("a.txt", b"hello", "text/plain")})
    return build


async def _wd_user_patch(w: World, role: str, fresh: bool) -> Call:
    return on("PATCH", f"/api/users/{w.id('member')}", bio=f"bio by {role}")


async def _wd_user_delete(w: World, role: str, fresh: bool) -> Call:
    return Call("DELETE", f"/api/users/{await w.user() if fresh else w.id('member')}")


async def _wd_bulk_delete(w: World, role: str, fresh: bool) -> Call:
    return Call("DELETE", "/api/users/bulk-delete", params={"id": await w.user() if fresh else w.id("member")})


async def _wd_users_add(w: World, role: str, fresh: bool) -> Call:
    n = next(_names)
    return on("POST", "/api/users/add", email=f"add{n}@acme.test", userName=f"add{n}", organizationId=w.id("org"))


async def _wd_bulk_create(w: World, role: str, fresh: bool) -> Call:
    n = next(_names)
    return on("POST", "/api/users/bulk-create", organizationId=w.id("org"),
              data=[{"email": f"bulk{n}@acme.test", "userName": f"bulk{n}"}])


async def _wd_org_create(w: World, role: str, fresh: bool) -> Call:
    n = next(_names)
    return on("POST", "/api/organization", name=f"Wd{n}", admin={"email": f"wd{n}@wd.test", "firstName": "W"})


async def _wd_group_delete(w: World, role: str, fresh: bool) -> Call:
    return Call("DELETE", "/api/group-chats", params={"id": await w.channel() if fresh else w.id("secret")})


async def _wd_join_request(w: World, role: str, fresh: bool) -> Call:
    return on("POST", f"/api/group-chats/{w.id('club')}/join-requests")


def _wd_decide(verb: str) -> Build:
    async def build(w: World, role: str, fresh: bool) -> Call:
        request = w.id("join_request")
        if fresh:  # a fresh request, by a fresh member of the organisation
            requester = await w.user()
            client = await _client_of(w, requester)
            async with client:
                asked = await client.post(f"/api/group-chats/{w.id('club')}/join-requests")
                request = asked.json()["id"]
        return on("POST", f"/api/group-chats/{w.id('club')}/join-requests/{request}/{verb}")
    return build


async def _client_of(w: World, user_id: str) -> httpx.AsyncClient:
    token = await w.api("owner", "POST", "/api/token/generate-access", userId=user_id)
    return httpx.AsyncClient(base_url=w.server.http, headers={"X-API-KEY": token["token"]})


async def _wd_message_edit(w: World, role: str, fresh: bool) -> Call:
    message = await w.message("owner") if fresh else w.id("message:owner")
    return on("PATCH", f"/api/{w.id('secret')}/messages/{message}", message=f"edited by {role}")


async def _wd_message_delete(w: World, role: str, fresh: bool) -> Call:
    message = await w.message("member") if fresh else w.id("message:member")
    return Call("DELETE", f"/api/{w.id('secret')}/messages/{message}")


async def _media_upload(w: World, role: str, fresh: bool) -> Call:
    issued = await w.api("owner", "GET", "/api/media", mime="text/plain", name="a.txt")
    signed = issued["signedRequest"]
    return Call("POST", signed["url"], data=signed["fields"], files={"file": ("a.txt", b"hello", "text/plain")})


def _unsupported(method: str, path: str) -> Build:
    async def build(w: World, role: str, fresh: bool) -> Call:
        return Call(method, path.replace("{id}", w.id("org")))
    return build


async def _remove_created_org(w: World, role: str, response: httpx.Response) -> None:
    """Whoever creates an organisation owns one: remove it, so an outsider stays an outsider."""
    await w.api(role, "DELETE", "/organisation/remove", id=response.json()["id"])


ROWS: list[Row] = [
    # The web client's page and assets: public, they hold no data.
    row("GET", "/", lambda w: {}, "200 200 200 200 200 200 200"),
    row("GET", "/static/{version}/{path:path}", lambda w: ("GET", f"{Assets().prefix}/app.js", {}), "200 200 200 200 200 200 200"),
    # Operator endpoints: no credential needed.
    row("GET", "/healthz", lambda w: {}, "200 200 200 200 200 200 200"),
    row("GET", "/readyz", lambda w: {}, "200 200 200 200 200 200 200"),
    row("GET", "/metrics", lambda w: {}, "200 200 200 200 200 200 200"),
    # The API's description and its page: public, like the API's documentation.
    row("GET", "/openapi.json", lambda w: {}, "200 200 200 200 200 200 200"),
    row("GET", "/docs", lambda w: {}, "200 200 200 200 200 200 200"),
    row("GET", "/docs/docs.css", lambda w: {}, "200 200 200 200 200 200 200"),
    row("GET", "/docs/docs.js", lambda w: {}, "200 200 200 200 200 200 200"),
    # Users and credentials.
    row("POST", "/user/login", _wrong_login, "401:bad_credentials " * 6 + "401:bad_credentials"),
    row("POST", "/user/logout", _logout, "401 200 200 200 200 200 200"),
    row("GET", "/user/search", lambda w: {}, "401 200 200 200 200 200 200"),
    # Someone outside every organisation of the owner's does not see the owner (docs/api.md, "Who sees whom").
    row("GET", "/user/read", lambda w: {"id": w.id("owner")}, "401 404 404 200 200 200 200"),
    row("POST", "/user/create", _user_create, "401 404 404 403 403 200 200"),
    row("GET", "/user/sessions", lambda w: {}, "401 200 200 200 200 200 200"),
    row("POST", "/user/sessions/revoke", _revoke_session, "401 404 404 404 404 200 404"),
    row("POST", "/user/password", lambda w: {"old_password": "not it", "new_password": "a new password"}, "401 403 403 403 403 403 403"),
    row("GET", "/user/tokens", lambda w: {}, "401 200 200 200 200 200 200"),
    row("POST", "/user/tokens/create", lambda w: {"label": "bot"}, "401 200 200 200 200 200 200"),
    row("POST", "/user/tokens/revoke", _revoke_token, "401 404 404 404 404 200 404"),
    # Organisations.
    row("POST", "/organisation/edit", lambda w: {"name": "Mine"}, "401 200 200 200 200 200 200", "create", _remove_created_org),
    row("POST", "/organisation/edit", _org_or_fresh("/organisation/edit", name="Acme"), "401 404 404 403 403 200 200", "rename"),
    row("DELETE", "/organisation/remove", _org_or_fresh("/organisation/remove"), "401 404 404 403 403 200 200"),
    row("GET", "/organisation/read", lambda w: {"id": w.id("org")}, "401 404 404 200 200 200 200"),
    row("GET", "/organisation/search", lambda w: {}, "401 200 200 200 200 200 200"),
    row("POST", "/organisation/archive", _org_or_fresh("/organisation/archive"), "401 404 404 403 403 200 200"),
    row("POST", "/organisation/unarchive", _org_unarchive, "401 404 404 403 403 200 200"),
    row("GET", "/organisation/members", lambda w: {"id": w.id("org")}, "401 404 404 200 200 200 200"),
    row("POST", "/organisation/members/add", _org_add, "401 404 404 403 403 200 200"),
    row("POST", "/organisation/members/role", _org_members("/organisation/members/role", user_id=R("member"), role="admin"), "401 404 404 403 403 200 200"),
    row("DELETE", "/organisation/members/remove", _org_members("/organisation/members/remove", "DELETE", user_id=R("member")), "401 404 404 403 200 200 200"),
    row("POST", "/organisation/members/remove", _org_members("/organisation/members/remove", user_id=R("member")), "401 404 404 403 200 200 200"),
    # Teams.
    row("POST", "/team/edit", lambda w: {"organisation_id": w.id("org"), "name": "New"}, "401 404 404 200 200 200 200", "create"),
    row("POST", "/team/edit", _team_or_fresh("/team/edit", name="Renamed"), "401 404 404 403 403 200 200", "rename"),
    row("DELETE", "/team/remove", _team_or_fresh("/team/remove", "DELETE"), "401 404 404 403 403 200 200"),
    row("GET", "/team/read", lambda w: {"id": w.id("team")}, "401 404 404 200 200 200 200"),
    row("GET", "/team/search", lambda w: {"organisation_id": w.id("org")}, "401 404 404 200 200 200 200"),
    row("POST", "/team/archive", _team_or_fresh("/team/archive"), "401 404 404 403 403 200 200"),
    row("POST", "/team/unarchive", _team_unarchive, "401 404 404 403 403 200 200"),
    row("POST", "/team/move", _team_move, "401 404 404 403 403 200 200"),
    # Channels: the private channel "secret" unless said otherwise.
    row("POST", "/channel/edit", lambda w: {"organisation_id": w.id("org"), "name": "new", "type": "private"}, "401 404 404 200 200 200 200", "create"),
    row("POST", "/channel/edit", _channel_or_fresh("/channel/edit", topic="a topic"), "401 404 404 404 403 200 404", "topic"),
    row("DELETE", "/channel/remove", _channel_or_fresh("/channel/remove", "DELETE"), "401 404 404 404 403 200 404"),
    row("GET", "/channel/read", lambda w: {"id": w.id("secret")}, "401 404 404 404 200 200 404"),
    row("GET", "/channel/read", lambda w: {"id": w.id("general")}, "401 404 404 200 200 200 200", "public"),
    row("GET", "/channel/search", lambda w: {"query": "secret"}, "401 200 200 200 200 200 200"),
    row("POST", "/channel/archive", _channel_or_fresh("/channel/archive"), "401 404 404 404 403 200 404"),
    row("POST", "/channel/unarchive", _channel_unarchive, "401 404 404 404 403 200 404"),
    row("POST", "/channel/join", _channel_or_fresh("/channel/join", type="public"), "401 404 404 200 409:already_member 409:already_member 200", "public"),
    row("POST", "/channel/join", _channel_or_fresh("/channel/join"), "401 404 404 404 409:already_member 409:already_member 404", "private"),
    row("POST", "/channel/leave", _channel_or_fresh("/channel/leave"), "401 404 404 404 200 409:last_owner 404"),
    row("GET", "/channel/members", lambda w: {"id": w.id("secret")}, "401 404 404 404 200 200 404"),
    row("POST", "/channel/members/add", _channel_or_fresh("/channel/members/add", user_ids=[R("non_member")]), "401 404 404 404 403 200 404"),
    row("POST", "/channel/members/remove", _channel_or_fresh("/channel/members/remove", user_ids=[R("member")]), "401 404 404 404 403 200 404"),
    row("POST", "/channel/members/role", _channel_or_fresh("/channel/members/role", user_id=R("member"), role="owner"), "401 404 404 404 403 200 404"),
    row("POST", "/channel/move", _channel_move, "401 404 404 404 403 200 404"),
    row("POST", "/channel/merge", _channel_merge, "401 404 404 404 403 200 404"),
    # Messages: in "secret"; "message:owner" is the owner's, "message:member" the member's.
    row("POST", "/message/edit", lambda w: {"channel_id": w.id("secret"), "contents": "hello"}, "401 404 404 404 200 200 404", "post"),
    row("POST", "/message/edit", lambda w: {"channel_id": w.id("general"), "contents": "hello"}, "401 404 404 403 200 200 403", "post public"),
    row("POST", "/message/edit", _message_or_fresh("/message/edit", contents="edited"), "401 404 404 404 403 200 404", "edit"),
    row("POST", "/message/attach", _upload("/message/attach", channel_id=R("secret")), "401 404 404 404 200 200 404"),
    row("PUT", "/message/attach", _upload("/message/attach", "PUT", channel_id=R("secret")), "401 404 404 404 200 200 404"),
    row("DELETE", "/message/remove", _message_or_fresh("/message/remove", "DELETE", author="member"), "401 404 404 404 200 200 404"),
    row("GET", "/message/read", lambda w: {"channel_id": w.id("secret")}, "401 404 404 404 200 200 404", "history"),
    row("GET", "/message/read", lambda w: {"id": w.id("message:owner")}, "401 404 404 404 200 200 404", "one"),
    row("GET", "/message/versions", lambda w: {"id": w.id("message:owner")}, "401 404 404 404 200 200 404"),
    row("POST", "/message/mark_read", lambda w: {"channel_id": w.id("secret")}, "401 404 404 404 200 200 404"),
    row("GET", "/message/search", lambda w: {"channel_id": w.id("secret")}, "401 404 404 404 200 200 404"),
    row("POST", "/message/pin", _message_or_fresh("/message/pin"), "401 404 404 404 200 200 404"),
    row("POST", "/message/unpin", _message_or_fresh("/message/unpin", prepare="/message/pin"), "401 404 404 404 200 200 404"),
    row("GET", "/message/pins", lambda w: {"channel_id": w.id("secret")}, "401 404 404 404 200 200 404"),
    row("POST", "/message/flag", _message_or_fresh("/message/flag"), "401 404 404 404 200 200 404"),
    row("POST", "/message/unflag", _message_or_fresh("/message/unflag", prepare="/message/flag"), "401 404 404 404 200 200 404"),
    row("GET", "/message/flags", lambda w: {}, "401 200 200 200 200 200 200"),
    row("POST", "/message/react", _message_or_fresh("/message/react", emoji=":tada:"), "401 404 404 404 200 200 404"),
    row("POST", "/message/unreact", _message_or_fresh("/message/unreact", prepare="/message/react", emoji=":tada:"), "401 404 404 404 200 200 404"),
    row("GET", "/message/reactions", lambda w: {"id": w.id("message:owner")}, "401 404 404 404 200 200 404"),
    # Files: "file" is the owner's image, attached to a message in "secret".
    row("POST", "/file/upload", _upload("/file/upload"), "401 200 200 200 200 200 200"),
    row("GET", "/file/download", lambda w: {"id": w.id("file")}, "401 404 404 404 200 200 404"),
    row("GET", "/file/thumbnail", lambda w: {"id": w.id("file")}, "401 404 404 404 200 200 404"),
    # WorkDrive.
    row("GET", "/api/users", lambda w: {}, "401 200 200 200 200 200 200"),
    row("POST", "/api/users/add", _wd_users_add, "401 404 404 403 403 200 200"),
    row("POST", "/api/users/bulk-create", _wd_bulk_create, "401 404 404 403 403 200 200"),
    row("DELETE", "/api/users/bulk-delete", _wd_bulk_delete, "401 404 404 403 403 200 200"),
    row("PATCH", "/api/users/{id}", _wd_user_patch, "401 404 404 403 200 200 200"),
    row("DELETE", "/api/users/{id}", _wd_user_delete, "401 404 404 403 403 200 200"),
    row("POST", "/api/organization", _wd_org_create, "401 403 403 403 403 403 200"),
    row("PATCH", "/api/organization/{id}", lambda w: ("PATCH", f"/api/organization/{w.id('org')}", {"industry": "x"}), "401 404 404 403 403 200 200"),
    row("POST", "/api/token/generate-access", lambda w: {"userId": w.id("member")}, "401 404 404 403 403 200 200"),
    row("GET", "/api/media", lambda w: {"mime": "text/plain", "name": "a.txt"}, "401 200 200 200 200 200 200"),
    row("POST", "/api/media/upload", _media_upload, "200 200 200 200 200 200 200"),
    row("GET", "/api/group-chats", lambda w: {}, "401 200 200 200 200 200 200"),
    row("POST", "/api/group-chats", lambda w: {"title": "New", "organizationId": w.id("org")}, "401 404 404 200 200 200 200"),
    row("DELETE", "/api/group-chats", _wd_group_delete, "401 404 404 404 403 200 404"),
    row("PATCH", "/api/group-chats/{id}", lambda w: ("PATCH", f"/api/group-chats/{w.id('secret')}", {"description": "d"}), "401 404 404 404 403 200 404"),
    row("POST", "/api/group-chats/{id}/join-requests", _wd_join_request, "401 404 404 200 201 409:already_member 201"),
    row("GET", "/api/group-chats/{id}/join-requests", lambda w: ("GET", f"/api/group-chats/{w.id('club')}/join-requests", {}), "401 404 404 404 404 200 404"),
    row("POST", "/api/group-chats/{id}/join-requests/{requestId}/approve", _wd_decide("approve"), "401 404 404 404 404 200 404"),
    row("POST", "/api/group-chats/{id}/join-requests/{requestId}/decline", _wd_decide("decline"), "401 404 404 404 404 200 404"),
    row("POST", "/api/{conversationId}/messages", lambda w: ("POST", f"/api/{w.id('secret')}/messages", {"message": "hi"}), "401 404 404 404 200 200 404"),
    row("GET", "/api/{conversationId}/messages", lambda w: ("GET", f"/api/{w.id('secret')}/messages", {}), "401 404 404 404 200 200 404"),
    row("PATCH", "/api/{conversationId}/messages/{id}", _wd_message_edit, "401 404 404 404 403 200 404"),
    row("DELETE", "/api/{conversationId}/messages/{id}", _wd_message_delete, "401 404 404 404 200 200 404"),
    row("POST", "/api/{conversationId}/meetings", lambda w: ("POST", f"/api/{w.id('secret')}/meetings",
        {"title": "M", "startDateTime": "2026-02-01T09:00:00.000Z", "endDateTime": "2026-02-01T10:00:00.000Z"}), "401 404 404 404 200 200 404"),
    # The spec's endpoints chatd does not serve: 501 for everyone, credential or not.
    *(row(method, path, _unsupported(method, path), "501 501 501 501 501 501 501") for method, path, _ in UNSUPPORTED),
]


# The world ------------------------------------------------------------------------------------------------


async def _build_world(server: LiveServer) -> World:
    core = server.core
    clients: dict[str, httpx.AsyncClient] = {"anonymous": httpx.AsyncClient(base_url=server.http)}
    secrets: dict[str, str] = {}
    ids: dict[str, str] = {}
    for role in SIGNED_IN:
        user = await do_create_user(core, role, f"{role}@example.com", PASSWORD, is_admin=role == "admin")
        ids[role] = str(user.id)
        async with httpx.AsyncClient(base_url=server.http) as client:
            secrets[role] = (await client.post("/user/login", json={"username": role, "password": PASSWORD})).json()["session_id"]
        clients[role] = httpx.AsyncClient(base_url=server.http, headers={"X-Session-ID": secrets[role]})
    w = World(server, clients, secrets, ids)
    ids["org"] = str((await w.api("owner", "POST", "/organisation/edit", name="Acme"))["id"])
    for role in ("member", "non_member"):
        await w.api("owner", "POST", "/organisation/members/add", id=ids["org"], user_id=ids[role])
    await w.api("other_org", "POST", "/organisation/edit", name="Other")
    ids["org2"] = str((await w.api("owner", "POST", "/organisation/edit", name="Acme2"))["id"])
    ids["secret"] = await w.channel("private")
    ids["secret2"] = await w.channel("private")
    ids["general"] = await w.channel("public")
    ids["team"] = await w.team()
    ids["archived_org"] = await w.org()
    await w.api("owner", "POST", "/organisation/archive", id=ids["archived_org"])
    ids["archived_team"] = await w.team()
    await w.api("owner", "POST", "/team/archive", id=ids["archived_team"])
    ids["archived_channel"] = await w.channel()
    await w.api("owner", "POST", "/channel/archive", id=ids["archived_channel"])
    ids["message:owner"] = await w.message("owner")
    ids["message:member"] = await w.message("member")
    upload = await clients["owner"].post("/file/upload", files={"file": ("plan.png", png(), "image/png")})
    ids["file"] = upload.json()["id"]
    await w.api("owner", "POST", "/message/edit", channel_id=ids["secret"], contents="the plan", file_ids=[ids["file"]])
    club = await w.api("owner", "POST", "/api/group-chats", title="Club", isPrivate=True, byRequest=True,
                       organizationId=ids["org"])
    ids["club"] = str(club["id"])
    asked = await clients["non_member"].post(f"/api/group-chats/{ids['club']}/join-requests")
    ids["join_request"] = asked.json()["id"]
    server.app.state.bus.subscribe(_capture(w))
    return w


def _capture(w: World) -> Callable[[Any], Awaitable[None]]:
    async def capture(events: Any) -> None:
        w.events.extend(events)
    return capture


async def _trace(w: World) -> Trace:
    """Every stored row and file, and how many events were published (harness/trace.py)."""
    return await Trace.take(w.server.core, w.events)


@pytest.fixture(scope="module", params=BACKENDS)
def world_settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Outside the event loop: preparing the PostgreSQL template runs a loop of its own."""
    tmp = tmp_path_factory.mktemp("authz")
    url = fresh_database_url(request, str(request.param), tmp)
    return make_settings(url, tmp, limits={"writes_per_second": 1_000_000.0, "write_burst": 1_000_000})


@pytest.fixture(scope="module")
async def world(world_settings: Settings) -> AsyncIterator[World]:
    settings = world_settings
    server = LiveServer(settings)
    await server.start()
    try:
        w = await _build_world(server)
        yield w
        for client in w.clients.values():
            await client.aclose()
    finally:
        await server.stop()


# The tests ------------------------------------------------------------------------------------------------


def _routes_of_the_app() -> set[tuple[str, str]]:
    found = set()
    for route in _routes():
        if isinstance(route, Route):
            for method in (route.methods or set()) - {"HEAD"}:
                found.add((method, route.path))
    return found


def test_every_route_has_a_row() -> None:
    covered = {(r.method, r.route) for r in ROWS}
    missing = _routes_of_the_app() - covered
    assert not missing, f"routes without a row in the authorization matrix: {sorted(missing)}"
    assert not covered - _routes_of_the_app(), "rows for routes that no longer exist"
    assert any(isinstance(r, WebSocketRoute) for r in _routes())


def _ok(status: str) -> bool:
    return status.startswith("2") or status in ("ack", "pong", "replay_done")


async def _send(w: World, role: str, call: Call) -> httpx.Response:
    client = w.clients[role]
    headers = call.headers
    if role == "anonymous" or headers:
        client = w.clients["anonymous"]
    return await client.request(
        call.method, call.path, params=call.params, json=call.json, files=call.files, data=call.data, headers=headers
    )


@pytest.mark.parametrize("case", ROWS, ids=[r.name for r in ROWS])
async def test_http(world: World, case: Row) -> None:
    expected = dict(zip(ROLES, case.expect))
    got: dict[str, str] = {}
    refused = {role: await case.build(world, role, False) for role in ROLES if not _ok(expected[role])}
    before = await _trace(world)
    for role, call in refused.items():
        got[role] = _status(await _send(world, role, call))
    if refused:
        no_trace_between(before, await _trace(world), case.name)
        published = [e for e in world.events[before.seen:] if e.event != "HEARTBEAT"]  # the node's own, every 20 s
        assert not published, f"{case.name}: a refused call published {published}"
    for role in ROLES:
        if _ok(expected[role]):
            response = await _send(world, role, await case.build(world, role, True))
            got[role] = _status(response)
            if response.status_code < 300 and case.undo is not None:
                await case.undo(world, role, response)
    assert tuple(got[r] for r in ROLES) == case.expect, f"{case.name}: expected {case.expect}, got {got}"


# Websocket frames ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FrameRow:
    """A client frame and its answer for each signed-in caller: ``ack``/``pong``/``replay_done``, or the
    error code. ``resume`` answers ``replay_done`` either way; ``lost`` says which channels it may not read."""

    type: str
    build: Callable[[World, str, bool], Awaitable[dict[str, Any]]]
    expect: tuple[str, ...]
    note: str = ""


def frame(type: str, build: Callable[[World, str, bool], Awaitable[dict[str, Any]]] | Callable[[World], dict[str, Any]],
          expect: str, note: str = "") -> FrameRow:
    parts = tuple(expect.split())
    assert len(parts) == len(SIGNED_IN), expect
    if build.__code__.co_argcount == 1:
        shared = build

        async def simple(w: World, role: str, fresh: bool) -> dict[str, Any]:
            return shared(w)  # type: ignore[call-arg, return-value]

        return FrameRow(type, simple, parts, note)
    return FrameRow(type, build, parts, note)  # type: ignore[arg-type]


async def _frame_edit(w: World, role: str, fresh: bool) -> dict[str, Any]:
    return {"id": await w.message("owner") if fresh else w.id("message:owner"), "contents": f"edited by {role}"}


async def _frame_remove(w: World, role: str, fresh: bool) -> dict[str, Any]:
    return {"id": await w.message("member") if fresh else w.id("message:member")}


async def _frame_join(w: World, role: str, fresh: bool) -> dict[str, Any]:
    return {"channel_id": await w.channel("public") if fresh else w.id("general")}


async def _frame_part(w: World, role: str, fresh: bool) -> dict[str, Any]:
    return {"channel_id": await w.channel() if fresh else w.id("secret")}


# Callers, in order:                                  outsider other_org non_member member owner admin
FRAMES: list[FrameRow] = [
    frame("ping", lambda w: {}, "pong pong pong pong pong pong"),
    frame("message.send", lambda w: {"channel_id": w.id("secret"), "contents": "hi"}, "not_found not_found not_found ack ack not_found"),
    frame("message.send", lambda w: {"channel_id": w.id("general"), "contents": "hi"}, "not_found not_found forbidden ack ack forbidden", "public"),
    frame("message.edit", _frame_edit, "not_found not_found not_found forbidden ack not_found"),
    frame("message.remove", _frame_remove, "not_found not_found not_found ack ack not_found"),
    frame("typing", lambda w: {"channel_id": w.id("secret")}, "not_found not_found not_found ack ack not_found"),
    frame("read", lambda w: {"channel_id": w.id("secret")}, "not_found not_found not_found ack ack not_found"),
    frame("join", _frame_join, "not_found not_found ack already_member already_member ack"),
    frame("part", _frame_part, "not_found not_found not_found ack last_owner not_found"),
    frame("resume", lambda w: {"channels": {w.id("secret"): 0}}, "lost lost lost replay_done replay_done lost"),
    frame("history", lambda w: {"channel_id": w.id("secret")}, "not_found not_found not_found ack ack not_found"),
    frame("presence", lambda w: {"status": "away"}, "ack ack ack ack ack ack"),
]


def test_every_websocket_frame_has_a_row() -> None:
    assert {f.type for f in FRAMES} == set(HANDLERS), "websocket frames without a row in the authorization matrix"


def _answer(answer: dict[str, Any]) -> str:
    if answer["type"] == "error":
        return str(answer["error"]["code"])
    if answer["type"] == "replay_done" and answer["data"]["lost"]:
        assert not answer["data"]["replayed"], answer  # nothing of a channel it may not read
        return "lost"
    return str(answer["type"])


async def test_websocket_without_a_credential_is_closed_unauthenticated(world: World) -> None:
    async with connect(world.server.ws) as ws:
        await ws.send(orjson.dumps({"type": "message.send", "channel_id": world.id("secret"), "contents": "x"}).decode())
        await ws.wait_closed()
        assert ws.close_code == 4401
    with pytest.raises(InvalidStatus) as refused:  # a bad credential on the upgrade: refused before it
        await connect(world.server.ws, additional_headers={"X-Session-ID": "not a session"})
    assert refused.value.response.status_code == 401


@pytest.mark.parametrize("case", FRAMES, ids=[f"{f.type} {f.note}".strip() for f in FRAMES])
async def test_websocket(world: World, case: FrameRow) -> None:
    expected = dict(zip(SIGNED_IN, case.expect))
    got: dict[str, str] = {}
    refused = {role: await case.build(world, role, False) for role in SIGNED_IN if not _ok(expected[role])}
    before = await _trace(world)
    async with _sockets(world) as sockets:
        for role, body in refused.items():
            got[role] = _answer(await sockets[role].call(case.type, **body))
        if refused and case.type not in ("resume",):
            no_trace_between(before, await _trace(world), f"the {case.type} frame")  # connecting is presence
        for role in SIGNED_IN:
            if _ok(expected[role]):
                got[role] = _answer(await sockets[role].call(case.type, **await case.build(world, role, True)))
    assert tuple(got[r] for r in SIGNED_IN) == case.expect, f"{case.type}: expected {case.expect}, got {got}"


@asynccontextmanager
async def _sockets(w: World) -> AsyncIterator[dict[str, Socket]]:
    async with AsyncExitStack() as stack:
        sockets = {}
        for role in SIGNED_IN:
            ws = await stack.enter_async_context(connect(w.server.ws, additional_headers={"X-Session-ID": w.secrets[role]}))
            sockets[role] = Socket(ws)
            sockets[role].ready = await sockets[role].expect("ready")
        yield sockets
