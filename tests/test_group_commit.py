"""Group commit: concurrent writes share a transaction, yet each fails or succeeds on its own, on both
databases; on PostgreSQL a batch takes its channels' locks in id order before its first action."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from chatd.domain.errors import BadRequest
from chatd.store import events as event_log
from harness import Harness, LiveServer, World, make_settings, org_with



@pytest.fixture
async def notes_chat(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async with Harness.running(make_settings(database_url, tmp_path)) as chat:
        async with chat.core.transaction() as tx:
            await tx.conn.execute(text("CREATE TABLE notes (n INTEGER PRIMARY KEY)"))
        yield chat


async def test_refusals_and_crashes_stay_with_their_own_action(notes_chat: Harness) -> None:
    core = notes_chat.core
    assert core.writes.enabled  # writes are grouped on both databases

    def action(n: int):  # type: ignore[no-untyped-def]
        async def run(tx):  # type: ignore[no-untyped-def]
            if n % 7 == 3:
                raise BadRequest.field("n", "refused before writing")
            await tx.conn.execute(text("INSERT INTO notes (n) VALUES (:n)"), {"n": n})
            if n == 10:
                raise RuntimeError("crashed after writing")  # rolls the shared batch back; the rest are redone
            return n

        return run

    outcomes = await asyncio.gather(*(core.writes.run(action(n)) for n in range(30)), return_exceptions=True)
    for n, outcome in enumerate(outcomes):
        if n % 7 == 3:
            assert isinstance(outcome, BadRequest)
        elif n == 10:
            assert isinstance(outcome, RuntimeError)
        else:
            assert outcome == n
    async with core.reading() as conn:
        stored = (await conn.execute(text("SELECT n FROM notes ORDER BY n"))).scalars().all()
    assert stored == [n for n in range(30) if n % 7 != 3 and n != 10]


async def test_posts_in_flight_at_shutdown_are_stored_exactly_when_acknowledged(
    database_url: str, tmp_path: Path
) -> None:
    """Shutdown stops the group commit while posts are on their way: the batch under way finishes and its
    senders get their answers; the rest are refused with 503. Every post answered 200 is stored and every
    post refused is not (a batch cancelled half-way could commit while its senders were told it failed)."""
    async with Harness.running(make_settings(database_url, tmp_path)) as chat:
        alice = await chat.user("alice")
        org = (await alice.post("/organisation/edit", name="Acme"))["id"]
        channel = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
        writes = chat.core.writes
        started = asyncio.Event()
        probe = writes.probe

        class Watch:  # the group commit's probe, told when a batch starts
            def __getattr__(self, name: str) -> object:
                return getattr(probe, name)

            def batch_committed(self, size: int) -> None:
                started.set()
                probe.batch_committed(size)

        writes.probe = Watch()
        keys = [f"late-{n}" for n in range(120)]
        sends = [
            asyncio.ensure_future(alice.call("POST", "/message/edit", json={
                "channel_id": channel, "contents": f"post {key}", "client_msg_id": key}))
            for key in keys
        ]
        await asyncio.wait_for(started.wait(), 30)
        await writes.stop()  # what the server's shutdown does, while that batch is under way
        answers = await asyncio.gather(*sends)
        statuses = {answer.status_code for answer in answers}
        assert statuses <= {200, 503}, [answer.text for answer in answers if answer.status_code not in (200, 503)]
        acknowledged = {key for key, answer in zip(keys, answers) if answer.status_code == 200}
        assert acknowledged, "the batch under way at shutdown finished and was answered"
        async with chat.core.reading() as conn:
            rows = await conn.execute(text("SELECT client_msg_id FROM messages WHERE client_msg_id IS NOT NULL"))
            stored = {row[0] for row in rows}
        assert stored == acknowledged


async def test_a_batch_locks_its_channels_in_id_order_before_its_first_action(
    postgres_url: str, tmp_path: Path
) -> None:
    """Two nodes' batches naming the same channels in opposite orders must not wait on each other in a
    cycle (PostgreSQL would abort one as a deadlock after a second): each batch locks the channels its
    actions name, lowest id first, before any action runs."""
    async with Harness.running(make_settings(postgres_url, tmp_path)) as chat:
        (alice,) = await chat.users("alice")
        org = await org_with(alice)
        low, high = sorted([int((await alice.post("/channel/edit", organisation_id=org, name=n))["id"]) for n in "ab"])
        engine = chat.core.db.engine
        async with engine.connect() as other, engine.connect() as probe:
            held = await other.begin()
            await other.execute(text("SELECT id FROM channels WHERE id = :id FOR UPDATE"), {"id": high})

            async def action(tx: object) -> str:
                return "done"

            # one batch: the action naming the higher id comes first
            batch = asyncio.gather(
                chat.core.writes.run(action, channels=[high]), chat.core.writes.run(action, channels=[low])
            )
            for _ in range(1000):  # until the batch waits for ``high``, which it asks for only after ``low``
                waiting = (await probe.execute(text(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'"
                ))).scalar_one()
                await probe.rollback()
                if waiting:
                    break
                await asyncio.sleep(0.01)  # polling pg_locks (a condition), at most 1000 times
            else:
                raise AssertionError("the batch never waited for the held channel")
            with pytest.raises(DBAPIError) as refused:
                await probe.execute(text("SELECT id FROM channels WHERE id = :id FOR UPDATE NOWAIT"), {"id": low})
            assert "55P03" in str(getattr(refused.value.orig, "sqlstate", "")) or "lock" in str(refused.value)
            await probe.rollback()
            await held.rollback()
            assert list(await asyncio.wait_for(batch, 30)) == ["done", "done"]  # gather's list, typed a tuple


async def test_two_nodes_posting_into_the_same_channels_at_once_keep_each_log_gap_free(
    nodes: tuple[LiveServer, LiveServer],
) -> None:
    """Each node groups its posts; their batches name the same two channels at once. Every post is
    acknowledged, each channel's log is gap-free, and its messages' ids sort like their seqs."""
    a, b = nodes
    world = await World.make(a)
    plan = [(node, channel) for _ in range(15) for node in (a, b) for channel in ("general", "open")]
    posted = await asyncio.gather(*(world.post(node, channel, f"post {n}") for n, (node, channel) in enumerate(plan)))
    assert len(set(posted)) == len(plan)
    async with a.app.state.core.reading() as conn:
        for name in ("general", "open"):
            log = await event_log.since(conn, int(world.channels[name]), 0, 1000)
            assert [e.seq for e in log] == list(range(1, len(log) + 1))
            created = [int(e.data["id"]) for e in log if (e.type, e.event) == ("message", "CREATED")]
            assert created == sorted(created)
            assert len([n for n, (_, channel) in enumerate(plan) if channel == name]) == len(
                set(created) & {int(p) for p in posted})
