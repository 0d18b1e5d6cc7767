"""Write transactions that chatd begins and ends itself, on the connection the database handle keeps for
writes that run one at a time (``db.Database.write``): every SQLite write, PostgreSQL's group-commit batches.

Through SQLAlchemy's transaction objects each ``BEGIN`` and ``COMMIT`` cost a greenlet switch or two, and
on SQLite a hop to aiosqlite's thread each, on PostgreSQL a round trip each (docs/performance.md, "Sends:
per transaction"). Here the ``BEGIN`` waits in the connection's ``info`` (``direct.PENDING_BEGIN``) and
goes with the transaction's first statement; the end is one call. Also SQLite's connection settings and
its ``begin`` hook, which send the ``BEGIN`` of a transaction SQLAlchemy begins.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Callable

from sqlalchemy import event
from sqlalchemy.exc import InternalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .direct import PENDING_BEGIN, end_on_asyncpg, on_sqlite_thread, sqlite_in_transaction

WRITE = "chatd_write"
OWN_BEGIN = "chatd_own_begin"  # SQLite: ``read``/``write`` send their BEGIN themselves (``begin_read``)


def finished_cleanly(conn: AsyncConnection) -> bool:
    """Whether a kept connection whose transaction failed is fit for the next: live, and rolled back both in
    SQLAlchemy's eyes and the driver's (a domain refusal or a constraint leaves it so; a lost file or server,
    a failed rollback or a cancelled commit may not)."""
    sync = conn.sync_connection
    if sync is None or sync.closed or sync.invalidated or sync.get_transaction() is not None:
        return False  # SQLAlchemy still holds a transaction, even an inactive one its rollback could not end
    driver = sync.connection.driver_connection
    if driver is None:
        return False
    in_transaction = driver.in_transaction if conn.dialect.name == "sqlite" else driver.is_in_transaction()
    return not in_transaction


def terminate(conn: AsyncConnection) -> None:
    """Close the PostgreSQL connection under ``conn`` at once, whatever it is doing (a connection in doubt:
    ``Database._drop_kept``); SQLAlchemy's own invalidation first tries a graceful close, which waits for a
    statement still running."""
    sync = conn.sync_connection
    if sync is None or sync.closed or sync.invalidated:
        return
    driver = sync.connection.driver_connection
    if driver is not None:
        driver.terminate()


def tune_sqlite(engine: AsyncEngine, synchronous: str) -> None:
    """WAL, foreign keys, fsync at commit (FULL by default: acknowledged means durable), explicit BEGINs."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the "begin" hook below issue BEGIN itself
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA foreign_keys=ON",
            f"PRAGMA synchronous={synchronous}",
            "PRAGMA busy_timeout=30000",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine.pool, "reset")
    def _on_reset(dbapi_connection: Any, _record: Any, state: Any) -> None:
        # SQLAlchemy's own reset rolls back every connection handed back to the pool, though ``read`` and
        # ``write`` always end their transaction: on SQLite one more hop to aiosqlite's thread per
        # transaction. Here only a transaction SQLite still has open (a failed COMMIT can leave one) is.
        if state.asyncio_safe and dbapi_connection.driver_connection.in_transaction:
            dbapi_connection.rollback()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(OWN_BEGIN, False):
            pending = conn.info.pop(PENDING_BEGIN, None)  # a write whose first statement is SQLAlchemy's
            if pending is None and options.get(WRITE, False):
                if not conn.connection.driver_connection.in_transaction:  # committed half-way and goes on
                    pending = "BEGIN IMMEDIATE"  # a write's statements never run in autocommit
            if pending is not None:
                conn.exec_driver_sql(pending)
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITE, False) else "BEGIN")


class _OwnTransaction:
    """What the kept writer's transactions on both databases share: the ``BEGIN`` is left pending as the
    block begins (``direct.PENDING_BEGIN``: the first statement sends it), and at the end the transaction is
    rolled back or committed (``_roll_back``, ``_commit``), the commit only if a statement began it.

    A class rather than a generator: every write transaction enters one, and an async generator costs a
    weak reference, the loop's hooks and two more frames each time (docs/performance.md)."""

    __slots__ = ("_conn", "_info")
    BEGIN = ""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def __aenter__(self) -> None:
        self._info = self._conn.info  # the pool connection's: read now, while the connection is surely valid
        self._info[PENDING_BEGIN] = self.BEGIN

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        begun = self._info.pop(PENDING_BEGIN, None) is None
        if kind is not None:
            try:
                await self._roll_back(begun)
            except Exception:
                pass  # the failure that got here is the one to report; ``write`` drops a connection left in doubt
            return  # and it goes on
        if begun:  # else no statement ran: nothing began
            await self._commit()

    async def _roll_back(self, begun: bool) -> None:
        raise NotImplementedError

    async def _commit(self) -> None:
        raise NotImplementedError


class SqliteTransaction(_OwnTransaction):
    """A write transaction on the kept SQLite connection, begun and ended by chatd itself rather than through
    SQLAlchemy's transaction object (a greenlet switch each way). ``BEGIN IMMEDIATE`` is sent with the first
    statement (``direct.PENDING_BEGIN``: in its hop when it runs on the driver, else by the ``begin`` hook),
    and a batch of posts sends its ``COMMIT`` with its rows (``new_messages.write(last=True)``): a lone post
    then takes two hops to SQLite's thread, not four. Whatever is still open at the end is committed here:
    by SQLAlchemy if a statement went through it (it began its transaction then), else in one hop."""

    __slots__ = ()
    BEGIN = "BEGIN IMMEDIATE"

    async def _roll_back(self, begun: bool) -> None:
        conn = self._conn
        if conn.get_transaction() is not None:  # also one a lost connection left invalid
            await conn.rollback()
        elif begun and not conn.invalidated:
            await on_sqlite_thread(conn, _end("ROLLBACK"), "ROLLBACK")

    async def _commit(self) -> None:
        conn = self._conn
        if conn.get_transaction() is not None:
            await conn.commit()
        elif await sqlite_in_transaction(conn):
            await on_sqlite_thread(conn, _end("COMMIT"), "COMMIT")


class PostgresqlTransaction(_OwnTransaction):
    """A write transaction on the kept PostgreSQL connection (in ``AUTOCOMMIT``, so SQLAlchemy's adapter never
    opens one), begun and ended by chatd on asyncpg: ``BEGIN`` rides with the first statement (a batch's
    channel locks: one round trip, ``direct.script_on_asyncpg``; any other statement on asyncpg sends it
    first; one through SQLAlchemy sends it from the ``begin`` hook), and ``COMMIT`` is one plain round trip.
    Through SQLAlchemy's adapter each cost a round trip of its own and a greenlet switch or two.

    A transaction SQLAlchemy began for a statement that went through it is only its bookkeeping here
    (``AUTOCOMMIT``: its commit and rollback send nothing); it is ended after chatd's, so that both agree
    the transaction is over (``_finished_cleanly``)."""

    __slots__ = ()
    BEGIN = "BEGIN"

    async def _roll_back(self, begun: bool) -> None:
        conn = self._conn
        if begun and not conn.invalidated:
            await end_on_asyncpg(conn, "ROLLBACK")
        if conn.get_transaction() is not None:
            await conn.rollback()

    async def _commit(self) -> None:
        conn = self._conn
        answer = await end_on_asyncpg(conn, "COMMIT")
        if conn.get_transaction() is not None:
            await (conn.commit() if answer == "COMMIT" else conn.rollback())
        if answer != "COMMIT":  # a failed transaction ends in ROLLBACK: never acknowledge what was not stored
            raise InternalError("COMMIT", None, RuntimeError(f"the transaction was not committed: {answer}"))


def begin_when_pending(engine: AsyncEngine) -> None:
    """A statement through SQLAlchemy that comes first in a transaction chatd manages on PostgreSQL's kept
    writer (``PostgresqlTransaction``) sends the pending ``BEGIN`` before it: SQLAlchemy calls this hook
    when it begins its own (bookkeeping) transaction."""

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        pending = conn.info.pop(PENDING_BEGIN, None)
        if pending is not None:
            conn.exec_driver_sql(pending)


def _end(statement: str) -> Callable[[sqlite3.Connection], None]:
    def end(db: sqlite3.Connection) -> None:
        if db.in_transaction:
            db.execute(statement).close()

    return end


async def begin_read(conn: AsyncConnection, statement: str) -> None:
    """Open the SQLite transaction of ``Database.read``: one call on aiosqlite's thread, where the ``begin``
    hook's ``exec_driver_sql`` took three (cursor, execute, close). Its end stays SQLAlchemy's (the driver
    commits whatever transaction SQLite has open)."""
    await on_sqlite_thread(conn, lambda db: db.execute(statement).close(), statement)
