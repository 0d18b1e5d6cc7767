"""SQLite's word index is written in batches, from a backlog of words noted with each change
(``store/search_backlog.py``): a search still finds everything acknowledged before it, edits and removals
before the indexer came by end as they would have, and a backlog left by a stop is indexed at the next start."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Awaitable, Callable

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from chatd.core import indexing
from chatd.store import migrations
from chatd.store import search as search_index
from harness import Actor, Harness, make_settings, org_with

LATER = 3600.0  # an indexer that does not come by during the test


async def _indexed(chat: Harness) -> dict[int, str]:
    """What the word index holds: message id → its words."""
    async with chat.core.db.read() as conn:
        return {int(r[0]): r[1] for r in await conn.execute(text("SELECT rowid, contents FROM message_fts"))}


async def _backlog(chat: Harness) -> int:
    async with chat.core.db.read() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM search_backlog"))).scalar_one())


async def _metric(chat: Harness, name: str) -> float:
    """One unlabelled sample of ``/metrics``, as an operator's scrape reads it."""
    text = (await chat.client.get("/metrics")).text
    return next((s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == name), 0.0)


async def _found(actor: Actor, query: str) -> list[str]:
    return [m["contents"] for m in (await actor.get("/message/search", query=query))["items"]]


async def _eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def test_a_search_finds_what_was_just_sent_before_the_indexer_came_by(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexing, "DELAY", LATER)
    async with Harness.running(make_settings(sqlite_url, tmp_path)) as chat:
        alice = await chat.user("alice")
        cid = (await alice.post("/channel/edit", organisation_id=await org_with(alice), name="general"))["id"]
        sent = await alice.post("/message/edit", channel_id=cid, contents="Quarterly numbers are in")
        assert int(sent["id"]) not in await _indexed(chat)  # the send wrote no index entry…
        assert await _backlog(chat) >= 1  # …but noted its words
        assert await _found(alice, "quarterly") == ["Quarterly numbers are in"]
        assert (await _indexed(chat))[int(sent["id"])] == "quarterly numbers are in"
        assert await _backlog(chat) == 0
        assert await _metric(chat, "chatd_search_indexed_messages_total") >= 1
        assert await _metric(chat, "chatd_search_index_failures_total") == 0


async def test_the_indexer_takes_the_backlog_soon_after_a_write(sqlite_url: str, tmp_path: Path) -> None:
    async with Harness.running(make_settings(sqlite_url, tmp_path)) as chat:
        alice = await chat.user("alice")
        cid = (await alice.post("/channel/edit", organisation_id=await org_with(alice), name="general"))["id"]
        sent = [await alice.post("/message/edit", channel_id=cid, contents=f"note {n}") for n in range(5)]

        async def all_indexed() -> bool:
            held = await _indexed(chat)
            return all(int(m["id"]) in held for m in sent) and await _backlog(chat) == 0

        await _eventually(all_indexed, "the indexer to take the backlog without a search")


async def test_edits_and_removals_before_the_indexer_end_as_they_would_have(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several transactions per indexing transaction (``MESSAGES`` of 2), so a message's new words and its
    edit, or its removal, are taken in different ones as well as in the same one."""
    monkeypatch.setattr(indexing, "DELAY", LATER)
    monkeypatch.setattr(indexing, "MESSAGES", 2)
    async with Harness.running(make_settings(sqlite_url, tmp_path)) as chat:
        alice = await chat.user("alice")
        cid = (await alice.post("/channel/edit", organisation_id=await org_with(alice), name="general"))["id"]
        posted = [await alice.post("/message/edit", channel_id=cid, contents=f"alpha {n}") for n in range(6)]
        first, second, third = posted[0]["id"], posted[4]["id"], posted[5]["id"]
        await alice.post("/message/edit", id=first, contents="bravo edited")
        await alice.post("/message/edit", id=first, contents="charlie edited again")
        await alice.delete("/message/remove", id=second)
        await alice.post("/message/edit", id=third, contents="delta")
        await alice.delete("/message/remove", id=third)

        assert sorted(await _found(alice, "alpha")) == ["alpha 1", "alpha 2", "alpha 3"]
        assert await _found(alice, "bravo") == []
        assert await _found(alice, "charlie") == ["charlie edited again"]
        assert await _found(alice, "delta") == []
        held = await _indexed(chat)
        assert held[int(first)] == "charlie edited again"
        assert int(second) not in held and int(third) not in held
        assert await _backlog(chat) == 0

        # Once indexed, an edit and a removal still replace what the index holds.
        await alice.post("/message/edit", id=posted[1]["id"], contents="echo")
        await alice.delete("/message/remove", id=posted[2]["id"])
        assert await _found(alice, "echo") == ["echo"]
        assert sorted(await _found(alice, "alpha")) == ["alpha 3"]


async def test_a_backlog_left_by_a_stop_is_indexed_at_the_next_start(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexing, "DELAY", LATER)
    settings = make_settings(sqlite_url, tmp_path)
    async with Harness.running(settings) as chat:
        alice = await chat.user("alice")
        cid = (await alice.post("/channel/edit", organisation_id=await org_with(alice), name="general"))["id"]
        sent = await alice.post("/message/edit", channel_id=cid, contents="left behind")
        assert int(sent["id"]) not in await _indexed(chat)
    monkeypatch.setattr(indexing, "DELAY", 0.01)
    async with Harness.running(settings) as chat:

        async def indexed() -> bool:
            return (await _indexed(chat)).get(int(sent["id"])) == "left behind" and await _backlog(chat) == 0

        await _eventually(indexed, "the backlog of the last run to be indexed at start")


async def test_an_older_database_gets_the_backlog_and_keeps_its_index(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(sqlite_url, tmp_path)
    async with Harness.running(settings) as chat:
        alice = await chat.user("alice")
        cid = (await alice.post("/channel/edit", organisation_id=await org_with(alice), name="general"))["id"]
        await alice.post("/message/edit", channel_id=cid, contents="from the old days")
        assert await _found(alice, "days") == ["from the old days"]
        async with chat.core.db.write() as conn:  # back to what version 8 had: no backlog
            await conn.execute(text("DROP TABLE search_backlog"))
            await conn.execute(text("DELETE FROM schema_version WHERE version >= 9"))
    async with Harness.running(settings) as chat:  # the start upgrades it
        async with chat.core.db.read() as conn:
            assert await migrations.current_version(conn) == migrations.LATEST
        assert await _backlog(chat) == 0
        async with chat.core.db.read() as conn:
            words = (await conn.execute(text("SELECT contents FROM message_fts"))).scalars().all()
        assert "from the old days" in words


async def test_an_older_word_index_is_rebuilt_with_each_messages_author(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Version 12 adds the author to SQLite's word index (``store/message_fts.py``): a database of version 11,
    whose index held the words alone, keeps every message's words and gets its author, so a search by an
    author of many (matched in the index) finds what a walk checking each message found before."""
    settings = make_settings(sqlite_url, tmp_path)
    async with Harness.running(settings) as chat:
        alice, bob = await chat.users("alice", "bob")
        cid = (await alice.post("/channel/edit", organisation_id=await org_with(alice, bob), name="general",
                                members=[bob.id]))["id"]
        for actor, contents in ((alice, "heron at dawn"), (bob, "heron at dusk"), (alice, "finch"), (bob, "heron again")):
            await actor.post("/message/edit", channel_id=cid, contents=contents)
        removed = await alice.post("/message/edit", channel_id=cid, contents="heron gone")
        await alice.delete("/message/remove", id=removed["id"])
        assert await _found(alice, "heron") == ["heron again", "heron at dusk", "heron at dawn"]
        async with chat.core.db.write() as conn:  # back to what version 11 had: the words alone
            await conn.execute(text("CREATE VIRTUAL TABLE old_fts USING fts5(contents, tokenize = 'unicode61 remove_diacritics 2')"))
            await conn.execute(text("INSERT INTO old_fts (rowid, contents) SELECT rowid, contents FROM message_fts"))
            await conn.execute(text("DROP TABLE message_fts"))
            await conn.execute(text("ALTER TABLE old_fts RENAME TO message_fts"))
            await conn.execute(text("DELETE FROM schema_version WHERE version >= 12"))
    async with Harness.running(settings) as chat:  # the start upgrades it
        async with chat.core.db.read() as conn:
            assert await migrations.current_version(conn) == migrations.LATEST
            authors = dict((await conn.execute(text("SELECT contents, author FROM message_fts"))).all())
        alice, bob = Actor(chat, alice.user, alice.secret), Actor(chat, bob.user, bob.secret)  # their sessions stay
        assert authors == {"alice created this channel": int(alice.id), "heron at dawn": int(alice.id), "heron at dusk": int(bob.id), "finch": int(alice.id),
                           "heron again": int(bob.id)}, authors
        monkeypatch.setattr(search_index, "AUTHOR_LISTED", 0)  # every author is one of many: matched in the index
        found = [m["contents"] for m in (await alice.get("/message/search", query="heron", user_id=bob.id))["items"]]
        assert found == ["heron again", "heron at dusk"]


async def test_a_search_answers_when_the_backlog_cannot_be_indexed(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A row the indexer cannot read (only a bug or a damaged file makes one) costs the search its newest
    messages, logged, not its answer."""
    monkeypatch.setattr(indexing, "DELAY", LATER)
    async with Harness.running(make_settings(sqlite_url, tmp_path)) as chat:
        alice = await chat.user("alice")
        cid = (await alice.post("/channel/edit", organisation_id=await org_with(alice), name="general"))["id"]
        await alice.post("/message/edit", channel_id=cid, contents="indexed first")
        assert await _found(alice, "first") == ["indexed first"]
        async with chat.core.db.write() as conn:
            await conn.execute(text("INSERT INTO search_backlog (entries, changed) VALUES ('not json', 0)"))
        await alice.post("/message/edit", channel_id=cid, contents="stuck behind it")
        assert await _found(alice, "first") == ["indexed first"]
        assert await _found(alice, "stuck") == []
        assert "indexing messages before a search failed" in caplog.text
        assert await _metric(chat, "chatd_search_index_failures_total") == 2  # one per search


async def test_a_lasting_failure_is_retried_less_and_less_often(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An indexer that cannot take its backlog tries again, doubling its wait each time, so a failure that lasts
    fills the log once a minute at most, not once a second (here scaled down: 20 ms doubling to 160 ms)."""
    monkeypatch.setattr(indexing, "DELAY", 0.05)
    monkeypatch.setattr(indexing, "RETRY", 0.02)
    monkeypatch.setattr(indexing, "RETRY_MAX", 0.16)
    async with Harness.running(make_settings(sqlite_url, tmp_path)) as chat:
        async with chat.core.db.write() as conn:
            await conn.execute(text("INSERT INTO search_backlog (entries, changed) VALUES ('not json', 0)"))
        chat.core.indexer.poke()
        await asyncio.sleep(1.0)
        failures = await _metric(chat, "chatd_search_index_failures_total")
        # Without the doubling, an attempt every 70 ms: 14 in the second. With it: 70, 90, 130, 210, 210 … ms.
        assert 2 <= failures <= 9, failures
