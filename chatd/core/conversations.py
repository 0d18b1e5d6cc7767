"""A conversation's messages together with the people they name: what the WorkDrive face shows.

A WorkDrive message shows its sender and the users it mentions as profiles. Each action here is the
messages core's (posting with mentions by id, editing or removing a message of a given conversation, a
page of history with the read-marker rule), with those profiles read in the same transaction, however many
people a page names (``profiles.profiles_of``, as the caller sees them).
"""

from __future__ import annotations

from typing import Iterable

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.models import MessageView, Principal
from . import history, messages
from .context import Core
from .profiles import Profile, profiles_of
from .messages import Post
from .paging import Page, PageRequest

People = dict[int, Profile]


def named_people(views: Iterable[MessageView]) -> list[int | None]:
    """Everyone messages name: their senders and the users they mention."""
    return [u for v in views for u in (v.message.user_id, *v.message.mentions)]


def _with_people(core: Core, principal: Principal) -> messages.Load[tuple[MessageView, People]]:
    async def load(conn: AsyncConnection, shown: MessageView) -> tuple[MessageView, People]:
        return shown, await profiles_of(conn, core, principal, named_people([shown]))

    return load


async def do_post(core: Core, principal: Principal, post: Post) -> tuple[MessageView, People]:
    """Post (``post.mention_ids`` mention users besides those the text names) and show it: one transaction."""
    return await messages.post_loaded(core, principal, post, _with_people(core, principal))


async def do_edit(
    core: Core, principal: Principal, conversation_id: int, message_id: int, contents: str | None
) -> tuple[MessageView, People]:
    """The sender edits a message of this conversation (another conversation's is 404)."""
    load = _with_people(core, principal)
    return await messages.edit_loaded(core, principal, message_id, contents, load, channel_id=conversation_id)


async def read_page(
    core: Core, principal: Principal, conversation_id: int, page: PageRequest
) -> tuple[Page[MessageView], People]:
    """A page of the conversation, newest first, with the people it names; the first page marks it read."""

    async def load(conn: AsyncConnection, views: list[MessageView]) -> People:
        return await profiles_of(conn, core, principal, named_people(views))

    return await history.read_page(core, principal, conversation_id, page, load)
