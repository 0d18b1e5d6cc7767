"""Reactions: one per user, message and emoji; members of a writable channel react, everyone who reads sees."""

from __future__ import annotations

from ..domain import events
from ..domain.codes import Code
from ..domain.errors import BadRequest, Conflict
from ..domain.models import Principal
from ..store import reactions as marks
from .access import access_message
from .context import Core

EMOJI_MAX = 64


def check_emoji(emoji: str) -> str:
    emoji = emoji.strip()
    if not emoji or len(emoji) > EMOJI_MAX or any(ch.isspace() or ch == "\x00" for ch in emoji):
        raise BadRequest.field("emoji", f"1 to {EMOJI_MAX} characters without spaces (a character or a :name:)")
    return emoji


async def do_react(core: Core, principal: Principal, message_id: int, emoji: str, add: bool) -> list[dict[str, object]]:
    """Add or remove the caller's reaction; returns the message's reactions as the caller sees them."""
    emoji = check_emoji(emoji)
    async with core.transaction() as tx:
        message, _ = await access_message(tx.conn, principal, message_id, writing=True, lock=True)
        if add:
            changed = await marks.add_reaction(tx.conn, message_id, principal.user_id, emoji, tx.now)
            if not changed:
                raise Conflict("you already reacted with that", code=Code.ALREADY_REACTED)
        elif not await marks.remove_reaction(tx.conn, message_id, principal.user_id, emoji):
            raise Conflict("you have not reacted with that", code=Code.NOT_REACTED)
        summary = (await marks.reaction_summaries(tx.conn, [message_id], principal.user_id)).get(message_id, [])
        count = next((r["count"] for r in summary if r["emoji"] == emoji), 0)
        await tx.emit(
            message.channel_id,
            events.REACTION,
            "ADDED" if add else "REMOVED",
            {"message_id": str(message_id), "emoji": emoji, "user_id": str(principal.user_id), "count": count},
            principal.user_id,
        )
        return summary


async def list_reactions(core: Core, principal: Principal, message_id: int) -> list[dict[str, object]]:
    """Who reacted with what: ``[{emoji, count, me, user_ids}]``."""
    async with core.reading() as conn:
        await access_message(conn, principal, message_id)
        users: dict[str, list[int]] = {}
        for emoji, user_id in await marks.reaction_users(conn, message_id):
            users.setdefault(emoji, []).append(user_id)
        return [
            {"emoji": e, "count": len(ids), "me": principal.user_id in ids, "user_ids": [str(u) for u in ids]}
            for e, ids in users.items()
        ]
