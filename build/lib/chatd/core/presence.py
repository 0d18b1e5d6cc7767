"""Who is online, as the HTTP faces see it: a live websocket keeps its user's ``last_seen_at`` fresh.

The hub of each node stamps the users it holds connections for at connect and then every
``SEEN_EVERY_SECONDS``; a user is online while the stamp is younger than ``ONLINE_WINDOW_MS`` (a little
more than two stamps), so every node agrees through the shared store. The websocket's own presence events
are faster (pushed on change); this is for requests that ask.
"""

from __future__ import annotations

from typing import Iterable

from ..store import users as user_store
from .context import Core, Tx

SEEN_EVERY_SECONDS = 60.0
ONLINE_WINDOW_MS = 150_000


async def note_seen(core: Core, user_ids: Iterable[int]) -> None:
    """Stamp users as seen now. Through group commit: a storm of reconnects after a restart shares commits
    with each other (and with posts) instead of paying one each."""
    ids = sorted(set(user_ids))
    if ids:

        async def stamp(tx: Tx) -> None:
            await user_store.mark_seen(tx.conn, ids, tx.now)

        await core.writes.run(stamp)


def is_online(last_seen_at: int | None, now: int) -> bool:
    return last_seen_at is not None and now - last_seen_at < ONLINE_WINDOW_MS
