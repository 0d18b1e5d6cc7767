"""Flags: private bookmarks. Anyone who can read a message may flag it; only the flagger ever learns of it."""

from __future__ import annotations

from ..domain import events
from ..domain.codes import Code
from ..domain.errors import Conflict
from ..domain.models import MessageView, Principal
from ..store import messages as message_store
from ..store import reactions as marks
from .access import access_message
from .context import Core
from .message_views import views_across, views_of
from .paging import Page, PageRequest


async def do_flag(core: Core, principal: Principal, message_id: int, flagged: bool) -> MessageView:
    async with core.transaction() as tx:
        message, found = await access_message(tx.conn, principal, message_id)
        if flagged:
            if not await marks.flag(tx.conn, principal.user_id, message_id, tx.now):
                raise Conflict("message is already flagged", code=Code.ALREADY_FLAGGED)
        elif not await marks.unflag(tx.conn, principal.user_id, message_id):
            raise Conflict("message is not flagged", code=Code.NOT_FLAGGED)
        tx.notify(
            principal.user_id,
            events.FLAG,
            "ADDED" if flagged else "REMOVED",
            {"message_id": str(message_id), "channel_id": str(message.channel_id)},
            channel_id=message.channel_id,
        )
        return (await views_of(tx.conn, principal, found, [message]))[0]


async def list_flags(core: Core, principal: Principal, page: PageRequest) -> Page[MessageView]:
    """My flagged messages that I can still read, newest flag first (the total counts only those)."""
    async with core.reading() as conn:
        ids, total = await marks.my_flags(conn, principal.user_id, principal.user.is_admin, page.offset, page.per_page)
        by_id = await message_store.get_messages(conn, ids)
        views = await views_across(conn, principal, list(by_id.values()))  # lost access since flagging: hidden
        return Page([views[mid] for mid in ids if mid in views], total, page)
