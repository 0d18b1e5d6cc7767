"""The /websocket/client stream: auth, ready, pushes, client frames, resume, access, limits, liveness."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chatd.core import live as live_core
from chatd.realtime import session
from chatd.store.tables import channel_events
from harness import MARKER, LiveServer, Person, Socket, live, make_settings, team, wait_until

pytestmark = pytest.mark.slow_on_postgresql  # a face or transport suite: SQLite every day, both in CI


async def test_ready_lists_channels_with_seq_and_counts(server: LiveServer) -> None:
    (alice, bob), org = await team(server, "alice", "bob")
    channel = await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id])
    await alice.post("/message/edit", channel_id=channel["id"], contents="hi @bob")
    async with bob.socket() as sock:
        ready = sock.ready["data"]
        assert ready["user"]["id"] == bob.id
        [seen] = ready["channels"]
        assert seen["id"] == channel["id"] and seen["seq"] >= 3 and seen["mentions"] == 1
        assert seen["unread"] == 1  # "hi @bob"; the channel's CREATE notice is no unread message


async def test_ready_shows_each_channel_as_the_channel_read_does(server: LiveServer) -> None:
    """The snapshot is read in a way of its own (``store/snapshot.py``: one call to SQLite's thread); what it
    shows of each channel is what ``/channel/read`` shows: member or not, role, counts, marker, members."""
    (alice, bob, carol), org = await team(server, "alice", "bob", "carol")
    mine = await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id, carol.id])
    public = await alice.post("/channel/edit", organisation_id=org, name="lobby")  # bob reads it, not a member
    private = await alice.post("/channel/edit", organisation_id=org, name="plans", type="private", members=[bob.id])
    hidden = await alice.post("/channel/edit", organisation_id=org, name="secret", type="private")
    gone = await alice.post("/channel/edit", organisation_id=org, name="old", type="private", members=[bob.id])
    await alice.post("/channel/members/role", id=private["id"], user_id=bob.id, role="owner")
    for n in range(3):
        await alice.post("/message/edit", channel_id=mine["id"], contents=f"hi @bob {n}")
    await alice.post("/message/edit", channel_id=public["id"], contents="anyone?")
    await bob.post("/message/mark_read", channel_id=private["id"])
    await alice.post("/message/edit", channel_id=private["id"], contents="after bob read")
    await alice.delete("/channel/remove", id=gone["id"])
    async with bob.socket() as sock:
        ready = {c["id"]: c for c in sock.ready["data"]["channels"]}
    assert set(ready) == {mine["id"], public["id"], private["id"]} and hidden["id"] not in ready
    for cid, shown in ready.items():
        read = await bob.get("/channel/read", id=cid)
        assert {k: v for k, v in shown.items() if k != "seq"} == read, cid
    assert (ready[mine["id"]]["unread"], ready[mine["id"]]["mentions"], ready[mine["id"]]["member_count"]) == (3, 3, 3)
    assert ready[public["id"]]["role"] is None and ready[public["id"]]["unread"] is None
    assert ready[private["id"]]["role"] == "owner" and ready[private["id"]]["unread"] == 1


async def test_message_events_reach_members_live(server: LiveServer) -> None:
    (alice, bob), org = await team(server, "alice", "bob")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
    async with bob.socket() as sock:
        posted = await alice.post("/message/edit", channel_id=cid, contents="hello")
        created = await sock.expect("message", event="CREATED")
        assert created["data"]["id"] == posted["id"] and created["channel_id"] == cid
        await alice.post("/message/edit", id=posted["id"], contents="hello!")
        edited = await sock.expect("message", event="EDITED")
        assert edited["data"]["contents"] == "hello!" and edited["seq"] == created["seq"] + 1
        await alice.post("/message/react", id=posted["id"], emoji="👍")
        assert (await sock.expect("reaction", event="ADDED"))["data"]["count"] == 1


async def test_send_over_the_socket_is_acked_and_idempotent(server: LiveServer) -> None:
    (alice, bob), org = await team(server, "alice", "bob")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
    async with alice.socket() as a, bob.socket() as b:
        ack = await a.call("message.send", channel_id=cid, contents="over ws", client_msg_id="k1")
        assert ack["type"] == "ack" and ack["data"]["contents"] == "over ws"
        again = await a.call("message.send", channel_id=cid, contents="over ws", client_msg_id="k1")
        assert again["data"]["id"] == ack["data"]["id"]
        assert (await b.expect("message", event="CREATED"))["data"]["id"] == ack["data"]["id"]
        assert [f for f in await b.drain() if f["type"] == "message"] == []  # no duplicate
        error = await a.call("message.send", channel_id=cid, contents="   ")
        assert error["type"] == "error" and error["error"]["fields"] == {"contents": "must not be empty"}
        edit = await b.call("message.edit", id=ack["data"]["id"], contents="mine now")
        assert edit["type"] == "error" and edit["error"]["code"] == "forbidden"


async def test_bad_frames_get_error_frames_not_a_disconnect(server: LiveServer) -> None:
    (alice,), _ = await team(server, "alice")
    async with alice.socket() as sock:
        await sock.ws.send("{not json")
        assert (await sock.expect("error"))["error"]["code"] == "bad_json"
        await sock.send({"type": "dance", "ref": 7})
        frame = await sock.expect("error")
        assert frame["error"]["code"] == "unknown_type" and frame["ref"] == 7
        await sock.ws.send("[1, 2]")
        assert (await sock.expect("error"))["error"]["code"] == "bad_frame"
        assert (await sock.call("history", channel_id="x"))["error"]["code"] == "invalid"
        assert (await sock.call("ping"))["type"] == "pong"


async def test_credentials_are_required(server: LiveServer) -> None:
    with pytest.raises(InvalidStatus) as denied:
        async with connect(server.ws, additional_headers={"X-Session-ID": "nope"}):
            pass
    assert denied.value.response.status_code == 401
    async with connect(server.ws) as ws:  # no credentials: an auth frame must come, else 4401
        await ws.send('{"type": "auth", "token": "wrong"}')
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    (alice,), _ = await team(server, "alice")
    async with connect(server.ws) as ws:
        await ws.send('{"type": "auth", "token": "%s"}' % alice.secret)
        assert '"ready"' in await ws.recv()


async def test_origin_is_checked(server: LiveServer) -> None:
    (alice,), _ = await team(server, "alice")
    headers = {"X-Session-ID": alice.secret}
    with pytest.raises(InvalidStatus) as denied:
        async with connect(server.ws, additional_headers=headers, origin="http://evil.example"):  # type: ignore[arg-type]
            pass
    assert denied.value.response.status_code == 403
    async with connect(server.ws, additional_headers=headers, origin=f"http://127.0.0.1:{server.port}"):  # type: ignore[arg-type]
        pass


async def test_resume_replays_exactly_what_was_missed(server: LiveServer) -> None:
    await _resume_replays_exactly(server)


async def test_resume_replays_exactly_when_frames_go_through_asgi(database_url: str, tmp_path: Path) -> None:
    """Per-message compression: frames are compressed per socket and sent through ASGI (realtime/wire.py)."""
    async with live(make_settings(database_url, tmp_path, websocket={"compression": True})) as server:
        await _resume_replays_exactly(server)


async def _resume_replays_exactly(server: LiveServer) -> None:
    (alice, bob), org = await team(server, "alice", "bob")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
    async with bob.socket() as sock:
        last = next(c["seq"] for c in sock.ready["data"]["channels"] if c["id"] == cid)
    posted = [await alice.post("/message/edit", channel_id=cid, contents=f"m{i}") for i in range(30)]
    await alice.post("/message/edit", id=posted[3]["id"], contents="edited")
    await alice.post("/message/remove", expect=405, code="method_not_allowed")  # wrong method: not a change
    async with bob.socket("resume=1") as sock:
        await sock.send({"type": "resume", "ref": "r", "channels": {cid: last}})
        frames = []
        while True:
            frame = await sock.recv()
            if frame["type"] == "replay_done":
                break
            frames.append(frame)
        seqs = [f["seq"] for f in frames]
        assert seqs == list(range(last + 1, last + 1 + len(frames)))
        assert [f["data"]["contents"] for f in frames if f["event"] == "CREATED"] == [f"m{i}" for i in range(30)]
        assert frames[-1]["event"] == "EDITED"
        live_one = await alice.post("/message/edit", channel_id=cid, contents="live")
        frame = await sock.expect("message", event="CREATED")
        assert frame["seq"] == seqs[-1] + 1 and frame["data"]["id"] == live_one["id"]


async def _until_replay_done(sock: Socket) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The frames before ``replay_done`` (presence and typing dropped), and ``replay_done`` itself."""
    frames = []
    while (frame := await sock.recv())["type"] != "replay_done":
        if frame["type"] not in ("presence", "typing"):
            frames.append(frame)
    return frames, frame


async def _next(sock: Socket) -> dict[str, Any]:
    """The next frame that is not presence or typing."""
    while (frame := await sock.recv())["type"] in ("presence", "typing"):
        pass
    return frame


async def test_a_held_connection_sends_nothing_live_before_replay_done(server: LiveServer) -> None:
    (alice, bob), org = await team(server, "alice", "bob")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
    async with bob.socket("resume=1") as sock:
        last = next(c["seq"] for c in sock.ready["data"]["channels"] if c["id"] == cid)
        await alice.post("/message/edit", channel_id=cid, contents="while held")
        await sock.send({"type": "ping", "ref": "p"})
        assert await _next(sock) == {"type": "pong", "ref": "p"}  # answers go out while live events wait
        await sock.send({"type": "resume", "ref": "r", "channels": {cid: last}})
        frames, done = await _until_replay_done(sock)
        assert [f["data"]["contents"] for f in frames] == ["while held"] and done["data"]["seqs"] == {cid: last + 1}
        await alice.post("/message/edit", channel_id=cid, contents="live")
        after = await _next(sock)  # the held event is not sent a second time: the next one is the new one
        assert after["seq"] == last + 2 and after["data"]["contents"] == "live"


async def test_a_held_connection_goes_live_when_no_resume_comes(database_url: str, tmp_path: Path) -> None:
    async with live(make_settings(database_url, tmp_path, websocket={"auth_timeout_seconds": 0.3})) as server:
        (alice, bob), org = await team(server, "alice", "bob")
        cid = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
        async with bob.socket("resume=1") as sock:
            posted = await alice.post("/message/edit", channel_id=cid, contents="hello")
            assert (await sock.expect("message"))["data"]["id"] == posted["id"]


async def test_the_auth_frame_can_carry_the_resume(server: LiveServer) -> None:
    (alice, bob), org = await team(server, "alice", "bob")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
    async with bob.socket() as sock:
        last = next(c["seq"] for c in sock.ready["data"]["channels"] if c["id"] == cid)
    for n in range(3):
        await alice.post("/message/edit", channel_id=cid, contents=f"m{n}")
    async with connect(server.ws) as ws:
        sock = Socket(ws)
        await sock.send({"type": "auth", "token": bob.secret, "resume": {cid: last}})
        await sock.expect("ready")
        frames, done = await _until_replay_done(sock)
        assert [f["data"]["contents"] for f in frames] == ["m0", "m1", "m2"]
        assert done["ref"] is None and done["data"]["replayed"] == {cid: 3}
    async with connect(server.ws) as ws:  # a malformed resume: an error, and live without a replay
        sock = Socket(ws)
        await sock.send({"type": "auth", "token": bob.secret, "resume": {"general": 1}})
        await sock.expect("ready")
        error = await sock.expect("error")
        assert error["ref"] is None and error["error"]["fields"] == {"channels.general": "must be a channel id"}
        posted = await alice.post("/message/edit", channel_id=cid, contents="live")
        assert (await sock.expect("message"))["data"]["id"] == posted["id"]


async def test_a_resume_on_a_live_connection_replays_up_to_its_snapshot(server: LiveServer) -> None:
    (alice, bob), org = await team(server, "alice", "bob")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
    for n in range(2):
        await alice.post("/message/edit", channel_id=cid, contents=f"old{n}")
    async with bob.socket() as sock:
        snapshot = next(c["seq"] for c in sock.ready["data"]["channels"] if c["id"] == cid)
        await alice.post("/message/edit", channel_id=cid, contents="live")
        assert (await sock.expect("message"))["seq"] == snapshot + 1
        await sock.send({"type": "resume", "ref": "r", "channels": {cid: snapshot - 2}})
        frames, done = await _until_replay_done(sock)
        assert [(f["seq"], f["data"]["contents"]) for f in frames] == [(snapshot - 1, "old0"), (snapshot, "old1")]
        assert done["data"]["seqs"] == {cid: snapshot + 1}  # the connection keeps its place after the live event


async def test_membership_changes_apply_at_once(server: LiveServer) -> None:
    (alice, bob), org = await team(server, "alice", "bob")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="secret", type="private"))["id"]
    async with bob.socket() as sock:
        assert sock.ready["data"]["channels"] == []
        await alice.post("/message/edit", channel_id=cid, contents="before")
        await alice.post("/channel/members/add", id=cid, user_ids=[bob.id])
        joined = await sock.expect("member", event="JOINED")
        assert joined["data"]["user_id"] == bob.id
        await alice.post("/message/edit", channel_id=cid, contents="welcome")
        assert (await sock.expect("message"))["data"]["contents"] == "welcome"
        await alice.post("/channel/members/remove", id=cid, user_ids=[bob.id])
        assert (await sock.expect("member", event="LEFT"))["data"]["user_id"] == bob.id
        await alice.post("/message/edit", channel_id=cid, contents="after")
        assert await sock.drain() == []


async def test_outsider_never_receives_a_private_channel(server: LiveServer) -> None:
    (alice, bob, eve), org = await team(server, "alice", "bob", "eve")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="secret", type="private", members=[bob.id]))["id"]
    async with eve.socket() as sock:
        await alice.post("/message/edit", channel_id=cid, contents="classified")
        assert (await sock.call("join", channel_id=cid))["error"]["code"] == "not_found"
        done = await sock.call("resume", channels={cid: 0})
        assert done["type"] == "replay_done" and done["data"]["lost"] == [cid] and done["data"]["replayed"] == {}
        assert (await sock.call("history", channel_id=cid))["error"]["code"] == "not_found"
        assert (await sock.call("typing", channel_id=cid))["error"]["code"] == "not_found"
        await alice.post("/message/edit", channel_id=cid, contents="more secrets")
        assert await sock.drain() == []


async def test_read_on_one_device_clears_the_other(server: LiveServer) -> None:
    (alice, bob), org = await team(server, "alice", "bob")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
    posted = await alice.post("/message/edit", channel_id=cid, contents="hi")
    async with bob.socket() as phone, bob.socket() as laptop:
        ack = await phone.call("read", channel_id=cid, message_id=posted["id"])
        assert ack["data"]["unread"] == 0
        marker = await laptop.expect("read", event="UPDATED")
        assert marker["data"]["last_read_message_id"] == posted["id"] and marker["data"]["unread"] == 0


async def presence_of(sock: Socket, person: Person) -> str:
    while True:
        frame = await sock.expect("presence")
        if frame["data"]["user_id"] == person.id:
            return str(frame["data"]["status"])


async def test_typing_and_presence(server: LiveServer) -> None:
    (alice, bob), org = await team(server, "alice", "bob")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
    async with bob.socket() as b:
        async with alice.socket() as a:
            assert await presence_of(b, alice) == "online"
            assert (await a.call("typing", channel_id=cid))["type"] == "ack"
            typing = await b.expect("typing")
            assert typing["data"]["user_id"] == alice.id and typing["channel_id"] == cid and "seq" not in typing
            await a.call("presence", status="away")
            assert await presence_of(b, alice) == "away"
        assert await presence_of(b, alice) == "offline"


async def _typing_frames(sock: Socket) -> list[dict[str, Any]]:
    """The typing frames already on their way to ``sock`` (``Socket.drain`` drops them): those before a marker."""
    assert sock.server is not None and sock.user_id is not None
    token = await sock.server.mark(sock.user_id)
    frames = []
    while (frame := await sock.recv())["type"] != MARKER or frame["data"]["token"] != token:
        if frame["type"] == "typing":
            frames.append(frame)
    return frames


async def test_typing_in_a_thread_names_it_and_is_limited_apart_from_the_channel(database_url: str, tmp_path: Path) -> None:
    """``thread_id`` in a ``typing`` frame: checked like any id, never looked up, passed on in the event's data;
    the channel's own box and each thread have their own allowance (docs/websocket.md §3). A long ttl: every
    repeat below falls in the same half-ttl, however slow the machine."""
    async with live(make_settings(database_url, tmp_path, websocket={"typing_ttl_seconds": 600})) as server:
        (alice, bob), org = await team(server, "alice", "bob")
        cid = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
        root = (await alice.post("/message/edit", channel_id=cid, contents="a thread"))["id"]
        later = (await alice.post("/message/edit", channel_id=cid, contents="another thread"))["id"]
        async with alice.socket() as a, bob.socket() as b:
            bad = await a.call("typing", channel_id=cid, thread_id="x")
            assert bad["type"] == "error" and bad["error"]["code"] == "invalid" and set(bad["error"]["fields"]) == {"thread_id"}
            assert (await a.call("typing", channel_id=cid, thread_id=root))["type"] == "ack"
            assert (await a.call("typing", channel_id=cid))["type"] == "ack"  # not held back by the thread's
            frames = await _typing_frames(b)
            assert [f["data"].get("thread_id") for f in frames] == [root, None]  # none in the channel's own
            in_thread, in_channel = frames
            assert in_thread["channel_id"] == cid and in_thread["data"]["user_id"] == alice.id
            assert in_thread["data"]["thread_id"] == root and in_thread["data"]["channel_id"] == cid
            assert in_channel["channel_id"] == cid and in_channel["data"].get("thread_id") is None
            for _ in range(2):  # repeats within the half-ttl: acked, not passed on, in the thread as in the channel
                assert (await a.call("typing", channel_id=cid, thread_id=root))["type"] == "ack"
                assert (await a.call("typing", channel_id=cid))["type"] == "ack"
            assert await _typing_frames(b) == []
            # A second thread has its own allowance too (its id is not looked up); a third at the same time
            # has none: ids never looked up cannot multiply what one connection passes on.
            assert (await a.call("typing", channel_id=cid, thread_id="123456789"))["type"] == "ack"
            assert (await a.call("typing", channel_id=cid, thread_id=later))["type"] == "ack"
            assert [f["data"]["thread_id"] for f in await _typing_frames(b)] == ["123456789"]


async def test_flags_reach_only_their_owner(server: LiveServer) -> None:
    (alice, bob), org = await team(server, "alice", "bob")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
    posted = await alice.post("/message/edit", channel_id=cid, contents="keep this")
    async with alice.socket() as a, bob.socket() as b:
        await bob.post("/message/flag", id=posted["id"])
        assert (await b.expect("flag", event="ADDED"))["data"]["message_id"] == posted["id"]
        assert await a.drain() == []


async def test_joining_an_organisation_reveals_its_public_channels(server: LiveServer) -> None:
    (alice,), org = await team(server, "alice")
    bob = await server.user("bob")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
    async with bob.socket() as sock:
        assert sock.ready["data"]["channels"] == []
        await alice.post("/organisation/members/add", id=org, user_id=bob.id)
        assert (await sock.expect("organisation", event="JOINED"))["data"]["organisation_id"] == org
        visible = await sock.expect("channel", event="VISIBLE")
        assert visible["channel_id"] == cid
        posted = await alice.post("/message/edit", channel_id=cid, contents="welcome aboard")
        assert (await sock.expect("message"))["data"]["id"] == posted["id"]
        await alice.post("/organisation/members/remove", id=org, user_id=bob.id)
        await sock.expect("organisation", event="LEFT")
        assert (await sock.expect("channel", event="HIDDEN"))["channel_id"] == cid
        await alice.post("/message/edit", channel_id=cid, contents="gone")
        assert await sock.drain() == []


async def test_revoking_a_session_closes_its_websocket(server: LiveServer) -> None:
    (alice,), _ = await team(server, "alice")
    other = await server.login("alice")
    async with alice.socket() as sock, other.socket() as kept:
        await alice.post("/user/logout")
        assert await sock.closed() == 4401
        assert (await kept.call("ping"))["type"] == "pong"  # the other session is untouched


async def test_resume_ahead_of_the_log_asks_for_a_resync(server: LiveServer) -> None:
    (alice,), org = await team(server, "alice")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
    async with alice.socket() as sock:
        done = await sock.call("resume", channels={cid: 10_000})
        assert done["data"]["resync"] == [cid]
        bad = await sock.call("resume", channels={"general": 1})
        assert bad["type"] == "error" and bad["error"]["code"] == "invalid"


async def test_resume_from_before_a_purged_history_asks_for_a_resync(server: LiveServer) -> None:
    (alice, bob), org = await team(server, "alice", "bob")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
    for n in range(4):
        await alice.post("/message/edit", channel_id=cid, contents=f"m{n}")
    final = (await bob.get("/channel/read", id=cid))["last_seq"]
    async with server.core.db.write() as conn:  # an operator purges the channel's oldest events
        await conn.execute(channel_events.delete().where(channel_events.c.channel_id == int(cid), channel_events.c.seq <= 3))
    async with bob.socket("resume=1") as sock:
        done = await sock.call("resume", channels={cid: 1})  # seqs 2 and 3 are gone: nothing can be replayed
        assert done["data"]["resync"] == [cid] and done["data"]["replayed"] == {}
    # Several channels in one resume: each is judged by its own log's bounds (read together in one statement).
    kept = (await alice.post("/channel/edit", organisation_id=org, name="kept", members=[bob.id]))["id"]
    await alice.post("/message/edit", channel_id=kept, contents="still stored")
    kept_seq = (await bob.get("/channel/read", id=kept))["last_seq"]
    async with bob.socket("resume=1") as sock:
        done = await sock.call("resume", channels={cid: 2, kept: 0})
        assert done["data"]["resync"] == [cid] and done["data"]["replayed"] == {kept: kept_seq}, done
    async with bob.socket("resume=1") as sock:
        await sock.send({"type": "resume", "ref": "r", "channels": {cid: 3}})  # everything after 3 is stored
        frames = []
        while (frame := await sock.recv())["type"] != "replay_done":
            frames.append(frame)
        assert [f["seq"] for f in frames if "seq" in f] == list(range(4, final + 1))
        assert frame["data"]["resync"] == [] and frame["data"]["seqs"] == {cid: final}


async def test_a_moved_team_keeps_its_public_channels_live(server: LiveServer) -> None:
    (alice, bob), acme = await team(server, "alice", "bob")
    globex = (await alice.post("/organisation/edit", name="Globex"))["id"]
    await alice.post("/organisation/members/add", id=globex, user_id=bob.id)
    core_team = (await alice.post("/team/edit", organisation_id=acme, name="Core"))["id"]
    cid = (await alice.post("/channel/edit", team_id=core_team, name="dev"))["id"]
    async with bob.socket() as sock:
        await alice.post("/team/move", id=core_team, organisation_id=globex)
        assert (await sock.expect("channel", event="MOVED"))["data"]["type"] == "public"
        await alice.post("/message/edit", channel_id=cid, contents="still here")
        assert (await sock.expect("message"))["data"]["contents"] == "still here"


async def test_a_live_socket_makes_its_user_online_for_the_http_faces(server: LiveServer) -> None:
    (alice, bob, carol), _ = await team(server, "alice", "bob", "carol")
    async with bob.socket():
        listed = {u["id"]: u["online"] for u in (await alice.get("/api/users", per_page=50))["users"]}
    assert listed[bob.id] is True and listed[carol.id] is False


async def test_the_login_cookie_authenticates_a_socket(server: LiveServer) -> None:
    (alice,), _ = await team(server, "alice")
    async with connect(server.ws, additional_headers={"Cookie": f"chatd_session={alice.secret}"}) as ws:
        assert '"ready"' in await ws.recv()


async def test_no_event_falls_between_snapshot_and_subscription(server: LiveServer) -> None:
    """Sockets open while messages pour in: each sees, after its ready seq, every later event exactly once."""
    (alice, bob), org = await team(server, "alice", "bob")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
    posted: list[str] = []
    poster = asyncio.create_task(_post_many(alice, cid, 60, posted))
    async with AsyncExitStack() as stack:
        sockets = []
        for n in range(6):  # each opens at its own point of the stream, while it flows
            await wait_until(lambda: len(posted) >= 8 * n or poster.done(), what=f"{8 * n} posts")
            sockets.append(await stack.enter_async_context(bob.socket()))
        await poster
        final = (await bob.get("/channel/read", id=cid))["last_seq"]
        starts = [next(c["seq"] for c in sock.ready["data"]["channels"] if c["id"] == cid) for sock in sockets]
        assert starts[0] < final  # at least the first opened mid-stream (each later one most likely too)
        for sock, start in zip(sockets, starts):
            seqs = [(await sock.expect("message"))["seq"] for _ in range(final - start)]
            assert seqs == list(range(start + 1, final + 1))
            assert await sock.drain() == []  # and nothing twice


async def test_an_event_routed_between_snapshot_and_subscription_is_filled_from_the_store(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window the previous test hits by chance, made to happen: a message committed after a socket's
    snapshot was read, and routed by the hub before the socket subscribed, reaches it from the store, once
    and in order. A connect with nothing routed past its snapshot reads no channel's end again."""
    (alice, bob), org = await team(server, "alice", "bob")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
    await alice.post("/message/edit", channel_id=cid, contents="before")
    hub = server.app.state.hub
    reread: list[list[int]] = []
    real_last_seqs = live_core.last_seqs

    async def last_seqs(core: Any, channel_ids: list[int]) -> dict[int, int]:
        reread.append(channel_ids)
        return await real_last_seqs(core, channel_ids)

    monkeypatch.setattr(live_core, "last_seqs", last_seqs)
    async with bob.socket() as quiet:
        start = next(c["seq"] for c in quiet.ready["data"]["channels"] if c["id"] == cid)
        await alice.post("/message/edit", channel_id=cid, contents="live")
        frame = await quiet.expect("message")
        assert frame["seq"] == start + 1 and frame["data"]["contents"] == "live"
    assert reread == []  # nothing was routed past its snapshot: the store was not read again

    real_snapshot = session._snapshot
    sent: list[dict[str, Any]] = []

    async def snapshot_then_a_message(conn: Any) -> Any:
        found = await real_snapshot(conn)
        if not sent:  # once, for the socket below: a message its snapshot does not hold, routed now
            sent.append(await alice.post("/message/edit", channel_id=cid, contents="in between"))
            await wait_until(lambda: hub.routed.get(int(cid), 0) >= start + 2, what="the message routed")
        return found

    monkeypatch.setattr(session, "_snapshot", snapshot_then_a_message)
    async with bob.socket() as sock:
        assert next(c["seq"] for c in sock.ready["data"]["channels"] if c["id"] == cid) == start + 1  # before it
        frame = await sock.expect("message")
        assert frame["seq"] == start + 2 and frame["data"]["id"] == sent[0]["id"]
        await alice.post("/message/edit", channel_id=cid, contents="after")
        assert (await sock.expect("message"))["seq"] == start + 3
        assert [f for f in await sock.drain(timeout=0.5) if f["type"] == "message"] == []  # and nothing twice
    assert reread == [[int(cid)]]


async def test_a_channel_opened_to_the_organisation_while_a_socket_starts_reaches_it(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A socket learns its user's organisations from its snapshot, and is registered for their events only
    then. A public channel created in between (its event routed to the organisation before the socket was
    registered for it) is in the socket's ready list all the same, and its messages reach the socket; a
    connect with no such change reads its snapshot once."""
    (alice, bob), org = await team(server, "alice", "bob")
    await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id])
    hub = server.app.state.hub
    real_snapshot = session._snapshot
    snapshots: list[int] = []
    made: list[str] = []

    async def snapshot_then_a_channel(conn: Any) -> Any:
        found = await real_snapshot(conn)
        snapshots.append(conn.user_id)
        if len(snapshots) == 1:  # the first read: a public channel its snapshot does not hold, routed now
            changes = hub.org_changes
            made.append((await alice.post("/channel/edit", organisation_id=org, name="news"))["id"])
            await wait_until(lambda: hub.org_changes > changes, what="the channel's event routed")
        return found

    monkeypatch.setattr(session, "_snapshot", snapshot_then_a_channel)
    async with bob.socket() as sock:
        assert made and made[0] in {c["id"] for c in sock.ready["data"]["channels"]}
        posted = await alice.post("/message/edit", channel_id=made[0], contents="first news")
        frame = await sock.expect("message", channel_id=made[0])
        assert frame["data"]["id"] == posted["id"]
    assert len(snapshots) == 2  # read again, registered for the organisation this time
    async with bob.socket() as quiet:
        assert made[0] in {c["id"] for c in quiet.ready["data"]["channels"]}
    assert len(snapshots) == 3  # nothing changed meanwhile: one read


async def test_resumes_of_quiet_channels_while_messages_pour_in_miss_nothing(server: LiveServer) -> None:
    """Sockets held for a resume open while messages pour into one of three channels and resume every channel
    from its ready seq: a channel with nothing stored after that replays nothing without reading its log
    again, and whatever comes after still arrives, each event once, in order."""
    (alice, bob), org = await team(server, "alice", "bob")
    busy, *quiet = [(await alice.post("/channel/edit", organisation_id=org, name=name, members=[bob.id]))["id"]
                    for name in ("busy", "quiet1", "quiet2")]
    posted: list[str] = []
    poster = asyncio.create_task(_post_many(alice, busy, 40, posted))
    async with AsyncExitStack() as stack:
        sockets = []
        for n in range(4):
            await wait_until(lambda: len(posted) >= 10 * n or poster.done(), what=f"{10 * n} posts")
            sock = await stack.enter_async_context(bob.socket("resume=1"))
            ready = {c["id"]: c["seq"] for c in sock.ready["data"]["channels"]}
            await sock.send({"type": "resume", "ref": "r", "channels": {cid: ready[cid] for cid in (busy, *quiet)}})
            sockets.append((sock, ready))
        await poster
        late = await alice.post("/message/edit", channel_id=quiet[0], contents="late")
        final = (await bob.get("/channel/read", id=busy))["last_seq"]
        for sock, ready in sockets:
            seqs: list[int] = []
            late_seen: dict[str, Any] | None = None
            while len(seqs) < final - ready[busy] or late_seen is None:
                frame = await sock.recv()
                if frame["type"] == "replay_done":
                    assert frame["data"]["replayed"][quiet[1]] == 0 and frame["data"]["resync"] == [], frame
                elif frame["type"] == "message" and frame["channel_id"] == busy:
                    seqs.append(frame["seq"])
                elif frame["type"] == "message" and frame["channel_id"] == quiet[0]:
                    late_seen = frame
            assert seqs == list(range(ready[busy] + 1, final + 1))
            assert late_seen["seq"] == ready[quiet[0]] + 1 and late_seen["data"]["id"] == late["id"]
            assert [f for f in await sock.drain() if f["type"] == "message"] == []  # and nothing twice


async def _post_many(person: Person, cid: str, count: int, posted: list[str]) -> None:
    for n in range(count):
        posted.append((await person.post("/message/edit", channel_id=cid, contents=f"m{n}"))["id"])


async def until(sock: Socket, type: str, event: str) -> dict[str, Any]:
    """The next frame of this type and event, skipping others (system messages, markers...)."""
    while True:
        frame = await sock.recv()
        if frame["type"] == type and frame.get("event") == event:
            return frame


async def test_channel_lifecycle_and_mentions_are_pushed(server: LiveServer) -> None:
    (alice, bob), org = await team(server, "alice", "bob")
    async with bob.socket() as sock:
        cid = (await alice.post("/channel/edit", organisation_id=org, name="plans", type="private", members=[bob.id]))["id"]
        assert (await until(sock, "channel", "CREATED"))["channel_id"] == cid
        await alice.post("/channel/edit", id=cid, topic="Q3")
        assert (await until(sock, "channel", "UPDATED"))["data"]["topic"] == "Q3"
        await alice.post("/message/edit", channel_id=cid, contents="see @bob")
        notice = await until(sock, "mention", "CREATED")
        assert notice["channel_id"] == cid and notice["data"]["by"] == alice.id
        other = (await alice.post("/channel/edit", organisation_id=org, name="old", members=[bob.id]))["id"]
        await until(sock, "channel", "CREATED")
        await alice.post("/channel/merge", source=other, destination=cid)
        merged = {(await until(sock, "channel", "MERGED"))["channel_id"] for _ in range(2)}
        assert merged == {cid, other}
        await alice.post("/channel/archive", id=cid)
        assert (await until(sock, "channel", "ARCHIVED"))["channel_id"] == cid
        await alice.post("/channel/unarchive", id=cid)
        await until(sock, "channel", "UNARCHIVED")
        assert (await sock.call("part", channel_id=cid))["type"] == "ack"
        assert (await until(sock, "member", "LEFT"))["data"]["user_id"] == bob.id
        await alice.delete("/channel/remove", id=cid)
        assert await sock.drain() == []  # no longer a member: the removal is not theirs to see


async def test_users_of_a_silent_node_go_offline(database_url: str, tmp_path: Path) -> None:
    """Another node announced carol online, then died without a word: after three missed heartbeats she is
    shown offline."""
    from chatd.domain.events import Event

    settings = make_settings(database_url, tmp_path, websocket={"presence_heartbeat_seconds": 0.2})
    async with live(settings) as server:
        (alice, bob, carol), org = await team(server, "alice", "bob", "carol")
        async with bob.socket() as sock:
            ghost = {"user_id": carol.id, "status": "online", "node": "ghost", "organisation_ids": [org]}
            await server.app.state.bus.publish([Event(type="presence", event="UPDATED", data=ghost)])
            assert await presence_of(sock, carol) == "online"
            assert await presence_of(sock, carol) == "offline"  # about 0.6 s later, with no goodbye
