"""Starting points for WorkDrive face tests: an organisation made by a server admin with its admin's access
token, members added through the face, files owned by a user, a team with two members and its group chats, anonymous requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from chatd.core.users import get_user
from chatd.store.tables import files

from .app import PASSWORD, Actor, Harness

MEETING_START, MEETING_END = "2026-02-01T09:00:00.000Z", "2026-02-01T10:00:00.000Z"  # a meeting's hour


@dataclass
class KeyActor(Actor):
    """A WorkDrive app: it sends its access token as ``X-API-KEY``."""

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-KEY": self.secret}


@dataclass
class Org:
    root: Actor
    admin: KeyActor
    body: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.body["id"])


async def workdrive_org(chat: Harness, name: str = "Stilla", root: Actor | None = None) -> Org:
    """``POST /api/organization`` by a server admin (``root``, new unless given); its admin acts by token."""
    root = root or await chat.user(admin=True)
    slug = name.lower()
    body = await root.post(
        "/api/organization", name=name, admin={"firstName": "John", "lastName": "Smith", "email": f"john@{slug}.test"}
    )
    admin = KeyActor(chat, await get_user(chat.core, int(body["admin"]["id"])), body["accessToken"])
    return Org(root, admin, body)


@dataclass
class WorkdriveTeam:
    """A WorkDrive organisation with its admin (calling by access token) and two members, bob and carol."""

    org: Org
    admin: KeyActor
    bob: Actor
    carol: Actor


async def workdrive_team(chat: Harness) -> WorkdriveTeam:
    org = await workdrive_org(chat)
    return WorkdriveTeam(org, org.admin, await member(chat, org.admin, "bob"), await member(chat, org.admin, "carol"))


async def group_chat(actor: Actor, title: str = "Launch", **fields: Any) -> Any:
    """``POST /api/group-chats`` (``fields``: more of its fields, or ``expect``/``code`` for a refusal)."""
    return await actor.post("/api/group-chats", title=title, **fields)


async def anonymous(chat: Harness, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A request without credentials: the shared client's cookie jar holds the last login's cookie."""
    chat.client.cookies.clear()
    return await chat.anonymous(method, path, **kwargs)


async def sign_in(chat: Harness, user_id: str, name: str) -> Actor:
    login = await anonymous(chat, "POST", "/user/login", json={"username": name, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return Actor(chat, await get_user(chat.core, int(user_id)), login.json()["session_id"])


async def member(chat: Harness, adder: Actor, name: str, **fields: Any) -> Actor:
    """A user an organisation admin adds, signed in with the password given at creation."""
    body = await adder.post("/api/users/add", email=f"{name}@example.test", userName=name, password=PASSWORD, **fields)
    return await sign_in(chat, body["id"], name)


async def file_of(chat: Harness, owner: Actor, content_type: str = "image/png") -> str:
    """A stored file row owned by ``owner`` (no bytes): enough for fields that name a file."""
    async with chat.core.transaction() as tx:
        file_id = tx.new_id()
        await tx.conn.execute(
            files.insert().values(
                id=file_id, owner_id=owner.user.id, name="me.png", content_type=content_type,
                size=10, storage_key=f"k{file_id}", created_at=tx.now,
            )
        )
    return str(file_id)
