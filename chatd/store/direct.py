"""The hottest statements straight on the driver, in the caller's transaction.

Through SQLAlchemy's async adapters a statement costs far more CPU than the database spends on it: on
SQLite several hops between the event loop and aiosqlite's thread (cursor, execute, fetch, close), each a
pair of thread wake-ups; on PostgreSQL a greenlet switch, the adapter's cursor and SQLAlchemy's result
layers around asyncpg (docs/performance.md, "Sends: per transaction"). The statements every post runs go
here instead, on the connection the caller's transaction holds: the writes of a group commit's batch
(``new_messages``), the ``BEGIN`` of every SQLite transaction and of PostgreSQL's batches with their
channel locks (``db``, ``events.lock_many``) and the access check of every write and most reads
(``channels.standing``, a ``DirectQuery``).

- **SQLite**: ``on_sqlite_thread`` runs a function on aiosqlite's own thread, with the standard ``sqlite3``
  module, in one hop. It uses aiosqlite's private ``_execute`` and ``_conn``, there since 0.11.
- **PostgreSQL**: ``on_asyncpg`` runs a function with the asyncpg connection, in the transaction chatd
  manages on the kept writer (``transactions.PostgresqlTransaction``: the first statement sends its ``BEGIN``, in
  the same round trip when it is a script, ``script_on_asyncpg``) or once SQLAlchemy's adapter has opened
  one (before that it answers ``NOT_IN_TRANSACTION`` and the caller goes through SQLAlchemy, which opens
  it); ``end_on_asyncpg`` commits or rolls back chatd's. It uses only asyncpg's public API.

Errors come out as SQLAlchemy's would: a constraint as ``IntegrityError`` (two sends racing with one
``client_msg_id``), anything else from the driver as a ``DBAPIError``, and a connection that failed or hung
is terminated and invalidated first, so the pool never hands it out again and ``db.is_outage`` calls it an
outage (503). ``scripts/check-floors`` runs the tests that cover this module at the declared floors.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from typing import Any, Awaitable, Callable, Final, Mapping, TypeVar, Union

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import Select

T = TypeVar("T")
Statement = Union[Select[Any], TextClause]
_QMARK = SQLiteDialect_pysqlite(paramstyle="qmark")
_DOLLAR = PGDialect_asyncpg()  # type: ignore[no-untyped-call]  # numeric_dollar: $1, $2, … as asyncpg takes them


# Failures after which the connection cannot be trusted: the socket or server is gone (class 08 and 57, such
# as an administrator's shutdown), it hung past ``command_timeout``, or asyncpg's own state broke.
_CONNECTION_LOST = (
    OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InternalClientError,
)


class NotInTransaction:
    """What ``on_asyncpg`` answers when SQLAlchemy's adapter has not opened the transaction yet."""


NOT_IN_TRANSACTION: Final = NotInTransaction()


def as_sqlalchemy_error(statement: str, exc: sqlite3.Error) -> StatementError:
    """What SQLAlchemy would have raised for a ``sqlite3`` error: a constraint stays an ``IntegrityError``, a
    locked or unwritable file an ``OperationalError`` (an outage, ``db.is_outage``)."""
    return DBAPIError.instance(statement, None, exc, sqlite3.Error)


async def _raw(conn: AsyncConnection) -> PoolProxiedConnection:
    """The pool's connection under ``conn``: read straight from a live connection (``get_raw_connection``
    switches greenlets to read the same attribute, tens of microseconds per statement), else SQLAlchemy's
    way, which revalidates one that was invalidated."""
    sync = conn.sync_connection
    if sync is not None and not sync.closed and not sync.invalidated:
        return sync.connection
    return await conn.get_raw_connection()


# The BEGIN a write transaction has not sent yet (``transactions.SqliteTransaction``, ``transactions.PostgresqlTransaction``),
# in the pool connection's ``info``: the first statement sends it, with itself when it runs here (in its hop
# to SQLite's thread; on PostgreSQL in the round trip of a ``script_on_asyncpg``), else through the ``begin``
# hook.
PENDING_BEGIN = "chatd.pending_begin"


async def on_sqlite_thread(conn: AsyncConnection, work: Callable[[sqlite3.Connection], T], statement: str) -> T:
    """``work(db)`` with the ``sqlite3`` connection under ``conn``, on its own thread, after the transaction's
    pending ``BEGIN`` if there is one; ``statement`` names the work in an error ``work`` did not translate."""
    raw = await _raw(conn)
    driver = raw.driver_connection  # aiosqlite's Connection
    assert driver is not None
    begin: str | None = raw.info.pop(PENDING_BEGIN, None)

    def run(db: sqlite3.Connection) -> T:
        if begin is not None:
            db.execute(begin).close()
        return work(db)

    try:
        result: T = await driver._execute(run, driver._conn)
    except sqlite3.Error as exc:
        raise as_sqlalchemy_error(statement, exc) from exc
    return result


async def sqlite_foreign_keys(conn: AsyncConnection, on: bool) -> bool:
    """Turn SQLite's foreign keys on or off for ``conn`` and say whether they are now as asked: SQLite changes
    them only outside a transaction (inside one the ``PRAGMA`` does nothing), so the caller runs this before
    its transaction's ``BEGIN`` is pending and after the transaction has ended (``Database.write``)."""

    def run(db: sqlite3.Connection) -> bool:
        db.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}").close()
        return bool(db.execute("PRAGMA foreign_keys").fetchone()[0]) is on

    return await on_sqlite_thread(conn, run, "PRAGMA foreign_keys")


async def sqlite_in_transaction(conn: AsyncConnection) -> bool:
    """Whether SQLite has a transaction open on ``conn`` (read on this thread: no hop)."""
    driver = (await _raw(conn)).driver_connection
    return driver is not None and bool(driver.in_transaction)


async def on_asyncpg(
    conn: AsyncConnection, work: Callable[[asyncpg.Connection], Awaitable[T]], statement: str
) -> T | NotInTransaction:
    """``await work(driver)`` with the asyncpg connection under ``conn``, inside the caller's transaction: the
    one chatd manages on the kept writer (``transactions.PostgresqlTransaction``; its pending ``BEGIN`` is sent first),
    or the one SQLAlchemy's adapter opened; ``NOT_IN_TRANSACTION`` (nothing run) if neither is open yet."""
    raw = await _raw(conn)
    driver: asyncpg.Connection = raw.driver_connection
    begin: str | None = raw.info.pop(PENDING_BEGIN, None)
    if begin is None and not driver.is_in_transaction():
        return NOT_IN_TRANSACTION

    async def run(driver: asyncpg.Connection) -> T:
        if begin is not None:
            await driver.execute(begin)
        return await work(driver)

    return await _translated(conn, driver, run, statement)


async def script_on_asyncpg(
    conn: AsyncConnection, script: str, *, prepared: tuple[str, str] | None = None
) -> str | NotInTransaction:
    """Run ``script`` (statements without parameters) in the caller's transaction as ``on_asyncpg`` does, in
    one round trip with the simple-query protocol: a pending ``BEGIN`` rides in front of it. Returns the
    last statement's command tag.

    ``prepared``: (``PREPARE`` statement, script that ``EXECUTE``s it) to run instead when the ``BEGIN`` is
    pending: the statement is prepared once per connection, before its first transaction, so PostgreSQL
    keeps its plan rather than planning ``script`` again every time."""
    raw = await _raw(conn)
    driver: asyncpg.Connection = raw.driver_connection
    begin: str | None = raw.info.pop(PENDING_BEGIN, None)
    if begin is None and not driver.is_in_transaction():
        return NOT_IN_TRANSACTION
    whole = script if begin is None else f"{begin}; {script}"
    if begin is not None and prepared is not None:
        prepare, execute = prepared
        done: set[str] = raw.info.setdefault(_PREPARED, set())
        if prepare not in done:
            await _translated(conn, driver, lambda driver: _prepare(driver, prepare), prepare)
            done.add(prepare)
        whole = f"{begin}; {execute}"
    answer: str = await _translated(conn, driver, lambda driver: driver.execute(whole), script)
    return answer


# The statements prepared with ``PREPARE`` on a connection (``script_on_asyncpg``), in its pool ``info``:
# SQLAlchemy empties that when the connection closes, and PostgreSQL forgets them with the session.
_PREPARED = "chatd.prepared"


async def _prepare(driver: asyncpg.Connection, prepare: str) -> None:
    try:
        await driver.execute(prepare)
    except asyncpg.exceptions.DuplicatePreparedStatementError:
        pass  # prepared already on this session: what ``info`` would have said


async def end_on_asyncpg(conn: AsyncConnection, statement: str) -> str:
    """Send ``COMMIT`` or ``ROLLBACK`` for the transaction chatd manages on the kept writer; returns the
    command tag (PostgreSQL answers a ``COMMIT`` of a failed transaction with ``ROLLBACK``)."""
    driver: asyncpg.Connection = (await _raw(conn)).driver_connection
    answer: str = await _translated(conn, driver, lambda driver: driver.execute(statement), statement)
    return answer


async def _translated(
    conn: AsyncConnection, driver: asyncpg.Connection, work: Callable[[asyncpg.Connection], Awaitable[T]],
    statement: str,
) -> T:
    """``await work(driver)``, its errors as SQLAlchemy's (the module docstring)."""
    try:
        return await work(driver)
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(statement, None, exc) from exc
    except _CONNECTION_LOST as exc:  # lost, or hung past ``command_timeout``: never hand it out again
        await _lost(conn, driver)
        raise DBAPIError(statement, None, exc, connection_invalidated=True) from exc
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        if driver.is_closed():  # "connection is closed": lost while idle, as when the server shut down meanwhile
            await _lost(conn, driver)
            raise DBAPIError(statement, None, exc, connection_invalidated=True) from exc
        raise DBAPIError(statement, None, exc) from exc  # a refused statement: the connection is fine


async def _lost(conn: AsyncConnection, driver: asyncpg.Connection) -> None:
    """Never hand this connection out again."""
    driver.terminate()
    try:
        await conn.invalidate()
    except Exception:
        pass  # terminated already; the failure to report is the caller's


def for_asyncpg(statement: Statement) -> tuple[str, tuple[str, ...]]:
    """``statement`` as asyncpg runs it: its SQL with ``$n`` parameters, and their names in that order."""
    return _compiled(statement, _DOLLAR)


def _compiled(statement: Statement, dialect: Any) -> tuple[str, tuple[str, ...]]:
    compiled = statement.compile(dialect=dialect)
    return compiled.string, tuple(compiled.positiontup or ())


def _with_values(statement: Select[Any], dialect: Any) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """``_compiled``, with an ``IN`` of constants written out (``construct_expanded_state``), and the values
    of the parameters the statement holds itself, by name."""
    compiled = statement.compile(dialect=dialect)
    wanted = {name for name, bind in compiled.binds.items() if bind.required}  # the caller's, given at each run
    expanded = compiled.construct_expanded_state({name: None for name in wanted})
    names = tuple(expanded.positiontup or ())
    return expanded.statement, names, {name: value for name, value in expanded.parameters.items() if name not in wanted}


class DirectQuery:
    """A read statement compiled once for each driver, run straight on it (one hop on SQLite; on PostgreSQL
    through SQLAlchemy until the transaction is open). Rows have attribute access, like SQLAlchemy's. Only
    for statements whose parameters and columns need no type processing (integers, text, NULL; a boolean
    comes back from SQLite as 0 or 1)."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        # The values the statement itself holds (``type = 'public'``, an ``IN`` of constants) by name, for each
        # driver: the caller's parameters are the others.
        self.sqlite_sql, self.sqlite_names, self._sqlite_fixed = _with_values(statement, _QMARK)
        self.postgresql_sql, self.postgresql_names, self._postgresql_fixed = _with_values(statement, _DOLLAR)
        self._row: Any = None  # the row type, from the first answer's column names

    @staticmethod
    def _args(names: tuple[str, ...], fixed: dict[str, Any], params: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(params[name] if name in params else fixed[name] for name in names)

    def sqlite_args(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        """The parameters of ``sqlite_sql``, in order."""
        return self._args(self.sqlite_names, self._sqlite_fixed, params)

    async def first(self, conn: AsyncConnection, params: Mapping[str, Any]) -> Any | None:
        if conn.dialect.name == "sqlite":
            return await self._first_on_sqlite(conn, params)
        args = self._args(self.postgresql_names, self._postgresql_fixed, params)
        record = await on_asyncpg(conn, lambda driver: driver.fetchrow(self.postgresql_sql, *args), self.postgresql_sql)
        if isinstance(record, NotInTransaction):
            return (await conn.execute(self.statement, dict(params))).first()
        return None if record is None else self._row_of(list(record.keys()), tuple(record.values()))

    async def _first_on_sqlite(self, conn: AsyncConnection, params: Mapping[str, Any]) -> Any | None:
        args = self.sqlite_args(params)

        def run(db: sqlite3.Connection) -> tuple[list[str], Any]:
            cursor = db.execute(self.sqlite_sql, args)
            try:
                return [column[0] for column in cursor.description], cursor.fetchone()
            finally:
                cursor.close()

        columns, row = await on_sqlite_thread(conn, run, self.sqlite_sql)
        return None if row is None else self._row_of(columns, row)

    def rows_on(self, db: sqlite3.Connection, params: Mapping[str, Any]) -> list[Any]:
        """Every row, run on SQLite's own thread: for work that runs several statements in one
        ``on_sqlite_thread`` call."""
        cursor = db.execute(self.sqlite_sql, self.sqlite_args(params))
        try:
            columns = [column[0] for column in cursor.description]
            return [self._row_of(columns, row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def _row_of(self, columns: list[str], values: tuple[Any, ...]) -> Any:
        if self._row is None:
            self._row = namedtuple("Row", columns)  # type: ignore[misc]
        return self._row(*values)
