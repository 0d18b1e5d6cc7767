"""Pins: public, per channel; members of a writable channel pin and unpin, everyone who reads sees them."""

from __future__ import annotations

from ..domain import events
from ..domain.codes import Code
from ..domain.errors import Conflict
from ..domain.models import MessageView, Principal
from ..store import messages as message_store
from ..store import reactions as marks
from .access import access_channel, access_message
from .context import Core
from .message_views import views_of


async def do_pin(core: Core, principal: Principal, message_id: int, pinned: bool) -> MessageView:
    async with core.transaction() as tx:
        message, found = await access_message(tx.conn, principal, message_id, writing=True, lock=True)
        if pinned:
            if not await marks.pin(tx.conn, message_id, message.channel_id, principal.user_id, tx.now):
                raise Conflict("message is already pinned", code=Code.ALREADY_PINNED)
        elif not await marks.unpin(tx.conn, message_id):
            raise Conflict("message is not pinned", code=Code.NOT_PINNED)
        await tx.emit(
            message.channel_id,
            events.PIN,
            "ADDED" if pinned else "REMOVED",
            {"message_id": str(message_id), "by": str(principal.user_id)},
            principal.user_id,
        )
        return (await views_of(tx.conn, principal, found, [message]))[0]


async def list_pins(core: Core, principal: Principal, channel_id: int) -> list[tuple[MessageView, int | None, int]]:
    """(message, pinned_by, pinned_at), most recently pinned first."""
    async with core.reading() as conn:
        found = await access_channel(conn, principal, channel_id)
        pins = await marks.channel_pins(conn, channel_id)
        by_id = await message_store.get_messages(conn, [p[0] for p in pins])
        views = {v.message.id: v for v in await views_of(conn, principal, found, list(by_id.values()))}
        return [(views[mid], by, at) for mid, by, at in pins if mid in views]
