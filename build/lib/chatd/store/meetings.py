"""Meetings: one row per meeting scheduled in a channel, and who is invited."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import meeting_participants, meetings


@dataclass(slots=True)
class Meeting:
    id: int
    channel_id: int
    title: str
    start_at: int
    end_at: int
    created_at: int
    created_by: int | None
    poster_id: int | None = None
    duration: int | None = None
    message_id: int | None = None
    participant_ids: list[int] = field(default_factory=list)


def _meeting(row: Any) -> Meeting:
    return Meeting(
        id=row.id,
        channel_id=row.channel_id,
        title=row.title,
        start_at=row.start_at,
        end_at=row.end_at,
        created_at=row.created_at,
        created_by=row.created_by,
        poster_id=row.poster_id,
        duration=row.duration,
        message_id=row.message_id,
    )


async def insert(conn: AsyncConnection, meeting: Meeting) -> None:
    await conn.execute(
        meetings.insert().values(
            id=meeting.id,
            channel_id=meeting.channel_id,
            title=meeting.title,
            poster_id=meeting.poster_id,
            start_at=meeting.start_at,
            end_at=meeting.end_at,
            duration=meeting.duration,
            message_id=meeting.message_id,
            created_by=meeting.created_by,
            created_at=meeting.created_at,
        )
    )
    if meeting.participant_ids:
        await conn.execute(
            meeting_participants.insert(),
            [{"meeting_id": meeting.id, "user_id": user_id} for user_id in meeting.participant_ids],
        )


async def get(conn: AsyncConnection, meeting_id: int) -> Meeting | None:
    row = (await conn.execute(select(meetings).where(meetings.c.id == meeting_id))).first()
    if row is None:
        return None
    meeting = _meeting(row)
    rows = await conn.execute(
        select(meeting_participants.c.user_id)
        .where(meeting_participants.c.meeting_id == meeting_id)
        .order_by(meeting_participants.c.user_id)
    )
    meeting.participant_ids = [r[0] for r in rows]
    return meeting
