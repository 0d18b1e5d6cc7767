"""Events: what a change tells the world.

A channel event (``seq`` set) changed a channel: it is stored in that channel's log in the same
transaction as the change, and replayed on resume. A user event (``user_id`` set, no seq) is private to one
user (flags, read markers) or ephemeral (typing, presence): it is published but never stored.
Events are published only after the commit that made them (docs/design.md §4.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Envelope types (docs/design.md §4).
MESSAGE = "message"
CHANNEL = "channel"
MEMBER = "member"
REACTION = "reaction"
PIN = "pin"
FLAG = "flag"
READ = "read"
TYPING = "typing"
PRESENCE = "presence"
MENTION = "mention"
ORGANISATION = "organisation"
TEAM = "team"
CREDENTIALS = "credentials"


@dataclass(slots=True)
class Event:
    type: str
    event: str
    data: dict[str, Any]
    channel_id: int | None = None
    seq: int | None = None
    id: int | None = None
    actor_id: int | None = None
    created_at: int = 0
    user_id: int | None = None  # set: deliver to this user's connections only
    audience: list[int] = field(default_factory=list)  # extra users to notify (mentions, member removed)

    def envelope(self) -> dict[str, Any]:
        """The frame a client receives; ids as strings (docs/design.md §3)."""
        frame: dict[str, Any] = {"type": self.type, "event": self.event}
        if self.channel_id is not None:
            frame["channel_id"] = str(self.channel_id)
        if self.seq is not None:
            frame["seq"] = self.seq
        frame["data"] = self.data
        return frame

    def to_wire(self) -> dict[str, Any]:
        """Everything a bus carries between processes."""
        return {
            "type": self.type,
            "event": self.event,
            "data": self.data,
            "channel_id": self.channel_id,
            "seq": self.seq,
            "id": self.id,
            "actor_id": self.actor_id,
            "created_at": self.created_at,
            "user_id": self.user_id,
            "audience": self.audience,
        }

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> "Event":
        return cls(**wire)
