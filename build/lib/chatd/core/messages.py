"""Messages: post (with threads, mentions, files and idempotent retries), edit (keeping versions), remove.

Every face and the websocket call these; each change stores its event in the channel log in the same
transaction (docs/design.md §4.2) and is acknowledged only after the commit (§4.1).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..store import channel_members as member_store
from ..store import channels as channel_store
from ..store import events as event_log
from ..store import files as file_store
from ..store import messages as message_store
from ..store import orgs as org_store
from ..store import reactions as marks
from ..store import search as search_index
from ..store import users as user_store
from . import events
from . import files as file_core
from .channel_access import access_channel
from .clock import iso
from .context import Core, Tx
from .events import Event
from .errors import BadRequest, Conflict, Forbidden, NotFound, TooLarge
from .models import Channel, ChannelAccess, Message, MessageView, Principal

USER_TYPES = ("MESSAGE", "FILE")
CLIENT_MSG_ID_MAX = 128
MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9._-]{0,63})")


def message_payload(message: Message, files: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The viewer-independent shape of a message, as stored in events and sent on the websocket."""
    return {
        "id": str(message.id),
        "channel_id": str(message.channel_id),
        "user_id": None if message.user_id is None else str(message.user_id),
        "type": message.type,
        "contents": "" if message.deleted_at else message.contents,
        "meta": message.meta,
        "reply_to": None if message.reply_to is None else str(message.reply_to),
        "reply_count": message.reply_count,
        "last_reply_at": iso(message.last_reply_at),
        "client_msg_id": message.client_msg_id,
        "created_at": iso(message.created_at),
        "updated_at": iso(message.updated_at),
        "edited_at": iso(message.edited_at),
        "deleted": message.deleted_at is not None,
        "files": files or [],
        "mentions": [str(uid) for uid in message.mentions],
    }


async def post_system_message(
    tx: Tx, channel: Channel, actor_id: int | None, type: str, contents: str, meta: dict[str, Any]
) -> Message:
    """A CREATE, TOPIC or RENAME message (or any other system notice) in ``channel``, with its event."""
    await event_log.lock(tx.conn, channel.id)  # before the id: ids of a channel's messages sort like their seqs
    now = tx.now
    message = Message(
        id=tx.new_id(),
        channel_id=channel.id,
        user_id=actor_id,
        type=type,
        contents=contents,
        created_at=now,
        updated_at=now,
        meta=meta,
    )
    await message_store.insert_message(tx.conn, message)
    await search_index.index(tx.conn, message.id, contents)
    await channel_store.update_channel(tx.conn, channel.id, {"last_message_at": now})
    channel.last_message_at = now
    await tx.emit(channel.id, events.MESSAGE, "CREATED", message_payload(message), actor_id=actor_id)
    return message


def check_contents(core: Core, contents: str | None, *, allow_empty: bool = False) -> str:
    text = (contents or "").strip()
    if "\x00" in text:  # no text column of PostgreSQL can hold it
        raise BadRequest.field("contents", "must not contain NUL characters")
    if not text and not allow_empty:
        raise BadRequest.field("contents", "must not be empty")
    limit = core.settings.limits.message_max_chars
    if len(text) > limit:
        raise TooLarge(f"contents: at most {limit} characters", fields={"contents": f"at most {limit} characters"})
    return text


def check_client_msg_id(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > CLIENT_MSG_ID_MAX or "\x00" in value:
        raise BadRequest.field("client_msg_id", f"1 to {CLIENT_MSG_ID_MAX} characters")
    return value


async def _mentioned(conn: AsyncConnection, channel: Channel, author_id: int, text: str) -> list[int]:
    """Users named with ``@username`` who may read the channel (others are not told, nor stored)."""
    names = {match.rstrip(".-_") for match in MENTION.findall(text)}
    if not names:
        return []
    found = await user_store.ids_by_usernames(conn, sorted(names))
    candidates = set(found.values()) - {author_id}
    readers = await member_store.member_ids(conn, channel.id)
    if channel.is_open:
        readers |= await org_store.member_ids(conn, channel.organisation_id)
    return sorted(candidates & readers)


async def file_payloads(conn: AsyncConnection, file_ids: list[int]) -> dict[int, dict[str, Any]]:
    found = await file_store.get_files(conn, file_ids)
    return {fid: file_core.file_payload(stored) for fid, stored in found.items()}


async def access_message(
    conn: AsyncConnection,
    principal: Principal,
    message_id: int,
    *,
    writing: bool = False,
    owner: bool = False,
    lock: bool = False,
) -> tuple[Message, ChannelAccess]:
    """A live message and the caller's standing in its channel; invisible and missing look alike (404).

    ``lock``: lock the message's row, then read it again, so a change builds on what the previous writer
    committed (two concurrent edits keep both versions; two removals remove once). The channel's log lock is
    taken first and the row second, the order posts (channel, then a thread root) and merges (both channels,
    then their rows) keep too, so writers never deadlock."""
    message = await message_store.get_message(conn, message_id)
    if message is None or message.deleted_at is not None:
        raise NotFound("no such message")
    try:
        found = await access_channel(conn, principal, message.channel_id, writing=writing, owner=owner)
    except NotFound:
        raise NotFound("no such message") from None
    if lock:
        await event_log.lock(conn, message.channel_id)  # channel first, then the row: the order every writer keeps
        fresh = await message_store.get_message(conn, message_id, for_update=True)
        if fresh is None or fresh.deleted_at is not None or fresh.channel_id != message.channel_id:
            raise NotFound("no such message")  # removed, or merged away, while we waited
        message = fresh
    return message, found


async def _thread_root(conn: AsyncConnection, channel_id: int, reply_to: int) -> Message:
    parent = await message_store.get_message(conn, reply_to)
    if parent is None or parent.channel_id != channel_id or parent.deleted_at is not None:
        raise BadRequest.field("reply_to", "no such message in this channel")
    if parent.reply_to is None:
        return parent
    root = await message_store.get_message(conn, parent.reply_to)  # one level: a reply to a reply joins the root
    if root is None or root.deleted_at is not None:
        raise BadRequest.field("reply_to", "the thread was removed")
    return root


async def post_message_in(
    tx: Tx,
    principal: Principal,
    channel_id: int,
    contents: str | None,
    *,
    reply_to: int | None = None,
    client_msg_id: str | None = None,
    file_ids: list[int] | None = None,
    type: str = "MESSAGE",
    meta: dict[str, Any] | None = None,
    defer: bool = False,
) -> tuple[Message, ChannelAccess, bool]:
    """Post inside an open transaction; returns (message, access, created). A known key returns the original.

    ``defer``: queue the writes on the transaction (``Tx.defer_post``) so a group commit writes many posts
    with a few statements; the caller must not read the message back before the transaction ends."""
    client_msg_id = check_client_msg_id(client_msg_id)
    if client_msg_id is not None:
        existing = await message_store.by_client_msg_id(tx.conn, principal.user_id, client_msg_id)
        if existing is not None:
            _, found = await access_message(tx.conn, principal, existing.id)
            return existing, found, False
    memo_key = ("post", principal.user_id, channel_id)
    cached: ChannelAccess | None = tx.memo.get(memo_key) if defer else None  # a batch holds only posts
    if cached is not None:
        found = cached
    else:
        found = await access_channel(tx.conn, principal, channel_id, writing=True)
        tx.memo[memo_key] = found
    channel = found.channel
    await event_log.lock(tx.conn, channel_id)  # before the id: ids of a channel's messages sort like their seqs
    attached = await file_core.attachable_files(tx.conn, principal, file_ids or [])
    text = check_contents(tx.core, contents, allow_empty=bool(attached))
    now = tx.now
    root = await _thread_root(tx.conn, channel_id, reply_to) if reply_to is not None else None
    message = Message(
        id=tx.new_id(),
        channel_id=channel_id,
        user_id=principal.user_id,
        type=type,
        contents=text,
        created_at=now,
        updated_at=now,
        meta=meta or {},
        reply_to=None if root is None else root.id,
        client_msg_id=client_msg_id,
        file_ids=[f.id for f in attached],
        mentions=await _mentioned(tx.conn, channel, principal.user_id, text),
    )
    payload = message_payload(message, [file_core.file_payload(f) for f in attached])
    if root is not None:
        await message_store.bump_thread(tx.conn, root.id, 1, now)
        payload["thread"] = {"id": str(root.id), "reply_count": root.reply_count + 1, "last_reply_at": iso(now)}
    if defer:
        event = Event(
            type=events.MESSAGE, event="CREATED", data=payload, channel_id=channel_id, actor_id=principal.user_id,
            created_at=now, audience=message.mentions,
        )
        tx.defer_post(message, event, {"last_message_at": now})
    else:
        await message_store.insert_message(tx.conn, message)
        await search_index.index(tx.conn, message.id, text)
        await tx.emit(
            channel_id, events.MESSAGE, "CREATED", payload, principal.user_id, message.mentions,
            channel_values={"last_message_at": now},
        )
    for user_id in message.mentions:
        tx.notify(
            user_id,
            events.MENTION,
            "CREATED",
            {"message_id": str(message.id), "channel_id": str(channel_id), "by": str(principal.user_id)},
            channel_id=channel_id,
        )
    return message, found, True


async def do_post_message(
    core: Core,
    principal: Principal,
    channel_id: int,
    contents: str | None,
    *,
    reply_to: int | None = None,
    client_msg_id: str | None = None,
    file_ids: list[int] | None = None,
    type: str = "MESSAGE",
    meta: dict[str, Any] | None = None,
) -> MessageView:
    if type not in USER_TYPES:
        raise BadRequest.field("type", "must be MESSAGE or FILE")

    async def post(tx: Tx) -> MessageView:
        message, found, created = await post_message_in(
            tx, principal, channel_id, contents, reply_to=reply_to, client_msg_id=client_msg_id,
            file_ids=file_ids, type=type, meta=meta, defer=True,
        )
        if created:  # nothing can be pinned, flagged or reacted to yet: no need to ask the store
            files = await file_payloads(tx.conn, message.file_ids) if message.file_ids else {}
            return MessageView(
                message, [files[f] for f in message.file_ids if f in files], can_edit=True, can_remove=True
            )
        return (await views_of(tx.conn, principal, found, [message]))[0]

    try:
        return await core.writes.run(post)
    except IntegrityError:
        # Two concurrent sends with one key: the loser's insert hits the unique index; it answers with the winner.
        if client_msg_id is None:
            raise
        async with core.reading() as conn:
            existing = await message_store.by_client_msg_id(conn, principal.user_id, client_msg_id.strip())
            if existing is None:
                raise
            _, found = await access_message(conn, principal, existing.id)
            return (await views_of(conn, principal, found, [existing]))[0]


async def edit_message_in(tx: Tx, principal: Principal, message_id: int, contents: str | None) -> tuple[Message, ChannelAccess]:
    message, found = await access_message(tx.conn, principal, message_id, writing=True, lock=True)
    if message.user_id != principal.user_id or message.type not in USER_TYPES:
        raise Forbidden("only the sender can edit a message")
    text = check_contents(tx.core, contents, allow_empty=bool(message.file_ids))
    if text == message.contents:
        return message, found
    now = tx.now
    await message_store.add_version(tx.conn, message.id, message.contents, message.edited_at or message.created_at)
    mentions = await _mentioned(tx.conn, found.channel, principal.user_id, text)
    new_mentions = sorted(set(mentions) - set(message.mentions))
    await message_store.add_mentions(tx.conn, message.id, message.channel_id, new_mentions)
    await message_store.drop_mentions(tx.conn, message.id, set(message.mentions) - set(mentions))
    await message_store.update_message(tx.conn, message.id, {"contents": text, "edited_at": now, "updated_at": now})
    await search_index.reindex(tx.conn, message.id, text)
    message.contents, message.edited_at, message.updated_at = text, now, now
    message.mentions = mentions
    files = await file_payloads(tx.conn, message.file_ids)
    payload = message_payload(message, [files[fid] for fid in message.file_ids if fid in files])
    await tx.emit(message.channel_id, events.MESSAGE, "EDITED", payload, principal.user_id, new_mentions)
    for user_id in new_mentions:
        tx.notify(
            user_id, events.MENTION, "CREATED",
            {"message_id": str(message.id), "channel_id": str(message.channel_id), "by": str(principal.user_id)},
            channel_id=message.channel_id,
        )
    return message, found


async def do_edit_message(core: Core, principal: Principal, message_id: int, contents: str | None) -> MessageView:
    """Only the sender edits; the text being replaced is kept as a version anyone who can read may see."""
    async with core.transaction() as tx:
        message, found = await edit_message_in(tx, principal, message_id, contents)
        return (await views_of(tx.conn, principal, found, [message]))[0]


async def remove_message_in(tx: Tx, principal: Principal, message_id: int) -> Message:
    message, found = await access_message(tx.conn, principal, message_id, lock=True)
    if message.user_id != principal.user_id and not found.is_owner:
        raise Forbidden("only the sender, a channel owner or an organisation admin can remove a message")
    if found.channel.archived_at is not None:
        raise Conflict("channel is archived (read-only)", code="archived")
    now = tx.now
    await message_store.erase(tx.conn, message.id, principal.user_id, now)
    await search_index.unindex(tx.conn, message.id)
    if message.reply_to is not None:
        await message_store.bump_thread(tx.conn, message.reply_to, -1, None)
    await tx.emit(
        message.channel_id,
        events.MESSAGE,
        "REMOVED",
        {
            "id": str(message.id),
            "channel_id": str(message.channel_id),
            "reply_to": None if message.reply_to is None else str(message.reply_to),
            "removed_by": str(principal.user_id),
        },
        principal.user_id,
    )
    message.deleted_at = now
    return message


async def do_remove_message(core: Core, principal: Principal, message_id: int) -> None:
    async with core.transaction() as tx:
        await remove_message_in(tx, principal, message_id)


async def views_of(
    conn: AsyncConnection, principal: Principal, found: ChannelAccess, found_messages: list[Message]
) -> list[MessageView]:
    """Per-viewer fields for messages of one channel: pins, my flags, reactions with ``me``, what I may do."""
    ids = [m.id for m in found_messages]
    pinned = await marks.pinned_ids(conn, ids)
    flagged = await marks.flagged_ids(conn, principal.user_id, ids)
    reactions = await marks.reaction_summaries(conn, ids, principal.user_id)
    files = await file_payloads(conn, [fid for m in found_messages for fid in m.file_ids])
    views = []
    for m in found_messages:
        mine = m.user_id == principal.user_id
        views.append(
            MessageView(
                message=m,
                files=[files[fid] for fid in m.file_ids if fid in files],
                pinned=m.id in pinned,
                flagged=m.id in flagged,
                reactions=reactions.get(m.id, []),
                can_edit=mine and m.type in USER_TYPES,
                can_remove=mine or found.is_owner,
            )
        )
    return views


async def views_across(conn: AsyncConnection, principal: Principal, found: list[Message]) -> dict[int, MessageView]:
    """Per-viewer views of messages from several channels, one batch per channel; messages of channels the
    caller may no longer read are left out (never leaked)."""
    by_channel: dict[int, list[Message]] = {}
    for message in found:
        by_channel.setdefault(message.channel_id, []).append(message)
    views: dict[int, MessageView] = {}
    for channel_id, in_channel in by_channel.items():
        try:
            access = await access_channel(conn, principal, channel_id)
        except NotFound:
            continue
        for view in await views_of(conn, principal, access, in_channel):
            views[view.message.id] = view
    return views
