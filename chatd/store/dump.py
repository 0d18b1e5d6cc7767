"""The SQL behind ``chatd export`` and ``chatd import``: every table's rows, as they are, in a stable order.

Rows are exported column for column (ids, seqs, times, JSON text), so an import rebuilds the same database
on either backend: each channel's ``last_seq`` and event log come back unchanged and clients resume across
the move as across a restart. Derived data is not exported but rebuilt: the search index. Server
bookkeeping is neither (``schema_version``, ``node_leases``).

``--org`` narrows the export to one organisation: its rows, the rows of its teams, channels and messages,
and every user and file those rows point at (so the import satisfies every foreign key), without sessions,
access tokens and the server's own secrets, which belong to the server, not to an organisation.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Iterable

import orjson
from sqlalchemy import BigInteger, ColumnElement, Select, Table, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from . import search as search_index
from .tables import (
    channels,
    files,
    meetings,
    messages,
    metadata,
    organisations,
    teams,
    users,
)

SKIPPED = {"schema_version", "node_leases"}
# Columns counted from other rows: left out of an export, counted again by the import (older archives lack
# them, and an older chatd refuses columns it does not know).
DERIVED = {"channels": ("member_count",)}
SERVER_ONLY = {"sessions", "access_tokens", "server_secrets"}
BATCH = 1000


def columns(table: Table) -> list[Any]:
    """The table's columns an export holds: all but the derived ones."""
    return [column for column in table.columns if column.name not in DERIVED.get(table.name, ())]


def tables() -> list[Table]:
    """Every exported table, parents before children (the order an import inserts them in)."""
    return [t for t in metadata.sorted_tables if t.name not in SKIPPED]


def _order(conn: AsyncConnection, table: Table) -> list[Any]:
    """Primary key order; text keys compared byte-wise on both backends, so both export the same order."""
    keys: list[Any] = []
    for column in table.primary_key.columns:
        is_text = column.type.python_type is str
        keys.append(column.collate("C") if is_text and conn.dialect.name == "postgresql" else column)
    return keys


def _among(dialect: str, column: ColumnElement[Any], ids: set[int]) -> ColumnElement[bool]:
    """``column IN ids`` with one bound parameter, however many ids (both drivers cap parameters)."""
    if dialect == "postgresql":
        return column == any_(bindparam("ids", sorted(ids), type_=ARRAY(BigInteger)))
    listed: Select[Any] = select(literal_column("value")).select_from(func.json_each(bindparam("ids", orjson.dumps(sorted(ids)).decode())))
    return column.in_(listed)


class Scope:
    """Which rows of each table belong to the export: all of them, or one organisation's."""

    def __init__(self, org_id: int | None) -> None:
        self.org_id = org_id
        self.user_ids: set[int] = set()
        self.file_ids: set[int] = set()

    def includes(self, table: Table) -> bool:
        return self.org_id is None or table.name not in SERVER_ONLY

    def where(self, table: Table, dialect: str) -> ColumnElement[bool] | None:
        """The filter for ``table`` (None: every row). Users and files are filtered by what was collected."""
        org = self.org_id
        if org is None:
            return None
        org_channels = select(channels.c.id).where(channels.c.organisation_id == org).scalar_subquery()
        org_messages = select(messages.c.id).where(messages.c.channel_id.in_(org_channels)).scalar_subquery()
        c = table.c
        if table is organisations:
            return c.id == org
        if table is users:
            return _among(dialect, c.id, self.user_ids)
        if table is files:
            return _among(dialect, c.id, self.file_ids)
        if "organisation_id" in c:
            return c.organisation_id == org
        if "team_id" in c:
            return c.team_id.in_(select(teams.c.id).where(teams.c.organisation_id == org).scalar_subquery())
        if "channel_id" in c:
            return c.channel_id.in_(org_channels)
        if "message_id" in c:
            return c.message_id.in_(org_messages)
        if "meeting_id" in c:
            org_meetings = select(meetings.c.id).where(meetings.c.channel_id.in_(org_channels)).scalar_subquery()
            return c.meeting_id.in_(org_meetings)
        raise AssertionError(f"no organisation filter for table {table.name}")

    async def close_over(self, conn: AsyncConnection) -> None:
        """Add the owners of the files and the pictures of the users collected so far, until nothing new."""
        dialect = conn.dialect.name
        while True:
            before = (len(self.user_ids), len(self.file_ids))
            owners = await conn.execute(select(files.c.owner_id).where(_among(dialect, files.c.id, self.file_ids)))
            self.user_ids.update(int(row[0]) for row in owners)
            pictures = await conn.execute(
                select(users.c.picture_file_id).where(_among(dialect, users.c.id, self.user_ids), users.c.picture_file_id.is_not(None))
            )
            self.file_ids.update(int(row[0]) for row in pictures)
            if (len(self.user_ids), len(self.file_ids)) == before:
                return

    def note(self, table: Table, row: dict[str, Any]) -> None:
        """Remember the users and files a row points at (they join the export)."""
        for column in columns(table):
            value = row[column.name]
            if value is None:
                continue
            targets = {fk.column.table.name for fk in column.foreign_keys}
            if "users" in targets or column.name in ("deleted_by", "decided_by"):
                self.user_ids.add(int(value))
            if "files" in targets or column.name == "picture_file_id":
                self.file_ids.add(int(value))
            if table is users and column.name == "id":
                self.user_ids.add(int(value))


async def count(conn: AsyncConnection, table: Table, where: ColumnElement[bool] | None) -> int:
    query = select(func.count()).select_from(table)
    if where is not None:
        query = query.where(where)
    return int((await conn.execute(query)).scalar_one())


async def rows(conn: AsyncConnection, table: Table, where: ColumnElement[bool] | None) -> AsyncIterator[dict[str, Any]]:
    """The table's rows in primary key order, streamed (never all in memory)."""
    exported = columns(table)
    query = select(*exported).order_by(*_order(conn, table))
    if where is not None:
        query = query.where(where)
    names = [str(column.name) for column in exported]  # plain str: orjson refuses SQLAlchemy's quoted names
    result = await conn.stream(query.execution_options(yield_per=BATCH))
    async for row in result:
        yield dict(zip(names, row))


async def row_count(conn: AsyncConnection, table: Table) -> int:
    return await count(conn, table, None)


async def insert(conn: AsyncConnection, table: Table, batch: list[dict[str, Any]]) -> None:
    """Insert rows as exported; keys that are not columns of this schema are refused by the caller."""
    if batch:
        await conn.execute(table.insert(), batch)


async def reindex(conn: AsyncConnection, batch: Iterable[dict[str, Any]]) -> None:
    """Rebuild the search index for imported messages (live ones only, as when they were posted)."""
    await search_index.index_many(
        conn, [(int(m["id"]), m["user_id"], str(m["contents"])) for m in batch if m["deleted_at"] is None])


async def snapshot(conn: AsyncConnection) -> None:
    """Make this transaction one consistent snapshot for the whole export (PostgreSQL: REPEATABLE READ;
    SQLite: a read transaction already is one)."""
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
