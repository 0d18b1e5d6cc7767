"""Node id leases (PostgreSQL): a node mints ids only while it holds the lease on its node id; one that cannot
renew refuses writes with 503 rather than risk minting ids another node mints too (docs/security.md)."""

from __future__ import annotations

import logging

import pytest
from harness import Actor, Harness
from sqlalchemy import func, select, update

from chatd.core.node_ids import LEASE_MS, SAFETY_MS, NodeLease
from chatd.store.tables import messages, node_leases


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


async def test_a_node_whose_lease_lapses_refuses_writes_until_it_renews(chat: Harness) -> None:
    alice = await chat.user("alice")
    cid = await _channel(alice)
    first = await alice.post("/message/edit", channel_id=cid, contents="before")
    assert _node_of(first["id"]) == _lease(chat).node_id
    chat.clock.advance((LEASE_MS - SAFETY_MS) / 1000)  # no renewal got through for this long
    before = await _stored_messages(chat)
    refused = await alice.post("/message/edit", channel_id=cid, contents="lapsed", expect=503)
    assert refused["error"]["code"] == "node_id_lapsed"
    assert await _stored_messages(chat) == before
    assert "before" in [m["contents"] for m in (await alice.get("/message/read", channel_id=cid))["items"]]  # reads go on
    assert await _lease(chat).renew()
    await alice.post("/message/edit", channel_id=cid, contents="after")


async def test_a_node_whose_id_was_taken_meanwhile_leases_another(chat: Harness, caplog: pytest.LogCaptureFixture) -> None:
    alice = await chat.user("alice")
    cid = await _channel(alice)
    lease = _lease(chat)
    old = lease.node_id
    async with chat.core.db.write() as conn:  # it lapsed, and another node took the id
        await conn.execute(update(node_leases).where(node_leases.c.node_id == old).values(holder="another-node"))
    with caplog.at_level(logging.ERROR, logger="chatd.nodes"):
        assert await lease.renew()
    assert "another node holds node id" in caplog.text
    assert lease.node_id != old
    posted = await alice.post("/message/edit", channel_id=cid, contents="hello")
    assert _node_of(posted["id"]) == lease.node_id


async def test_a_node_whose_configured_id_is_held_elsewhere_keeps_refusing(chat: Harness) -> None:
    alice = await chat.user("alice")
    cid = await _channel(alice)
    lease = _lease(chat)
    chat.core.settings.server.node_id = lease.node_id  # configured explicitly, so no other id will do
    async with chat.core.db.write() as conn:
        await conn.execute(
            update(node_leases)
            .where(node_leases.c.node_id == lease.node_id)
            .values(holder="another-node", expires_at=chat.clock.now_ms() + LEASE_MS)
        )
    assert not await lease.renew()
    refused = await alice.post("/message/edit", channel_id=cid, contents="no", expect=503)
    assert refused["error"]["code"] == "node_id_lapsed"
    async with chat.core.db.write() as conn:  # the other node stops and its lease expires
        await conn.execute(update(node_leases).values(expires_at=0))
    assert await lease.renew()
    await alice.post("/message/edit", channel_id=cid, contents="yes")
