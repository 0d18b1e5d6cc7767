"""Schema versions: ``db init`` creates the newest schema, ``db upgrade`` applies each missing step.

A release that changes the schema appends a step here (and updates ``tables.py``); the version reached is
recorded in ``schema_version`` so an existing database knows what it still needs.
"""

from __future__ import annotations

from typing import Awaitable, Callable

from sqlalchemy import Table, inspect, select
from sqlalchemy.schema import CreateTable
from sqlalchemy.ext.asyncio import AsyncConnection

from . import channel_members, events, message_fts, search_backlog, search_ddl
from .db import Database
from .tables import channel_events, messages, metadata, node_leases, schema_version, server_secrets

Step = Callable[[AsyncConnection, str], Awaitable[None]]


async def _v1_initial(conn: AsyncConnection, dialect: str) -> None:
    await conn.run_sync(metadata.create_all)
    for statement in search_ddl.statements(dialect):
        await conn.exec_driver_sql(statement)


async def _v2_organisation_profile(conn: AsyncConnection, dialect: str) -> None:
    """Organisations gain a profile (JSON text) and a logo. A database created at version 1 lacks the columns;
    one created by this release has them already (``create_all`` makes the newest tables), so add only
    what is missing."""
    present = await conn.run_sync(lambda sync: {c["name"] for c in inspect(sync).get_columns("organisations")})
    if "profile" not in present:
        await conn.exec_driver_sql("ALTER TABLE organisations ADD COLUMN profile TEXT NOT NULL DEFAULT '{}'")
    if "picture_file_id" not in present:
        await conn.exec_driver_sql("ALTER TABLE organisations ADD COLUMN picture_file_id BIGINT")


async def _v3_node_leases(conn: AsyncConnection, dialect: str) -> None:
    """Nodes lease their snowflake node id, so two nodes can never mint the same ids."""
    await conn.run_sync(lambda sync: node_leases.create(sync, checkfirst=True))


async def _v4_server_secrets(conn: AsyncConnection, dialect: str) -> None:
    """The generated signing secret moves from each node's data directory to the store all nodes share."""
    await conn.run_sync(lambda sync: server_secrets.create(sync, checkfirst=True))


async def _v5_redacted_removals(conn: AsyncConnection, dialect: str) -> None:
    """Message events record their message, and removal redacts them (``events.redact``): add the column and
    its index where missing, fill it for the events already stored, and redact those of messages removed
    before this release, whose text the log still held."""
    present = await conn.run_sync(lambda sync: {c["name"] for c in inspect(sync).get_columns("channel_events")})
    if "message_id" not in present:
        await conn.exec_driver_sql("ALTER TABLE channel_events ADD COLUMN message_id BIGINT")
    indexes = await conn.run_sync(lambda sync: {i["name"] for i in inspect(sync).get_indexes("channel_events")})
    if "ix_channel_events_message" not in indexes:
        await conn.exec_driver_sql("CREATE INDEX ix_channel_events_message ON channel_events (message_id)")
    message_id = (
        "CAST(json_extract(payload, '$.id') AS INTEGER)" if dialect == "sqlite" else "CAST(payload::json->>'id' AS BIGINT)"
    )
    await conn.exec_driver_sql(
        f"UPDATE channel_events SET message_id = {message_id} WHERE type = 'message' AND message_id IS NULL"
    )
    removed = await conn.execute(select(messages.c.id).where(messages.c.deleted_at.is_not(None)))
    for (removed_id,) in removed.all():
        await events.redact(conn, removed_id)


async def _v6_no_author_index(conn: AsyncConnection, dialect: str) -> None:
    """Drop ``ix_messages_user``: the unique index on (user_id, client_msg_id) leads with user_id and serves
    every lookup by author alone (the search's author filter, the ``ON DELETE SET NULL`` from users) with the
    same plan on both stores, so the second index only cost each post one more B-tree insert (and its WAL
    page). Databases created by this release never had it."""
    await conn.exec_driver_sql("DROP INDEX IF EXISTS ix_messages_user")


async def _v7_thread_index_replies_only(conn: AsyncConnection, dialect: str) -> None:
    """``ix_messages_thread`` holds replies only (``tables.REPLIES``): every post that was no reply added an
    entry nothing looks up (threads are listed by their root, ``reply_to = ?``, which implies the index's
    condition on both stores): an entry for every message in the index, and one more B-tree insert per post."""
    await conn.exec_driver_sql("DROP INDEX IF EXISTS ix_messages_thread")
    await _create_index(conn, "ix_messages_thread")


async def _v8_member_counts(conn: AsyncConnection, dialect: str) -> None:
    """Channels keep their member count (``channels.member_count``, kept by ``channel_members.add`` and
    ``remove``): every channel list and websocket connect counted the member rows of each channel, a cost that
    grew with the channel (ten thousand index entries for a channel of ten thousand, at every connect of each
    of them). A database created by this release has the column already; an older one gets it, counted."""
    present = await conn.run_sync(lambda sync: {c["name"] for c in inspect(sync).get_columns("channels")})
    if "member_count" not in present:
        await conn.exec_driver_sql("ALTER TABLE channels ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0")
    await channel_members.recount(conn)


async def _v9_search_backlog(conn: AsyncConnection, dialect: str) -> None:
    """SQLite's word index is written in batches from a backlog of words (``search_backlog.py``); the
    messages stored before were indexed as they were written. A database created by this release has the
    table; PostgreSQL needs none."""
    if dialect == "sqlite" and not await conn.run_sync(lambda sync: inspect(sync).has_table("search_backlog")):
        await conn.exec_driver_sql(search_backlog.DDL)


async def _v10_removed_index(conn: AsyncConnection, dialect: str) -> None:
    """``ix_messages_removed``: a channel's removed messages, so a page found by its number steps over them in
    the ``(channel_id, id)`` index rather than reading every row before the page (``messages.page_by_offset``)."""
    await _create_index(conn, "ix_messages_removed")


async def _v11_kinds_index(conn: AsyncConnection, dialect: str) -> None:
    """``ix_messages_kinds``: messages of every other kind than a plain message, so a search for files (or
    topics, meetings…) finds them rather than walking a million messages for a few (``search.kinds_count``)."""
    await _create_index(conn, "ix_messages_kinds")


async def _v12_authors_in_word_index(conn: AsyncConnection, dialect: str) -> None:
    """SQLite's word index gets the author of each message (``message_fts.py`` says why): FTS5 cannot add a
    column, so the table is built again beside the old one from the words it holds, and takes its name. About
    ten seconds for a million messages, once; PostgreSQL's index is unchanged."""
    if dialect != "sqlite":
        return
    present = await conn.exec_driver_sql(f"SELECT * FROM {message_fts.NAME} LIMIT 0")
    if "author" in present.keys():  # a database created by this release
        return
    building = f"{message_fts.NAME}_v12"
    await conn.exec_driver_sql(message_fts.ddl(building))
    await conn.exec_driver_sql(
        f"INSERT INTO {building} (rowid, contents, author) SELECT f.rowid, f.contents, m.user_id "
        f"FROM {message_fts.NAME} AS f JOIN messages AS m ON m.id = f.rowid"
    )
    await conn.exec_driver_sql(f"DROP TABLE {message_fts.NAME}")
    await conn.exec_driver_sql(f"ALTER TABLE {building} RENAME TO {message_fts.NAME}")


async def _v13_fewer_btrees_per_post(conn: AsyncConnection, dialect: str) -> None:
    """Two B-trees fewer per post on SQLite, one index fewer per event on PostgreSQL. ``messages.id`` becomes
    SQLite's rowid (declared ``INTEGER``), where a ``BIGINT`` key had an index of its own beside the table;
    ``channel_events`` loses ``UNIQUE (id)``, which nothing looked up. SQLite changes neither in place: both
    tables are rebuilt under their names, foreign keys off (``upgrade``), about ten seconds for a million
    messages, once."""
    if dialect != "sqlite":
        await conn.exec_driver_sql("ALTER TABLE channel_events DROP CONSTRAINT IF EXISTS channel_events_id_key")
        return
    columns = await conn.run_sync(lambda sync: {c["name"]: str(c["type"]) for c in inspect(sync).get_columns("messages")})
    if columns["id"] != "INTEGER":
        await _rebuild(conn, messages)
    unique = await conn.run_sync(lambda sync: inspect(sync).get_unique_constraints("channel_events"))
    if any(u["column_names"] == ["id"] for u in unique):
        await _rebuild(conn, channel_events)


async def _rebuild(conn: AsyncConnection, table: Table) -> None:
    """SQLite's way to change what ``ALTER TABLE`` cannot: the table as ``tables.py`` declares it, made beside
    the old one under another name, filled from it, then given its name, and its indexes made again (the old
    table's went with it). Other tables refer to it by name, so they refer to the new one; with foreign keys
    on, the ``DROP TABLE`` would have deleted every row referring to the old."""
    building = f"{table.name}_rebuilt"
    create = str(CreateTable(table).compile(dialect=conn.dialect))
    head = f"CREATE TABLE {table.name} ("
    assert create.lstrip().startswith(head), create
    await conn.exec_driver_sql(create.lstrip().replace(head, f"CREATE TABLE {building} (", 1))
    names = ", ".join(column.name for column in table.columns)
    await conn.exec_driver_sql(f"INSERT INTO {building} ({names}) SELECT {names} FROM {table.name}")
    await conn.exec_driver_sql(f"DROP TABLE {table.name}")
    await conn.exec_driver_sql(f"ALTER TABLE {building} RENAME TO {table.name}")
    for index in table.indexes:
        await conn.run_sync(lambda sync: index.create(sync))


async def _create_index(conn: AsyncConnection, name: str) -> None:
    """One of ``messages``' indexes as ``tables.py`` declares it (columns, and the condition of a partial one),
    unless the database has it (one created by this release does): written once, there."""
    index = next(index for index in messages.indexes if index.name == name)
    await conn.run_sync(lambda sync: index.create(sync, checkfirst=True))


STEPS: list[tuple[int, Step]] = [
    (1, _v1_initial),
    (2, _v2_organisation_profile),
    (3, _v3_node_leases),
    (4, _v4_server_secrets),
    (5, _v5_redacted_removals),
    (6, _v6_no_author_index),
    (7, _v7_thread_index_replies_only),
    (8, _v8_member_counts),
    (9, _v9_search_backlog),
    (10, _v10_removed_index),
    (11, _v11_kinds_index),
    (12, _v12_authors_in_word_index),
    (13, _v13_fewer_btrees_per_post),
]
LATEST = STEPS[-1][0]


async def current_version(conn: AsyncConnection) -> int:
    has_table = await conn.run_sync(lambda sync: inspect(sync).has_table("schema_version"))
    if not has_table:
        return 0
    found = (await conn.execute(select(schema_version.c.version).order_by(schema_version.c.version.desc()))).first()
    return int(found[0]) if found else 0


async def upgrade(db: Database, now_ms: int) -> tuple[int, int]:
    """Bring the schema to ``LATEST``; returns (version before, version after). Safe to run again."""
    async with db.unbounded() as patient, patient.write(foreign_keys=False) as conn:
        if db.dialect == "postgresql":  # several nodes may start at once: one migrates, the others wait
            await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727465)")
        before = await current_version(conn)
        for version, step in STEPS:
            if version > before:
                await step(conn, db.dialect)
                await conn.execute(schema_version.insert().values(version=version, applied_at=now_ms))
        if db.dialect == "sqlite" and before < STEPS[-1][0]:  # off for the rebuilds (``_rebuild``): what refers to them
            # must still find what it refers to. Only after a step ran: the check reads every reference in the
            # database (0.35 s for a million messages with their events), not a cost for every start.
            broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
            if broken:
                raise RuntimeError(f"the upgrade would leave rows referring to none: {broken[:5]}")
    return before, max(before, STEPS[-1][0])
