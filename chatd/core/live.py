"""What a live connection asks of the core: the snapshot it starts from, the channel logs it replays and
fills its gaps from, and its one action that stores nothing (typing).

The websocket (``chatd/realtime``) calls these and never the store: a connection starts from a
``Snapshot`` taken *after* it registered with the hub, and from then on every channel event reaches it live
or, if one is missed (another node, a bus outage, a resume), is read back from its log (``stored_since``)
(docs/design.md §4.3). After a bus gap, when the hub cannot know which access changes it missed, every
connection's ``Standing`` is read again: whether its credential still holds, and what its user may read. The log readers take no principal: a connection only reads channels it is subscribed
to, and it subscribed through the snapshot or through the events that gave the user access.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from ..store import channel_members as member_store
from ..store import channels as channel_store
from ..store import events as event_log
from ..store import orgs as org_store
from ..store import snapshot as snapshot_store
from ..store import users as user_store
from ..domain import events
from ..domain.events import Event
from ..domain.models import Channel, ChannelView, Principal, User
from .access import access_channel
from .auth import credential_alive_in
from .channels import view_from, views_of
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


@dataclass(slots=True)
class Standing:
    """One connection's standing as the store has it now.

    ``alive``: its credential still holds (the account is active, the session or token not ended).
    ``channels``: every channel its user may read, each with its seq at this read; ``member_of``: those the
    user is a member of; ``new``: the readable channels the connection did not know, as the user sees them."""

    alive: bool
    user: User | None = None
    organisations: set[int] = field(default_factory=set)
    channels: list[Channel] = field(default_factory=list)
    member_of: set[int] = field(default_factory=set)
    new: list[ChannelView] = field(default_factory=list)


async def standings(
    core: Core, connections: Sequence[tuple[Principal, set[int]]], known: Sequence[int]
) -> tuple[list[Standing], list[Channel]]:
    """The ``Standing`` of each (principal, channels its connection knows), in order, and every live channel
    among them and ``known``, read in one transaction. A user is read once however many connections they have."""
    found: list[Standing] = []
    now = core.clock.now_ms()
    async with core.reading() as conn:
        channels = {channel.id: channel for channel in await channel_store.live_channels(conn, known)}
        users: dict[int, Standing] = {}
        for principal, theirs in connections:
            user_id = principal.user_id
            if user_id not in users:
                users[user_id] = await _user_standing(conn, user_id)
            of_user = users[user_id]
            if not await credential_alive_in(conn, principal, of_user.user, now):
                found.append(Standing(alive=False))
                continue
            assert of_user.user is not None
            fresh = Principal(of_user.user, principal.session_id, principal.token_id, principal.client_id)
            new = [channel for channel in of_user.channels if channel.id not in theirs]
            views = await views_of(conn, fresh, new) if new else []
            found.append(Standing(True, of_user.user, of_user.organisations, of_user.channels, of_user.member_of, views))
            channels.update((channel.id, channel) for channel in of_user.channels)
    return found, list(channels.values())


async def _user_standing(conn: AsyncConnection, user_id: int) -> Standing:
    user = await user_store.get_user(conn, user_id)
    if user is None or not user.is_active:
        return Standing(alive=False, user=user)
    organisations = set((await org_store.orgs_of_user(conn, user_id)).keys())
    channels = await channel_store.readable_channels(conn, user_id, user.is_admin)
    roles = await member_store.roles_of(conn, user_id, [channel.id for channel in channels])
    return Standing(True, user, organisations, channels, set(roles))


async def snapshot(core: Core, principal: Principal) -> Snapshot:
    """The user's organisations and readable channels (member, or public in one of their organisations),
    read in one snapshot, with the viewer's role and unread counts."""
    async with core.reading() as conn:
        found = await snapshot_store.read(conn, principal.user_id, principal.user.is_admin)
    views = [view_from(channel, count, found.members.get(channel.id)) for channel, count in found.channels]
    return Snapshot(found.organisations, views)


async def last_seqs(core: Core, channel_ids: list[int]) -> dict[int, int]:
    """Where each channel's log ends now (unknown channels are left out)."""
    async with core.reading() as conn:
        return await event_log.last_seqs(conn, channel_ids)


async def log_bounds(core: Core, channel_ids: list[int]) -> dict[int, LogBounds]:
    """Where each channel's log starts and ends, all read in one snapshot (unknown channels: empty logs)."""
    async with core.reading() as conn:
        found = await event_log.bounds(conn, channel_ids)
    return {channel_id: LogBounds(*found.get(channel_id, (None, 0))) for channel_id in channel_ids}


async def events_since(core: Core, channel_id: int, after_seq: int, limit: int) -> list[Event]:
    """A channel's stored events with seq above ``after_seq``, in order, at most ``limit``."""
    async with core.reading() as conn:
        return await event_log.since(conn, channel_id, after_seq, limit)


async def do_typing(core: Core, principal: Principal, channel_id: int, thread_id: int | None = None) -> None:
    """Tell the channel's readers the user is typing, in the channel's own box or (``thread_id``, the thread's
    first message, not looked up: typing is ephemeral) in a thread's: checked like a post, published, never
    stored.

    Clients stop showing it after ``expires_in_ms`` (``websocket.typing_ttl_seconds``)."""
    async with core.reading() as conn:
        await access_channel(conn, principal, channel_id, writing=True)
    data = {
        "user_id": str(principal.user_id),
        "channel_id": str(channel_id),
        "expires_in_ms": int(core.settings.websocket.typing_ttl_seconds * 1000),
    }
    if thread_id is not None:
        data["thread_id"] = str(thread_id)
    await core.publisher.publish([Event(type=events.TYPING, event="STARTED", data=data, channel_id=channel_id)])


async def stored_since(
    core: Core, channel_id: int, after_seq: int, upto: int | None, limit: int
) -> list[tuple[int, str, str, str]]:
    """``events_since`` as stored, up to ``upto``: (seq, type, event, payload JSON), for replays."""
    async with core.reading() as conn:
        return await event_log.stored_since(conn, channel_id, after_seq, upto, limit)
