"""``/api/{conversationId}/meetings``: schedule a meeting in a conversation (docs/workdrive.md).

The core stores the meeting and announces it in the conversation with a ``MEETING`` message in the same
transaction. The spec puts this at ``POST /api/group-chats``, which is already "create a group chat".
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.routing import Route

from ...core.meetings import PARTICIPANTS_MAX, do_create_meeting
from ...edge.params import Id
from ...edge.responses import Call, endpoint
from . import shapes
from .params import CamelParams, Time, path_id, spec_names


class CreateParams(CamelParams):
    title: str
    user_ids: list[Id] = Field(default_factory=list, max_length=PARTICIPANTS_MAX)
    start_date_time: Time
    end_date_time: Time
    poster_id: Id | None = None
    duration: int | None = None


@endpoint(CreateParams, fields=spec_names())
async def create(call: Call[CreateParams]) -> dict[str, Any]:
    """The spec's event, plus ``message``: the announcement as posted."""
    p = call.params
    meeting, view, people = await do_create_meeting(
        call.core, call.who, path_id(call, "conversationId"), title=p.title, user_ids=p.user_ids,
        start_at=p.start_date_time, end_at=p.end_date_time, poster_id=p.poster_id, duration=p.duration,
    )
    return {**shapes.meeting(meeting, people), "message": shapes.message(view, people)}


routes = [Route("/api/{conversationId}/meetings", create, methods=["POST"])]
