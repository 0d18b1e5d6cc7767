"""aiosqlite as SQLAlchemy drives it, with each statement run whole in one call on aiosqlite's thread.

SQLAlchemy's aiosqlite adapter makes four calls to aiosqlite's thread for a ``SELECT`` (open a cursor,
execute, fetch the rows, close the cursor) and three for any other statement. Each call is a queue put, a
thread wake-up and a wake-up of the event loop back, and they cost far more CPU than SQLite spends on the
statement: 290 µs for a one-row ``SELECT`` by primary key, against 47 µs for the same statement run in one
call with the standard ``sqlite3`` module (docs/performance.md, "Reads: built once, one hop each"). Every read
that is not on the send path went that way: a websocket's ``ready`` snapshot, history pages, channel lists,
logins.

``OneHopCursor`` runs the statement, fetches every row and closes the ``sqlite3`` cursor in one call, as
SQLAlchemy's adapter does with four, and leaves the rows for SQLAlchemy to fetch from memory (the adapter
buffers them all too). Server-side cursors (``stream()``) keep the adapter's own. A statement in one call
also needs no lock against another task using the connection meanwhile: aiosqlite runs calls one at a time.
Errors are the adapter's (``_handle_exception``): the same exceptions as before, for ``db.is_outage`` and
for every caller. It uses aiosqlite's private ``_execute`` and ``_conn``, as ``direct.py`` does.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from typing import Any, Iterator, Sequence

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection, AsyncAdapt_aiosqlite_dbapi

try:  # SQLAlchemy 2.1's name; 2.0 has only the older one
    from sqlalchemy.util.concurrency import await_ as _await
except ImportError:  # pragma: no cover - the floor's SQLAlchemy (scripts/check-floors)
    from sqlalchemy.util.concurrency import await_only as _await

Outcome = tuple[Any, list[Any], int, Any]  # description, rows, rowcount, lastrowid


def _null(_value: None) -> None:
    """``None`` bound as it is. Without an adapter of its own, the ``sqlite3`` module asks ``None`` (any value but
    an exact ``int``, ``float``, ``str`` or ``bytearray``) for ``__adapt__`` and ``__conform__``, and each
    failed lookup formats an ``AttributeError`` that is thrown away: about 3,300 instructions per ``NULL``
    bound, two of them in every post (its thread and its key). The registry finds this first."""
    return None


sqlite3.register_adapter(type(None), _null)


def _whole(db: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> Outcome:
    """One statement, start to end, on aiosqlite's thread."""
    cursor = db.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneHopCursor:
    """The DBAPI cursor SQLAlchemy uses for a statement (see the module docstring)."""

    __slots__ = ("_adapted", "_rows", "description", "rowcount", "lastrowid", "arraysize")
    server_side = False

    def __init__(self, adapted: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapted = adapted
        self._rows: deque[Any] = deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: Any = None
        self.arraysize = 1

    def _run(self, operation: str, parameters: Any, many: bool) -> None:
        driver: Any = self._adapted._connection  # aiosqlite's Connection
        try:
            outcome: Outcome = _await(driver._execute(_whole, driver._conn, operation, parameters, many))
        except Exception as error:
            self._adapted._handle_exception(error)
        self.description, rows, self.rowcount, self.lastrowid = outcome
        self._rows = deque(rows)

    def execute(self, operation: str, parameters: Any = None) -> None:
        self._run(operation, parameters, False)

    def executemany(self, operation: str, seq_of_parameters: Any) -> None:
        self._run(operation, seq_of_parameters, True)

    def close(self) -> None:
        self._rows.clear()

    async def _async_soft_close(self) -> None:
        """What SQLAlchemy 2.1 asks of an adapter's cursor before a result is buffered: nothing is open."""

    def setinputsizes(self, *sizes: Any) -> None:
        pass

    def __iter__(self) -> Iterator[Any]:
        while self._rows:
            yield self._rows.popleft()

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        rows = self._rows
        return [rows.popleft() for _ in range(min(self.arraysize if size is None else size, len(rows)))]

    def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """The adapter's connection, handing out ``OneHopCursor`` for everything but a server-side cursor."""

    __slots__ = ()

    def cursor(self, server_side: bool = False) -> Any:
        if server_side:
            return super().cursor(server_side=True)
        return OneHopCursor(self)


class OneHopDbapi(AsyncAdapt_aiosqlite_dbapi):
    """The adapter's DBAPI module, whose connections are ``OneHopConnection``: ``create_async_engine``'s
    ``module`` for SQLite (``db.Database``)."""

    def connect(self, *args: Any, **kwargs: Any) -> OneHopConnection:
        adapted = super().connect(*args, **kwargs)
        adapted.__class__ = OneHopConnection  # the same object, so every version's constructor is kept
        return adapted  # type: ignore[return-value]


def one_hop_dbapi() -> OneHopDbapi:
    return OneHopDbapi(aiosqlite, sqlite3)
