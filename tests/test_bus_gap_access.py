"""After a bus gap, a node re-reads access from the store before it delivers anything more (issue 13).

Two chatd nodes share a real PostgreSQL and a real redis-server. While Redis is down, node A removes a
member, blocks a user, revokes a token or makes a channel private; node B, holding the affected user's
socket, cannot hear of it. Once Redis is back, B must act on what the store says before delivering more:
the removed user's channel goes (``channel HIDDEN``) and nothing of it follows, the blocked or revoked
socket is closed with 4401.

"Nothing of it follows" is proven with a sentinel: after B has acted, posts go to the lost channel on both
nodes, then a marker to a channel the user still reads, on both nodes; the user's socket receives the
markers, and nothing of the lost channel came before them (a socket's frames arrive in the order they were
routed, so anything leaked would have come first).
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from harness import (
    Frames,
    LiveServer,
    Person,
    RedisServer,
    Socket,
    World,
    error_of,
    has_messages,
    hidden,
    read_until,
    read_until_closed,
)

pytestmark = pytest.mark.slow  # two nodes and Redis outages (a cluster)


async def outage(redis: RedisServer) -> None:
    await asyncio.to_thread(redis.kill)


async def recovered(redis: RedisServer) -> None:
    await asyncio.to_thread(redis.start)


async def prove_nothing_more(world: World, sock: Socket, lost: str, nodes: tuple[LiveServer, LiveServer]) -> Frames:
    """Post to the lost channel on both nodes, then markers to ``general`` on both; return what the socket
    got up to the markers, having checked that nothing of the lost channel is among it."""
    for node in nodes:
        await world.post(node, lost, f"after the outage, on node {node.settings.server.node_id}")
    markers = [await world.post(node, "general", f"marker {node.settings.server.node_id}") for node in nodes]
    frames = await read_until(sock, has_messages(*markers))
    leaked = [f for f in frames if f.get("channel_id") == world.channels[lost]]
    assert leaked == [], f"{lost} leaked after the outage: {leaked}"
    return frames


async def test_a_member_removed_during_an_outage_sees_nothing_more(
    nodes: tuple[LiveServer, LiveServer], redis_server: RedisServer
) -> None:
    a, b = nodes
    world = await World.make(a)
    secret = world.channels["secret"]
    async with world.bob.socket(server=b) as bobs, world.carol.socket(server=b) as carols:
        assert secret in {c["id"] for c in bobs.ready["data"]["channels"]}
        await outage(redis_server)
        await world.alice.post("/channel/members/remove", id=secret, user_ids=[world.bob.id])
        await world.alice.post("/channel/members/add", id=secret, user_ids=[world.carol.id])
        during = await world.post(a, "secret", "said while redis was down, after bob left")
        await recovered(redis_server)

        before = await read_until(bobs, hidden(secret))
        assert [f for f in before if f.get("channel_id") == secret] == [
            {"type": "channel", "event": "HIDDEN", "channel_id": secret, "data": {}}
        ]
        after = await prove_nothing_more(world, bobs, "secret", nodes)
        assert during not in {f["data"].get("id") for f in before + after}

        # Carol, added meanwhile, is told the channel appeared, and gets what follows its snapshot seq.
        frames = await read_until(carols, lambda fs: any(f.get("event") == "VISIBLE" for f in fs))
        visible = next(f for f in frames if f.get("event") == "VISIBLE")
        assert visible["channel_id"] == secret and visible["data"]["member"] is True
        seen = await read_until(carols, lambda fs: sum(f.get("channel_id") == secret for f in fs) >= 2)
        seqs = [f["seq"] for f in seen if f.get("channel_id") == secret]
        assert seqs == [visible["data"]["seq"] + 1, visible["data"]["seq"] + 2]


async def test_a_user_blocked_during_an_outage_is_closed(
    nodes: tuple[LiveServer, LiveServer], redis_server: RedisServer
) -> None:
    a, b = nodes
    world = await World.make(a)
    async with world.bob.socket(server=b) as bobs:
        await world.bob.get("/user/read", id=world.bob.id)  # bob's session is now in node A's cache …
        async with httpx.AsyncClient(base_url=b.http, headers={"X-Session-ID": world.bob.secret}) as on_b:
            assert (await on_b.get("/user/read", params={"id": world.bob.id})).status_code == 200  # … and B's
            await outage(redis_server)
            async with httpx.AsyncClient(base_url=a.http, headers={"X-Session-ID": world.alice.secret}) as admin:
                blocked = await admin.patch(f"/api/users/{world.bob.id}", json={"status": "BLOCKED"})
                assert blocked.status_code == 200, blocked.text
            during = await world.post(a, "general", "said while redis was down, after bob was blocked")
            await recovered(redis_server)

            code, frames = await read_until_closed(bobs)
            assert code == 4401
            assert during not in {f.get("data", {}).get("id") for f in frames}
            error_of(await on_b.get("/user/read", params={"id": world.bob.id}), 401, "bad_credentials")  # not active


async def test_a_token_revoked_during_an_outage_closes_its_socket(
    nodes: tuple[LiveServer, LiveServer], redis_server: RedisServer
) -> None:
    a, b = nodes
    world = await World.make(a)
    token = await world.bob.post("/user/tokens/create", label="bot")
    as_bot = Person(b, "bob", world.bob.id, token["token"])
    async with as_bot.socket() as bots, world.bob.socket(server=b) as sessions:
        await outage(redis_server)
        await world.bob.post("/user/tokens/revoke", id=token["id"])
        during = await world.post(a, "general", "said while redis was down, after the token was revoked")
        await recovered(redis_server)

        code, frames = await read_until_closed(bots)
        assert code == 4401
        assert during not in {f.get("data", {}).get("id") for f in frames}
        # The session is another credential of the same user: it stays, and gets what was missed.
        assert has_messages(during)(await read_until(sessions, has_messages(during)))


async def test_a_channel_made_private_during_an_outage_is_hidden_from_non_members(
    nodes: tuple[LiveServer, LiveServer], redis_server: RedisServer
) -> None:
    a, b = nodes
    world = await World.make(a)
    open_ = world.channels["open"]
    async with world.carol.socket(server=b) as carols:
        assert open_ in {c["id"] for c in carols.ready["data"]["channels"]}  # public: carol reads it
        await outage(redis_server)
        async with httpx.AsyncClient(base_url=a.http, headers={"X-Session-ID": world.alice.secret}) as owner:
            changed = await owner.patch(f"/api/group-chats/{open_}", json={"isPrivate": True})
            assert changed.status_code == 200, changed.text
        await world.post(a, "open", "said while redis was down, once private")
        await recovered(redis_server)

        before = await read_until(carols, hidden(open_))
        assert [f for f in before if f.get("channel_id") == open_] == [
            {"type": "channel", "event": "HIDDEN", "channel_id": open_, "data": {}}
        ]
        await prove_nothing_more(world, carols, "open", nodes)
