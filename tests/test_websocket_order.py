"""Order on one socket: the answer to a request comes before every event that request caused
(docs/websocket.md §2, "Answers")."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from harness import LiveServer, Person, RedisServer, Socket, live, make_settings, team

pytestmark = pytest.mark.slow_on_postgresql  # a face or transport suite: SQLite every day, both in CI


async def _acks_and_own_events(sock: Socket, me: Person, count: int) -> tuple[dict[str, tuple[int, str]], dict[str, int], list[int]]:
    """Read until ``count`` acks and ``count`` of my own message events arrived: (ref → (position, message
    id)), (message id → position of its event), and the seqs of every message event in arrival order."""
    acks: dict[str, tuple[int, str]] = {}
    own: dict[str, int] = {}
    seqs: list[int] = []
    position = 0
    while len(acks) < count or len(own) < count:
        frame = await sock.recv(timeout=30)
        position += 1
        if frame["type"] == "ack":
            acks[frame["ref"]] = (position, frame["data"]["id"])
        elif frame["type"] == "message" and frame["event"] == "CREATED":
            seqs.append(frame["seq"])
            if frame["data"]["user_id"] == me.id:
                own[frame["data"]["id"]] = position
        else:
            assert frame["type"] in ("presence", "typing"), frame
    return acks, own, seqs


async def test_every_ack_comes_before_the_event_of_its_own_send(server: LiveServer) -> None:
    await _many_senders(server)


async def test_every_ack_comes_first_when_frames_go_through_asgi(database_url: str, tmp_path: Path) -> None:
    """With per-message compression a frame is compressed for each socket, so frames go through ASGI one at
    a time instead of as built, straight to the socket (chatd/realtime/wire.py): the same order holds."""
    async with live(make_settings(database_url, tmp_path, websocket={"compression": True})) as server:
        await _many_senders(server, through_asgi=True)


@pytest.mark.parametrize("backend", ["postgresql"])  # where the in-process bus alone would not show it
async def test_every_ack_comes_first_with_the_redis_bus_too(
    database_url: str, tmp_path: Path, redis_server: RedisServer
) -> None:
    """The Redis bus delivers locally, then waits for Redis: the writer runs before the sender's handler.
    (On SQLite, group commit does the same with either bus.)"""
    async with live(make_settings(database_url, tmp_path, bus={"url": redis_server.url})) as server:
        await _many_senders(server)


async def _many_senders(server: LiveServer, through_asgi: bool = False) -> None:
    """Many sends from one socket, pipelined, while others send over HTTP and over their own socket."""
    (alice, bob, carol), org = await team(server, "alice", "bob", "carol")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id, carol.id]))["id"]
    mine, theirs = 40, 15
    # Frames the test leaves unread must not pause the clients' reading, or their close handshakes wait: a
    # queue far longer than this test fills (an unbounded one, None, is refused by websockets 13 and 14).
    async with alice.socket(max_queue=10_000) as a, carol.socket(max_queue=10_000) as c:
        paths = {conn.wire is None for conn in server.app.state.hub.connections()}
        assert paths == {through_asgi}  # the path this test is about is the one taken

        async def others() -> None:
            for n in range(theirs):
                await c.send({"type": "message.send", "ref": f"c{n}", "channel_id": cid, "contents": f"carol {n}"})
                await bob.post("/message/edit", channel_id=cid, contents=f"bob {n}")

        other = asyncio.create_task(others())
        for n in range(mine):  # none waits for its ack
            await a.send({"type": "message.send", "ref": f"a{n}", "channel_id": cid, "contents": f"alice {n}"})
        await other
        for sock, me, count in ((a, alice, mine), (c, carol, theirs)):
            acks, own, seqs = await _acks_and_own_events(sock, me, count)
            late = [ref for ref, (at, message_id) in acks.items() if own[message_id] < at]
            assert late == [], f"{me.name}: events before their acks for {late}"
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # and every event once, in seq order
        # Alice's posts moved her marker to her newest; one of Bob's after them gives her read somewhere to go.
        await bob.post("/message/edit", channel_id=cid, contents="bob, last")
        await a.send({"type": "read", "ref": "read", "channel_id": cid})  # a user event: the same promise
        kinds = []
        while "read" not in kinds:
            frame = await a.recv()
            if frame.get("ref") == "read" or frame["type"] == "read":
                kinds.append(frame["type"])
        assert kinds == ["ack", "read"]
