"""Domain records the store returns and the faces shape. Plain data; rules live in the action modules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ORG_ROLES = ("owner", "admin", "member")
CHANNEL_TYPES = ("public", "private", "direct", "group")
CHANNEL_ROLES = ("owner", "member")
MESSAGE_TYPES = ("CREATE", "TOPIC", "RENAME", "MERGE", "MESSAGE", "FILE", "MEETING")
USER_TYPES = ("MESSAGE", "FILE")  # what users post, and may edit; the others are the system's
# What counts as unread: what people say (a meeting is posted by its organiser). System notices (a channel's
# creation, topic, name, merge) stay in history but never make a channel unread for anyone: being added
# to a new conversation is not a message waiting to be read (docs/api.md, Read markers).
UNREAD_TYPES = ("MESSAGE", "FILE", "MEETING")
# Unread and mention counts stop here: a count of 100 says "100 or more" (clients show "99+"). Counting costs
# a row per message, at every connect and channel list: a member of a hundred busy channels with a million
# unread messages cost 1.6-1.8 s of SQLite per connect before (docs/api.md, "counts stop at 100").
COUNT_MAX = 100


@dataclass(slots=True)
class User:
    id: int
    username: str
    email: str
    display_name: str
    status: str
    is_admin: bool
    created_at: int
    updated_at: int
    first_name: str = ""
    last_name: str = ""
    picture_file_id: int | None = None
    availability: str = "available"
    department: str = ""
    location: str = ""
    profile: dict[str, Any] = field(default_factory=dict)
    last_seen_at: int | None = None
    password_hash: str | None = None

    @property
    def is_active(self) -> bool:
        return self.status == "active"


@dataclass(slots=True)
class Session:
    id: int
    user_id: int
    client_id: str
    user_agent: str
    created_at: int
    last_seen_at: int
    expires_at: int


@dataclass(slots=True)
class AccessToken:
    id: int
    user_id: int
    label: str
    created_at: int
    last_used_at: int | None
    revoked_at: int | None


@dataclass(slots=True)
class Principal:
    """Who is calling, and by which credential: a session (``session_id``) or an access token."""

    user: User
    session_id: int | None = None
    token_id: int | None = None
    client_id: str = ""

    @property
    def user_id(self) -> int:
        return self.user.id


@dataclass(slots=True)
class Organisation:
    id: int
    name: str
    created_by: int | None
    created_at: int
    updated_at: int
    archived_at: int | None
    removed_at: int | None = None
    profile: dict[str, Any] = field(default_factory=dict)
    picture_file_id: int | None = None


@dataclass(slots=True)
class Membership:
    user_id: int
    role: str
    joined_at: int


@dataclass(slots=True)
class Team:
    id: int
    organisation_id: int
    name: str
    created_by: int | None
    created_at: int
    updated_at: int
    archived_at: int | None
    removed_at: int | None = None


@dataclass(slots=True)
class Channel:
    id: int
    organisation_id: int
    team_id: int | None
    name: str
    topic: str
    type: str
    created_by: int | None
    created_at: int
    updated_at: int
    archived_at: int | None
    removed_at: int | None
    last_seq: int
    description: str = ""
    group_type: str = "CHAT_GROUP"
    category: str = ""
    by_request: bool = False
    picture_file_id: int | None = None
    merged_into: int | None = None
    last_message_at: int | None = None
    direct_key: str | None = None

    @property
    def is_open(self) -> bool:
        """Readable by every member of its organisation, not only its own members."""
        return self.type == "public"


@dataclass(slots=True)
class ChannelAccess:
    """A channel with one user's standing in it: channel role (None if not a member), organisation role
    (None if not a member), and whether its team or organisation is archived (``archived_at`` or None)."""

    channel: Channel
    role: str | None
    org_role: str | None
    team_archived_at: int | None = None
    org_archived_at: int | None = None

    @property
    def is_member(self) -> bool:
        return self.role is not None

    @property
    def is_owner(self) -> bool:
        return self.role == "owner" or self.org_role in ("owner", "admin")


@dataclass(slots=True)
class Message:
    id: int
    channel_id: int
    user_id: int | None
    type: str
    contents: str
    created_at: int
    updated_at: int
    meta: dict[str, Any] = field(default_factory=dict)
    reply_to: int | None = None
    reply_count: int = 0
    last_reply_at: int | None = None
    client_msg_id: str | None = None
    edited_at: int | None = None
    deleted_at: int | None = None
    file_ids: list[int] = field(default_factory=list)
    mentions: list[int] = field(default_factory=list)


@dataclass(slots=True)
class StoredFile:
    """An uploaded file. ``status`` is ``pending`` between a presigned upload's issue and its arrival."""

    id: int
    owner_id: int
    name: str
    content_type: str
    size: int
    storage_key: str
    created_at: int
    sha256: str = ""
    width: int | None = None
    height: int | None = None
    thumbnail_key: str | None = None
    status: str = "ready"
    module: str = ""
    deleted_at: int | None = None

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


@dataclass(slots=True)
class ChannelView:
    """A channel as one viewer sees it: their role and, for members, how much they have not read."""

    channel: Channel
    role: str | None = None
    member_count: int = 0
    unread: int | None = None
    mentions: int | None = None
    last_read_message_id: int | None = None


@dataclass(slots=True)
class MessageView:
    """A message with the fields that depend on who is looking (docs/design.md §4.6)."""

    message: Message
    files: list[dict[str, Any]] = field(default_factory=list)
    pinned: bool = False
    flagged: bool = False
    reactions: list[dict[str, Any]] = field(default_factory=list)
    can_edit: bool = False
    can_remove: bool = False
    shared: dict[str, Any] | None = None  # the viewer-independent shape, when the core built it already
