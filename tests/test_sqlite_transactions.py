"""SQLite write transactions, which chatd begins and ends itself on the connection it keeps for writes
(``store/db.py``): the ``BEGIN IMMEDIATE`` goes with the first statement, whichever way that statement
runs (straight on the driver, ``store/direct.py``, or through SQLAlchemy), and holds SQLite's write lock
from then until the commit, so another process writing the same file waits; what was written is on disk
when the transaction ends; one that fails leaves nothing behind, and the next one works."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import AsyncIterator

import pytest
from sqlalchemy import event, text

from chatd.store.db import Database
from chatd.store.direct import on_sqlite_thread

from harness import make_settings


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[tuple[Database, Path]]:
    path = tmp_path / "chatd.db"
    db = Database(make_settings(f"sqlite+aiosqlite:///{path}", tmp_path).database)
    async with db.write() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))
    try:
        yield db, path
    finally:
        await db.dispose()


def _others_may_write(path: Path) -> bool:
    """Whether another process's writer would get the write lock now (no waiting)."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()


def _stored(path: Path) -> list[int]:
    other = sqlite3.connect(path)
    try:
        return [row[0] for row in other.execute("SELECT n FROM t ORDER BY n")]
    finally:
        other.close()


@pytest.mark.parametrize("first", ["sqlalchemy", "driver"])
async def test_a_write_holds_the_lock_from_its_first_statement_and_is_stored_when_it_ends(
    database: tuple[Database, Path], first: str
) -> None:
    db, path = database
    async with db.write() as conn:
        assert _others_may_write(path), "nothing has run yet: no lock is held"
        if first == "sqlalchemy":
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        else:
            await on_sqlite_thread(conn, lambda raw: raw.execute("INSERT INTO t VALUES (1)").close(), "insert")
        assert not _others_may_write(path), "the write lock is held from the first statement"
        await conn.execute(text("INSERT INTO t VALUES (2)"))
        assert _stored(path) == [], "nothing is visible before the commit"
    assert _stored(path) == [1, 2]
    assert _others_may_write(path), "the lock is released at the end"


async def test_a_write_that_fails_leaves_nothing_and_the_next_one_works(database: tuple[Database, Path]) -> None:
    db, path = database
    with pytest.raises(RuntimeError):
        async with db.write() as conn:
            await on_sqlite_thread(conn, lambda raw: raw.execute("INSERT INTO t VALUES (1)").close(), "insert")
            await conn.execute(text("INSERT INTO t VALUES (2)"))
            raise RuntimeError("the action failed")
    assert _stored(path) == [] and _others_may_write(path)
    async with db.write() as conn:
        await conn.execute(text("INSERT INTO t VALUES (3)"))
    async with db.write() as conn:  # empty: begins nothing, commits nothing
        pass
    assert _stored(path) == [3] and _others_may_write(path)


async def test_a_write_that_commits_half_way_goes_on_in_a_transaction(database: tuple[Database, Path]) -> None:
    """No statement of a write runs in autocommit, even after an explicit commit inside it: what follows
    holds the write lock again and is stored at the end."""
    db, path = database
    async with db.write() as conn:
        await conn.execute(text("INSERT INTO t VALUES (1)"))
        await conn.commit()
        assert _stored(path) == [1] and _others_may_write(path)
        await conn.execute(text("INSERT INTO t VALUES (2)"))
        assert not _others_may_write(path), "the rest of the write is a transaction again"
        assert _stored(path) == [1]
    assert _stored(path) == [1, 2]


async def test_bursts_of_readers_reuse_the_connections_the_first_burst_opened(
    database: tuple[Database, Path],
) -> None:
    """More readers at once than ``pool_size``: the connections opened for the first burst stay open for the
    next, rather than being closed on return and opened again (a thread, the file and its pragmas each)."""
    db, _ = database
    opened: list[object] = []
    event.listen(db.engine.sync_engine, "connect", lambda connection, _record: opened.append(connection))
    width = db.settings.pool_size + 6

    async def one(started: asyncio.Event, everyone_in: asyncio.Event) -> int:
        async with db.read() as conn:
            started.set()
            await everyone_in.wait()  # all of the burst hold a connection at once
            return int((await conn.execute(text("SELECT count(*) FROM t"))).scalar_one())

    for burst in range(2):
        everyone_in = asyncio.Event()
        starts = [asyncio.Event() for _ in range(width)]
        readers = [asyncio.ensure_future(one(started, everyone_in)) for started in starts]
        await asyncio.wait_for(asyncio.gather(*(started.wait() for started in starts)), 10)
        everyone_in.set()
        assert await asyncio.gather(*readers) == [0] * width
        if burst == 0:
            first_burst = len(opened)
            assert first_burst >= width  # the burst really ran side by side
    assert len(opened) == first_burst, "the second burst opened connections again"
