"""The type of every answer of the Crust face (and of the shapes the websocket shares with it): what
``shapes.py`` builds and the views return.

TypedDicts, so building an answer costs nothing more than the dict it is, mypy holds each shape to its
type, and pydantic turns them into the JSON Schemas of ``/openapi.json`` (``edge/openapi.py``). Each is
closed (``extra="forbid"``): a field added to a shape but not here fails the schema test, so the document
cannot fall behind the code.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import ConfigDict, with_config
from typing_extensions import NotRequired, TypedDict

from .wire import IdStr, TimeStr

T = TypeVar("T")
closed = with_config(ConfigDict(extra="forbid"))


@closed
class Ok(TypedDict):
    ok: bool


@closed
class Paged(TypedDict, Generic[T]):
    """A page of a search or listing; ``next_page`` is null on the last page."""

    items: list[T]
    page: int
    per_page: int
    total: int
    next_page: int | None


@closed
class Items(TypedDict, Generic[T]):
    """A complete list, not paged."""

    items: list[T]


@closed
class User(TypedDict):
    id: IdStr
    username: str
    email: str | None  # null where the caller may not see it (docs/api.md, "Who sees whom")
    display_name: str
    status: str
    is_admin: bool
    created_at: TimeStr
    updated_at: TimeStr


@closed
class Login(TypedDict):
    """``JWT`` only in the Crust envelope (docs/api.md, "Clients of the original Crust server")."""

    session_id: str
    client_id: str
    expires_at: TimeStr
    user: User
    JWT: NotRequired[str]


@closed
class Session(TypedDict):
    id: IdStr
    client_id: str
    user_agent: str
    created_at: TimeStr
    last_seen_at: TimeStr
    expires_at: TimeStr
    current: bool


@closed
class Revoked(TypedDict):
    revoked: int


@closed
class AccessToken(TypedDict):
    id: IdStr
    label: str
    created_at: TimeStr
    last_used_at: TimeStr | None


@closed
class NewAccessToken(AccessToken):
    """The secret is shown once, here."""

    token: str


@closed
class Membership(TypedDict):
    user_id: IdStr
    role: str
    joined_at: TimeStr


@closed
class Members(TypedDict):
    members: list[Membership]


@closed
class Organisation(TypedDict):
    id: IdStr
    name: str
    created_by: IdStr | None
    created_at: TimeStr
    updated_at: TimeStr
    archived: bool
    archived_at: TimeStr | None
    role: str | None


@closed
class Team(TypedDict):
    id: IdStr
    organisation_id: IdStr
    name: str
    created_by: IdStr | None
    created_at: TimeStr
    updated_at: TimeStr
    archived: bool
    archived_at: TimeStr | None
    members: NotRequired[list[Membership]]


@closed
class Channel(TypedDict):
    """The channel as stored (as in websocket events) plus the caller's role and unread counts."""

    id: IdStr
    organisation_id: IdStr
    team_id: IdStr | None
    name: str
    topic: str
    description: str
    type: str
    created_by: IdStr | None
    created_at: TimeStr
    updated_at: TimeStr
    archived: bool
    archived_at: TimeStr | None
    group_type: str
    category: str
    by_request: bool
    picture_file_id: IdStr | None
    merged_into: IdStr | None
    last_seq: int
    last_message_at: TimeStr | None
    role: str | None
    member: bool
    member_count: int
    unread: int | None
    mentions: int | None
    last_read_message_id: IdStr | None


@closed
class File(TypedDict):
    id: IdStr
    name: str
    content_type: str
    size: int
    width: int | None
    height: int | None
    has_thumbnail: bool
    url: str
    thumbnail_url: str | None


@closed
class Reaction(TypedDict):
    emoji: str
    count: int
    me: bool


@closed
class Message(TypedDict):
    """The message as stored (as in websocket events) plus what depends on the caller."""

    id: IdStr
    channel_id: IdStr
    user_id: IdStr | None
    type: str
    contents: str
    meta: dict[str, Any]
    reply_to: IdStr | None
    reply_count: int
    last_reply_at: TimeStr | None
    client_msg_id: str | None
    created_at: TimeStr
    updated_at: TimeStr
    edited_at: TimeStr | None
    deleted: bool
    files: list[File]
    mentions: list[IdStr]
    edited: bool
    pinned: bool
    flagged: bool
    reactions: list[Reaction]
    can_edit: bool
    can_remove: bool


@closed
class FoundMessage(Message):
    snippet: str
    score: float


@closed
class MessageSearch(TypedDict):
    """A page of search hits; ``total`` stops at the search window, and ``total_capped`` says more matched."""

    items: list[FoundMessage]
    page: int
    per_page: int
    total: int
    next_page: int | None
    total_capped: bool


@closed
class PinnedMessage(Message):
    pinned_by: IdStr | None
    pinned_at: TimeStr | None


@closed
class History(TypedDict):
    items: list[Message]
    has_more: bool


@closed
class Version(TypedDict):
    version: int
    contents: str
    created_at: TimeStr
    current: bool


@closed
class Versions(TypedDict):
    versions: list[Version]


@closed
class ReadState(TypedDict):
    channel_id: IdStr
    last_read_message_id: IdStr
    unread: int
    mentions: int
    seq: int


@closed
class Reactions(TypedDict):
    """The message's reactions as the caller sees them (``me``: the caller reacted so)."""

    reactions: list[Reaction]


@closed
class Reactors(TypedDict):
    emoji: str
    count: int
    me: bool
    user_ids: list[IdStr]


@closed
class ReactionList(TypedDict):
    reactions: list[Reactors]
