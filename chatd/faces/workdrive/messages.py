"""``/api/{conversationId}/messages…``: send, list, edit and remove messages of any conversation (channel).

A WorkDrive message is a chatd message: each view is one core action (``core/conversations.py``), so the
Crust face and the websocket see the same messages and the same ``message`` events. The spec's ``GET`` for
sending is a mistake (docs/workdrive.md): ``POST`` sends, ``GET`` lists the history newest first with the
spec's ``meta``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.routing import Route

from ...core import conversations, messages
from ...core.messages import Post
from ...edge.params import Id, Params
from ...edge.responses import Call, endpoint
from . import shapes
from .params import CamelParams, page_of, path_id, spec_names

MENTIONS_MAX = 100  # bounds on the request's lists
FILES_MAX = 20
# The core's names for what this body calls ``message``, ``replyOfMsgId``, ``fileId`` and ``mention``.
_NAMES = spec_names({"contents": "message", "reply_to": "replyOfMsgId", "file_ids": "fileId", "mention_ids": "mention"})


class PostParams(CamelParams):
    message: str | None = None
    mention: list[Id] = Field(default_factory=list, max_length=MENTIONS_MAX)
    reply_of_msg_id: Id | None = None
    file_id: list[Id] = Field(default_factory=list, max_length=FILES_MAX)
    client_msg_id: str | None = None


class ListParams(Params):
    cur_page: int = Field(1, ge=1)
    per_page: int = Field(10, ge=1)


class EditParams(CamelParams):
    message: str | None = None


def _conversation(call: Call[Any]) -> int:
    return path_id(call, "conversationId")


@endpoint(PostParams, fields=_NAMES)
async def post(call: Call[PostParams]) -> dict[str, Any]:
    """Send; ``mention`` ids are mentioned besides the users the text names (``@userName``)."""
    p = call.params
    sent = Post(
        _conversation(call), p.message, reply_to=p.reply_of_msg_id, client_msg_id=p.client_msg_id,
        file_ids=p.file_id, mention_ids=p.mention,
    )
    view, people = await conversations.do_post(call.core, call.who, sent)
    return shapes.message(view, people)


@endpoint(ListParams, fields=_NAMES)
async def list_messages(call: Call[ListParams]) -> dict[str, Any]:
    """Newest first, thread replies included (each names its ``replyOfMsgId``); the first page marks it read."""
    found, people = await conversations.read_page(call.core, call.who, _conversation(call), page_of(call))
    return shapes.page("messages", found, lambda view: shapes.message(view, people))


@endpoint(EditParams, fields=_NAMES)
async def edit(call: Call[EditParams]) -> dict[str, Any]:
    """The sender edits the text; the replaced text is kept as a version (``EDITED`` event)."""
    view, people = await conversations.do_edit(
        call.core, call.who, _conversation(call), path_id(call), call.params.message
    )
    return shapes.message(view, people)


@endpoint(Params, fields=_NAMES)
async def remove(call: Call[Params]) -> dict[str, Any]:
    """The sender, a conversation admin or an organisation admin removes it (``REMOVED`` event)."""
    conversation_id, message_id = _conversation(call), path_id(call)
    await messages.do_remove_message(call.core, call.who, message_id, channel_id=conversation_id)
    return {"id": str(message_id), "conversationId": str(conversation_id), "removed": True}


routes = [
    Route("/api/{conversationId}/messages", post, methods=["POST"]),
    Route("/api/{conversationId}/messages", list_messages, methods=["GET"]),
    Route("/api/{conversationId}/messages/{id}", edit, methods=["PATCH"]),
    Route("/api/{conversationId}/messages/{id}", remove, methods=["DELETE"]),
]
