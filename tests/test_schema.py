"""The schema: schema.sql is what the code creates, and versions are recorded so upgrades apply once."""

from __future__ import annotations

import gc
from typing import Any, Unpack
from pathlib import Path

import pytest
from sqlalchemy import CursorResult, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from chatd.config import DatabaseSettings
from chatd.domain.errors import Conflict
from chatd.store import messages as message_store
from chatd.store import migrations, schema
from chatd.store import search as search_index
from chatd.store.db import Database
from chatd.store.tables import messages, metadata
from harness import Actor, Harness, history, make_settings, org_with, texts

ROOT = Path(__file__).resolve().parent.parent


def test_schema_sql_is_what_the_code_renders() -> None:
    assert (ROOT / "schema.sql").read_text() == schema.render_all(), "run: chatd db schema > schema.sql"


async def _columns(conn: AsyncConnection) -> dict[str, set[str]]:
    def read(sync: object) -> dict[str, set[str]]:
        inspector = inspect(sync)
        return {name: {c["name"] for c in inspector.get_columns(name)} for name in inspector.get_table_names()}

    return await conn.run_sync(read)


async def test_created_database_has_every_table_and_column_of_the_schema(database_url: str) -> None:
    db = Database(DatabaseSettings(url=database_url))
    try:
        await migrations.upgrade(db, 1)
        async with db.read() as conn:
            created = await _columns(conn)
            assert await migrations.current_version(conn) == migrations.LATEST
    finally:
        await db.dispose()
    for table in metadata.sorted_tables:
        expected = {c.name for c in table.columns}
        if table.name == "messages" and db.dialect == "postgresql":
            expected.add("search_vector")
        assert created[table.name] == expected, table.name
    search_table = "message_fts" if db.dialect == "sqlite" else None
    if search_table:
        assert search_table in created


async def test_upgrade_applies_each_missing_step_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database(DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path}/old.db"))
    try:
        assert await migrations.upgrade(db, 1) == (0, migrations.LATEST)
        assert await migrations.upgrade(db, 2) == (migrations.LATEST, migrations.LATEST)

        async def add_nickname(conn: AsyncConnection, _dialect: str) -> None:
            await conn.execute(text("ALTER TABLE users ADD COLUMN nickname TEXT"))

        later = migrations.LATEST + 1
        monkeypatch.setattr(migrations, "STEPS", [*migrations.STEPS, (later, add_nickname)])
        assert await migrations.upgrade(db, 3) == (later - 1, later)
        assert await migrations.upgrade(db, 4) == (later, later)
        async with db.read() as conn:
            assert "nickname" in (await _columns(conn))["users"]
            versions = (await conn.execute(text("SELECT version FROM schema_version ORDER BY version"))).scalars().all()
        assert versions == list(range(1, later + 1))
    finally:
        await db.dispose()


async def test_a_version_1_database_is_upgraded_to_organisation_profiles(database_url: str) -> None:
    """What `chatd db upgrade` does to a database created by the first release (both stores)."""
    db = Database(DatabaseSettings(url=database_url))
    try:
        await migrations.upgrade(db, 1)
        async with db.write() as conn:  # turn it back into what version 1 created
            await conn.execute(text("ALTER TABLE organisations DROP COLUMN profile"))
            await conn.execute(text("ALTER TABLE organisations DROP COLUMN picture_file_id"))
            await conn.execute(text("DELETE FROM schema_version WHERE version >= 2"))
            await conn.execute(
                text("INSERT INTO organisations (id, name, created_at, updated_at) VALUES (7, 'Old', 1, 1)")
            )
        assert await migrations.upgrade(db, 2) == (1, migrations.LATEST)
        async with db.read() as conn:
            row = (await conn.execute(text("SELECT name, profile, picture_file_id FROM organisations"))).one()
        assert tuple(row) == ("Old", "{}", None)
    finally:
        await db.dispose()


async def _indexes(conn: AsyncConnection, table: str) -> set[str]:
    return await conn.run_sync(lambda sync: {str(i["name"]) for i in inspect(sync).get_indexes(table)})


async def test_the_upgrade_to_version_6_drops_the_author_index_a_new_database_never_had(database_url: str) -> None:
    """``ix_messages_user`` (versions 1-5) repeated the leading column of the unique (user_id, client_msg_id)
    index: a new database is made without it, and the upgrade drops it from an old one, leaving the same
    indexes as a new database (both stores)."""
    db = Database(DatabaseSettings(url=database_url))
    try:
        async with db.read() as conn:
            new = await _indexes(conn, "messages")
        assert "ix_messages_user" not in new
        async with db.write() as conn:  # turn it back into what version 5 created
            await conn.execute(text("CREATE INDEX ix_messages_user ON messages (user_id)"))
            await conn.execute(text("DELETE FROM schema_version WHERE version >= 6"))
            assert "ix_messages_user" in await _indexes(conn, "messages")
        assert await migrations.upgrade(db, 2) == (5, migrations.LATEST)
        async with db.read() as conn:
            assert await _indexes(conn, "messages") == new
    finally:
        await db.dispose()


async def test_deleting_a_user_finds_their_messages_by_an_index(database_url: str) -> None:
    """The ``ON DELETE SET NULL`` from users looks the author's messages up by ``user_id`` alone; without an
    index that would read every message. SQLite's plan for the delete lists its foreign-key lookups;
    PostgreSQL runs the statement below for it (``ri_triggers.c``), whose plan is asked with sequential scans
    priced out, so it shows a scan only if no index can serve it (a table this small is scanned otherwise)."""
    db = Database(DatabaseSettings(url=database_url))
    try:
        async with db.read() as conn:
            if db.is_sqlite:
                rows = await conn.execute(text("EXPLAIN QUERY PLAN DELETE FROM users WHERE id = 4"))
                steps = [str(row[3]) for row in rows if " messages " in f"{row[3]} "]
                assert steps and all(step.startswith("SEARCH messages") and "(user_id=?)" in step for step in steps), steps
            else:
                await conn.execute(text("SET LOCAL enable_seqscan = off"))
                rows = await conn.execute(
                    text('EXPLAIN UPDATE ONLY messages SET user_id = NULL WHERE 4 OPERATOR(pg_catalog.=) "user_id"')
                )
                plan = [str(row[0]) for row in rows]
                assert any("Index Cond: (user_id = " in line for line in plan), plan
                assert not any("Seq Scan" in line for line in plan), plan
    finally:
        await db.dispose()


async def test_nodes_sharing_postgresql_never_share_a_node_id(postgres_url: str, tmp_path: Path) -> None:
    auto = make_settings(postgres_url, tmp_path)
    async with Harness.running(auto) as first, Harness.running(make_settings(postgres_url, tmp_path)) as second:
        ids = {first.core.ids.next() >> 12 & 0x3FF, second.core.ids.next() >> 12 & 0x3FF}
        assert ids == {1, 2}  # each leased its own
        clash = make_settings(postgres_url, tmp_path, server={"node_id": 1})
        with pytest.raises(Conflict):
            async with Harness.running(clash):
                pass
    async with Harness.running(make_settings(postgres_url, tmp_path, server={"node_id": 1})) as again:
        assert again.core.ids.next() >> 12 & 0x3FF == 1  # released at shutdown: free again


async def _connections(harness: Harness) -> int:
    async with harness.core.reading() as conn:
        found = await conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"))
        return int(found.scalar_one())


async def test_a_node_that_fails_to_start_closes_its_database_connections(postgres_url: str, tmp_path: Path) -> None:
    async with Harness.running(make_settings(postgres_url, tmp_path, server={"node_id": 1})) as first:
        before = await _connections(first)
        with pytest.raises(Conflict):
            async with Harness.running(make_settings(postgres_url, tmp_path, server={"node_id": 1})):
                pass
        after = await _connections(first)
    gc.collect()
    assert after == before


async def _thread_index(conn: AsyncConnection, dialect: str) -> str:
    """How ``ix_messages_thread`` is defined, as the store itself reports it."""
    if dialect == "sqlite":
        found = "SELECT sql FROM sqlite_master WHERE name = 'ix_messages_thread'"
    else:
        found = "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_messages_thread'"
    return str((await conn.execute(text(found))).scalar_one())


async def test_the_thread_index_holds_replies_only_and_serves_a_thread_listing(database_url: str) -> None:
    """Version 7: ``ix_messages_thread`` has no entry for a message that is no reply, in a new database and
    after the upgrade from version 6 (which indexed every message), and listing a thread still reads it: the
    listing's ``reply_to = ?`` implies the index's condition on both stores."""
    db = Database(DatabaseSettings(url=database_url))
    try:
        async with db.write() as conn:  # turn it back into what version 6 created
            assert "IS NOT NULL" in await _thread_index(conn, db.dialect)
            await conn.execute(text("DROP INDEX ix_messages_thread"))
            await conn.execute(text("CREATE INDEX ix_messages_thread ON messages (reply_to, id)"))
            await conn.execute(text("DELETE FROM schema_version WHERE version >= 7"))
        assert await migrations.upgrade(db, 2) == (6, migrations.LATEST)
        if not db.is_sqlite:
            await _planned_for_messages(db)
        async with db.read() as conn:
            defined = await _thread_index(conn, db.dialect)
            assert "WHERE reply_to IS NOT NULL" in defined.replace("(", "").replace(")", ""), defined
            listing = (
                "SELECT * FROM messages WHERE channel_id = 1 AND deleted_at IS NULL AND reply_to = 2 ORDER BY id DESC LIMIT 51"
            )
            if db.is_sqlite:
                plan = " ".join(str(row[3]) for row in await conn.execute(text(f"EXPLAIN QUERY PLAN {listing}")))
                assert "ix_messages_thread" in plan, plan
            else:
                await conn.execute(text("SET LOCAL enable_seqscan = off"))
                await conn.execute(text("SET LOCAL enable_bitmapscan = off"))
                plan = " ".join(str(row[0]) for row in await conn.execute(text(f"EXPLAIN {listing}")))
                assert "ix_messages_thread" in plan, plan
    finally:
        await db.dispose()


async def _upgraded_without(db: Database, index: str, version: int) -> None:
    """The database as the version before ``version`` left it (without ``index``), then upgraded."""
    async with db.write() as conn:
        await conn.execute(text(f"DROP INDEX {index}"))
        await conn.execute(text(f"DELETE FROM schema_version WHERE version >= {version}"))
    assert await migrations.upgrade(db, 2) == (version - 1, migrations.LATEST)


async def _plan(conn: AsyncConnection, statement: Any) -> str:
    """How the store plans ``statement``, as one line of text."""
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    sql, values = str(compiled), tuple(compiled.params[name] for name in compiled.positiontup or ())
    if conn.dialect.name == "sqlite":
        # SQLAlchemy types exec_driver_sql's rows as of one column; EXPLAIN QUERY PLAN's have four.
        plan: CursorResult[Unpack[tuple[Any, ...]]] = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", values)
        return " ".join(str(row[3]) for row in plan)
    return " ".join(str(row[0]) for row in await conn.exec_driver_sql(f"EXPLAIN {sql}", values))


async def _planned_for_messages(db: Database) -> None:
    """PostgreSQL plans from statistics. On an empty table its indexes' costs tie, and which one a plan took
    turned on statistics no test set (two plan tests failed so when the suite ran on two workers); this gives
    them a store to plan for: 2,000 messages in 20 channels by 10 authors, of
    which 10 removed, 20 replies to message 2 (in channel 1) and 40 files, vacuumed (index-only scans need the
    visibility map) and analysed. Channels and users are ids only: the foreign keys are not checked here."""
    async with db.write() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(text(
            "INSERT INTO messages (id, channel_id, user_id, type, contents, meta, reply_to, created_at, updated_at,"
            " deleted_at)"
            " SELECT n, n % 20 + 1, n % 10 + 1, CASE WHEN n % 50 = 7 THEN 'FILE' ELSE 'MESSAGE' END, '', '{}',"
            " CASE WHEN n % 100 = 20 THEN 2 END, n, n, CASE WHEN n % 200 = 0 THEN n END"
            " FROM generate_series(1, 2000) AS n"
        ))
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("VACUUM ANALYZE messages")


async def test_a_page_by_number_finds_its_place_in_the_index_and_removed_messages_in_theirs(database_url: str) -> None:
    """Version 10: ``ix_messages_removed`` (a new database has it, an upgraded one gets it), and the statements
    ``page_by_offset`` steps through read indexes alone: the channel's removed messages from that index, the
    entries it skips and counts from ``(channel_id, id)`` without a row (a row read per skipped entry is what
    made a deep page cost a third of a second)."""
    db = Database(DatabaseSettings(url=database_url))
    try:
        await _upgraded_without(db, "ix_messages_removed", 10)
        if not db.is_sqlite:
            await _planned_for_messages(db)
        newest = 2**62  # bounds past every id, as a deep page's are past most of them
        statements = {
            "ix_messages_removed": message_store._REMOVED.params(channel_id=1, limit=10),
            "ix_messages_channel_id": message_store._IDS_BELOW.params(channel_id=1, below=newest, skip=100, limit=1),
            "ix_messages_channel_id ": message_store._ENTRIES.params(channel_id=1, top=newest, limit=100),
        }
        async with db.read() as conn:
            if not db.is_sqlite:
                await conn.execute(text("SET LOCAL enable_seqscan = off"))
                await conn.execute(text("SET LOCAL enable_bitmapscan = off"))
            for index, statement in statements.items():
                plan = await _plan(conn, statement)
                read_alone = ("COVERING INDEX" if db.is_sqlite else "Index Only Scan") in plan
                assert index.strip() in plan and (read_alone or index == "ix_messages_removed"), plan
    finally:
        await db.dispose()


async def test_a_listing_of_one_kind_reads_the_index_of_other_kinds(database_url: str) -> None:
    """Version 11: ``ix_messages_kinds`` holds the messages that are no plain message (a new database has it, an
    upgraded one gets it), and a listing of one kind in a few channels reads it on both stores."""
    db = Database(DatabaseSettings(url=database_url))
    try:
        await _upgraded_without(db, "ix_messages_kinds", 11)
        if not db.is_sqlite:
            await _planned_for_messages(db)
        async with db.read() as conn:
            if not db.is_sqlite:
                await conn.execute(text("SET LOCAL enable_seqscan = off"))
            filters = search_index.Filters(message_type="FILE").conditions()
            plan = await _plan(conn, search_index.candidates(conn, [], [7, 8], filters, 1001, first="kind"))
            assert "ix_messages_kinds" in plan, plan
    finally:
        await db.dispose()


async def test_the_upgrade_to_version_8_counts_each_channels_members(chat: Harness, database_url: str) -> None:
    """Version 8: channels keep their member count. A database from before gets the column, each channel's
    members counted, and the count is then kept by joins and leaves."""
    alice, bob, carol = await chat.users("alice", "bob", "carol")
    org = await org_with(alice, bob, carol)
    trio = (await alice.post("/channel/edit", organisation_id=org, name="trio", members=[bob.id, carol.id]))["id"]
    solo = (await alice.post("/channel/edit", organisation_id=org, name="solo"))["id"]
    db = Database(DatabaseSettings(url=database_url))  # beside the running app, whose statements are prepared
    try:
        async with db.write() as conn:  # turn it back into what version 7 created
            await conn.execute(text("ALTER TABLE channels DROP COLUMN member_count"))
            await conn.execute(text("DELETE FROM schema_version WHERE version >= 8"))
        assert await migrations.upgrade(db, 2) == (7, migrations.LATEST)
        async with db.read() as conn:
            rows = await conn.execute(text("SELECT id, member_count FROM channels WHERE name IN ('trio', 'solo')"))
            assert {str(row[0]): row[1] for row in rows} == {trio: 3, solo: 1}
    finally:
        await db.dispose()


async def _shape(conn: AsyncConnection, table: str) -> dict[str, Any]:
    """What a table is, as the database reports it: columns and their types, keys, indexes, references."""

    def read(sync: Any) -> dict[str, Any]:
        inspector = inspect(sync)
        return {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            "primary key": inspector.get_pk_constraint(table)["constrained_columns"],
            "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
            "indexes": sorted((str(i["name"]), tuple(i["column_names"])) for i in inspector.get_indexes(table)),
            "references": sorted((f["referred_table"], tuple(f["constrained_columns"])) for f in inspector.get_foreign_keys(table)),
        }

    return await conn.run_sync(read)


async def _btrees(conn: AsyncConnection, table: str) -> int:
    """SQLite: the B-trees an insert into ``table`` writes (the table and every index of it)."""
    return int((await conn.execute(text(f"SELECT count(*) FROM sqlite_master WHERE tbl_name = '{table}'"))).scalar() or 0)


async def _rows(conn: AsyncConnection) -> dict[str, int]:
    """Every table's rows but the versions'."""
    tables = [t.name for t in metadata.sorted_tables if t.name != "schema_version"]
    return {t: int((await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar() or 0) for t in tables}


async def test_the_upgrade_to_version_13_keeps_every_row_and_writes_fewer_btrees_per_post(
    database_url: str, tmp_path: Path
) -> None:
    """Version 13: ``messages.id`` is SQLite's rowid (no index of its own) and events have no unique index
    of their ids. A database of version 12 keeps every message and everything referring to one (SQLite
    rebuilds both tables, with foreign keys off: on, the rebuild deleted every reaction, pin and file of a
    message), ends as a new database is, and goes on working: posts, and deletes that cascade."""
    settings = make_settings(database_url, tmp_path)
    async with Harness.running(settings) as chat:
        alice, bob = await chat.users("alice", "bob")
        cid = (await alice.post("/channel/edit", organisation_id=await org_with(alice, bob), name="general", members=[bob.id]))["id"]
        first = await alice.post("/message/edit", channel_id=cid, contents="before the upgrade")
        await bob.post("/message/edit", channel_id=cid, contents="a reply", reply_to=first["id"])
        await bob.post("/message/react", id=first["id"], emoji="👍")
        await bob.post("/message/pin", id=first["id"])
        await bob.post("/message/flag", id=first["id"])
        db = chat.core.db
        async with db.read() as conn:
            new_shape = {t: await _shape(conn, t) for t in ("messages", "channel_events")}
            rows = await _rows(conn)
        async with db.write(foreign_keys=False) as conn:  # turn it back into what version 12 created
            if db.is_sqlite:
                assert (await _btrees(conn, "messages"), await _btrees(conn, "channel_events")) == (6, 3)
                for table, old in (("messages", ("id INTEGER NOT NULL", "id BIGINT NOT NULL")),
                                   ("channel_events", ("ON DELETE CASCADE\n)", "ON DELETE CASCADE,\n\tUNIQUE (id)\n)"))):
                    create = (await conn.execute(text(f"SELECT sql FROM sqlite_master WHERE name = '{table}'"))).scalar()
                    assert old[0] in create
                    indexes = (await conn.execute(text(f"SELECT sql FROM sqlite_master WHERE tbl_name = '{table}' AND type = 'index' AND sql IS NOT NULL"))).scalars().all()
                    await conn.execute(text(create.replace(f"CREATE TABLE {table} (", "CREATE TABLE old (").replace(*old)))
                    await conn.execute(text(f"INSERT INTO old SELECT * FROM {table}"))
                    await conn.execute(text(f"DROP TABLE {table}"))
                    await conn.execute(text(f"ALTER TABLE old RENAME TO {table}"))
                    for index in indexes:
                        await conn.execute(text(index))
                assert (await _btrees(conn, "messages"), await _btrees(conn, "channel_events")) == (7, 4)
            else:
                await conn.execute(text("ALTER TABLE channel_events ADD CONSTRAINT channel_events_id_key UNIQUE (id)"))
            await conn.execute(text("DELETE FROM schema_version WHERE version >= 13"))
            assert await _rows(conn) == rows
    async with Harness.running(settings) as chat:  # the start upgrades it
        db = chat.core.db
        async with db.read() as conn:
            assert await migrations.current_version(conn) == migrations.LATEST
            assert await _rows(conn) == rows
            assert {t: await _shape(conn, t) for t in ("messages", "channel_events")} == new_shape
            if db.is_sqlite:
                assert (await _btrees(conn, "messages"), await _btrees(conn, "channel_events")) == (6, 3)
        alice, bob = Actor(chat, alice.user, alice.secret), Actor(chat, bob.user, bob.secret)
        read = await bob.get("/message/read", id=first["id"])
        assert (read["contents"], read["reactions"], read["pinned"], read["flagged"]) == (
            "before the upgrade", [{"emoji": "👍", "count": 1, "me": True}], True, True)
        await alice.post("/message/edit", channel_id=cid, contents="after the upgrade")
        assert texts(await history(bob, cid)) == ["after the upgrade", "before the upgrade"]  # the reply is in its thread
        async with db.write() as conn:  # foreign keys are on again: a message's rows go with it
            await conn.execute(text(f"DELETE FROM messages WHERE id = {int(first['id'])}"))
            left = {t: int((await conn.execute(text(f"SELECT count(*) FROM {t} WHERE message_id = {int(first['id'])}"))).scalar() or 0)
                    for t in ("reactions", "pins", "flags")}
            assert left == {"reactions": 0, "pins": 0, "flags": 0}


async def _message_3_in_channel_2(conn: AsyncConnection) -> None:
    """The least a message needs (an organisation, a channel), written straight: message 3 in channel 2."""
    await conn.execute(text("INSERT INTO organisations (id, name, created_at, updated_at) VALUES (1, 'o', 1, 1)"))
    await conn.execute(text("INSERT INTO channels (id, organisation_id, type, created_at, updated_at) VALUES (2, 1, 'public', 1, 1)"))
    await conn.execute(text("INSERT INTO messages (id, channel_id, type, created_at, updated_at) VALUES (3, 2, 'MESSAGE', 1, 1)"))


async def test_a_failed_rebuild_leaves_the_database_as_it_was_and_its_foreign_keys_on(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's foreign keys are off while an upgrade rebuilds a table (version 13). A step that fails after
    a rebuild rolls all of it back, and the writer that ran it enforces foreign keys again: a reaction to a
    message that does not exist is still refused."""
    db = Database(DatabaseSettings(url=sqlite_url))
    try:
        async with db.write() as conn:
            await _message_3_in_channel_2(conn)
            await conn.execute(text("INSERT INTO users (id, username, username_key, email, email_key, created_at, updated_at) "
                                    "SELECT 4, 'u', 'u', 'u@x', 'u@x', 1, 1"))
            await conn.execute(text("INSERT INTO reactions (message_id, user_id, emoji, created_at) VALUES (3, 4, 'x', 1)"))

        async def rebuild_then_fail(conn: AsyncConnection, _dialect: str) -> None:
            await migrations._rebuild(conn, messages)
            raise RuntimeError("the step after the rebuild failed")

        monkeypatch.setattr(migrations, "STEPS", [*migrations.STEPS, (migrations.LATEST + 1, rebuild_then_fail)])
        with pytest.raises(RuntimeError, match="after the rebuild"):
            await migrations.upgrade(db, 2)
        async with db.read() as conn:
            assert await migrations.current_version(conn) == migrations.LATEST
            assert (await conn.execute(text("SELECT count(*) FROM reactions WHERE message_id = 3"))).scalar() == 1
        with pytest.raises(IntegrityError):
            async with db.write() as conn:
                await conn.execute(text("INSERT INTO reactions (message_id, user_id, emoji, created_at) VALUES (99, 4, 'x', 1)"))
    finally:
        await db.dispose()


async def test_an_upgrade_that_would_leave_a_row_referring_to_nothing_is_refused(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With foreign keys off for the rebuilds, nothing stops a step from leaving a row that refers to nothing
    but the check before the commit: the upgrade fails, naming it, and the database stays as it was."""
    db = Database(DatabaseSettings(url=sqlite_url))
    try:
        async def dangling(conn: AsyncConnection, _dialect: str) -> None:
            await _message_3_in_channel_2(conn)
            await conn.execute(text("INSERT INTO pins (message_id, channel_id, pinned_at) VALUES (99, 2, 1)"))

        monkeypatch.setattr(migrations, "STEPS", [*migrations.STEPS, (migrations.LATEST + 1, dangling)])
        with pytest.raises(RuntimeError, match="referring to none"):
            await migrations.upgrade(db, 2)
        async with db.read() as conn:
            assert await migrations.current_version(conn) == migrations.LATEST
            assert (await conn.execute(text("SELECT count(*) FROM messages"))).scalar() == 0
    finally:
        await db.dispose()
