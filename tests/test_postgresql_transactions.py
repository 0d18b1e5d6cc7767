"""PostgreSQL write transactions of the group commit, which chatd begins and ends itself on the connection it
keeps for them (``store/transactions.py``; the connection is in ``AUTOCOMMIT``, so
SQLAlchemy's adapter never opens one): the ``BEGIN`` goes with the first statement, whichever way that
statement runs (a channel lock in one round trip with it, another statement straight on asyncpg, or one
through SQLAlchemy), and nothing is visible to anyone else until the ``COMMIT``; a write that fails leaves
nothing behind and the next one works on the same connection; a transaction PostgreSQL refused to commit is
never reported as committed; a connection lost under a write is an outage (503) and never used again; an
outage is one while its failures go on, whatever transactions under way answer between them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import AsyncIterator, Awaitable

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from chatd.domain.errors import Unavailable
from chatd.store import events as event_log
from chatd.store.db import Database
from chatd.store.direct import on_asyncpg

from harness import make_settings, wait_until

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
    async with db.write(batch=True) as conn:  # the lock statement is prepared on this connection by now
        await event_log.lock_many(conn, [1, 2])
        assert await _in_transaction(other, pid)
        await _insert(conn, 4, "driver")
    assert await _stored(other) == [1, 2, 3, 4]


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


async def test_a_connection_lost_between_batch_writes_is_an_outage_and_replaced(database: Database_) -> None:
    """The kept connection dies while idle (the server ended it, as at a shutdown): the next write is a 503,
    not a 500, and the one after runs on a fresh connection."""
    db, other = database
    pid = await _pid(db)
    kept = db._writer
    assert kept is not None and kept.sync_connection is not None
    driver = kept.sync_connection.connection.driver_connection
    assert driver is not None
    assert await other.fetchval("SELECT pg_terminate_backend($1)", pid)
    await wait_until(driver.is_closed, what="the client to see the connection closed")
    with pytest.raises(Unavailable):
        async with db.write(batch=True) as conn:
            await event_log.lock_many(conn, [1])
    async with db.write(batch=True) as conn:
        await _insert(conn, 1, "driver")
    assert await _stored(other) == [1]
    assert await _pid(db) != pid


async def test_a_batch_write_cut_off_mid_statement_leaves_nothing_and_everything_works_after(
    database: Database_
) -> None:
    """A write cancelled while PostgreSQL still runs its statement is rolled back once the statement is
    cancelled; every later read and write works."""
    db, other = database
    with pytest.raises(Unavailable):  # the caller's time ran out: the database did not answer in time
        async with db.write(batch=True) as conn:
            await _insert(conn, 1, "driver")
            slow = on_asyncpg(conn, lambda driver: driver.execute("SELECT pg_sleep(5)"), "sleep")
            await asyncio.wait_for(slow, 0.2)
    await _all_work(db, other, [])


async def test_a_connection_left_in_doubt_by_a_batch_write_is_never_handed_to_anyone(database: Database_) -> None:
    """When even the rollback of a failed write cannot run (here: the connection is still busy with a
    statement), the connection is dropped for good: the pool would hand it to the next reader still inside
    the transaction chatd began, or still busy."""
    db, other = database
    pid = await _pid(db)
    busy: list[asyncio.Task[str]] = []
    with pytest.raises(RuntimeError):
        async with db.write(batch=True) as conn:
            await _insert(conn, 1, "driver")
            await on_asyncpg(conn, lambda driver: _start(busy, driver.execute("SELECT pg_sleep(0.3)")), "busy")
            raise RuntimeError("the action failed")
    await asyncio.gather(*busy, return_exceptions=True)
    await _all_work(db, other, [])
    assert await _pid(db) != pid, "the next write runs on a fresh connection"


async def _start(tasks: list[asyncio.Task[str]], work: Awaitable[str]) -> None:
    tasks.append(asyncio.ensure_future(work))
    await asyncio.sleep(0)


async def _all_work(db: Database, other: asyncpg.Connection, stored: list[int]) -> None:
    for _ in range(db.settings.pool_size + 1):
        async with db.read() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == len(stored)
    async with db.write() as conn:
        await conn.execute(text("INSERT INTO t VALUES (100)"))
    async with db.write(batch=True) as conn:
        await _insert(conn, 101, "driver")
    assert await _stored(other) == [*stored, 100, 101]


async def _read_on_a_terminated_backend(db: Database, other: asyncpg.Connection) -> None:
    """A read whose connection PostgreSQL ends under it, as at a shutdown: an outage (503)."""
    with pytest.raises(Unavailable):
        async with db.read() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            assert await other.fetchval("SELECT pg_terminate_backend($1)", pid)
            await conn.execute(text("SELECT 1"))


async def test_an_answer_between_failures_does_not_end_the_outage(database: Database_) -> None:
    """While a server shuts down, a connection whose backend has not ended yet still answers between the
    failures of the others. A transaction that was under way when a failure came proves nothing: the outage
    goes on (one outage, logged once), and ends with the first success of a transaction begun after the
    latest failure."""
    db, other = database
    await _read_on_a_terminated_backend(db, other)
    began = db.outage
    assert began is not None
    async with db.read() as meanwhile:  # under way when the next failure comes
        await meanwhile.execute(text("SELECT 1"))
        await _read_on_a_terminated_backend(db, other)
    assert db.outage is began, "a transaction that began before the latest failure ended the outage"
    assert began.refused == 2
    async with db.read() as after:
        await after.execute(text("SELECT 1"))
    assert db.outage is None, "a read begun after the latest failure ends the outage"
