"""The standings (a user's roles in a channel, the channel's and its team's and organisation's state) this
node last read for posts, so that a group commit's batch needs no hop to SQLite's thread, or round trip to
PostgreSQL, for its access check: the call that writes the batch checks there that each standing is still
what was read (SQLite: first, in the same hop; PostgreSQL: in the batch's one statement, ``new_messages``).

Nothing here is trusted on its own. A post is allowed by a kept standing only if the access rule allows it
(a refusal is always decided on a standing read in the refusing transaction), and the batch is written only
if every standing it used is unchanged, read again in the writing transaction under SQLite's write lock
(``store/channels.py``, ``check_standings_sqlite``) or by the statement that writes the batch on PostgreSQL,
in its snapshot (``check_standings``, before the ``COMMIT``); if one changed, nothing is committed, its entry is
forgotten and the batch's posts run again one by one, reading afresh (``core/group_commit.py``). So the
cache needs no invalidation to be right; a stale entry costs one retried batch.

On SQLite the check reads nothing for a standing seen since the last write that could have changed it: one of
this server's own on its writer, other than posts (``Database.standings_epoch``), or a commit of any other
connection (SQLite's ``data_version``): ``channels.Fingerprint``. Reading each again was a statement over
five tables per poster and batch, a seventh of a send when the senders are people rather than one account.
"""

from __future__ import annotations

from dataclasses import fields
from operator import attrgetter

from ..domain.models import Channel, ChannelAccess
from ..store.channels import Fingerprint

MAX_ENTRIES = 10_000
_CHANNEL_FIELDS = attrgetter(*(f.name for f in fields(Channel)))
_ACCESS_FIELDS = attrgetter(*(f.name for f in fields(ChannelAccess) if f.name != "channel"))


def _copy(access: ChannelAccess) -> ChannelAccess:
    """A copy of ``access`` and its channel, kept apart from the one the caller goes on with:
    ``dataclasses.replace`` looks the fields up on every call, which was a twentieth of a lone post's time on
    the event loop."""
    return ChannelAccess(Channel(*_CHANNEL_FIELDS(access.channel)), *_ACCESS_FIELDS(access))


class StandingCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: dict[tuple[int, int], tuple[ChannelAccess, Fingerprint]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, channel_id: int, user_id: int) -> tuple[ChannelAccess, Fingerprint] | None:
        """The kept standing and its fingerprint, shared: the access rules only read a standing (a server
        admin's view of it is a new one, ``access._as_seen_by``), and a post only reads the one it was allowed
        by. Copied here, it cost two objects of 26 fields for each poster of each batch."""
        return self._entries.get((channel_id, user_id))

    def put(self, channel_id: int, user_id: int, access: ChannelAccess, fingerprint: Fingerprint) -> None:
        key = (channel_id, user_id)
        self._entries.pop(key, None)
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]  # the oldest
        self._entries[key] = (_copy(access), fingerprint)

    def forget(self, pairs: list[tuple[int, int]]) -> None:
        for key in pairs:
            self._entries.pop(key, None)
