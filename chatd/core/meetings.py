"""Meetings: scheduled in a channel and announced there by a ``MEETING`` message in the same transaction,
so the channel's history and event stream tell it, and a failure leaves neither the meeting nor the message.

Who may: anyone who may post in the channel. Participants must be able to read the channel (its members;
for a public channel, members of its organisation and server administrators), by the one read rule
(``access.readers_among``). The poster is
one of the caller's own uploaded images, attached to the announcement, so whoever reads the channel may
read it. The announcement is a system message: it cannot be edited, only removed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.errors import BadRequest
from ..domain.models import Channel, MessageView, Principal
from ..store import meetings as meeting_store
from ..store.meetings import Meeting
from .access import access_channel, readers_among
from .clock import iso
from .context import Core
from .conversations import named_people
from .profiles import Profile, profiles_of
from .files import picture_file
from .message_views import views_of
from .messages import Post, post_message_in
from .orgs import check_name

MEETING = "MEETING"
TITLE_MAX = 255
PARTICIPANTS_MAX = 500
DURATION_MAX = 60 * 24 * 366  # minutes

__all__ = ["Meeting", "MEETING", "do_create_meeting", "meeting_meta"]


def meeting_meta(meeting: Meeting) -> dict[str, Any]:
    """What the announcement message carries, so every face can show the meeting from the message alone."""
    return {
        "meeting": {
            "id": str(meeting.id),
            "title": meeting.title,
            "start_at": iso(meeting.start_at),
            "end_at": iso(meeting.end_at),
            "duration": meeting.duration,
            "poster_id": None if meeting.poster_id is None else str(meeting.poster_id),
            "user_ids": [str(user_id) for user_id in meeting.participant_ids],
            "created_by": None if meeting.created_by is None else str(meeting.created_by),
        }
    }


def _check_times(start_at: int, end_at: int, duration: int | None) -> None:
    if end_at <= start_at:
        raise BadRequest.field("end_date_time", "must be after the start")
    if duration is not None and not 0 <= duration <= DURATION_MAX:
        raise BadRequest.field("duration", f"must be 0 to {DURATION_MAX} minutes")


async def _check_participants(conn: AsyncConnection, channel: Channel, user_ids: list[int]) -> None:
    """Every participant must be able to read the channel; unknown users look the same (no probing)."""
    readers = await readers_among(conn, channel, user_ids)
    unable = [user_id for user_id in user_ids if user_id not in readers]
    if unable:
        raise BadRequest.field("user_ids", "cannot read this conversation: " + ", ".join(map(str, sorted(unable))))


async def do_create_meeting(
    core: Core,
    principal: Principal,
    channel_id: int,
    *,
    title: str,
    user_ids: list[int],
    start_at: int,
    end_at: int,
    poster_id: int | None = None,
    duration: int | None = None,
) -> tuple[Meeting, MessageView, dict[int, Profile]]:
    """Store the meeting and post its announcement; returns the meeting, the message as the caller sees it,
    and the profiles of the people they name (creator, participants, the message's mentions)."""
    title = check_name(title, "title", TITLE_MAX)
    _check_times(start_at, end_at, duration)
    participants = list(dict.fromkeys(user_ids))
    if len(participants) > PARTICIPANTS_MAX:
        raise BadRequest.field("user_ids", f"at most {PARTICIPANTS_MAX} participants")
    async with core.transaction() as tx:
        found = await access_channel(tx.conn, principal, channel_id, writing=True)
        await _check_participants(tx.conn, found.channel, participants)
        if poster_id is not None:
            poster_id = (await picture_file(tx, principal, poster_id, "poster_id", channel_id=channel_id, attach=True)).id
        meeting = Meeting(
            id=tx.new_id(),
            channel_id=channel_id,
            title=title,
            start_at=start_at,
            end_at=end_at,
            created_at=tx.now,
            created_by=principal.user_id,
            poster_id=poster_id,
            duration=duration,
            participant_ids=participants,
        )
        text = f"@{principal.user.username} scheduled a meeting: {title} ({iso(start_at)} to {iso(end_at)})"
        poster = [] if poster_id is None else [poster_id]
        post = Post(channel_id, text, file_ids=poster, type=MEETING, meta=meeting_meta(meeting))
        message, found, _, _ = await post_message_in(tx, principal, post)
        meeting.message_id = message.id
        await meeting_store.insert(tx.conn, meeting)
        view = (await views_of(tx.conn, principal, found, [message]))[0]
        named = [meeting.created_by, *participants, *named_people([view])]
        return meeting, view, await profiles_of(tx.conn, core, principal, named)
