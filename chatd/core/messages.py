"""Messages: post (with threads, mentions, files and idempotent retries), edit (keeping versions), remove.

Every face and the websocket call these; each change stores its event in the channel log in the same
transaction (docs/design.md §4.2) and is acknowledged only after the commit (§4.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain import events
from ..domain.errors import BadRequest, Forbidden, TooLarge
from ..domain.events import Event
from ..domain.models import USER_TYPES, Channel, ChannelAccess, Message, MessageView, Principal
from ..store import events as event_log
from ..store import messages as message_store
from ..store import search as search_index
from ..store import users as user_store
from . import files as file_core
from .access import (
    access_channel,
    access_to_post,
    access_message,
    attachable_files,
    check_may_remove,
    readers_among,
    visible_users,
)
from .clock import iso
from .context import Core, Tx
from .message_views import file_payloads, views_of

T = TypeVar("T")
Load = Callable[[AsyncConnection, MessageView], Awaitable[T]]
"""What a face shows of a message it just posted or edited, read in the same transaction."""

CLIENT_MSG_ID_MAX = 128
# What every face answers an edit that carries a send's other parts (a thread, files, mentions by id).
EDIT_TEXT_ONLY = "an edit changes only the text; the thread, files and mentions by id are given when sending"
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
        "mentions": [str(uid) for uid in message.mentions] if message.mentions else [],
    }


async def post_system_message(
    tx: Tx, channel: Channel, actor_id: int | None, type: str, contents: str, meta: dict[str, Any]
) -> Message:
    """A CREATE, TOPIC or RENAME message (or any other system notice) in ``channel``, with its event."""
    await tx.lock(channel.id)  # before the id: ids of a channel's messages sort like their seqs
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
    await write_message(tx, message, message_payload(message), audience=[])
    channel.last_message_at = now
    return message


async def write_message(tx: Tx, message: Message, payload: dict[str, Any], *, audience: list[int]) -> None:
    """A new message queued on the transaction (``queue_message``) and written at once: for a writer that
    reads it back in the same transaction. A group commit's batch only queues its posts, and writes them
    together with a few statements (then nothing may read them back before the transaction ends)."""
    queue_message(tx, message, payload, audience=audience)
    await tx.flush()


def queue_message(tx: Tx, message: Message, payload: dict[str, Any], *, audience: list[int]) -> None:
    """The one way a new message is stored, whoever writes it (a user, the system, a group commit's batch):
    queued with its ``message CREATED`` event and the channel's ``last_message_at`` (``Tx.defer_post``), for
    the transaction's next ``flush``."""
    event = Event(
        type=events.MESSAGE, event="CREATED", data=payload, channel_id=message.channel_id, actor_id=message.user_id,
        created_at=message.created_at, audience=audience,
    )
    tx.defer_post(message, event)


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


def _named_in(text: str) -> set[str]:
    if "@" not in text:  # most messages: no scan of the text by the pattern's lookbehind at every position
        return set()
    return {match.rstrip(".-_") for match in MENTION.findall(text)}


async def _mentioned(
    conn: AsyncConnection, channel: Channel, author_id: int, names: set[str], user_ids: Iterable[int] = ()
) -> list[int]:
    """Of the users named (``@username`` in the text) or given by id, those who may read the channel other
    than the author: they are stored in ``mentions`` and told; the others are not."""
    found = await user_store.ids_by_usernames(conn, sorted(names)) if names else {}
    candidates = (set(found.values()) | set(user_ids)) - {author_id}
    return sorted(await readers_among(conn, channel, candidates)) if candidates else []


async def _mention_ids(conn: AsyncConnection, principal: Principal, user_ids: list[int]) -> set[int]:
    """Users mentioned by id (the WorkDrive ``mention``): each must be someone the caller may see."""
    visible = await visible_users(conn, principal, user_ids)
    for index, user_id in enumerate(user_ids):
        if user_id not in visible:
            raise BadRequest.field(f"mention_ids.{index}", "no such user")
    return set(user_ids)


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


@dataclass(slots=True)
class Post:
    """What a sender asks to post. ``mention_ids``: users to mention besides those the text names."""

    channel_id: int
    contents: str | None
    reply_to: int | None = None
    client_msg_id: str | None = None
    file_ids: list[int] = field(default_factory=list)
    mention_ids: list[int] = field(default_factory=list)
    type: str = "MESSAGE"
    meta: dict[str, Any] = field(default_factory=dict)


async def post_message_in(
    tx: Tx, principal: Principal, post: Post, *, defer: bool = False
) -> tuple[Message, ChannelAccess, bool, dict[str, Any] | None]:
    """Post inside an open transaction; returns (message, access, created, payload: the viewer-independent
    shape its event carries, None for the original). A known key returns the original.

    ``defer``: queue the writes on the transaction (``Tx.defer_post``) so a group commit writes many posts
    with a few statements; the caller must not read the message back before the transaction ends."""
    channel_id = post.channel_id
    client_msg_id = check_client_msg_id(post.client_msg_id)
    if client_msg_id is not None:
        existing = await message_store.by_client_msg_id(tx.conn, principal.user_id, client_msg_id)
        if existing is not None:
            _, found = await access_message(tx.conn, principal, existing.id)
            return existing, found, False, None
    memo_key = ("post", principal.user_id, channel_id)
    cached: ChannelAccess | None = tx.memo.get(memo_key) if defer else None  # a batch holds only posts
    if cached is not None:
        found = cached
    elif defer:
        found = tx.memo[memo_key] = await access_to_post(tx, principal, channel_id)
    else:
        found = tx.memo[memo_key] = await access_channel(tx.conn, principal, channel_id, writing=True)
    channel = found.channel
    if not tx.holds(channel.id):  # a batch took its channels' locks first
        await tx.lock(channel.id)  # before the id: ids of a channel's messages sort like their seqs
    attached = await attachable_files(tx.conn, principal, post.file_ids) if post.file_ids else []
    text = check_contents(tx.core, post.contents, allow_empty=bool(attached))
    by_id = await _mention_ids(tx.conn, principal, post.mention_ids) if post.mention_ids else set()
    now = tx.now
    root = await _thread_root(tx.conn, channel_id, post.reply_to) if post.reply_to is not None else None
    named = _named_in(text)
    message = Message(
        id=tx.new_id(),
        channel_id=channel_id,
        user_id=principal.user_id,
        type=post.type,
        contents=text,
        created_at=now,
        updated_at=now,
        meta=post.meta,
        reply_to=None if root is None else root.id,
        client_msg_id=client_msg_id,
        file_ids=[f.id for f in attached] if attached else [],
        mentions=await _mentioned(tx.conn, channel, principal.user_id, named, by_id) if named or by_id else [],
    )
    # Comprehensions only over what a post has: in Python 3.11 each one is a function made and called, about
    # 700 instructions even over nothing, and most posts have no files and no mentions.
    payload = message_payload(message, [file_core.file_payload(f) for f in attached] if attached else None)
    if root is not None:
        await message_store.bump_thread(tx.conn, root.id, 1, now)
        payload["thread"] = {"id": str(root.id), "reply_count": root.reply_count + 1, "last_reply_at": iso(now)}
    if defer:  # the batch writes it: nothing to await here
        queue_message(tx, message, payload, audience=message.mentions)
    else:
        await write_message(tx, message, payload, audience=message.mentions)
    if message.mentions:
        _tell_mentioned(tx, message, message.mentions, principal.user_id)
    return message, found, True, payload


def _tell_mentioned(tx: Tx, message: Message, user_ids: list[int], by: int) -> None:
    for user_id in user_ids:
        tx.notify(
            user_id, events.MENTION, "CREATED",
            {"message_id": str(message.id), "channel_id": str(message.channel_id), "by": str(by)},
            channel_id=message.channel_id,
        )


async def _as_shown(_conn: AsyncConnection, shown: MessageView) -> MessageView:
    """The plain loader: the message as the caller sees it, and nothing more."""
    return shown


def do_post_message(
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
) -> Awaitable[MessageView]:
    """Post plainly; not a coroutine itself, so a sender's wait has one frame fewer to pass through."""
    post = Post(channel_id, contents, reply_to, client_msg_id, file_ids or [], [], type, meta or {})
    return post_loaded(core, principal, post, _as_shown)


async def post_loaded(core: Core, principal: Principal, post: Post, load: Load[T]) -> T:
    """Post (through group commit), then ``load`` what the caller shows of it, in the same transaction."""
    if post.type not in USER_TYPES:
        raise BadRequest.field("type", "must be MESSAGE or FILE")

    async def run(tx: Tx) -> T:
        message, found, created, payload = await post_message_in(tx, principal, post, defer=True)
        if created:  # nothing can be pinned, flagged or reacted to yet: no need to ask the store
            files = await file_payloads(tx.conn, message.file_ids) if message.file_ids else {}
            plain = not message.file_ids and message.reply_to is None  # its event's shape is exactly the answer's
            shown = MessageView(
                message, [files[f] for f in message.file_ids if f in files] if files else [],
                can_edit=True, can_remove=True, shared=payload if plain else None,
            )
        else:
            shown = (await views_of(tx.conn, principal, found, [message]))[0]
        return await load(tx.conn, shown)

    try:
        return await core.writes.run(run, channels=[post.channel_id], keeps_standings=True)
    except IntegrityError:
        # Two concurrent sends with one key: the loser's insert hits the unique index; it answers with the winner.
        if post.client_msg_id is None:
            raise
        async with core.reading() as conn:
            existing = await message_store.by_client_msg_id(conn, principal.user_id, post.client_msg_id.strip())
            if existing is None:
                raise
            _, found = await access_message(conn, principal, existing.id)
            return await load(conn, (await views_of(conn, principal, found, [existing]))[0])


async def edit_message_in(
    tx: Tx, principal: Principal, message_id: int, contents: str | None, *, channel_id: int | None = None
) -> tuple[Message, ChannelAccess]:
    """The sender changes the text. Mentions follow it: the users it newly names are told, those whose
    ``@name`` it drops are no longer mentioned, and mentions made by id stay. ``channel_id``: the message
    must be of that channel (404 otherwise)."""
    message, found = await access_message(
        tx.conn, principal, message_id, writing=True, lock=True, channel_id=channel_id
    )
    if message.user_id != principal.user_id or message.type not in USER_TYPES:
        raise Forbidden("only the sender can edit a message")
    text = check_contents(tx.core, contents, allow_empty=bool(message.file_ids))
    if text == message.contents:
        return message, found
    now = tx.now
    await message_store.add_version(tx.conn, message.id, message.contents, message.edited_at or message.created_at)
    by_text = await _mentioned(tx.conn, found.channel, principal.user_id, _named_in(message.contents))
    by_id = set(message.mentions) - set(by_text)
    mentions = await _mentioned(tx.conn, found.channel, principal.user_id, _named_in(text), by_id)
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
    _tell_mentioned(tx, message, new_mentions, principal.user_id)
    return message, found


async def do_edit_message(
    core: Core, principal: Principal, message_id: int, contents: str | None, *, channel_id: int | None = None
) -> MessageView:
    """Only the sender edits; the text being replaced is kept as a version anyone who can read may see."""
    return await edit_loaded(core, principal, message_id, contents, _as_shown, channel_id=channel_id)


async def edit_loaded(
    core: Core,
    principal: Principal,
    message_id: int,
    contents: str | None,
    load: Load[T],
    *,
    channel_id: int | None = None,
) -> T:
    """Edit, then ``load`` what the caller shows of it, in the same transaction."""
    async with core.transaction() as tx:
        message, found = await edit_message_in(tx, principal, message_id, contents, channel_id=channel_id)
        return await load(tx.conn, (await views_of(tx.conn, principal, found, [message]))[0])


async def remove_message_in(tx: Tx, principal: Principal, message_id: int, *, channel_id: int | None = None) -> Message:
    message, found = await access_message(tx.conn, principal, message_id, lock=True, channel_id=channel_id)
    check_may_remove(principal, message, found)
    now = tx.now
    await message_store.erase(tx.conn, message.id, principal.user_id, now)
    await search_index.unindex(tx.conn, message.id)
    await event_log.redact(tx.conn, message.id)  # a replay from any seq finds a tombstone (docs/design.md §3)
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


async def do_remove_message(
    core: Core, principal: Principal, message_id: int, *, channel_id: int | None = None
) -> None:
    """The sender or a channel manager removes it; ``channel_id``: it must be of that channel (404 otherwise)."""
    async with core.transaction() as tx:
        await remove_message_in(tx, principal, message_id, channel_id=channel_id)
