"""Channel membership changes that other aggregates trigger (an organisation or team losing a member).

Each removal is a channel change: it emits ``member``/``LEFT`` with the channel's next seq, so connections
stop receiving that channel at once and a resuming client learns it was removed.
"""

from __future__ import annotations

from typing import Iterable

from ..store import channel_members as member_store
from . import events
from .context import Tx


async def leave_org_channels(tx: Tx, org_id: int, user_ids: Iterable[int], team_id: int | None = None) -> None:
    """Remove users from every channel of an organisation (or of one of its teams) they belong to."""
    for channel_id, user_id in await member_store.memberships_in_org(tx.conn, org_id, user_ids, team_id):
        await member_store.remove(tx.conn, channel_id, [user_id])
        await tx.emit(
            channel_id,
            events.MEMBER,
            "LEFT",
            {"user_id": str(user_id), "reason": "organisation"},
            audience=[user_id],
        )
