"""``/api/{conversationId}/meetings``: schedule a meeting in a conversation (docs/workdrive.md).

The core stores the meeting and announces it in the conversation with a ``MEETING`` message in the same
transaction. The spec puts this at ``POST /api/group-chats``, which is already "create a group chat": a
meeting sent there is told apart by its fields and scheduled here too (``at_group_chats``).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.routing import Route

from ...domain.errors import BadRequest
from ...core.meetings import PARTICIPANTS_MAX, do_create_meeting
from ...edge.params import Id, merged_params, validate
from ...edge.responses import Call, endpoint
from . import shape_types as out
from . import shapes
from .params import CamelParams, Time, path_id, spec_names

# The fields only a meeting has: a request to ``POST /api/group-chats`` carrying one of them is a meeting.
MEETING_FIELDS = ("startDateTime", "endDateTime", "userIds", "posterId", "duration")


class CreateParams(CamelParams):
    title: str
    user_ids: list[Id] = Field(default_factory=list, max_length=PARTICIPANTS_MAX)
    start_date_time: Time
    end_date_time: Time
    poster_id: Id | None = None
    duration: int | None = None


class AtGroupChatsParams(CreateParams):
    conversation_id: Id | None = None


async def _schedule(call: Call[Any], conversation_id: int, p: CreateParams) -> out.NewMeeting:
    """The spec's event, plus ``message``: the announcement as posted."""
    meeting, view, people = await do_create_meeting(
        call.core, call.who, conversation_id, title=p.title, user_ids=p.user_ids,
        start_at=p.start_date_time, end_at=p.end_date_time, poster_id=p.poster_id, duration=p.duration,
    )
    return {**shapes.meeting(meeting, people), "message": shapes.message(view, people)}


@endpoint(CreateParams, fields=spec_names())
async def create(call: Call[CreateParams]) -> out.NewMeeting:
    """The spec's event, plus ``message``: the announcement as posted."""
    return await _schedule(call, path_id(call, "conversationId"), call.params)


async def at_group_chats(call: Call[Any]) -> out.NewMeeting:
    """The spec's own meeting request, at ``POST /api/group-chats``: scheduled in ``conversationId`` (a
    parameter the spec lists but its path has no place for: the body or the query string), else refused
    naming the right call. Never a group chat named after the meeting."""
    p = validate(AtGroupChatsParams, await merged_params(call.request))
    if p.conversation_id is None:
        raise BadRequest.field(
            "conversationId",
            "required to schedule a meeting here; or POST /api/{conversationId}/meetings "
            "(a group chat is created without startDateTime, endDateTime, userIds, posterId and duration)",
        )
    return await _schedule(call, p.conversation_id, p)


routes = [Route("/api/{conversationId}/meetings", create, methods=["POST"])]
