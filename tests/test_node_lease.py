"""Node id leases (PostgreSQL): a node mints ids only while it holds the lease on its node id; one that cannot
renew refuses writes with 503 rather than risk minting ids another node mints too (docs/security.md)."""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator

import pytest
from harness import Actor, Harness
from sqlalchemy import func, select

from chatd.core.assembly import build_core
from chatd.core.node_ids import LEASE_MS, NodeLease
from chatd.store import node_leases as node_leases_store
from chatd.store.tables import messages


@pytest.fixture
def backend() -> str:
    """Leases exist only where several nodes share a store."""
    return "postgresql"


async def _channel(alice: Actor) -> str:
    org = (await alice.post("/organisation/edit", name="Acme"))["id"]
    return str((await alice.post("/channel/edit", organisation_id=org, name="general"))["id"])


async def _stored_messages(chat: Harness) -> int:
    async with chat.core.reading() as conn:
        return int((await conn.execute(select(func.count()).select_from(messages))).scalar_one())


def _lease(chat: Harness) -> NodeLease:
    return chat.app.state.lease  # type: ignore[no-any-return]


def _node_of(message_id: str) -> int:
    return (int(message_id) >> 12) & 0x3FF


async def test_a_node_that_cannot_renew_stops_minting_when_its_lease_runs_out(
    chat: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await chat.user("alice")
    cid = await _channel(alice)
    lease = _lease(chat)
    first = await alice.post("/message/edit", channel_id=cid, contents="before")
    assert _node_of(first["id"]) == lease.node_id

    async def unreachable(*_args: object) -> bool:
        raise ConnectionRefusedError("the database is unreachable")

    monkeypatch.setattr(node_leases_store, "renew", unreachable)
    assert not await lease.renew()
    await alice.post("/message/edit", channel_id=cid, contents="the lease still runs")
    chat.core.ids.valid_until = time.monotonic()  # as LEASE_MS - SAFETY_MS of failed renewals would leave it
    before = await _stored_messages(chat)
    refused = await alice.post("/message/edit", channel_id=cid, contents="lapsed", expect=503)
    assert refused["error"]["code"] == "unavailable" and refused["error"]["message"].startswith("this node cannot write")
    assert await _stored_messages(chat) == before
    assert "before" in [m["contents"] for m in (await alice.get("/message/read", channel_id=cid))["items"]]
    monkeypatch.undo()
    assert await lease.renew()
    await alice.post("/message/edit", channel_id=cid, contents="after")


@asynccontextmanager
async def _second_node(chat: Harness, node_id: int) -> AsyncIterator[NodeLease]:
    """Another node on the same database, configured with ``node_id``."""
    settings = chat.settings.model_copy(deep=True)
    settings.server.node_id = node_id
    core = build_core(settings, chat.clock)
    try:
        other = NodeLease(core)
        await other.claim()
        yield other
        await other.release()
    finally:
        await core.close()


async def test_a_node_whose_lapsed_id_another_node_took_leases_another(chat: Harness, caplog: pytest.LogCaptureFixture) -> None:
    alice = await chat.user("alice")
    cid = await _channel(alice)
    lease = _lease(chat)
    old = lease.node_id
    assert old is not None
    chat.clock.advance(LEASE_MS / 1000 + 1)  # the lease expired in the database (no renewal for so long)
    async with _second_node(chat, old) as other:
        assert other.node_id == old
        with caplog.at_level(logging.ERROR, logger="chatd.nodes"):
            assert await lease.renew()
        assert "another node holds node id" in caplog.text
        assert lease.node_id not in (None, old)
        posted = await alice.post("/message/edit", channel_id=cid, contents="hello")
        assert _node_of(posted["id"]) == lease.node_id


async def test_a_node_whose_configured_id_is_held_elsewhere_refuses_writes_until_it_is_free(chat: Harness) -> None:
    alice = await chat.user("alice")
    cid = await _channel(alice)
    lease = _lease(chat)
    assert lease.node_id is not None
    chat.core.settings.server.node_id = lease.node_id  # configured explicitly, so no other id will do
    chat.clock.advance(LEASE_MS / 1000 + 1)
    async with _second_node(chat, lease.node_id):
        assert not await lease.renew()
        refused = await alice.post("/message/edit", channel_id=cid, contents="no", expect=503)
        assert refused["error"]["code"] == "unavailable"
        assert not await lease.renew()
    assert await lease.renew()  # the other node stopped and released it
    await alice.post("/message/edit", channel_id=cid, contents="yes")
