"""Messages: post, edit with versions, threads, mentions, remove, history with cursors and read marks,
per-viewer fields, pins, flags, reactions and attachments."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import select

from chatd.store import messages as message_store
from chatd.store.tables import messages
from harness import Actor, Harness, channel_with, history, make_settings, org_with, png, send, texts

__all__ = ["channel_with", "send", "texts"]  # other test files once imported these from here


# --- posting -------------------------------------------------------------------------------------------


async def test_post_is_trimmed_and_checked(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    cid = await channel_with(alice, bob)
    posted = await send(alice, cid, "  **hello** world \n")
    assert posted["contents"] == "**hello** world" and posted["type"] == "MESSAGE"
    assert posted["user_id"] == alice.id and posted["channel_id"] == cid and posted["edited"] is False
    assert posted["can_edit"] and posted["can_remove"] and posted["reactions"] == []
    for empty in ("", "   \n\t"):
        error = await send(alice, cid, empty, expect=400, code="invalid")
        assert "contents" in error["error"]["fields"]
    assert "contents" in (await alice.post("/message/edit", channel_id=cid, expect=400, code="invalid"))["error"]["fields"]
    assert "channel_id" in (await alice.post("/message/edit", contents="x", expect=400, code="invalid"))["error"]["fields"]
    limit = chat.settings.limits.message_max_chars
    assert limit == 40_000
    await send(alice, cid, "x" * limit)
    too_long = await send(alice, cid, "x" * (limit + 1), expect=413, code="too_large")
    assert "contents" in too_long["error"]["fields"]
    assert texts(await history(bob, cid)) == ["**hello** world", "x" * limit]


async def test_limit_comes_from_config(chat: Harness) -> None:
    alice = await chat.user("alice")
    cid = await channel_with(alice)
    chat.settings.limits.message_max_chars = 10
    await send(alice, cid, "  0123456789  ")  # trimmed first, then measured
    await send(alice, cid, "01234567890", expect=413, code="too_large")


async def test_who_may_post_where(chat: Harness) -> None:
    alice, bob, carol, stranger = await chat.users("alice", "bob", "carol", "stranger")
    org = await org_with(alice, bob, carol)
    public = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
    private = (await alice.post("/channel/edit", organisation_id=org, name="plans", type="private", members=[bob.id]))["id"]
    await send(alice, "123456789", "x", expect=404, code="not_found")
    await send(alice, "abc", "x", expect=400, code="invalid")
    await send(carol, public, "not joined", expect=403, code="forbidden")  # readable, but a non-member does not write
    await send(stranger, public, "outside the organisation", expect=404, code="not_found")
    await send(carol, private, "outsider", expect=404, code="not_found")
    await send(bob, private, "member")
    assert texts(await history(bob, private)) == ["member"]


async def test_client_msg_id_retry_returns_the_original(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    cid = await channel_with(alice, bob)
    first = await send(alice, cid, "once", client_msg_id="k-1")
    again = await send(alice, cid, "once (retry)", client_msg_id="k-1")
    assert again["id"] == first["id"] and again["contents"] == "once" and again["client_msg_id"] == "k-1"
    other = await send(bob, cid, "same key, other sender", client_msg_id="k-1")  # keys are per sender
    assert other["id"] != first["id"]
    assert texts(await history(alice, cid)) == ["once", "same key, other sender"]
    assert len([e for e in chat.events_of("message", "CREATED") if e.data["client_msg_id"] == "k-1"]) == 2
    await send(alice, cid, "x", client_msg_id="k" * 129, expect=400, code="invalid")


async def test_concurrent_sends_with_one_key_make_one_message(chat: Harness) -> None:
    alice = await chat.user("alice")
    cid = await channel_with(alice)
    async with chat.capture(expect=1, type="message", event="CREATED") as created:
        sent = await asyncio.gather(*(send(alice, cid, f"try {n}", client_msg_id="race") for n in range(8)))
    assert len({m["id"] for m in sent}) == 1 and created[0].data["client_msg_id"] == "race"
    assert len(texts(await history(alice, cid))) == 1


# --- editing -------------------------------------------------------------------------------------------


async def test_edit_keeps_versions(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    cid = await channel_with(alice, bob)
    posted = await send(alice, cid, "first")
    chat.clock.advance(60)
    edited = await alice.post("/message/edit", id=posted["id"], contents="  second  ")
    assert edited["contents"] == "second" and edited["edited"] is True and edited["edited_at"] is not None
    assert edited["edited_at"] > posted["created_at"] and edited["id"] == posted["id"]
    chat.clock.advance(60)
    await alice.post("/message/edit", id=posted["id"], contents="third")
    versions = (await bob.get("/message/versions", id=posted["id"]))["versions"]
    assert [(v["version"], v["contents"], v["current"]) for v in versions] == [
        (1, "first", False), (2, "second", False), (3, "third", True)
    ]
    assert versions[0]["created_at"] == posted["created_at"]
    assert [m["contents"] for m in await history(bob, cid) if m["id"] == posted["id"]] == ["third"]
    assert [e.data["contents"] for e in chat.events_of("message", "EDITED")] == ["second", "third"]
    await bob.post("/message/edit", id=posted["id"], contents="mine now", expect=403, code="forbidden")
    refused = await alice.post("/message/edit", id=posted["id"], contents="  ", expect=400, code="invalid")
    assert "contents" in refused["error"]["fields"]
    await alice.post("/message/edit", id="123456789", contents="x", expect=404, code="not_found")
    create = (await history(alice, cid))[0]
    assert create["type"] == "CREATE" and create["can_edit"] is False
    await alice.post("/message/edit", id=create["id"], contents="rewritten", expect=403, code="forbidden")


# --- threads -------------------------------------------------------------------------------------------


async def test_threads_are_one_level(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    cid = await channel_with(alice, bob)
    root = await send(alice, cid, "root")
    chat.clock.advance(5)
    r1 = await send(bob, cid, "reply one", reply_to=root["id"])
    chat.clock.advance(5)
    r2 = await send(alice, cid, "reply to a reply", reply_to=r1["id"])
    assert r1["reply_to"] == root["id"] and r2["reply_to"] == root["id"]
    top = {m["id"]: m for m in await history(alice, cid)}
    assert set(top) >= {root["id"]} and r1["id"] not in top  # replies stay in their thread
    assert top[root["id"]]["reply_count"] == 2 and top[root["id"]]["last_reply_at"] == r2["created_at"]
    thread = await history(alice, cid, thread=root["id"])
    assert [m["contents"] for m in thread] == ["reply one", "reply to a reply"]
    everything = texts(await history(alice, cid, include_replies=True))
    assert everything == ["root", "reply one", "reply to a reply"]
    created = chat.events_of("message", "CREATED")[-1]
    assert created.data["thread"] == {"id": root["id"], "reply_count": 2, "last_reply_at": r2["created_at"]}
    await alice.get("/message/read", channel_id=cid, thread=r1["id"], expect=400, code="invalid")


async def test_reply_must_be_in_the_same_channel(chat: Harness) -> None:
    alice = await chat.user("alice")
    org = await org_with(alice)
    one = (await alice.post("/channel/edit", organisation_id=org, name="one"))["id"]
    two = (await alice.post("/channel/edit", organisation_id=org, name="two"))["id"]
    elsewhere = await send(alice, one, "in one")
    error = await send(alice, two, "reply", reply_to=elsewhere["id"], expect=400, code="invalid")
    assert "reply_to" in error["error"]["fields"]
    assert "reply_to" in (await send(alice, two, "reply", reply_to="123456789", expect=400, code="invalid"))["error"]["fields"]


# --- mentions ------------------------------------------------------------------------------------------


async def test_mentions_are_parsed_counted_and_told(chat: Harness) -> None:
    alice, bob, carol = await chat.users("alice", "bob", "carol")
    org = await org_with(alice, bob, carol)
    cid = (await alice.post("/channel/edit", organisation_id=org, name="plans", type="private", members=[bob.id]))["id"]
    await history(bob, cid)  # bob has read everything so far
    posted = await send(alice, cid, "hey @Bob and @carol, mail alice@example.com, @nobody, @alice.")
    assert posted["mentions"] == [bob.id]  # carol cannot read the channel; alice wrote it; the email is no mention
    told = chat.events_of("mention", "CREATED")
    assert [(e.user_id, e.data["message_id"]) for e in told] == [(int(bob.id), posted["id"])]
    seen = await bob.get("/channel/read", id=cid)
    assert seen["unread"] == 1 and seen["mentions"] == 1
    found = (await bob.get("/channel/search", query="plans"))["items"][0]
    assert found["unread"] == 1 and found["mentions"] == 1
    await send(alice, cid, "no mention here")
    assert (await bob.get("/channel/read", id=cid))["mentions"] == 1
    edited = await alice.post("/message/edit", id=posted["id"], contents="hey @bob again")  # no second mention
    assert edited["mentions"] == [bob.id] and len(chat.events_of("mention", "CREATED")) == 1
    await history(bob, cid)
    cleared = await bob.get("/channel/read", id=cid)
    assert cleared["unread"] == 0 and cleared["mentions"] == 0


async def test_a_removed_message_stops_counting_as_unread_and_as_a_mention(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    cid = (await alice.post("/channel/edit", organisation_id=org, name="plans", type="private", members=[bob.id]))["id"]
    await history(bob, cid)
    first = await send(alice, cid, "hey @bob, one")
    await send(alice, cid, "hey @bob, two")
    assert {k: (await bob.get("/channel/read", id=cid))[k] for k in ("unread", "mentions")} == {"unread": 2, "mentions": 2}
    await alice.delete("/message/remove", id=first["id"])
    read = await bob.get("/channel/read", id=cid)
    listed = (await bob.get("/channel/search", query="plans"))["items"][0]  # the list reads every channel at once
    for seen in (read, listed):
        assert (seen["unread"], seen["mentions"], seen["role"]) == (1, 1, "member")


async def test_unread_and_mention_counts_stop_at_100_which_means_100_or_more(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    cid = (await alice.post("/channel/edit", organisation_id=org, name="busy", type="private", members=[bob.id]))["id"]
    await history(bob, cid)
    sent = [await send(alice, cid, f"@bob number {n}") for n in range(99)]

    def counted(seen: dict[str, Any]) -> tuple[int, int]:
        return seen["unread"], seen["mentions"]

    assert counted(await bob.get("/channel/read", id=cid)) == (99, 99)  # exact below the cap
    sent += [await send(alice, cid, f"@bob number {n}") for n in range(99, 102)]
    listed = (await bob.get("/channel/search", query="busy"))["items"][0]
    for seen in (await bob.get("/channel/read", id=cid), listed):
        assert counted(seen) == (100, 100)  # 102 of each: "100 or more"
    marked = await bob.post("/message/mark_read", channel_id=cid, message_id=sent[2]["id"])
    assert counted(marked) == (99, 99)  # exact again once fewer than 100 are left
    mine = await send(bob, cid, "my own post marks the channel read up to it")
    assert counted(await bob.get("/channel/read", id=cid)) == (0, 0) and mine["user_id"] == bob.id


async def test_posting_marks_the_channel_read_for_its_author_up_to_the_post(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    cid = (await alice.post("/channel/edit", organisation_id=org, name="plans", type="private", members=[bob.id]))["id"]
    await alice.post("/channel/members/role", id=cid, user_id=bob.id, role="owner")  # so that bob may rename it
    await history(bob, cid)
    first = await send(alice, cid, "one")
    await send(alice, cid, "two for @bob")

    def state(seen: dict[str, Any]) -> tuple[int, int, str]:
        return seen["unread"], seen["mentions"], seen["last_read_message_id"]

    before = state(await bob.get("/channel/read", id=cid))
    assert before[:2] == (2, 1)
    await send(bob, cid, "a reply in the thread says nothing of the channel", reply_to=first["id"])
    await bob.post("/channel/edit", id=cid, name="plans-2")  # a system notice (RENAME) by bob: no read either
    assert state(await bob.get("/channel/read", id=cid)) == before
    mine = await send(bob, cid, "seen it all")
    listed = (await bob.get("/channel/search", query="plans"))["items"][0]
    for seen in (await bob.get("/channel/read", id=cid), listed):
        assert state(seen) == (0, 0, mine["id"])
    later = await send(alice, cid, "after bob's post, @bob")
    assert state(await bob.get("/channel/read", id=cid)) == (1, 1, mine["id"])  # what came after still counts
    await bob.post("/message/mark_read", channel_id=cid, message_id=later["id"])
    await send(bob, cid, "a reply to the newest", reply_to=later["id"])
    assert state(await bob.get("/channel/read", id=cid)) == (0, 0, later["id"])  # never back, never by a reply


async def test_a_post_never_waits_for_its_authors_member_row_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    """A leave or a role change locks the member row before the channel's, which a batch of posts holds first:
    moving the author's marker skips a row held elsewhere rather than waiting for it (a deadlock otherwise)."""
    async with Harness.running(make_settings(postgres_url, tmp_path)) as chat:
        alice, bob = await chat.users("alice", "bob")
        org = await org_with(alice, bob)
        cid = (await alice.post("/channel/edit", organisation_id=org, name="plans", type="private", members=[bob.id]))["id"]
        await history(bob, cid)
        before = (await bob.get("/channel/read", id=cid))["last_read_message_id"]
        other = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            holding = other.transaction()
            await holding.start()
            await other.execute(
                "SELECT 1 FROM channel_members WHERE channel_id = $1 AND user_id = $2 FOR UPDATE", int(cid), int(bob.id))
            held = await asyncio.wait_for(send(bob, cid, "posted while my member row is held"), 10)
            await holding.rollback()
        finally:
            await other.close()
        assert (await bob.get("/channel/read", id=cid))["last_read_message_id"] == before  # skipped, not waited for
        assert texts(await history(alice, cid))[-1] == "posted while my member row is held" and held["user_id"] == bob.id
        mine = await send(bob, cid, "and now it moves")
        assert (await bob.get("/channel/read", id=cid))["last_read_message_id"] == mine["id"]

async def test_mentioning_a_public_channel_reader_and_adding_one_by_edit(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    cid = await channel_with(alice, readers=(bob,))
    posted = await send(alice, cid, "plain")
    edited = await alice.post("/message/edit", id=posted["id"], contents="now for @bob")
    assert edited["mentions"] == [bob.id]
    assert [e.user_id for e in chat.events_of("mention", "CREATED")] == [int(bob.id)]
    assert (await bob.get("/channel/read", id=cid))["mentions"] is None  # counts are kept for members only


# --- removing ------------------------------------------------------------------------------------------


async def test_who_may_remove(chat: Harness) -> None:
    alice, bob, carol, admin = await chat.users("alice", "bob", "carol", "admin")
    org = await org_with(alice, bob, carol, admin)
    await alice.post("/organisation/members/role", id=org, user_id=admin.id, role="admin")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id, carol.id]))["id"]
    by_bob = [await send(bob, cid, f"bob {n}") for n in range(3)]
    assert (await carol.get("/message/read", id=by_bob[0]["id"]))["can_remove"] is False
    await carol.delete("/message/remove", id=by_bob[0]["id"], expect=403, code="forbidden")
    assert await bob.delete("/message/remove", id=by_bob[0]["id"]) == {"ok": True}
    assert (await alice.get("/message/read", id=by_bob[1]["id"]))["can_remove"] is True
    await alice.delete("/message/remove", id=by_bob[1]["id"])  # channel owner
    await admin.delete("/message/remove", id=by_bob[2]["id"])  # organisation admin, not in the channel
    await bob.delete("/message/remove", id=by_bob[2]["id"], expect=404, code="not_found")
    assert texts(await history(bob, cid)) == []
    removed = chat.events_of("message", "REMOVED")
    assert [e.data["id"] for e in removed] == [m["id"] for m in by_bob]
    assert [e.data["removed_by"] for e in removed] == [bob.id, alice.id, admin.id]


async def test_removed_contents_vanish(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    cid = await channel_with(alice, bob)
    root = await send(alice, cid, "the root")
    secret = await send(bob, cid, "a zanzibar secret", reply_to=root["id"])
    await send(bob, cid, "a visible reply", reply_to=root["id"])
    await alice.post("/message/edit", id=secret["id"], expect=403, code="forbidden", contents="edited zanzibar")
    assert (await alice.get("/message/read", id=root["id"]))["reply_count"] == 2
    assert (await alice.get("/message/search", query="zanzibar"))["total"] == 1
    await bob.post("/message/pin", id=secret["id"])
    await bob.delete("/message/remove", id=secret["id"])
    await alice.get("/message/read", id=secret["id"], expect=404, code="not_found")
    await alice.get("/message/versions", id=secret["id"], expect=404, code="not_found")
    assert (await alice.get("/message/read", id=root["id"]))["reply_count"] == 1
    assert texts(await history(alice, cid, thread=root["id"])) == ["a visible reply"]
    assert texts(await history(alice, cid, include_replies=True)) == ["the root", "a visible reply"]
    assert (await alice.get("/message/search", query="zanzibar"))["total"] == 0
    assert (await alice.get("/message/pins", channel_id=cid))["items"] == []
    removed = chat.events_of("message", "REMOVED")[0]
    assert removed.data == {"id": secret["id"], "channel_id": cid, "reply_to": root["id"], "removed_by": bob.id}
    await bob.post("/message/edit", id=secret["id"], contents="back", expect=404, code="not_found")
    await bob.post("/message/react", id=secret["id"], emoji="👍", expect=404, code="not_found")
    await send(bob, cid, "reply to removed", reply_to=secret["id"], expect=400, code="invalid")


# --- reading -------------------------------------------------------------------------------------------


async def test_history_pages_with_cursors(chat: Harness) -> None:
    alice = await chat.user("alice")
    cid = await channel_with(alice)
    ids = [(await send(alice, cid, f"m{n}"))["id"] for n in range(60)]
    page = await alice.get("/message/read", channel_id=cid)
    assert len(page["items"]) == 50 and page["has_more"] is True
    assert [m["id"] for m in page["items"]] == ids[10:]  # the newest page, oldest first
    older = await alice.get("/message/read", channel_id=cid, before=ids[10])
    assert older["items"][0]["type"] == "CREATE"
    assert [m["id"] for m in older["items"][1:]] == ids[:10] and older["has_more"] is False
    newer = await alice.get("/message/read", channel_id=cid, after=ids[5], limit=3)
    assert [m["id"] for m in newer["items"]] == ids[6:9] and newer["has_more"] is True
    tail = await alice.get("/message/read", channel_id=cid, after=ids[56])
    assert [m["id"] for m in tail["items"]] == ids[57:] and tail["has_more"] is False
    before = await alice.get("/message/read", channel_id=cid, before=ids[30], limit=5)
    assert [m["id"] for m in before["items"]] == ids[25:30] and before["has_more"] is True
    assert len((await alice.get("/message/read", channel_id=cid, limit=1000))["items"]) == 61  # capped at 200
    await alice.get("/message/read", channel_id=cid, limit=0, expect=400, code="invalid")
    await alice.get("/message/read", channel_id=cid, before=ids[1], after=ids[0], expect=400, code="invalid")
    one = await alice.get("/message/read", id=ids[3])
    assert one["contents"] == "m3" and one["id"] == ids[3]
    assert "channel_id" in (await alice.get("/message/read", expect=400, code="invalid"))["error"]["fields"]


async def test_history_limit_is_capped_at_200(chat: Harness) -> None:
    alice = await chat.user("alice")
    cid = await channel_with(alice)
    chat.settings.limits.message_max_chars = 10
    for n in range(205):
        await send(alice, cid, str(n))
    page = await alice.get("/message/read", channel_id=cid, limit=500)
    assert len(page["items"]) == 200 and page["has_more"] is True and page["items"][-1]["contents"] == "204"


async def test_reading_the_newest_page_marks_the_channel_read(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    cid = await channel_with(alice, bob)
    await history(bob, cid)
    ids = [(await send(alice, cid, f"m{n}"))["id"] for n in range(5)]
    assert (await alice.get("/channel/read", id=cid))["unread"] == 0  # one's own messages are read
    state = await bob.get("/channel/read", id=cid)
    assert state["unread"] == 5 and state["mentions"] == 0
    await bob.get("/message/read", channel_id=cid, before=ids[4])  # an older page: no change
    await bob.get("/message/read", channel_id=cid, after=ids[0], limit=2)  # not up to the end: no change
    assert (await bob.get("/channel/read", id=cid))["unread"] == 5
    marked = await bob.post("/message/mark_read", channel_id=cid, message_id=ids[2])
    logged = int((await bob.get("/channel/read", id=cid))["last_seq"])  # the counts say where the log stood
    assert marked == {"channel_id": cid, "last_read_message_id": ids[2], "unread": 2, "mentions": 0, "seq": logged}
    await bob.post("/message/mark_read", channel_id=cid, message_id=ids[0])  # never moves back
    assert (await bob.get("/channel/read", id=cid))["last_read_message_id"] == ids[2]
    await bob.get("/message/read", channel_id=cid, after=ids[2])  # reaches the end
    state = await bob.get("/channel/read", id=cid)
    assert state["unread"] == 0 and state["last_read_message_id"] == ids[4]
    told = [e for e in chat.events_of("read", "UPDATED") if e.user_id == int(bob.id)]
    assert told[-1].data["unread"] == 0
    await send(alice, cid, "one more")
    assert (await bob.post("/message/mark_read", channel_id=cid))["unread"] == 0
    other = await send(alice, await channel_with(alice, name="other"), "elsewhere")
    await bob.post("/message/mark_read", channel_id=cid, message_id=other["id"], expect=400, code="invalid")


async def test_system_notices_never_count_as_unread(chat: Harness) -> None:
    """A new conversation with one message is 1 unread for its other member, not 2 (its CREATE notice is
    history, not something to read); a topic or name change does not make a channel unread either."""
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    dm = (await alice.post("/channel/edit", organisation_id=org, type="direct", members=[bob.id]))["id"]
    assert (await bob.get("/channel/read", id=dm))["unread"] == 0
    await send(alice, dm, "got a minute?")
    assert (await bob.get("/channel/read", id=dm))["unread"] == 1
    assert (await bob.post("/message/mark_read", channel_id=dm))["unread"] == 0
    cid = (await alice.post("/channel/edit", organisation_id=org, name="plans", members=[bob.id]))["id"]
    assert (await bob.get("/channel/read", id=cid))["unread"] == 0
    await alice.post("/channel/edit", id=cid, topic="Q3", name="plans-q3")
    assert (await bob.get("/channel/read", id=cid))["unread"] == 0
    await send(alice, cid, "the plan")
    counted = {c["id"]: c["unread"] for c in (await bob.get("/channel/search", organisation_id=org))["items"]}
    assert counted[cid] == 1 and counted[dm] == 0


async def test_mark_read_needs_membership(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    cid = await channel_with(alice, readers=(bob,))
    await send(alice, cid, "hi")
    assert len(await history(bob, cid)) == 2  # a non-member reads a public channel, no marker is kept
    await bob.post("/message/mark_read", channel_id=cid, expect=400, code="invalid")


async def test_per_viewer_fields(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    cid = await channel_with(alice, bob)
    posted = await send(alice, cid, "look")
    await bob.post("/message/flag", id=posted["id"])
    await bob.post("/message/pin", id=posted["id"])
    for who, emoji in ((bob, "👍"), (alice, "👍"), (alice, ":tada:")):
        chat.clock.advance(1)  # reactions are listed in order of first use
        await who.post("/message/react", id=posted["id"], emoji=emoji)
    as_bob = await bob.get("/message/read", id=posted["id"])
    as_alice = (await history(alice, cid))[-1]
    assert as_bob["flagged"] is True and as_alice["flagged"] is False
    assert as_bob["pinned"] is True and as_alice["pinned"] is True
    assert as_bob["reactions"] == [{"emoji": "👍", "count": 2, "me": True}, {"emoji": ":tada:", "count": 1, "me": False}]
    assert as_alice["reactions"] == [{"emoji": "👍", "count": 2, "me": True}, {"emoji": ":tada:", "count": 1, "me": True}]
    assert as_bob["can_edit"] is False and as_alice["can_edit"] is True
    assert as_bob["edited"] is False


async def test_a_history_page_gives_each_message_its_own_details(chat: Harness) -> None:
    """A page's files, mentions, pins, flags and reactions are read for all its messages at once (two
    statements, docs/performance.md): each message still gets exactly its own, files in attached order."""
    alice, bob, carol = await chat.users("alice", "bob", "carol")
    cid = await channel_with(alice, bob, carol)

    async def stored(owner: Actor, name: str) -> str:
        response = await owner.call("POST", "/file/upload", files={"file": (name, b"x", "text/plain")}, data={"module": "chat"})
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    first, third = await stored(alice, "a.txt"), await stored(alice, "c.txt")
    second = await stored(bob, "b.txt")
    both = await send(alice, cid, "two files for @bob and @carol", file_ids=[third, first])
    one = await send(bob, cid, "one file for @carol", file_ids=[second])
    plain = await send(carol, cid, "nothing attached")
    await bob.post("/message/pin", id=one["id"])
    await carol.post("/message/flag", id=both["id"])
    await bob.post("/message/react", id=plain["id"], emoji="👍")
    await carol.post("/message/react", id=both["id"], emoji=":tada:")
    for reader, flagged in ((carol, {both["id"]}), (bob, set())):
        page = {m["id"]: m for m in await history(reader, cid)}
        assert [f["id"] for f in page[both["id"]]["files"]] == [third, first]
        assert [f["id"] for f in page[one["id"]]["files"]] == [second] and page[plain["id"]]["files"] == []
        assert page[both["id"]]["mentions"] == sorted([bob.id, carol.id], key=int)
        assert page[one["id"]]["mentions"] == [carol.id] and page[plain["id"]]["mentions"] == []
        assert {i for i in page if page[i]["pinned"]} == {one["id"]}
        assert {i for i in page if page[i]["flagged"]} == flagged
        assert page[plain["id"]]["reactions"] == [{"emoji": "👍", "count": 1, "me": reader is bob}]
        assert page[both["id"]]["reactions"] == [{"emoji": ":tada:", "count": 1, "me": reader is carol}]
        assert page[one["id"]]["reactions"] == []


async def test_a_numbered_listing_counts_a_bounded_window_and_is_exact_near_the_end(chat: Harness) -> None:
    """The WorkDrive listing's total counts at most ``ahead`` messages past the page (an exact count reads the
    whole channel): a lower bound that still promises more pages while older messages remain, exact near the end."""
    alice, bob = await chat.users("alice", "bob")
    cid = await channel_with(alice, bob)
    for n in range(12):
        sent = await send(alice, cid, f"m{n}")
    removed = await alice.call("DELETE", "/message/remove", json={"id": sent["id"]})  # neither listed nor counted
    assert removed.status_code == 200, removed.text
    async with chat.core.reading() as conn:
        _, everything = await message_store.page_by_offset(conn, int(cid), 0, 2, ahead=1_000)
        first, bounded = await message_store.page_by_offset(conn, int(cid), 0, 2, ahead=3)
        _, deeper = await message_store.page_by_offset(conn, int(cid), 4, 2, ahead=3)
        last, near_end = await message_store.page_by_offset(conn, int(cid), everything - 2, 2, ahead=3)
    assert [m.contents for m in first] == ["m10", "m9"]
    assert (bounded, deeper, near_end) == (5, 9, everything)
    assert len(last) == 2


async def test_a_numbered_page_is_the_live_messages_at_its_place_however_many_were_removed(chat: Harness) -> None:
    """``page_by_offset`` finds a page's place in the channel's index and steps over removed messages there:
    every page and total equals slicing the live messages, with removed ones first, last, in runs and between,
    and by the plain scan it falls back to for a channel with more removed messages than it lists."""
    alice, bob = await chat.users("alice", "bob")
    cid = await channel_with(alice, bob)
    sent = [await send(alice, cid, f"m{n}") for n in range(30)]
    for n in (0, 1, 5, 6, 7, 8, 13, 20, 27, 28, 29):  # the oldest two, a run of four, singles, the newest three
        response = await alice.call("DELETE", "/message/remove", json={"id": sent[n]["id"]})
        assert response.status_code == 200, response.text
    async with chat.core.reading() as conn:
        live = list((await conn.execute(  # the reference: every live row, read the plain way
            select(messages.c.contents).where(messages.c.channel_id == int(cid), messages.c.deleted_at.is_(None))
            .order_by(messages.c.id.desc()))).scalars())
        kept = (26, 25, 24, 23, 22, 21, 19, 18, 17, 16, 15, 14, 12, 11, 10, 9, 4, 3, 2)
        assert [text for text in live if text.startswith("m")] == [f"m{n}" for n in kept]
        for listed in (message_store.REMOVED_LISTED, 3):  # the index's way; the scan's (11 removed > 3)
            for limit in (1, 2, 5):
                for offset in range(len(live) + 2):
                    for ahead in (0, 3, 1_000):
                        page, total = await message_store.page_by_offset(
                            conn, int(cid), offset, limit, ahead=ahead, removed_listed=listed)
                        assert [m.contents for m in page] == live[offset:offset + limit], (listed, limit, offset)
                        assert total == min(len(live), offset + limit + ahead), (listed, limit, offset, ahead)


# --- pins, flags, reactions ----------------------------------------------------------------------------


async def test_pins(chat: Harness) -> None:
    alice, bob, carol = await chat.users("alice", "bob", "carol")
    cid = await channel_with(alice, bob, carol)
    first, second = await send(alice, cid, "first"), await send(bob, cid, "second")
    pinned = await bob.post("/message/pin", id=first["id"])
    assert pinned["pinned"] is True
    await bob.post("/message/pin", id=first["id"], expect=409, code="already_pinned")
    chat.clock.advance(1)
    await alice.post("/message/pin", id=second["id"])
    listed = (await carol.get("/message/pins", channel_id=cid))["items"]
    assert [(p["id"], p["pinned_by"], p["pinned"]) for p in listed] == [(second["id"], alice.id, True), (first["id"], bob.id, True)]
    assert listed[1]["pinned_at"] is not None
    assert (await carol.post("/message/unpin", id=first["id"]))["pinned"] is False
    await carol.post("/message/unpin", id=first["id"], expect=409, code="not_pinned")
    assert [p["id"] for p in (await alice.get("/message/pins", channel_id=cid))["items"]] == [second["id"]]
    assert [e.event for e in chat.events_of("pin")] == ["ADDED", "ADDED", "REMOVED"]
    outsider = await chat.user("outsider")
    await outsider.get("/message/pins", channel_id=cid, expect=404, code="not_found")
    await outsider.post("/message/pin", id=first["id"], expect=404, code="not_found")


async def test_pin_needs_membership(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    cid = await channel_with(alice, readers=(bob,))
    posted = await send(alice, cid, "hi")
    await bob.post("/message/pin", id=posted["id"], expect=403, code="forbidden")  # reads the public channel, not a member
    assert (await bob.get("/message/pins", channel_id=cid))["items"] == []


async def test_flags_are_private(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    cid = await channel_with(alice, bob)
    one, two = await send(alice, cid, "one"), await send(alice, cid, "two")
    assert (await bob.post("/message/flag", id=one["id"]))["flagged"] is True
    chat.clock.advance(1)
    await bob.post("/message/flag", id=two["id"])
    await bob.post("/message/flag", id=one["id"], expect=409, code="already_flagged")
    listed = await bob.get("/message/flags")
    assert [m["id"] for m in listed["items"]] == [two["id"], one["id"]] and listed["total"] == 2
    assert all(m["flagged"] for m in listed["items"])
    assert (await alice.get("/message/flags"))["total"] == 0
    assert (await alice.get("/message/read", id=one["id"]))["flagged"] is False
    assert (await bob.post("/message/unflag", id=one["id"]))["flagged"] is False
    await bob.post("/message/unflag", id=one["id"], expect=409, code="not_flagged")
    assert [m["id"] for m in (await bob.get("/message/flags"))["items"]] == [two["id"]]
    flag_events = chat.events_of("flag")
    assert [e.event for e in flag_events] == ["ADDED", "ADDED", "REMOVED"]
    assert all(e.user_id == int(bob.id) and e.seq is None for e in flag_events)  # never in the channel log
    await alice.delete("/message/remove", id=two["id"])
    assert (await bob.get("/message/flags"))["total"] == 0


async def test_flags_of_a_channel_one_has_left_are_hidden(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    cid = await channel_with(alice, bob, type="private")
    posted = await send(alice, cid, "secret")
    await bob.post("/message/flag", id=posted["id"])
    await alice.post("/channel/members/remove", id=cid, user_ids=[bob.id])
    listed = await bob.get("/message/flags")
    assert listed["items"] == [] and listed["total"] == 0


async def test_reactions(chat: Harness) -> None:
    alice, bob, carol = await chat.users("alice", "bob", "carol")
    cid = await channel_with(alice, bob, carol)
    posted = await send(alice, cid, "react to me")
    assert (await bob.post("/message/react", id=posted["id"], emoji="👍"))["reactions"] == [{"emoji": "👍", "count": 1, "me": True}]
    await bob.post("/message/react", id=posted["id"], emoji="👍", expect=409, code="already_reacted")
    chat.clock.advance(1)
    await carol.post("/message/react", id=posted["id"], emoji="👍")
    chat.clock.advance(1)
    await carol.post("/message/react", id=posted["id"], emoji=":heart:")
    listed = (await alice.get("/message/reactions", id=posted["id"]))["reactions"]
    assert listed == [
        {"emoji": "👍", "count": 2, "me": False, "user_ids": [bob.id, carol.id]},
        {"emoji": ":heart:", "count": 1, "me": False, "user_ids": [carol.id]},
    ]
    after = await carol.post("/message/unreact", id=posted["id"], emoji="👍")
    assert after["reactions"] == [{"emoji": "👍", "count": 1, "me": False}, {"emoji": ":heart:", "count": 1, "me": True}]
    await carol.post("/message/unreact", id=posted["id"], emoji="👍", expect=409, code="not_reacted")
    for bad in ("", "   ", "two words", "x" * 65):
        refused = await bob.post("/message/react", id=posted["id"], emoji=bad, expect=400, code="invalid")
        assert "emoji" in refused["error"]["fields"]
    await bob.post("/message/react", id=posted["id"], expect=400, code="invalid")
    added = chat.events_of("reaction", "ADDED")
    assert [(e.data["emoji"], e.data["count"]) for e in added] == [("👍", 1), ("👍", 2), (":heart:", 1)]
    assert chat.events_of("reaction", "REMOVED")[0].data["count"] == 1
    outsider = await chat.user("outsider")
    await outsider.get("/message/reactions", id=posted["id"], expect=404, code="not_found")


# --- attachments ---------------------------------------------------------------------------------------


async def attach(actor: Actor, channel: str, name: str, data: bytes, **fields: str):  # type: ignore[no-untyped-def]
    return await actor.call(
        "PUT", "/message/attach", data={"channel_id": channel, **fields}, files={"file": (name, data, "application/octet-stream")}
    )


async def test_attach_posts_a_file_message(chat: Harness) -> None:
    alice, bob, carol = await chat.users("alice", "bob", "carol")
    cid = await channel_with(alice, bob, readers=(carol,))
    response = await attach(alice, cid, "chart.png", png(), contents="  the chart  ")
    assert response.status_code == 200, response.text
    posted = response.json()
    assert posted["type"] == "FILE" and posted["contents"] == "the chart" and len(posted["files"]) == 1
    stored = posted["files"][0]
    assert stored["content_type"] == "image/png" and (stored["width"], stored["height"]) == (64, 48)
    listed = (await history(bob, cid))[-1]
    assert listed["id"] == posted["id"] and listed["files"] == posted["files"]
    created = chat.events_of("message", "CREATED")[-1]
    assert created.data["type"] == "FILE" and created.data["files"][0]["id"] == stored["id"]
    downloaded = await bob.call("GET", "/file/download", params={"id": stored["id"]})
    assert downloaded.status_code == 200 and downloaded.content == png()
    assert (await carol.call("GET", "/file/download", params={"id": stored["id"]})).status_code == 200  # reads the channel
    stranger = await chat.user("stranger")
    await stranger.get("/file/download", id=stored["id"], expect=404, code="not_found")
    no_text = await attach(alice, cid, "notes.txt", b"plain words\n")
    assert no_text.status_code == 200 and no_text.json()["contents"] == ""
    assert no_text.json()["files"][0]["content_type"] == "text/plain"
    await chat.refused(attach(carol, cid, "x.txt", b"x"), 403, "forbidden")  # in the organisation, not the channel
    await chat.refused(attach(stranger, cid, "x.txt", b"x"), 404, "not_found")
    reply = await attach(bob, cid, "r.txt", b"reply\n", reply_to=posted["id"], client_msg_id="up-1")
    assert reply.status_code == 200 and reply.json()["reply_to"] == posted["id"]
    retried = await attach(bob, cid, "r.txt", b"reply\n", reply_to=posted["id"], client_msg_id="up-1")
    assert retried.json()["id"] == reply.json()["id"]
    missing = await alice.request("PUT", "/message/attach", 400, "invalid", data={"channel_id": cid})
    assert "file" in missing["error"]["fields"]


async def test_attach_size_limit(chat: Harness) -> None:
    alice = await chat.user("alice")
    cid = await channel_with(alice)
    chat.settings.limits.upload_max_bytes = 1000
    assert (await attach(alice, cid, "ok.bin", b"\0" * 1000)).status_code == 200
    await chat.refused(attach(alice, cid, "big.bin", b"\0" * 1001), 413, "too_large")
    chat.settings.limits.message_max_chars = 5
    await chat.refused(attach(alice, cid, "ok.bin", b"\0", contents="too long"), 413, "too_large")
    assert [m["type"] for m in await history(alice, cid)] == ["CREATE", "FILE"]


async def test_concurrent_duplicate_marks_conflict_cleanly(chat: Harness) -> None:
    alice = await chat.user("alice")
    cid = await channel_with(alice)
    posted = await send(alice, cid, "race me")
    marks: tuple[tuple[str, dict[str, str], str], ...] = (
        ("/message/react", {"emoji": "👍"}, "already_reacted"), ("/message/pin", {}, "already_pinned"),
        ("/message/flag", {}, "already_flagged"))
    for path, extra, code in marks:
        calls = [alice.call("POST", path, json={"id": posted["id"], **extra}) for _ in range(6)]
        async with chat.capture(expect=1):  # one mark, one event: the five refused told nobody
            responses = await asyncio.gather(*calls)
        answers = sorted((r.status_code, r.json().get("error", {}).get("code")) for r in responses)
        assert answers == [(200, None)] + [(409, code)] * 5, (path, answers)
    seen = await alice.get("/message/read", id=posted["id"])
    assert seen["pinned"] and seen["flagged"] and seen["reactions"] == [{"emoji": "👍", "count": 1, "me": True}]


async def test_nul_characters_are_refused(chat: Harness) -> None:
    """PostgreSQL text cannot hold NUL: a 400 naming the field on both backends, never a 500."""
    alice = await chat.user("alice")
    cid = await channel_with(alice)
    assert "contents" in (await send(alice, cid, "a\x00b", expect=400, code="invalid"))["error"]["fields"]
    assert "client_msg_id" in (await send(alice, cid, "ok", client_msg_id="k\x00", expect=400, code="invalid"))["error"]["fields"]
    posted = await send(alice, cid, "ok")
    refused = await alice.post("/message/react", id=posted["id"], emoji="\x00", expect=400, code="invalid")
    assert "emoji" in refused["error"]["fields"]
    refused = await alice.post("/message/edit", id=posted["id"], contents="\x00x", expect=400, code="invalid")
    assert "contents" in refused["error"]["fields"]


async def test_concurrent_edits_and_removals_of_one_message(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    cid = await channel_with(alice, bob)
    root = await send(alice, cid, "root")
    posted = await send(alice, cid, "v0", reply_to=root["id"])
    await asyncio.gather(*(alice.post("/message/edit", id=posted["id"], contents=f"v{n}") for n in range(1, 7)))
    versions = (await alice.get("/message/versions", id=posted["id"]))["versions"]
    assert [v["version"] for v in versions] == list(range(1, 8))  # every edit kept what it replaced
    assert sorted(v["contents"] for v in versions) == [f"v{n}" for n in range(7)]
    assert len({v["contents"] for v in versions}) == 7
    calls = [alice.call("DELETE", "/message/remove", params={"id": posted["id"]}) for _ in range(4)]
    statuses = sorted(r.status_code for r in await asyncio.gather(*calls))
    assert statuses == [200, 404, 404, 404]
    assert (await alice.get("/message/read", id=root["id"]))["reply_count"] == 0
    assert len(chat.events_of("message", "REMOVED")) == 1


async def test_an_edit_that_drops_a_mention_drops_the_count(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    cid = await channel_with(alice, bob)
    posted = await send(alice, cid, "ping @bob")
    assert (await bob.get("/channel/read", id=cid))["mentions"] == 1
    await alice.post("/message/edit", id=posted["id"], contents="never mind")
    assert (await bob.get("/channel/read", id=cid))["mentions"] == 0


async def test_nul_characters_are_refused_in_every_field(chat: Harness) -> None:
    alice = await chat.user("alice")
    org = await org_with(alice)
    error = await alice.post("/channel/edit", organisation_id=org, name="bad\x00name", expect=400, code="invalid")
    assert error["error"]["fields"] == {"name": "must not contain NUL characters"}
    await alice.post("/organisation/edit", name="x\x00", expect=400, code="invalid")


async def test_files_of_removed_messages_go_after_the_grace_period(chat: Harness) -> None:
    from chatd.core.files import purge_files

    alice, bob = await chat.users("alice", "bob")
    cid = await channel_with(alice, bob)
    kept = (await attach(alice, cid, "kept.txt", b"stays\n")).json()
    gone = (await attach(alice, cid, "gone.png", png())).json()
    await alice.delete("/message/remove", id=gone["id"])
    assert await purge_files(chat.core) == 0  # within the grace period nothing goes
    chat.clock.advance(chat.settings.limits.file_grace_days * 86_400 + 1)
    assert await purge_files(chat.core) == 1
    stray = await alice.call("POST", "/file/upload", files={"file": ("stray.txt", b"never attached\n")})
    assert stray.status_code == 200
    chat.clock.advance(chat.settings.limits.file_grace_days * 86_400 + 1)
    assert await purge_files(chat.core) == 1  # uploaded, never attached: gone after the grace period too
    await alice.get("/file/download", id=gone["files"][0]["id"], expect=404, code="not_found")
    assert not list((chat.settings.data_path / "files" / gone["files"][0]["id"]).glob("*"))
    assert (await bob.call("GET", "/file/download", params={"id": kept["files"][0]["id"]})).status_code == 200


async def test_the_answer_to_a_post_is_the_message_as_reading_it_back_shows_it(chat: Harness) -> None:
    """The answer reuses the shape the post's event carries (``MessageView.shared``) where it is the same:
    it must not differ from the message read back, for a plain post, a reply and a mention alike."""
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    channel = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
    await alice.post("/channel/members/add", id=channel, user_ids=[bob.id])
    plain = await alice.post("/message/edit", channel_id=channel, contents="plain words")
    mention = await alice.post("/message/edit", channel_id=channel, contents="hello @bob")
    read = {m["id"]: m for m in await history(alice, channel)}
    for posted in (plain, mention):
        assert posted == read[posted["id"]]
    assert mention["mentions"] == [bob.id]
