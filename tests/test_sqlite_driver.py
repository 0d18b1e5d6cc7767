"""Statements through SQLAlchemy on SQLite run whole in one call on aiosqlite's thread
(``store/sqlite_driver.py``), and answer exactly as SQLAlchemy's own adapter did: the rows, the counts of
changed rows, the errors, and streamed results."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from chatd.store.db import Database

from harness import make_settings


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'chatd.db'}", tmp_path).database)
    async with database.write() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY, word TEXT NOT NULL)"))
        await conn.execute(text("INSERT INTO t (n, word) VALUES (1, 'one'), (2, 'two'), (3, 'three')"))
    try:
        yield database
    finally:
        await database.dispose()


async def _calls_per_statement(conn: AsyncConnection, statement: str) -> int:
    """How many calls ``statement`` makes to aiosqlite's thread, counted on the connection's own driver."""
    driver: Any = (await conn.get_raw_connection()).driver_connection
    calls = 0
    original = driver._execute

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return await original(fn, *args, **kwargs)

    driver._execute = counted
    try:
        await conn.execute(text(statement))
    finally:
        del driver._execute  # the class's method again
    return calls


async def test_a_select_and_an_update_each_take_one_call_to_the_sqlite_thread(db: Database) -> None:
    async with db.read() as conn:
        await conn.execute(text("SELECT 1"))  # the read's BEGIN goes first
        assert await _calls_per_statement(conn, "SELECT n, word FROM t WHERE n = 2") == 1
    async with db.write() as conn:
        await conn.execute(text("SELECT 1"))
        assert await _calls_per_statement(conn, "UPDATE t SET word = upper(word)") == 1


async def test_rows_counts_and_streams_are_what_sqlalchemy_returned_before(db: Database) -> None:
    async with db.read() as conn:
        result = await conn.execute(text("SELECT n, word FROM t ORDER BY n"))
        assert result.keys() == ["n", "word"]
        assert [tuple(row) for row in result] == [(1, "one"), (2, "two"), (3, "three")]
        assert (await conn.execute(text("SELECT word FROM t WHERE n = 9"))).first() is None
        streamed = await conn.stream(text("SELECT n FROM t ORDER BY n DESC"))  # a server-side cursor
        assert [row[0] async for row in streamed] == [3, 2, 1]
    async with db.write() as conn:
        changed = await conn.execute(text("UPDATE t SET word = word || '!' WHERE n >= 2"))
        assert changed.rowcount == 2
        returned = await conn.execute(text("INSERT INTO t (n, word) VALUES (4, 'four'), (5, 'five') RETURNING n"))
        assert sorted(row[0] for row in returned) == [4, 5]
        many = await conn.execute(text("INSERT INTO t (n, word) VALUES (:n, :w)"), [{"n": 6, "w": "six"}, {"n": 7, "w": "seven"}])
        assert many.rowcount == 2
    async with db.read() as conn:
        words = (await conn.execute(text("SELECT word FROM t ORDER BY n"))).scalars().all()
        assert words == ["one", "two!", "three!", "four", "five", "six", "seven"]


async def test_errors_are_sqlalchemy_errors_and_the_connection_goes_on(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.write() as conn:
            await conn.execute(text("INSERT INTO t (n, word) VALUES (1, 'again')"))
    with pytest.raises(IntegrityError, match="NOT NULL"):
        async with db.write() as conn:
            await conn.execute(text("UPDATE t SET word = NULL WHERE n = 2"))
    async with db.read() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 3
