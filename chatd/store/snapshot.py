"""Where a user's connection starts, read at once: their live organisations, every channel they may read
(with its member count, kept in its row) and their member rows with the unread and mention counts.

Every websocket connect reads it (``core.live.snapshot``). Through SQLAlchemy its statements took a trip to
SQLite's thread each, plus one for the counts the channel rows already hold: about a fifth of a millisecond
of CPU apiece, most of a connect's (docs/performance.md, seventeenth pass). On SQLite the three statements now
run in one call on the driver's thread (``direct.on_sqlite_thread``); on PostgreSQL one after another, as
before, in the caller's read transaction either way. Each statement is the one the rest of the store uses
(``orgs.ORGS_OF_USER``, ``channels.READABLE``, ``read_state.ALL_STATES``): the read rule stays in one place.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.models import Channel
from .channels import READABLE, channel_of
from .direct import DirectQuery, on_sqlite_thread
from .orgs import ORGS_OF_USER
from .read_state import ALL_STATES, MemberState, state_of

_ORGS = DirectQuery(ORGS_OF_USER)
_READABLE = {is_admin: DirectQuery(statement) for is_admin, statement in READABLE.items()}
_STATES = DirectQuery(ALL_STATES)


@dataclass(frozen=True, slots=True)
class UserSnapshot:
    organisations: set[int]
    channels: list[tuple[Channel, int]]  # each readable channel, oldest first, with its member count
    members: dict[int, MemberState]  # by channel: every member row of the user (readable or not)


async def read(conn: AsyncConnection, user_id: int, is_admin: bool) -> UserSnapshot:
    """The user's snapshot, in the caller's (read) transaction."""
    params = {"user_id": user_id}
    readable = _READABLE[is_admin]
    orgs: Any
    rows: Any
    states: Any
    if conn.dialect.name == "sqlite":

        def run(db: sqlite3.Connection) -> tuple[list[Any], list[Any], list[Any]]:
            return _ORGS.rows_on(db, params), readable.rows_on(db, params), _STATES.rows_on(db, params)

        orgs, rows, states = await on_sqlite_thread(conn, run, "a user's snapshot")
    else:
        orgs = await conn.execute(_ORGS.statement, params)
        rows = await conn.execute(readable.statement, params)
        states = await conn.execute(_STATES.statement, params)
    return UserSnapshot(
        {int(organisation_id) for organisation_id, _ in orgs},
        [(channel_of(row), int(row.member_count)) for row in rows],
        {int(row[0]): state_of(*row[1:]) for row in states},
    )
