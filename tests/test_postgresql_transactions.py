"""PostgreSQL write transactions of the group commit, which chatd begins and ends itself on the connection it
keeps for them (``store/transactions.py``; the connection is in ``AUTOCOMMIT``, so
SQLAlchemy's adapter never opens one): the ``BEGIN`` goes with the first statement, whichever way that
statement runs (a channel lock in one round trip with it, another statement straight on asyncpg, or one
through SQLAlchemy), and nothing is visible to anyone else until the ``COMMIT``; a write that fails leaves
nothing behind and the next one works on the same connection; a transaction PostgreSQL refused to commit is
never reported as committed; a connection lost under a write is an outage (503) and never used again."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from chatd.domain.errors import Unavailable
from chatd.store import events as event_log
from chatd.store.db import Database
from chatd.store.direct import on_asyncpg

from harness import make_settings

Database_ = tuple[Database, asyncpg.Connection]


@pytest.fixture
async def database(postgres_url: str, tmp_path: Path) -> AsyncIterator[Database_]:
    """The database chatd writes to, and another connection to it (another client's view)."""
    db = Database(make_settings(postgres_url, tmp_path).database)
    async with db.write() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
    other = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        yield db, other
    finally:
        await other.close()
        await db.dispose()


async def _stored(other: asyncpg.Connection) -> list[int]:
    return [row["n"] for row in await other.fetch("SELECT n FROM t ORDER BY n")]


async def _in_transaction(other: asyncpg.Connection, pid: int) -> bool:
    """Whether the backend ``pid`` has a transaction open, as PostgreSQL itself reports it."""
    state = await other.fetchval("SELECT state FROM pg_stat_activity WHERE pid = $1", pid)
    return str(state).startswith("idle in transaction")


async def _pid(db: Database) -> int:
    async with db.write(batch=True) as conn:
        found = await on_asyncpg(conn, lambda driver: driver.fetchval("SELECT pg_backend_pid()"), "pid")
    assert isinstance(found, int)
    return found


async def _insert(conn: object, n: int, way: str) -> None:
    if way == "sqlalchemy":
        await conn.execute(text(f"INSERT INTO t VALUES ({n})"))  # type: ignore[attr-defined]
    else:
        await on_asyncpg(conn, lambda driver: driver.execute(f"INSERT INTO t VALUES ({n})"), "insert")  # type: ignore[arg-type]


@pytest.mark.parametrize("first", ["lock", "driver", "sqlalchemy"])
async def test_a_batch_write_begins_with_its_first_statement_and_is_visible_when_it_ends(
    database: Database_, first: str
) -> None:
    db, other = database
    pid = await _pid(db)
    async with db.write(batch=True) as conn:
        assert not await _in_transaction(other, pid), "nothing has run yet: nothing has begun"
        if first == "lock":
            await event_log.lock_many(conn, [1])
            locked = await other.fetchval(
                "SELECT count(*) FROM pg_locks WHERE pid = $1 AND relation = 'channels'::regclass", pid
            )
            assert locked, "the channels' lock is taken, in the transaction begun with it"
            await _insert(conn, 1, "driver")
        else:
            await _insert(conn, 1, first)
        assert await _in_transaction(other, pid), "the transaction is open from the first statement"
        await _insert(conn, 2, "sqlalchemy")
        await _insert(conn, 3, "driver")
        assert await _stored(other) == [], "nothing is visible before the commit"
    assert await _stored(other) == [1, 2, 3]
    assert not await _in_transaction(other, pid), "the transaction ended"
    assert await _pid(db) == pid, "the same connection serves the next batch"


@pytest.mark.parametrize("way", ["driver", "sqlalchemy"])
async def test_a_batch_write_that_fails_leaves_nothing_and_the_next_one_works(database: Database_, way: str) -> None:
    db, other = database
    pid = await _pid(db)
    with pytest.raises(RuntimeError):
        async with db.write(batch=True) as conn:
            await event_log.lock_many(conn, [1])
            await _insert(conn, 1, way)
            raise RuntimeError("the action failed")
    assert await _stored(other) == [] and not await _in_transaction(other, pid)
    with pytest.raises(DBAPIError):  # a statement PostgreSQL refuses
        async with db.write(batch=True) as conn:
            await _insert(conn, 2, way)
            await _insert(conn, 2, way)
    assert await _stored(other) == [] and not await _in_transaction(other, pid)
    async with db.write(batch=True) as conn:
        await _insert(conn, 3, way)
    async with db.write(batch=True):  # empty: begins nothing, commits nothing
        pass
    assert await _stored(other) == [3]
    assert await _pid(db) == pid, "a refused write leaves its connection fit for the next"


async def test_a_transaction_postgresql_would_not_commit_is_not_reported_committed(database: Database_) -> None:
    """A statement that failed inside the transaction and whose error the caller swallowed leaves the
    transaction aborted: PostgreSQL answers its COMMIT with ROLLBACK, and the write must fail, not succeed."""
    db, other = database
    with pytest.raises(DBAPIError):
        async with db.write(batch=True) as conn:
            await _insert(conn, 1, "driver")
            with pytest.raises(DBAPIError):
                await _insert(conn, 1, "driver")
    assert await _stored(other) == []
    async with db.write(batch=True) as conn:
        await _insert(conn, 2, "driver")
    assert await _stored(other) == [2]


async def test_a_connection_lost_under_a_batch_write_is_an_outage_and_never_used_again(database: Database_) -> None:
    db, other = database
    pid = await _pid(db)
    with pytest.raises(Unavailable):
        async with db.write(batch=True) as conn:
            await event_log.lock_many(conn, [1])
            await _insert(conn, 1, "driver")
            assert await other.fetchval("SELECT pg_terminate_backend($1)", pid)
            await _insert(conn, 2, "driver")
    assert await _stored(other) == []
    async with db.write(batch=True) as conn:
        await _insert(conn, 3, "driver")
    assert await _stored(other) == [3]
    assert await _pid(db) != pid, "the next write runs on a fresh connection"
    assert db.outage is None, "the write that succeeded after it ended the outage"
