"""``/message/*``: post and edit, attach, remove, read (history, threads, one message, versions), mark read,
search, pins, flags and reactions (the undos and listings are ours, in the seed's style)."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core import attachments, flags, history, messages, pins, reactions, search
from ...core.paging import PageRequest
from ...domain.errors import BadRequest
from ...edge import shapes
from ...edge.auth import authenticate_request
from ...edge.described import described
from ...edge.bounds import LONG_TEXT_MAX_CHARS
from ...edge.params import Id, Params, validate
from ...edge.responses import Call, endpoint, respond
from ...edge.uploads import read_upload
from ...edge import shape_types as out
from ...edge import shapes


class EditParams(Params):
    id: Id | None = None
    channel_id: Id | None = None
    contents: str | None = Field(None, max_length=LONG_TEXT_MAX_CHARS)
    reply_to: Id | None = None
    client_msg_id: str | None = None
    file_ids: list[Id] | None = None


class IdParams(Params):
    id: Id


class AttachParams(Params):
    channel_id: Id
    contents: str | None = Field(None, max_length=LONG_TEXT_MAX_CHARS)
    reply_to: Id | None = None
    client_msg_id: str | None = None


class ReadParams(Params):
    channel_id: Id | None = None
    id: Id | None = None
    before: Id | None = None
    after: Id | None = None
    limit: int | None = None
    thread: Id | None = None
    include_replies: bool = False


class MarkReadParams(Params):
    channel_id: Id
    message_id: Id | None = None


class SearchParams(Params):
    query: str = ""
    message_type: str | None = None
    channel_id: Id | None = None
    user_id: Id | None = None
    since: str | None = None
    until: str | None = None
    page: int | None = None
    per_page: int | None = None


class ReactParams(Params):
    id: Id
    emoji: str


class ChannelParams(Params):
    channel_id: Id


class PageParams(Params):
    page: int | None = None
    per_page: int | None = None


@endpoint(EditParams)
async def edit(call: Call[EditParams]) -> out.Message:
    """Post to ``channel_id`` (no ``id``), or edit the text of message ``id`` (sender only; with
    ``channel_id``, a message of that channel: 404 otherwise)."""
    p = call.params
    if p.id is None:
        if p.channel_id is None:
            raise BadRequest.field("channel_id", "required to post a message")
        view = await messages.do_post_message(
            call.core, call.who, p.channel_id, p.contents, reply_to=p.reply_to, client_msg_id=p.client_msg_id,
            file_ids=p.file_ids,
        )
    else:
        for name in ("reply_to", "file_ids"):
            if getattr(p, name):
                raise BadRequest.field(name, messages.EDIT_TEXT_ONLY)
        view = await messages.do_edit_message(call.core, call.who, p.id, p.contents, channel_id=p.channel_id)
    return shapes.message(view)


@described(AttachParams, response=out.Message, body="multipart")
async def attach(request: Request) -> Response:
    """Multipart ``file`` (plus ``channel_id``, optional ``contents``, ``reply_to``): a ``FILE`` message.

    The body goes through ``read_upload``: an oversized one is refused before it is parsed, and the parsed
    form (its spooled file) is closed again."""
    who = await authenticate_request(request)
    core = request.app.state.core
    fields, name, data = await read_upload(request, core.settings.limits.upload_max_bytes)
    p = validate(AttachParams, fields)
    view = await attachments.do_attach(
        core, who, p.channel_id, name or "file", data, contents=p.contents, reply_to=p.reply_to,
        client_msg_id=p.client_msg_id,
    )
    return respond(request, shapes.message(view))


@endpoint(IdParams)
async def remove(call: Call[IdParams]) -> out.Ok:
    await messages.do_remove_message(call.core, call.who, call.params.id)
    return {"ok": True}


@endpoint(ReadParams)
async def read(call: Call[ReadParams]) -> out.Message | out.History:
    """History of ``channel_id`` (cursors ``before``/``after``, ``limit``, ``thread``), or one message by ``id``."""
    p = call.params
    if p.channel_id is None:
        if p.id is None:
            raise BadRequest.field("channel_id", "required (or id for one message)")
        return shapes.message(await history.read_message(call.core, call.who, p.id))
    views, has_more = await history.read_history(
        call.core, call.who, p.channel_id, before=p.before, after=p.after, limit=p.limit, thread=p.thread,
        include_replies=p.include_replies,
    )
    return {"items": [shapes.message(v) for v in views], "has_more": has_more}


@endpoint(IdParams)
async def versions(call: Call[IdParams]) -> out.Versions:
    return shapes.versions(await history.message_versions(call.core, call.who, call.params.id))


@endpoint(MarkReadParams)
async def mark_read(call: Call[MarkReadParams]) -> out.ReadState:
    p = call.params
    return shapes.read_state(await history.mark_read(call.core, call.who, p.channel_id, p.message_id))


@endpoint(SearchParams)
async def search_(call: Call[SearchParams]) -> out.MessageSearch:
    p = call.params
    page = PageRequest.of(p.page, p.per_page, call.core.settings.limits.page_size_max)
    found = await search.search_messages(
        call.core, call.who, p.query, message_type=p.message_type, channel_id=p.channel_id, user_id=p.user_id,
        since=p.since, until=p.until, page=page,
    )
    return {**shapes.page(found, shapes.found), "total_capped": found.capped}


@endpoint(IdParams)
async def pin(call: Call[IdParams]) -> out.Message:
    return shapes.message(await pins.do_pin(call.core, call.who, call.params.id, True))


@endpoint(IdParams)
async def unpin(call: Call[IdParams]) -> out.Message:
    return shapes.message(await pins.do_pin(call.core, call.who, call.params.id, False))


@endpoint(ChannelParams)
async def pins_list(call: Call[ChannelParams]) -> out.Items[out.PinnedMessage]:
    found = await pins.list_pins(call.core, call.who, call.params.channel_id)
    return {"items": [shapes.pinned(view, by, at) for view, by, at in found]}


@endpoint(IdParams)
async def flag(call: Call[IdParams]) -> out.Message:
    return shapes.message(await flags.do_flag(call.core, call.who, call.params.id, True))


@endpoint(IdParams)
async def unflag(call: Call[IdParams]) -> out.Message:
    return shapes.message(await flags.do_flag(call.core, call.who, call.params.id, False))


@endpoint(PageParams)
async def flags_list(call: Call[PageParams]) -> out.Paged[out.Message]:
    page = PageRequest.of(call.params.page, call.params.per_page, call.core.settings.limits.page_size_max)
    return shapes.page(await flags.list_flags(call.core, call.who, page), shapes.message)


@endpoint(ReactParams)
async def react(call: Call[ReactParams]) -> out.Reactions:
    return shapes.reactions(await reactions.do_react(call.core, call.who, call.params.id, call.params.emoji, True))


@endpoint(ReactParams)
async def unreact(call: Call[ReactParams]) -> out.Reactions:
    return shapes.reactions(await reactions.do_react(call.core, call.who, call.params.id, call.params.emoji, False))


@endpoint(IdParams)
async def reactions_list(call: Call[IdParams]) -> out.ReactionList:
    return shapes.reactors(await reactions.list_reactions(call.core, call.who, call.params.id))


routes = [
    Route("/message/edit", edit, methods=["POST"]),
    Route("/message/attach", attach, methods=["PUT", "POST"]),
    Route("/message/remove", remove, methods=["DELETE"]),
    Route("/message/read", read, methods=["GET"]),
    Route("/message/versions", versions, methods=["GET"]),
    Route("/message/mark_read", mark_read, methods=["POST"]),
    Route("/message/search", search_, methods=["GET"]),
    Route("/message/pin", pin, methods=["POST"]),
    Route("/message/unpin", unpin, methods=["POST"]),
    Route("/message/pins", pins_list, methods=["GET"]),
    Route("/message/flag", flag, methods=["POST"]),
    Route("/message/unflag", unflag, methods=["POST"]),
    Route("/message/flags", flags_list, methods=["GET"]),
    Route("/message/react", react, methods=["POST"]),
    Route("/message/unreact", unreact, methods=["POST"]),
    Route("/message/reactions", reactions_list, methods=["GET"]),
]
