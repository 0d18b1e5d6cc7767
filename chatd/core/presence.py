"""Who is online, as the HTTP faces see it: a live websocket keeps its user's ``last_seen_at`` fresh.

The hub of each node stamps the users it holds connections for at connect and then every
``SEEN_EVERY_SECONDS``; a user is online while the stamp is younger than ``ONLINE_WINDOW_MS`` (a little
more than two stamps), so every node agrees through the shared store. The websocket's own presence events
are faster (pushed on change); this is for requests that ask.
"""

from __future__ import annotations

from typing import Iterable

from ..store import users as user_store
from .context import Core

SEEN_EVERY_SECONDS = 60.0
ONLINE_WINDOW_MS = 150_000


async def note_seen(core: Core, user_ids: Iterable[int]) -> None:
    ids = sorted(set(user_ids))
    if ids:
        async with core.transaction() as tx:
            await user_store.mark_seen(tx.conn, ids, tx.now)


def is_online(last_seen_at: int | None, now: int) -> bool:
    return last_seen_at is not None and now - last_seen_at < ONLINE_WINDOW_MS
