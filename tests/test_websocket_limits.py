"""Websocket promises under stress: long resumes, restarts, slow consumers, frame and rate limits, liveness."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from chatd.core import messages
from chatd.core.auth import authenticate
from chatd.core.clock import FakeClock
from chatd.realtime.presence import PresenceBook
from chatd.realtime.rate import TokenBucket
from harness import LiveServer, Person, Socket, live, make_settings, wait_until
from harness import team as live_team

pytestmark = pytest.mark.slow_on_postgresql  # a face or transport suite: SQLite every day, both in CI


async def team(server: LiveServer, *names: str) -> tuple[list[Person], str]:
    """Like ``live.team``, but answers the id of a channel ``general`` everyone is in."""
    people, org = await live_team(server, *names)
    cid = (await people[0].post("/channel/edit", organisation_id=org, name="general", members=[p.id for p in people[1:]]))["id"]
    return people, cid


async def replay(sock: Socket, cid: str, last: int) -> list[dict[str, Any]]:
    await sock.send({"type": "resume", "ref": "r", "channels": {cid: last}})
    frames = []
    while (frame := await sock.recv())["type"] != "replay_done":
        if frame["type"] not in ("presence", "typing"):
            frames.append(frame)
    return frames


@pytest.mark.slow  # a thousand changes
async def test_resume_after_a_thousand_changes_and_a_restart(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path)
    async with live(settings) as server:
        (alice, bob), cid = await team(server, "alice", "bob")
        async with bob.socket() as sock:
            last = next(c["seq"] for c in sock.ready["data"]["channels"] if c["id"] == cid)
        # The changes go straight to the core (the HTTP path is covered elsewhere) to keep this test quick.
        core, who = server.core, await authenticate(server.core, alice.secret, "")
        expected: list[tuple[str, str]] = []
        for i in range(1000):
            posted = (await messages.do_post_message(core, who, int(cid), f"m{i}")).message.id
            expected.append(("CREATED", str(posted)))
            if i % 10 == 0:
                await messages.do_edit_message(core, who, posted, f"m{i} edited")
                expected.append(("EDITED", str(posted)))
            if i % 25 == 0:
                await messages.do_remove_message(core, who, posted)
                expected.append(("REMOVED", str(posted)))
        async with bob.socket("resume=1") as sock:
            frames = await replay(sock, cid, last)
        assert [f["seq"] for f in frames] == list(range(last + 1, last + 1 + len(expected)))
        assert [(f["event"], f["data"]["id"]) for f in frames] == expected
        port = server.port
    # the same after a restart: a new process on the same database resumes from the store
    async with live(settings, port) as server:
        bob = await server.login("bob")
        async with bob.socket("resume=1") as sock:
            again = await replay(sock, cid, last + 500)
        assert [f["seq"] for f in again] == [f["seq"] for f in frames][500:]


@pytest.mark.slow  # a flood of 30 kB messages
async def test_slow_consumer_is_closed_and_loses_nothing_on_resume(database_url: str, tmp_path: Path) -> None:
    """A client that stops reading is cut off (4408) while the others keep receiving on time; resuming from
    the last seq it saw, it has every message exactly once, in order."""
    # The slow client reads nothing for a while, so it answers no pings: keepalive (tested on its own below)
    # must not close it (1011) before its queue does (4408) when a loaded machine makes the posts slow.
    settings = make_settings(database_url, tmp_path, websocket={"queue_size": 20, "ping_interval_seconds": 600})
    async with live(settings, send_buffer=8192) as server:
        (alice, bob, carol), cid = await team(server, "alice", "bob", "carol")
        hub = server.app.state.hub
        big = "x" * 30_000
        async with carol.socket() as fast:
            raw = socket.socket()
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)  # no kernel autotuning to hide the backlog
            raw.connect(("127.0.0.1", server.port))
            # No client keepalive either: the server's pong would queue behind the unread backlog.
            headers = {"X-Session-ID": bob.secret}
            slow = Socket(await connect(server.ws, additional_headers=headers, max_queue=1, sock=raw, ping_interval=None))
            ready = await slow.expect("ready")
            start = next(c["seq"] for c in ready["data"]["channels"] if c["id"] == cid)
            sent: list[str] = []
            while any(c.closing is None for c in hub.by_user.get(int(bob.id), ())):  # until the server cuts it off
                assert len(sent) < 300, "a client that reads nothing was never cut off"
                sent.append((await alice.post("/message/edit", channel_id=cid, contents=f"{len(sent)} {big}"))["id"])
                frame = await fast.expect("message", event="CREATED")  # the others keep receiving on time
                assert frame["data"]["id"] == sent[-1]
            received: list[dict[str, Any]] = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    frame = await slow.recv(timeout=10)
                    if frame["type"] not in ("presence", "typing"):
                        received.append(frame)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408
            assert len(received) < len(sent)
        last = received[-1]["seq"] if received else start
        async with bob.socket("resume=1") as sock:
            replayed = await replay(sock, cid, last)
        frames = received + replayed
        assert [(f["type"], f["event"], f["data"]["id"]) for f in frames] == [("message", "CREATED", i) for i in sent]
        assert [f["seq"] for f in frames] == list(range(start + 1, start + 1 + len(sent)))


async def test_frame_size_and_rate_limits(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, websocket={"rate_limit_per_second": 5.0, "rate_limit_burst": 5})
    async with live(settings) as server:
        (alice,), _ = await team(server, "alice")
        async with alice.socket() as sock:
            await sock.ws.send('{"type": "ping", "pad": "%s"}' % ("x" * 70_000))
            assert await sock.closed() == 1009
        async with alice.socket() as sock:
            for _ in range(8):
                await sock.send({"type": "ping"})
            frames = [await sock.recv() for _ in range(8)]
            codes = [f.get("error", {}).get("code") for f in frames if f["type"] == "error"]
            assert "rate_limited" in codes
            with contextlib.suppress(ConnectionClosed):  # the close may come while still sending
                for _ in range(40):
                    await sock.send({"type": "ping"})
            assert await sock.closed() == 4429


async def test_dead_connections_are_closed(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, websocket={"ping_interval_seconds": 0.3})
    async with live(settings) as server:
        (alice,), _ = await team(server, "alice")
        hub = server.app.state.hub
        silent = await connect(server.ws, additional_headers={"X-Session-ID": alice.secret}, ping_interval=None)
        silent.transport.pause_reading()  # a peer that went away without a word: it never answers pings
        await wait_until(lambda: not list(hub.connections()), what="the silent connection to be closed")
        silent.transport.abort()


def test_the_rate_limit_refills_as_the_clock_moves() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take() == pytest.approx(0.5) and bucket.strikes == 1
    clock.advance(0.5)
    assert bucket.take() == 0.0 and bucket.strikes == 0


def test_a_silent_node_is_forgotten_once_the_clock_passes_its_ttl() -> None:
    clock = FakeClock()
    book = PresenceBook(clock, ttl=60.0)
    assert book.record("node-b", 7, "online", {1})
    clock.advance(59)
    assert book.expire() == [] and book.overall(7) == "online"
    clock.advance(2)
    assert book.expire() == [7] and book.overall(7) == "offline"
