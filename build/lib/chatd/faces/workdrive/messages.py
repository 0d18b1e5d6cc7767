"""``/api/{conversationId}/messages…``: send, list, edit and remove messages of any conversation (channel).

A WorkDrive message is a chatd message: sending, editing and removing are the core's (``do_post_message``,
``edit_message_in``, ``remove_message_in``), so the Crust face and the websocket see the same messages and
the same ``message`` events. The spec's ``GET`` for sending is a mistake (docs/workdrive.md): ``POST``
sends, ``GET`` lists the history newest first with the spec's ``meta``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.routing import Route

from ...core import history, messages
from ...core.channel_access import access_channel
from ...core.errors import BadRequest, NotFound
from ...core.messages import MENTION
from ...core.models import MessageView, Principal
from ...core.paging import Page, PageRequest
from ...core.users import access_user
from ...store.messages import page_by_offset
from ...edge.params import Id, Params
from ...edge.responses import Call, endpoint
from . import shapes
from .users import CamelParams

MENTIONS_MAX = 100
FILES_MAX = 20
# Core field → this body's name.
_NAMES = {"contents": "message", "reply_to": "replyOfMsgId", "file_ids": "fileId"}


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


async def _check_mentions(conn: AsyncConnection, who: Principal, text: str | None, user_ids: list[int]) -> None:
    """``mention`` must name users the text mentions (``@userName``): mentions are what the text says, on
    every face, so an id the text does not name is refused rather than silently dropped."""
    named = {name.rstrip(".-_").casefold() for name in MENTION.findall(text or "")}
    for index, user_id in enumerate(user_ids):
        try:
            user = await access_user(conn, who, user_id)
        except NotFound:
            raise BadRequest.field(f"mention.{index}", "no such user") from None
        if user.username.casefold() not in named:
            raise BadRequest.field(f"mention.{index}", f"not named in the message: write @{user.username}")


async def _shaped(conn: AsyncConnection, call: Call[Any], views: list[MessageView]) -> list[dict[str, Any]]:
    profiles = await shapes.people(conn, call.core, shapes.message_people(views))
    return [shapes.message(view, profiles) for view in views]


@endpoint(PostParams)
@shapes.camel_errors
async def post(call: Call[PostParams]) -> dict[str, Any]:
    p, conversation_id = call.params, shapes.path_id(call, "conversationId")
    if p.mention:
        async with call.core.reading() as conn:
            await _check_mentions(conn, call.who, p.message, p.mention)
    with shapes.renamed_errors(_NAMES):
        view = await messages.do_post_message(
            call.core, call.who, conversation_id, p.message, reply_to=p.reply_of_msg_id,
            client_msg_id=p.client_msg_id, file_ids=p.file_id,
        )
    async with call.core.reading() as conn:
        return (await _shaped(conn, call, [view]))[0]


@endpoint(ListParams)
@shapes.camel_errors
async def list_messages(call: Call[ListParams]) -> dict[str, Any]:
    """Newest first, thread replies included (each names its ``replyOfMsgId``). Reading the first page
    moves a member's read marker to its newest message, as reading the newest history does on every face."""
    conversation_id = shapes.path_id(call, "conversationId")
    page = PageRequest.of(call.params.cur_page, call.params.per_page, call.core.settings.limits.page_size_max)
    async with call.core.reading() as conn:
        found = await access_channel(conn, call.who, conversation_id)
        items, total = await page_by_offset(conn, conversation_id, page.offset, page.per_page)
        shaped = await _shaped(conn, call, await messages.views_of(conn, call.who, found, items))
    if page.page == 1 and items and found.is_member:
        await history.mark_read(call.core, call.who, conversation_id, items[0].id)
    return {"messages": shaped, "meta": shapes.meta(Page(items, total, page))}


async def _check_conversation(conn: AsyncConnection, who: Principal, conversation_id: int, message_id: int) -> None:
    """A message of another conversation is not found here."""
    message, _ = await messages.access_message(conn, who, message_id)
    if message.channel_id != conversation_id:
        raise NotFound("no such message")


@endpoint(EditParams)
@shapes.camel_errors
async def edit(call: Call[EditParams]) -> dict[str, Any]:
    """The sender edits the text; the replaced text is kept as a version (``EDITED`` event)."""
    conversation_id, message_id = shapes.path_id(call, "conversationId"), shapes.path_id(call)
    async with call.core.transaction() as tx:
        await _check_conversation(tx.conn, call.who, conversation_id, message_id)
        with shapes.renamed_errors(_NAMES):
            message, found = await messages.edit_message_in(tx, call.who, message_id, call.params.message)
        if message.channel_id != conversation_id:  # merged into another channel while we waited for the lock
            raise NotFound("no such message")
        return (await _shaped(tx.conn, call, await messages.views_of(tx.conn, call.who, found, [message])))[0]


@endpoint(Params)
@shapes.camel_errors
async def remove(call: Call[Params]) -> dict[str, Any]:
    """The sender, a conversation admin or an organisation admin removes it (``REMOVED`` event)."""
    conversation_id, message_id = shapes.path_id(call, "conversationId"), shapes.path_id(call)
    async with call.core.transaction() as tx:
        await _check_conversation(tx.conn, call.who, conversation_id, message_id)
        await messages.remove_message_in(tx, call.who, message_id)
    return {"id": str(message_id), "conversationId": str(conversation_id), "removed": True}


routes = [
    Route("/api/{conversationId}/messages", post, methods=["POST"]),
    Route("/api/{conversationId}/messages", list_messages, methods=["GET"]),
    Route("/api/{conversationId}/messages/{id}", edit, methods=["PATCH"]),
    Route("/api/{conversationId}/messages/{id}", remove, methods=["DELETE"]),
]
