"""chatd.client against a real server: events, calls, reconnect and resume across restarts; ``chatd tail``."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from chatd.core.assembly import build_core
from chatd.client import AuthError, ChatClient, ChatError, EventStream
from chatd.core import auth, messages
from harness import LiveServer, Person, drain_stream, live, make_settings, team, wait_until

pytestmark = pytest.mark.slow_on_postgresql  # a face or transport suite: SQLite every day, both in CI

Stream = EventStream


def fast(url: str, token: str) -> ChatClient:
    """A client that reconnects quickly (tests restart servers and close connections)."""
    return ChatClient(url, token, backoff_initial=0.05, backoff_max=0.5)


async def general(server: LiveServer) -> tuple[Person, Person, str]:
    (alice, bob), org = await team(server, "alice", "bob")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
    return alice, bob, cid


async def next_messages(stream: Stream, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The next ``count`` message events (other frames skipped)."""
    found: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while len(found) < count:
            frame = await anext(stream)
            if frame["type"] == "message":
                found.append(frame)
    return found


async def rest(stream: Stream, server: LiveServer, reader: Person) -> list[dict[str, Any]]:
    """The message events still on their way to ``reader``'s client (connected to ``server``): there should be
    none left. Proved with a marker sent after them, not by waiting."""
    return [f for f in await drain_stream(stream, server, reader.id) if f["type"] == "message"]


def contents(frames: list[dict[str, Any]]) -> list[str]:
    return [f["data"]["contents"] for f in frames]


def consecutive(frames: list[dict[str, Any]]) -> bool:
    seqs = [f["seq"] for f in frames]
    return seqs == list(range(seqs[0], seqs[0] + len(seqs)))


async def test_client_receives_messages_posted_over_http(server: LiveServer) -> None:
    alice, bob, cid = await general(server)
    async with ChatClient(server.http, bob.secret) as client:
        stream = client.events()
        ready = await anext(stream)
        assert ready["type"] == "ready" and ready["data"]["user"]["id"] == bob.id
        start = client.seqs[cid]
        posted = [await alice.post("/message/edit", channel_id=cid, contents=f"m{i}") for i in range(3)]
        frames = await next_messages(stream, 3)
        assert [f["data"]["id"] for f in frames] == [p["id"] for p in posted]
        assert [f["seq"] for f in frames] == [start + 1, start + 2, start + 3] and client.seqs[cid] == start + 3
        assert (await client.post("/message/edit", channel_id=cid, contents="via http"))["user_id"] == bob.id
        assert contents(await next_messages(stream, 1)) == ["via http"]
        assert await client.ping() >= 0


async def test_send_message_is_acked_and_idempotent(server: LiveServer) -> None:
    alice, bob, cid = await general(server)
    async with ChatClient(server.http, alice.secret) as sender, ChatClient(server.http, bob.secret) as reader:
        stream = reader.events()
        first = await sender.send_message(cid, "once", client_msg_id="k1")
        again = await sender.send_message(cid, "once", client_msg_id="k1")
        assert again["id"] == first["id"] and first["contents"] == "once" and first["user_id"] == alice.id
        other = await sender.send_message(cid, "twice")  # a generated key: a new message
        assert other["id"] != first["id"]
        assert [f["data"]["id"] for f in await next_messages(stream, 2)] == [first["id"], other["id"]]
        assert await rest(stream, server, bob) == []
        edited = await sender.edit_message(first["id"], "once more")
        assert edited["edited"] and (await next_messages(stream, 1))[0]["event"] == "EDITED"
        page = await reader.history(cid, limit=10)
        assert {first["id"], other["id"]} <= {m["id"] for m in page["items"]}
        assert (await reader.mark_read(cid))["unread"] == 0
        await sender.remove_message(other["id"])
        assert (await next_messages(stream, 1))[0]["event"] == "REMOVED"


async def test_error_frames_raise_chat_error(server: LiveServer) -> None:
    alice, bob, cid = await general(server)
    posted = await alice.post("/message/edit", channel_id=cid, contents="alice's")
    async with ChatClient(server.http, bob.secret) as client:
        with pytest.raises(ChatError) as empty:
            await client.send_message(cid, "   ")
        assert empty.value.code == "invalid" and empty.value.fields == {"contents": "must not be empty"}
        with pytest.raises(ChatError) as forbidden:
            await client.edit_message(posted["id"], "mine now")
        assert forbidden.value.code == "forbidden"
        with pytest.raises(ChatError) as missing:
            await client.post("/message/edit", channel_id="123", contents="x")
        assert missing.value.code == "not_found"
        assert await client.ping() >= 0  # still connected


async def test_bad_token_raises_the_auth_error(server: LiveServer) -> None:
    with pytest.raises(AuthError):
        async with ChatClient(server.http, "not-a-token"):
            pass
    client = ChatClient(server.http, "not-a-token")
    with pytest.raises(AuthError):
        await client.get("/user/tokens")
    await client.close()


async def test_revoked_credentials_stop_the_reconnects(server: LiveServer) -> None:
    alice, bob, cid = await general(server)
    token = (await bob.post("/user/tokens/create", label="bot"))
    async with fast(server.http, token["token"]) as client:
        stream = client.events()
        await bob.post("/user/tokens/revoke", id=token["id"])
        for conn in list(server.app.state.hub.connections()):
            conn.close(4408, "too slow: reconnect and resume")
        with pytest.raises(AuthError):
            await next_messages(stream, 1)
        with pytest.raises(AuthError):
            await client.ping()


async def test_slow_consumer_close_resumes_without_loss(server: LiveServer) -> None:
    alice, bob, cid = await general(server)
    async with fast(server.http, bob.secret) as client:
        stream = client.events()
        before = await alice.post("/message/edit", channel_id=cid, contents="before")
        assert (await next_messages(stream, 1))[0]["data"]["id"] == before["id"]
        for conn in list(server.app.state.hub.connections()):
            conn.close(4408, "too slow: reconnect and resume")
        for i in range(5):
            await alice.post("/message/edit", channel_id=cid, contents=f"during{i}")
        frames = await next_messages(stream, 5)
        assert contents(frames) == [f"during{i}" for i in range(5)] and consecutive(frames)
        assert await rest(stream, server, bob) == [] and client.reconnects >= 1
        assert (await client.send_message(cid, "back"))["contents"] == "back"


async def test_client_survives_a_server_restart(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path)
    first = LiveServer(settings)
    await first.start()
    second: LiveServer | None = None
    try:
        alice, bob, cid = await general(first)
        async with fast(first.http, bob.secret) as client:
            stream = client.events()
            for i in range(3):
                await alice.post("/message/edit", channel_id=cid, contents=f"before{i}")
            seen = await next_messages(stream, 3)
            await first.stop()
            core = build_core(settings)  # while no server runs: straight into the store
            try:
                principal = await auth.authenticate(core, alice.secret)
                for i in range(4):
                    await messages.do_post_message(core, principal, int(cid), f"down{i}")
            finally:
                await core.close()
            second = LiveServer(settings, port=first.port)
            await second.start()
            for i in range(3):
                await alice.post("/message/edit", channel_id=cid, contents=f"after{i}", server=second)
            seen += await next_messages(stream, 7)
            expected = [f"before{i}" for i in range(3)] + [f"down{i}" for i in range(4)] + [f"after{i}" for i in range(3)]
            assert contents(seen) == expected and consecutive(seen)
            assert await rest(stream, second, bob) == []
            assert client.reconnects >= 1 and client.seqs[cid] == seen[-1]["seq"]
            sent = await client.send_message(cid, "hello again")
            assert sent["contents"] == "hello again"
            assert contents(await next_messages(stream, 1)) == ["hello again"]
    finally:
        if second is not None:
            await second.stop()
        await first.stop()


def test_frames_at_or_below_the_remembered_seq_are_dropped() -> None:
    client = ChatClient("http://127.0.0.1:1", "t")
    for seq in (5, 6, 6, 4, 7):
        client._route({"type": "message", "event": "CREATED", "channel_id": "1", "seq": seq, "data": {}})
    client._route({"type": "typing", "event": "STARTED", "channel_id": "1", "data": {}})
    passed = [client._queue.get_nowait() for _ in range(client._queue.qsize())]
    assert [f.get("seq") for f in passed] == [5, 6, 7, None] and client.seqs == {"1": 7}
    client._resume_ref = "r"
    client._route({"type": "replay_done", "ref": "r", "data": {"replayed": {}, "seqs": {}, "lost": ["1"], "resync": []}})
    assert client.seqs == {}


# -- chatd tail --------------------------------------------------------------------------------------------


@pytest.fixture
async def sqlite_server(sqlite_url: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with live(make_settings(sqlite_url, tmp_path)) as running:
        yield running


async def chatd(*args: str, token: str | None = None) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATD_")}
    if token is not None:
        env["CHATD_TOKEN"] = token
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chatd", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def finished(process: asyncio.subprocess.Process) -> tuple[int, str]:
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, err.decode()


@pytest.mark.slow  # three chatd processes
async def test_chatd_tail_prints_posted_messages(sqlite_server: LiveServer) -> None:
    server = sqlite_server
    alice, bob, cid = await general(server)
    hub = server.app.state.hub
    tail = await chatd("tail", "general", "--url", server.http, token=bob.secret)
    bad_token = await chatd("tail", cid, "--url", server.http, "--token", "nope")
    no_such = await chatd("tail", "random", "--url", server.http, token=bob.secret)
    try:
        # Subscribed, not only registered: a message committed before tail's snapshot is history, not news,
        # and tail prints news only.
        await wait_until(
            lambda: any(c.user_id == int(bob.id) for c in hub.by_channel.get(int(cid), ())), 30, "chatd tail to subscribe"
        )
        posted = await alice.post("/message/edit", channel_id=cid, contents="hello\nworld")
        await alice.post("/message/edit", id=posted["id"], contents="hello again")
        assert tail.stdout is not None
        created = (await asyncio.wait_for(tail.stdout.readline(), 10)).decode()
        edited = (await asyncio.wait_for(tail.stdout.readline(), 10)).decode()
        assert created.endswith(f" <{alice.id}> hello world\n") and created[2] == created[5] == ":"
        assert edited.endswith(f" <{alice.id}> hello again (edited)\n")
    finally:
        tail.terminate()
        await tail.wait()
    code, err = await finished(bad_token)
    assert code == 1 and err.count("\n") == 1 and "authentication failed" in err
    code, err = await finished(no_such)
    assert code == 2 and "random" in err
