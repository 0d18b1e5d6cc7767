"""The database handle: engine per URL, SQLite tuned for durability, read and write transactions.

SQLite allows one writer at a time. Rather than letting writers collide on the file lock, write
transactions in this process queue on an asyncio lock and start with ``BEGIN IMMEDIATE``; readers never
wait (WAL). PostgreSQL needs neither: per-channel ordering comes from the row lock taken on
``channels.last_seq`` (see ``events.py``).

This is also the one place where a database that cannot serve (unreachable, read-only, full, broken,
without chatd's tables) becomes the domain's ``Unavailable`` (503 at the edge, one line in the CLI):
every transaction passes through ``read`` or ``write``, so no driver error of that kind reaches a face.
It is also where an outage is logged, once: a line when the first transaction fails, naming the cause and
the fix, and a line when one that began later succeeds (see ``Outage``); the requests in between answer 503
without a line each.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ..config import DatabaseSettings, masked_url
from ..domain.errors import Unavailable
from ..domain.probes import SILENT, Probe
from .direct import sqlite_foreign_keys
from .sqlite_driver import one_hop_dbapi
from .transactions import (
    OWN_BEGIN, WRITE, begin_read, begin_when_pending, finished_cleanly, PostgresqlTransaction, SqliteTransaction,
    terminate, tune_sqlite,
)

log = logging.getLogger("chatd.db")


#: PostgreSQL error classes (SQLSTATE's first two characters) that mean the server cannot serve us now:
#: connection, authorisation, no such database, resources, operator intervention (shutdown), system; and
#: 25006, a write refused because the server or the transaction is read-only (a standby).
PG_OUTAGE_CLASSES = ("08", "28", "3D", "53", "57", "58")
PG_READ_ONLY = "25006"


def sqlstate(exc: BaseException) -> str:
    """The PostgreSQL SQLSTATE of a driver error, or ''. SQLAlchemy wraps the driver's error (``orig``), but
    SQLAlchemy 2.0.38 (our floor) lets one raised while connecting through bare (sqlalchemy#11956)."""
    orig = getattr(exc, "orig", None) or exc
    return str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")


def is_outage(exc: BaseException) -> bool:
    """A driver error meaning "the database cannot serve now", as opposed to a bug or a constraint: SQLite's
    operational errors (read-only, locked, I/O, no such table), lost or refused connections, a pool that
    stayed exhausted. A bare ``OSError`` is how asyncpg reports a refused connection to every address;
    its subclasses (a missing blob file…) are not the database's. A plain ``DatabaseError`` (no subclass:
    not a constraint, not bad SQL) is SQLite's "file is not a database" or a damaged file. Any error that
    cost the connection (``connection_invalidated``) is an outage too, and so is asyncpg's
    ``InternalClientError`` ("cannot switch to state …; another operation is in progress", a connection the
    server ended mid-operation), which SQLAlchemy at our floor (2.0.38) does not wrap: the ``handle_error``
    hook (``_discard_broken_connections``) has the connection discarded either way."""
    outage = (OperationalError, InterfaceError, PoolTimeout, ConnectionError, TimeoutError, socket.gaierror)
    if isinstance(exc, outage) or type(exc) in (OSError, DatabaseError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:  # the connection was lost under it
        return True
    if type(exc).__name__ == "InternalClientError" and type(exc).__module__.startswith("asyncpg."):
        return True  # asyncpg's state broke with the server gone mid-operation; SQLAlchemy 2.0.38 lets it through bare
    state = sqlstate(exc)
    driver_error = isinstance(exc, DBAPIError) or type(exc).__module__.startswith("asyncpg.")
    return driver_error and (state[:2] in PG_OUTAGE_CLASSES or state == PG_READ_ONLY)


@dataclass(slots=True)
class Outage:
    """The database cannot serve, since ``began`` (``time.perf_counter``): logged when it starts and when it
    ends, never per request.

    It ends when a transaction that *began after its latest failure* succeeds: one that began before may have
    held a connection through it, and proves nothing. While a server shuts down, a connection whose backend
    has not ended yet still answers between the failures of the others; counting from the first failure
    only, such an answer ended the outage and the next failure began another, two outages logged for one
    (seen in the outage test on a busy machine). A failed write keeps it going until a write succeeds, so a
    database that serves reads but refuses writes (a read-only file, a standby) is one outage, not one per
    write between the reads (``/readyz`` probes a write, so an idle node sees the end too)."""

    began: float
    reason: str
    writes_failed: bool = False
    refused: int = 0
    failed_last: float = 0.0  # when its latest failure was reported (``time.perf_counter``), ``began`` or later


class Database:
    def __init__(self, settings: DatabaseSettings) -> None:
        self.settings = settings
        self.url = settings.url
        url = make_url(settings.url)
        self.dialect = url.get_backend_name()
        self.probe: Probe = SILENT
        self.outage: Outage | None = None
        self.path: Path | None = None
        if self.dialect == "sqlite":
            if url.database and url.database != ":memory:":
                self.path = Path(url.database)
            # As many readers at once as PostgreSQL's pool and overflow allow, all kept: an overflow
            # connection is closed when handed back, and opening one (a thread, the file, the pragmas)
            # made a burst of 16 reads past the pool's size cost twice the CPU (docs/performance.md).
            self.engine: AsyncEngine = create_async_engine(
                url, echo=settings.echo, pool_size=2 * settings.pool_size, max_overflow=0,
                connect_args={"timeout": 30},
                module=one_hop_dbapi(),  # each statement in one call on aiosqlite's thread (sqlite_driver.py)
                pool_reset_on_return=None,  # _tune_sqlite's reset rolls back only what is still open
            )
            tune_sqlite(self.engine, settings.sqlite_synchronous)
            self._write_lock: asyncio.Lock | None = asyncio.Lock()
        else:
            bounds = {"command_timeout": settings.command_timeout or None, "timeout": settings.connect_timeout}
            self.engine = create_async_engine(
                url, echo=settings.echo, pool_size=settings.pool_size, max_overflow=settings.pool_size,
                connect_args=bounds,
            )
            _discard_broken_connections(self.engine)
            begin_when_pending(self.engine)
            self._write_lock = None
        self._batch_lock = asyncio.Lock()  # PostgreSQL's group commit batches, one at a time
        self._writer: AsyncConnection | None = None  # the connection kept for them (``_kept``)
        # SQLite: moves with every write transaction on the kept connection that may change a standing (all but
        # a group commit's posts) and with a new kept connection; standings seen since are still true
        # (``channels.Fingerprint``, ``core/standing_cache.py``).
        self.standings_epoch = 0

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def where(self) -> str:
        """The database as an operator knows it: the SQLite file, or the URL without its password."""
        return str(self.path) if self.path is not None else masked_url(self.url)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction: a consistent snapshot, never blocked by writers."""
        started = time.perf_counter()
        try:
            async with self.engine.connect() as conn:
                if self._write_lock is not None:
                    await conn.execution_options(**{OWN_BEGIN: True})
                async with conn.begin():
                    if self._write_lock is not None:
                        await begin_read(conn, "BEGIN")
                    yield conn
        except Exception as exc:
            if is_outage(exc):
                raise self.unavailable(exc, started=started) from exc
            raise
        else:
            self._served(started, write=False)
        finally:
            self.probe.transaction("read", time.perf_counter() - started)

    @asynccontextmanager
    async def write(
        self, *, batch: bool = False, keeps_standings: bool = False, foreign_keys: bool = True
    ) -> AsyncIterator[AsyncConnection]:
        """A write transaction, committed when the block exits without an exception. ``batch``: the group
        commit's (``core.group_commit``), one at a time, on a connection kept for them (``_kept``); on SQLite
        every write is one at a time and on that connection. ``keeps_standings``: the transaction changes no
        channel standing (``channels.standing``'s columns but the volatile ones): a batch of posts; any other
        moves ``standings_epoch`` under the write lock as it begins (the posts of its batch check the standings
        they kept, after its changes) and as it ends (a standing read in it may predate one).
        ``foreign_keys=False`` (SQLite; PostgreSQL ignores it): none is enforced in this transaction, for a
        table rebuilt under its own name (``migrations``), where a ``DROP TABLE`` would otherwise delete every
        row that refers to it; the caller checks them before the end (``PRAGMA foreign_key_check``)."""
        started = time.perf_counter()
        try:
            if self._write_lock is None and not batch:
                async with self.engine.begin() as conn:
                    yield conn
            else:
                async with self._write_lock or self._batch_lock:
                    conn = await self._kept()
                    if not keeps_standings:  # as it begins: a kept standing its changes may outdate is read again
                        self.standings_epoch += 1
                    try:
                        if self.is_sqlite:
                            if not foreign_keys and not await sqlite_foreign_keys(conn, on=False):
                                raise RuntimeError("SQLite kept its foreign keys on")  # a transaction was open
                            try:
                                async with SqliteTransaction(conn):
                                    yield conn
                            finally:
                                if not foreign_keys:
                                    await self._foreign_keys_back(conn)
                        else:
                            async with PostgresqlTransaction(conn):
                                yield conn
                    except BaseException:
                        if not finished_cleanly(conn):
                            await self._drop_kept()
                        raise
                    finally:
                        if not keeps_standings:  # and as it ends: nor is one read in it before a change
                            self.standings_epoch += 1
        except Exception as exc:
            if is_outage(exc):
                raise self.unavailable(exc, started=started, write=True) from exc
            raise
        else:
            self._served(started, write=True)
        finally:
            self.probe.transaction("write", time.perf_counter() - started)

    @asynccontextmanager
    async def unbounded(self) -> AsyncIterator[Database]:
        """This database without the per-statement time limit, for work that may rightly take long: a schema
        migration (an index over every message), or waiting for another node's."""
        if self.is_sqlite or not self.settings.command_timeout:
            yield self
            return
        other = Database(self.settings.model_copy(update={"command_timeout": 0.0, "pool_size": 1}))
        other.probe = self.probe
        try:
            yield other
        finally:
            await other.dispose()

    async def probe_ready(self) -> None:
        """Raise ``Unavailable`` unless the database answers and would take a write (``/readyz``).

        SQLite: set ``user_version`` to itself in a write transaction that is rolled back: a read-only file
        or directory refuses it at once, and nothing is written. PostgreSQL: a read-only server (a standby,
        ``default_transaction_read_only``) says so in ``transaction_read_only``. Either way a pass shows that
        writes would succeed, which ends an outage (``Outage``), except when writes failed in it: a disk
        that fails or is full refuses only what is committed, so then the probe commits a write (SQLite:
        that ``user_version``; PostgreSQL: a transaction id), and an idle node still sees the end."""
        started = time.perf_counter()
        commit = self.outage is not None and self.outage.writes_failed
        async with self.read() as conn:
            await conn.execute(text("SELECT 1"))
            if not self.is_sqlite:
                if (await conn.exec_driver_sql("SHOW transaction_read_only")).scalar() == "on":
                    raise Unavailable(detail=f"the database {self.where} is read-only", reason="database is read-only")
        if not self.is_sqlite:
            if commit:
                async with self.write() as conn:  # ends the outage when it commits
                    await conn.exec_driver_sql("SELECT pg_current_xact_id()")
            else:
                self._served(started, write=True)
            return
        assert self._write_lock is not None
        try:
            async with self._write_lock:
                async with self.engine.connect() as conn:
                    await conn.execution_options(**{WRITE: True})
                    transaction = await conn.begin()
                    version = int((await conn.exec_driver_sql("PRAGMA user_version")).scalar() or 0)
                    await conn.exec_driver_sql(f"PRAGMA user_version = {version}")
                    await (transaction.commit() if commit else transaction.rollback())
        except Exception as exc:
            if is_outage(exc):
                raise self.unavailable(exc, started=started, write=True) from exc
            raise
        self._served(started, write=True)

    def unavailable(self, exc: BaseException, *, started: float | None = None, write: bool = False) -> Unavailable:
        """The domain error for a driver failure (a transaction that began at ``started``), with a reason for
        the operator, logged once per outage: the first failure starts one, the others are counted."""
        failure = self._describe(exc)
        if self.outage is None:
            self.outage = Outage(began=started if started is not None else time.perf_counter(), reason=failure.reason)
            log.error("%s", failure.detail, extra={"outage": "started", "reason": failure.reason})
        else:
            log.debug("%s", failure.detail)
        self.outage.refused += 1
        self.outage.writes_failed = self.outage.writes_failed or write
        self.outage.failed_last = time.perf_counter()
        return failure

    def _served(self, started: float, *, write: bool) -> None:
        """A transaction that began at ``started`` succeeded: the end of an outage whose latest failure came
        before it began, unless the outage refused writes and this was a read."""
        outage = self.outage
        if outage is None or started < outage.failed_last or (outage.writes_failed and not write):
            return
        self.outage = None
        seconds = time.perf_counter() - outage.began
        log.info(
            "the database %s serves again after %.1f s (%s); %d transactions were refused meanwhile",
            self.where, seconds, outage.reason, outage.refused,
            extra={"outage": "ended", "reason": outage.reason, "seconds": round(seconds, 1)},
        )

    def _describe(self, exc: BaseException) -> Unavailable:
        """What the operator reads about a driver failure: its cause, in the driver's words, and the fix."""
        reason = _reason(exc)
        state = sqlstate(exc)
        if state[:2] == "28":
            kind, hint = "database refused the login", "check the user and password in database.url"
        elif state[:2] == "3D":
            kind, hint = "database does not exist", "create it (createdb) or correct database.url"
        elif self.path is not None and "no such table" in reason:
            kind, hint = "database has no tables", "it has no chatd tables: run `chatd db upgrade`"
        elif self.path is None and ("read-only" in reason or state == PG_READ_ONLY):
            kind, hint = "database is read-only", "the server takes no writes (a standby, or default_transaction_read_only): point database.url at the primary"
        elif "readonly" in reason or "read-only" in reason:
            kind, hint = "database is read-only", "it is read-only: make the file and its directory writable by the user chatd runs as"
        elif "not a database" in reason or "malformed" in reason:
            kind, hint = "database is damaged", "it is not an SQLite database or is damaged: restore it from a backup"
        elif isinstance(getattr(exc, "orig", None) or exc, TimeoutError):
            limits = f"{self.settings.command_timeout:g} s for a statement, {self.settings.connect_timeout:g} s to connect"
            reason = f"no answer in time ({limits})"
            kind, hint = "database unavailable", "it hangs or is cut off: check the server and the network to it (database.command_timeout)"
        elif "unable to open" in reason:
            kind, hint = "database cannot be opened", "check that the file's directory exists and is writable by the user chatd runs as"
        else:
            kind, hint = "database unavailable", "check that it is reachable and has space"
        detail = f"the database {self.where} cannot serve: {reason}; {hint}"
        return Unavailable(detail=detail, reason=kind)

    async def _kept(self) -> AsyncConnection:
        """The connection kept for writes that run one at a time (``write``): checking one out of the pool and
        back for every transaction (pool events, a new ``Connection``, greenlet switches) cost more CPU than a
        lone post itself (docs/performance.md, "Sends: per transaction")."""
        if self._writer is None or self._writer.closed or self._writer.invalidated:
            self._writer = None
            conn = await self.engine.connect()
            if self.is_sqlite:
                await conn.execution_options(**{WRITE: True, OWN_BEGIN: True})
            else:  # chatd sends BEGIN and COMMIT itself (``transactions.PostgresqlTransaction``)
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                # A batch's statements are the same few, run thousands of times: a plan each, kept. Left to its
                # own estimate, PostgreSQL planned the batch's write afresh every time (its generic plan looks
                # dearer, as it cannot know how many posts and standings its parameters hold): 25 µs per post.
                await conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            self._writer = conn
            self.standings_epoch += 1  # its data version counts from its own start
        return self._writer

    async def _foreign_keys_back(self, conn: AsyncConnection) -> None:
        """After a write with SQLite's foreign keys off: on again, or, where they stay off (a transaction the
        failure left open), the connection is discarded, never handed back to the pool as it is."""
        try:
            if await sqlite_foreign_keys(conn, on=True):
                return
        except Exception:
            pass
        self._writer = None
        try:
            await asyncio.shield(conn.invalidate())
        except Exception:
            pass  # a connection that cannot even be invalidated is gone; the caller's failure is the one to report

    async def _drop_kept(self, *, in_doubt: bool = True) -> None:
        """After a write that failed and left its connection in doubt, the next one starts on a fresh one.

        On PostgreSQL a connection in doubt is terminated and discarded, not handed back to the pool: it may
        still be inside the transaction chatd began on it (``transactions.PostgresqlTransaction``), of which
        the pool's reset knows nothing, or still busy with a statement, and the next reader would fail on it."""
        conn, self._writer = self._writer, None
        if conn is not None:
            try:
                if in_doubt and not self.is_sqlite and not conn.invalidated:
                    terminate(conn)
                    await asyncio.shield(conn.invalidate())
                await asyncio.shield(conn.close())  # finished even if the caller is cancelled meanwhile
            except Exception:
                pass  # a connection that cannot even close is gone; the failure itself is the caller's

    async def dispose(self) -> None:
        async with self._write_lock or self._batch_lock:
            await self._drop_kept(in_doubt=False)
        await self.engine.dispose()


def _reason(exc: BaseException) -> str:
    """The driver's own words, without SQLAlchemy's statement dump and background link."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _discard_broken_connections(engine: AsyncEngine) -> None:
    """A statement that outlived ``command_timeout`` leaves its connection mid-exchange with a server that may
    answer later: it is discarded too.

    asyncpg may answer a query on a connection the server terminated mid-operation (a shutdown) with
    ``InternalClientError: cannot switch to state …; another operation is in progress`` instead of "connection
    closed", and SQLAlchemy (up to 2.1.9 at least; its issue 13241) then returns that unusable connection to
    the pool, where every later checkout fails the same way: a 500 per request long after the server is
    back. Marking the error as a disconnect makes SQLAlchemy discard the connection (and the pool's older
    ones), and ``is_outage`` sees an invalidated connection: a 503, logged with the outage."""

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: Any) -> None:
        if type(context.original_exception).__name__ == "InternalClientError":
            context.is_disconnect = True
        elif isinstance(context.original_exception, TimeoutError):  # ``command_timeout``: the server hangs
            context.is_disconnect = True  # its answer may still come: the connection is unusable
            # Closed at once: SQLAlchemy's own invalidation first tries a graceful close (up to 2 s more per
            # connection, up to 2.0.x), which waits on the hung server too.
            fairy = context.connection.connection if context.connection is not None else None
            driver = getattr(fairy, "driver_connection", None)
            if driver is not None:
                driver.terminate()
