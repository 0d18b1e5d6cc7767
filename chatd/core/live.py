"""What a live connection asks of the core: the snapshot it starts from, the channel logs it replays and
fills its gaps from, and its one action that stores nothing (typing).

The websocket (``chatd/realtime``) calls these and never the store: a connection starts from a
``Snapshot`` taken *after* it registered with the hub, and from then on every channel event reaches it live
or, if one is missed (another node, a bus outage, a resume), is read back with ``events_since``
(docs/design.md §4.3). The log readers take no principal: a connection only reads channels it is subscribed
to, and it subscribed through the snapshot or through the events that gave the user access.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..domain import events
from ..domain.events import Event
from ..domain.models import ChannelView, Principal
from ..store import channels as channel_store
from ..store import events as event_log
from ..store import orgs as org_store
from .access import access_channel
from .channels import views_of
from .context import Core


@dataclass(slots=True, frozen=True)
class Snapshot:
    """Where a connection starts: its user's organisations, and every channel they may read as they see it.

    Each channel's ``last_seq`` is the snapshot seq: the connection delivers that channel's events after it."""

    organisations: set[int]
    channels: list[ChannelView]

    @property
    def member_of(self) -> set[int]:
        return {view.channel.id for view in self.channels if view.role is not None}


@dataclass(slots=True, frozen=True)
class LogBounds:
    """Where a channel's log starts and ends: ``first`` is None when nothing is stored (never written, or
    purged), ``last`` the channel's latest seq (0 before its first event)."""

    first: int | None
    last: int

    def can_replay_after(self, seq: int) -> bool:
        """Whether every event after ``seq`` is still stored: none was purged, and the log is not behind
        ``seq`` (a database restored from a backup)."""
        purged = (self.first is None and self.last > 0) or (self.first is not None and seq < self.first - 1)
        return not purged and seq <= self.last


async def organisations_of(core: Core, principal: Principal) -> set[int]:
    async with core.reading() as conn:
        return set((await org_store.orgs_of_user(conn, principal.user_id)).keys())


async def snapshot(core: Core, principal: Principal) -> Snapshot:
    """The user's organisations and readable channels (member, or public in one of their organisations),
    read in one snapshot, with the viewer's role and unread counts."""
    async with core.reading() as conn:
        organisations = set((await org_store.orgs_of_user(conn, principal.user_id)).keys())
        found = await channel_store.readable_channels(conn, principal.user_id, principal.user.is_admin)
        views = await views_of(conn, principal, found)
    return Snapshot(organisations, views)


async def last_seqs(core: Core, channel_ids: list[int]) -> dict[int, int]:
    """Where each channel's log ends now (unknown channels are left out)."""
    async with core.reading() as conn:
        return await event_log.last_seqs(conn, channel_ids)


async def log_bounds(core: Core, channel_ids: list[int]) -> dict[int, LogBounds]:
    """Where each channel's log starts and ends, all read in one snapshot (unknown channels: empty logs)."""
    async with core.reading() as conn:
        lasts = await event_log.last_seqs(conn, channel_ids)
        firsts = {channel_id: await event_log.first_seq(conn, channel_id) for channel_id in channel_ids}
    return {channel_id: LogBounds(firsts[channel_id], lasts.get(channel_id, 0)) for channel_id in channel_ids}


async def events_since(core: Core, channel_id: int, after_seq: int, limit: int) -> list[Event]:
    """A channel's stored events with seq above ``after_seq``, in order, at most ``limit``."""
    async with core.reading() as conn:
        return await event_log.since(conn, channel_id, after_seq, limit)


async def do_typing(core: Core, principal: Principal, channel_id: int) -> None:
    """Tell the channel's readers the user is typing: checked like a post, published, never stored.

    Clients stop showing it after ``expires_in_ms`` (``websocket.typing_ttl_seconds``)."""
    async with core.reading() as conn:
        await access_channel(conn, principal, channel_id, writing=True)
    data = {
        "user_id": str(principal.user_id),
        "channel_id": str(channel_id),
        "expires_in_ms": int(core.settings.websocket.typing_ttl_seconds * 1000),
    }
    await core.publisher.publish([Event(type=events.TYPING, event="STARTED", data=data, channel_id=channel_id)])
