"""Attaching a file to a channel: store the bytes, then post a ``FILE`` message carrying it.

Write access and the caption are checked before the bytes are stored, so a refused upload leaves nothing
behind.
"""

from __future__ import annotations

from ..domain.models import MessageView, Principal
from .access import access_channel
from .context import Core
from .files import do_store_file
from .messages import check_contents, do_post_message


async def do_attach(
    core: Core,
    principal: Principal,
    channel_id: int,
    name: str,
    data: bytes,
    *,
    contents: str | None = None,
    reply_to: int | None = None,
    client_msg_id: str | None = None,
) -> MessageView:
    async with core.reading() as conn:
        await access_channel(conn, principal, channel_id, writing=True)
    check_contents(core, contents, allow_empty=True)
    stored = await do_store_file(core, principal, name, data)
    return await do_post_message(
        core, principal, channel_id, contents, reply_to=reply_to, client_msg_id=client_msg_id,
        file_ids=[stored.id], type="FILE",
    )
