"""The per-channel event log: every change stores its event with the channel's next seq, in the same
transaction, and concurrent writers to one channel get gap-free, strictly increasing seqs."""

from __future__ import annotations

import asyncio

from chatd.domain.events import Event
from chatd.realtime import protocol
from chatd.store import events as event_log
from harness import Harness, org_with


async def log_of(chat: Harness, channel_id: str) -> list[Event]:
    async with chat.core.reading() as conn:
        return await event_log.since(conn, int(channel_id), 0, 1000)


def assert_gap_free(log: list[Event]) -> None:
    assert [e.seq for e in log] == list(range(1, len(log) + 1))


async def test_every_change_is_logged_with_the_next_seq(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
    await bob.post("/channel/join", id=cid)
    posted = await alice.post("/message/edit", channel_id=cid, contents="hello @bob")
    reply = await bob.post("/message/edit", channel_id=cid, contents="hi", reply_to=posted["id"])
    await alice.post("/message/edit", id=posted["id"], contents="hello again")
    await bob.post("/message/react", id=posted["id"], emoji="👍")
    await bob.post("/message/unreact", id=posted["id"], emoji="👍")
    await bob.post("/message/pin", id=posted["id"])
    await bob.post("/message/unpin", id=posted["id"])
    await bob.post("/message/flag", id=posted["id"])  # private: published to bob, never logged
    await bob.delete("/message/remove", id=reply["id"])
    await alice.post("/channel/edit", id=cid, topic="news")
    await bob.post("/message/mark_read", channel_id=cid)  # private too
    log = await log_of(chat, cid)
    assert_gap_free(log)
    assert [(e.type, e.event) for e in log] == [
        ("channel", "CREATED"),
        ("message", "CREATED"),  # the CREATE system message
        ("member", "JOINED"),
        ("message", "CREATED"),
        ("message", "CREATED"),
        ("message", "EDITED"),
        ("reaction", "ADDED"),
        ("reaction", "REMOVED"),
        ("pin", "ADDED"),
        ("pin", "REMOVED"),
        ("message", "REMOVED"),
        ("message", "CREATED"),  # the TOPIC system message
        ("channel", "UPDATED"),
    ]
    assert log[3].data["id"] == posted["id"] and log[3].actor_id == int(alice.id)
    assert log[10].data["id"] == reply["id"]
    published = {e.id: e.seq for e in chat.events if e.channel_id == int(cid) and e.seq is not None}
    assert published == {e.id: e.seq for e in log}  # what was published is what was stored
    assert (await alice.get("/channel/read", id=cid))["last_seq"] == len(log)


async def test_a_refused_change_stores_no_event(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
    posted = await alice.post("/message/edit", channel_id=cid, contents="mine")
    before = await log_of(chat, cid)
    await bob.post("/message/edit", id=posted["id"], contents="yours", expect=403, code="forbidden")
    await alice.post("/message/pin", id=posted["id"])
    await alice.post("/message/pin", id=posted["id"], expect=409, code="already_pinned")
    await alice.post("/message/edit", channel_id=cid, contents="x" * 40_001, expect=413, code="too_large")
    after = await log_of(chat, cid)
    assert len(after) == len(before) + 1
    assert_gap_free(after)


async def test_concurrent_posts_get_gap_free_increasing_seqs(chat: Harness) -> None:
    people = await chat.users("alice", "bob", "carol", "dave", "erin")
    org = await org_with(*people)
    cid = (await people[0].post("/channel/edit", organisation_id=org, name="busy", members=[p.id for p in people[1:]]))["id"]
    start = len(await log_of(chat, cid))
    sends = [people[n % 5].post("/message/edit", channel_id=cid, contents=f"message {n}") for n in range(50)]
    posted = await asyncio.gather(*sends)
    log = await log_of(chat, cid)
    assert_gap_free(log)
    created = [e for e in log[start:] if (e.type, e.event) == ("message", "CREATED")]
    assert len(created) == 50 == len(log) - start
    ids = [int(e.data["id"]) for e in created]
    assert ids == sorted(ids)  # the log replays messages in the order history lists them
    assert set(ids) == {int(m["id"]) for m in posted}
    assert all(e.id is not None for e in log[start:])  # every stored event has its id
    events_by_id = [e.id for e in log[start:] if e.id is not None]
    assert events_by_id == sorted(events_by_id)  # event ids also follow seq
    history = (await people[0].get("/message/read", channel_id=cid, limit=200))["items"]
    assert [int(m["id"]) for m in history if m["type"] == "MESSAGE"] == ids


async def test_concurrent_writes_of_every_kind_share_one_sequence(chat: Harness) -> None:
    alice, bob, carol = await chat.users("alice", "bob", "carol")
    org = await org_with(alice, bob, carol)
    cid = (await alice.post("/channel/edit", organisation_id=org, name="busy", members=[bob.id, carol.id]))["id"]
    target = await alice.post("/message/edit", channel_id=cid, contents="target")
    start = len(await log_of(chat, cid))
    work = [
        *(bob.post("/message/edit", channel_id=cid, contents=f"b{n}") for n in range(10)),
        *(carol.post("/message/react", id=target["id"], emoji=f":e{n}:") for n in range(10)),
        alice.post("/message/pin", id=target["id"]),
        *(alice.post("/message/edit", id=target["id"], contents=f"target v{n}") for n in range(5)),
    ]
    await asyncio.gather(*work)
    log = await log_of(chat, cid)
    assert_gap_free(log)
    assert len(log) - start == 26


async def test_a_bad_post_in_a_shared_commit_fails_alone(chat: Harness) -> None:
    """Concurrent posts may share one transaction (group commit): refusals and duplicates stay individual."""
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    cid = (await alice.post("/channel/edit", organisation_id=org, name="busy", members=[bob.id]))["id"]
    start = len(await log_of(chat, cid))

    async def attempt(n: int) -> int:
        contents = "   " if n % 10 == 0 else f"m{n}"
        key = "same-key" if n % 5 == 1 else None
        response = await bob.call("POST", "/message/edit", json={"channel_id": cid, "contents": contents, "client_msg_id": key})
        return response.status_code

    statuses = await asyncio.gather(*(attempt(n) for n in range(40)))
    blank = {n for n in range(40) if n % 10 == 0}
    keyed = {n for n in range(40) if n % 5 == 1}  # a known key answers with the original, even if blank
    assert statuses.count(400) == len(blank - keyed)
    log = await log_of(chat, cid)
    assert_gap_free(log)
    created = set(range(40)) - blank - keyed
    assert len(log) - start == len(created) + 1  # plus the one original behind every keyed retry


async def test_a_replayed_frame_is_the_frame_the_event_made_live(chat: Harness) -> None:
    """Replays build frames around the stored payloads without parsing them (realtime/protocol.py
    ``stored``): byte for byte what encoding the event itself gives, removed messages' tombstones and
    non-ASCII text included."""
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    cid = (await alice.post("/channel/edit", organisation_id=org, name="général"))["id"]
    await bob.post("/channel/join", id=cid)
    posted = await alice.post("/message/edit", channel_id=cid, contents='über "quoted" \\ 👍 @bob')
    await bob.post("/message/react", id=posted["id"], emoji="👍")
    await alice.delete("/message/remove", id=posted["id"])
    events = await log_of(chat, cid)
    async with chat.core.reading() as conn:
        stored = await event_log.stored_since(conn, int(cid), 0, None, 1000)
    assert [row[0] for row in stored] == [e.seq for e in events] and len(events) >= 4
    replayed = [protocol.stored(int(cid), *row) for row in stored]
    assert replayed == [protocol.encode(e.envelope()).encode() for e in events]
    async with chat.core.reading() as conn:
        upto = await event_log.stored_since(conn, int(cid), 1, 3, 1000)
    assert [row[0] for row in upto] == [2, 3]
