"""Work done on the thread that owns a SQLite connection (aiosqlite's), in one hop.

Through SQLAlchemy's aiosqlite adapter a statement is several hops between the event loop and that thread
(cursor, execute, fetch, close), each a pair of thread wake-ups and its own Python on both sides: a single
post alone cost about 1.5 ms of CPU, most of it in those hops (docs/performance.md, "Sends: the request
path"). The hottest statements therefore run here, with the standard ``sqlite3`` module, in the caller's
transaction (the connection is the one it holds): the writes of a group commit's batch
(``new_messages``), the ``BEGIN`` of every transaction (``db``) and the access check of every write and
most reads (``channels.standing``, a ``OneHopQuery``).

This uses aiosqlite's private ``_execute`` and ``_conn``, there since 0.11 (``scripts/check-floors`` runs
the tests that cover it at the declared floor).
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from typing import Any, Callable, Mapping, TypeVar

from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql import Select

T = TypeVar("T")
_QMARK = SQLiteDialect_pysqlite(paramstyle="qmark")


def as_sqlalchemy_error(statement: str, exc: sqlite3.Error) -> StatementError:
    """What SQLAlchemy would have raised: a constraint stays an ``IntegrityError``, a locked or unwritable
    file an ``OperationalError`` (an outage, ``db.is_outage``)."""
    return DBAPIError.instance(statement, None, exc, sqlite3.Error)


async def on_sqlite_thread(conn: AsyncConnection, work: Callable[[sqlite3.Connection], T], statement: str) -> T:
    """``work(db)`` with the ``sqlite3`` connection under ``conn``, on its own thread; ``statement`` names the
    work in an error that ``work`` did not already translate."""
    driver = (await _raw(conn)).driver_connection  # aiosqlite's Connection
    assert driver is not None
    try:
        result: T = await driver._execute(work, driver._conn)
    except sqlite3.Error as exc:
        raise as_sqlalchemy_error(statement, exc) from exc
    return result


async def _raw(conn: AsyncConnection) -> PoolProxiedConnection:
    """The pool's connection under ``conn``: read straight from a live connection (``get_raw_connection``
    switches greenlets to read the same attribute, tens of microseconds per statement), else SQLAlchemy's
    way, which revalidates one that was invalidated."""
    sync = conn.sync_connection
    if sync is not None and not sync.closed and not sync.invalidated:
        return sync.connection
    return await conn.get_raw_connection()


class OneHopQuery:
    """A read statement compiled once for ``sqlite3``; on SQLite its rows come in one hop, elsewhere through
    SQLAlchemy as usual. Rows have attribute access, like SQLAlchemy's. Only for statements whose parameters
    and columns need no type processing (integers, text, NULL; a boolean comes back as 0 or 1)."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        compiled = statement.compile(dialect=_QMARK)
        self.sql = compiled.string
        self.names = tuple(compiled.positiontup or ())
        self._row: Any = None  # the row type, from the first answer's column names

    async def first(self, conn: AsyncConnection, params: Mapping[str, Any]) -> Any | None:
        if conn.dialect.name != "sqlite":
            return (await conn.execute(self.statement, dict(params))).first()
        args = tuple(params[name] for name in self.names)

        def run(db: sqlite3.Connection) -> tuple[list[str], Any]:
            cursor = db.execute(self.sql, args)
            try:
                return [column[0] for column in cursor.description], cursor.fetchone()
            finally:
                cursor.close()

        columns, row = await on_sqlite_thread(conn, run, self.sql)
        if row is None:
            return None
        if self._row is None:
            self._row = namedtuple("Row", columns)  # type: ignore[misc]
        return self._row(*row)
