"""Channels: create (each type), rename and topic with system messages, read, search, archive, remove,
membership, move and merge."""

from __future__ import annotations

from typing import Any

from harness import Harness, history, org_with

__all__ = ["history", "org_with"]  # other test files once imported these from here


async def test_create_public_channel_writes_a_create_message(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    channel = await alice.post("/channel/edit", organisation_id=org, name="general", topic="Hello")
    assert channel["type"] == "public" and channel["role"] == "owner" and channel["topic"] == "Hello"
    assert channel["member_count"] == 1
    created = await history(alice, channel["id"])
    assert [m["type"] for m in created] == ["CREATE"] and "@alice" in created[0]["contents"]
    assert (await bob.get("/channel/read", id=channel["id"]))["member"] is False  # public: readable by the org


async def test_rename_and_topic_are_told_by_system_messages(chat: Harness) -> None:
    alice = await chat.user("alice")
    org = await org_with(alice)
    channel = await alice.post("/channel/edit", organisation_id=org, name="general")
    updated = await alice.post("/channel/edit", id=channel["id"], name="lobby", topic="Welcome all")
    assert updated["name"] == "lobby" and updated["topic"] == "Welcome all"
    items = await history(alice, channel["id"])
    assert [m["type"] for m in items] == ["CREATE", "RENAME", "TOPIC"]
    assert items[1]["meta"] == {"old": "general", "new": "lobby"}
    assert items[2]["meta"] == {"old": "", "new": "Welcome all"}
    assert "@alice" in items[1]["contents"]


async def test_private_channel_is_invisible_to_non_members(chat: Harness) -> None:
    alice, bob, carol = await chat.users("alice", "bob", "carol")
    org = await org_with(alice, bob, carol)
    secret = await alice.post("/channel/edit", organisation_id=org, name="secret", type="private", members=[bob.id])
    await bob.get("/channel/read", id=secret["id"])
    await carol.get("/channel/read", id=secret["id"], expect=404, code="not_found")
    await carol.get("/message/read", channel_id=secret["id"], expect=404, code="not_found")
    await carol.post("/channel/join", id=secret["id"], expect=404, code="not_found")
    assert (await carol.get("/channel/search", query="secret"))["total"] == 0
    assert (await bob.get("/channel/search", query="secret"))["total"] == 1


async def test_direct_channel_is_unique(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    first = await alice.post("/channel/edit", organisation_id=org, type="direct", members=[bob.id])
    again = await bob.post("/channel/edit", organisation_id=org, type="direct", members=[alice.id])
    assert first["id"] == again["id"] and first["member_count"] == 2
    error = await alice.post(
        "/channel/edit", organisation_id=org, type="direct", members=[bob.id, alice.id, "1"], expect=400, code="invalid"
    )
    assert "members" in error["error"]["fields"]
    await alice.post("/channel/members/add", id=first["id"], user_ids=[bob.id], expect=400, code="invalid")


async def test_group_channel_needs_no_name(chat: Harness) -> None:
    alice, bob, carol = await chat.users("alice", "bob", "carol")
    org = await org_with(alice, bob, carol)
    group = await alice.post("/channel/edit", organisation_id=org, type="group", members=[bob.id, carol.id])
    assert group["type"] == "group" and group["member_count"] == 3
    notices = [m["contents"] for m in (await bob.get("/message/read", channel_id=group["id"]))["items"]]
    assert notices == ["@alice started this conversation"]  # a conversation, not a channel anyone created


async def test_create_checks_input(chat: Harness) -> None:
    alice, outsider = await chat.users("alice", "outsider")
    org = await org_with(alice)
    assert "name" in (await alice.post("/channel/edit", organisation_id=org, expect=400, code="invalid"))["error"]["fields"]
    refused = await alice.post("/channel/edit", organisation_id=org, name="x", type="weird", expect=400, code="invalid")
    assert "type" in refused["error"]["fields"]
    assert "organisation_id" in (await outsider.post("/channel/edit", name="x", expect=400, code="invalid"))["error"]["fields"]
    error = await alice.post("/channel/edit", organisation_id=org, name="x", members=[outsider.id], expect=400, code="invalid")
    assert outsider.id in error["error"]["message"]
    await outsider.post("/channel/edit", organisation_id=org, name="x", expect=404, code="not_found")
    await alice.get("/channel/read", id="12345", expect=404, code="not_found")
    await alice.get("/channel/read", id="abc", expect=400, code="invalid")


async def test_only_owners_change_a_channel(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    channel = await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id])
    await bob.post("/channel/edit", id=channel["id"], name="mine", expect=403, code="forbidden")
    await bob.post("/channel/archive", id=channel["id"], expect=403, code="forbidden")
    await bob.delete("/channel/remove", id=channel["id"], expect=403, code="forbidden")
    await alice.post("/channel/members/role", id=channel["id"], user_id=bob.id, role="owner")
    await bob.post("/channel/edit", id=channel["id"], name="mine")


async def test_team_channel_and_search_filters(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    team = await alice.post("/team/edit", organisation_id=org, name="Core")
    in_team = await alice.post("/channel/edit", team_id=team["id"], name="core-dev", topic="the engine")
    assert in_team["team_id"] == team["id"] and in_team["organisation_id"] == org
    await alice.post("/channel/edit", organisation_id=org, name="random")
    private = await alice.post("/channel/edit", organisation_id=org, name="plans", type="private")

    def names(page: dict[str, Any]) -> list[str]:
        return [c["name"] for c in page["items"]]

    assert names(await alice.get("/channel/search", team_id=team["id"])) == ["core-dev"]
    assert names(await alice.get("/channel/search", query="ENGINE")) == ["core-dev"]
    assert names(await alice.get("/channel/search", type="private")) == ["plans"]
    assert names(await bob.get("/channel/search")) == ["core-dev", "random"]
    assert names(await bob.get("/channel/search", member=True)) == []
    await alice.post("/channel/archive", id=private["id"])
    assert names(await alice.get("/channel/search", archived=True)) == ["plans"]
    paged = await alice.get("/channel/search", per_page=2)
    assert paged["total"] == 3 and paged["next_page"] == 2
    await alice.get("/channel/search", type="nope", expect=400, code="invalid")


async def test_archived_channel_is_read_only(chat: Harness) -> None:
    alice = await chat.user("alice")
    org = await org_with(alice)
    channel = await alice.post("/channel/edit", organisation_id=org, name="general")
    posted = await alice.post("/message/edit", channel_id=channel["id"], contents="before")
    archived = await alice.post("/channel/archive", id=channel["id"])
    assert archived["archived"] is True
    await alice.post("/channel/archive", id=channel["id"], expect=409, code="archived")
    await alice.post("/message/edit", channel_id=channel["id"], contents="x", expect=409, code="archived")
    await alice.post("/message/edit", id=posted["id"], contents="changed", expect=409, code="archived")
    await alice.post("/channel/edit", id=channel["id"], name="x", expect=409, code="archived")
    assert len(await history(alice, channel["id"])) == 2  # still readable
    await alice.post("/channel/unarchive", id=channel["id"])
    await alice.post("/message/edit", channel_id=channel["id"], contents="after")


async def test_removed_channel_is_gone(chat: Harness) -> None:
    alice = await chat.user("alice")
    org = await org_with(alice)
    channel = await alice.post("/channel/edit", organisation_id=org, name="general")
    assert await alice.delete("/channel/remove", id=channel["id"]) == {"ok": True}
    await alice.get("/channel/read", id=channel["id"], expect=404, code="not_found")
    await alice.post("/message/edit", channel_id=channel["id"], contents="x", expect=404, code="not_found")
    assert (await alice.get("/channel/search"))["total"] == 0


async def test_join_leave_add_remove_and_list_members(chat: Harness) -> None:
    alice, bob, carol, outsider = await chat.users("alice", "bob", "carol", "outsider")
    org = await org_with(alice, bob, carol)
    channel = await alice.post("/channel/edit", organisation_id=org, name="general")
    cid = channel["id"]
    await bob.post("/message/edit", channel_id=cid, contents="hi", expect=403, code="forbidden")  # read, but join to write
    joined = await bob.post("/channel/join", id=cid)
    assert {m["user_id"] for m in joined["members"]} == {alice.id, bob.id}
    await bob.post("/channel/join", id=cid, expect=409, code="already_member")
    await bob.post("/message/edit", channel_id=cid, contents="hi")
    await bob.post("/channel/members/add", id=cid, user_ids=[carol.id], expect=403, code="forbidden")
    added = await alice.post("/channel/members/add", id=cid, user_ids=[carol.id])
    assert len(added["members"]) == 3
    await alice.post("/channel/members/add", id=cid, user_ids=[outsider.id], expect=400, code="invalid")
    removed = await alice.post("/channel/members/remove", id=cid, user_ids=[carol.id])
    assert {m["user_id"] for m in removed["members"]} == {alice.id, bob.id}
    await bob.post("/channel/leave", id=cid)
    await bob.post("/channel/leave", id=cid, expect=409, code="not_member")
    listed = await alice.get("/channel/members", id=cid)
    assert [(m["user_id"], m["role"]) for m in listed["members"]] == [(alice.id, "owner")]
    await outsider.get("/channel/members", id=cid, expect=404, code="not_found")
    await alice.post("/channel/members/role", id=cid, user_id=bob.id, role="owner", expect=404, code="not_found")
    await alice.post("/channel/members/role", id=cid, user_id=alice.id, role="boss", expect=400, code="invalid")


async def test_private_channel_cannot_be_joined(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    channel = await alice.post("/channel/edit", organisation_id=org, name="plans", type="private")
    await bob.post("/channel/join", id=channel["id"], expect=404, code="not_found")


async def test_last_owner_cannot_leave_others_behind(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    channel = await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id])
    await alice.post("/channel/leave", id=channel["id"], expect=409, code="last_owner")
    await alice.post("/channel/members/role", id=channel["id"], user_id=bob.id, role="owner")
    await alice.post("/channel/leave", id=channel["id"])


async def test_move_to_another_organisation_drops_outsiders(chat: Harness) -> None:
    alice, bob, carol = await chat.users("alice", "bob", "carol")
    acme = await org_with(alice, bob, carol)
    globex = await org_with(alice, bob, name="Globex")
    channel = await alice.post("/channel/edit", organisation_id=acme, name="plans", type="private", members=[bob.id, carol.id])
    team = await alice.post("/team/edit", organisation_id=globex, name="Ops")
    moved = await alice.post("/channel/move", id=channel["id"], team_id=team["id"])
    assert moved["organisation_id"] == globex and moved["team_id"] == team["id"] and moved["member_count"] == 2
    await carol.get("/channel/read", id=channel["id"], expect=404, code="not_found")
    await bob.get("/channel/read", id=channel["id"])
    await alice.post("/channel/move", id=channel["id"], team_id=team["id"], expect=400, code="invalid")
    await alice.post("/channel/move", id=channel["id"], expect=400, code="invalid")
    await bob.post("/channel/move", id=channel["id"], organisation_id=acme, expect=403, code="forbidden")
    left = [e for e in chat.events_of("member", "LEFT") if e.channel_id == int(channel["id"])]
    assert [e.data["user_id"] for e in left] == [carol.id] and left[0].data["reason"] == "moved"


async def test_move_needs_membership_of_the_target(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    acme = await org_with(alice)
    bobs = await org_with(bob, name="Bob's")
    channel = await alice.post("/channel/edit", organisation_id=acme, name="general")
    await alice.post("/channel/move", id=channel["id"], organisation_id=bobs, expect=404, code="not_found")


async def test_merge_keeps_everything_in_time_order(chat: Harness) -> None:
    alice, bob, carol = await chat.users("alice", "bob", "carol")
    org = await org_with(alice, bob, carol)
    source = (await alice.post("/channel/edit", organisation_id=org, name="old", members=[bob.id]))["id"]
    dest = (await alice.post("/channel/edit", organisation_id=org, name="new", members=[carol.id]))["id"]
    a1 = await alice.post("/message/edit", channel_id=source, contents="one")
    d1 = await carol.post("/message/edit", channel_id=dest, contents="two")
    a2 = await bob.post("/message/edit", channel_id=source, contents="three", reply_to=a1["id"])
    await bob.post("/message/pin", id=a1["id"])
    await bob.post("/message/flag", id=a1["id"])
    await carol.post("/message/react", id=d1["id"], emoji="👍")
    await bob.post("/message/react", id=a1["id"], emoji="🎉")
    merged = await alice.post("/channel/merge", source=source, destination=dest)
    assert merged["id"] == dest and merged["member_count"] == 3
    items = await history(bob, dest, include_replies=True)
    texts = [m["contents"] for m in items if m["type"] == "MESSAGE" and m["user_id"]]
    assert texts == ["one", "two", "three"]
    by_id = {m["id"]: m for m in items}
    assert by_id[a1["id"]]["user_id"] == alice.id and by_id[a1["id"]]["pinned"] and by_id[a1["id"]]["flagged"]
    assert by_id[a1["id"]]["reactions"] == [{"emoji": "🎉", "count": 1, "me": True}]
    assert by_id[a2["id"]]["reply_to"] == a1["id"] and by_id[a1["id"]]["reply_count"] == 1
    assert [p["id"] for p in (await bob.get("/message/pins", channel_id=dest))["items"]] == [a1["id"]]
    old = await alice.get("/channel/read", id=source)
    assert old["archived"] and old["merged_into"] == dest
    notice = (await history(alice, source))[-1]
    assert notice["meta"] == {"merged_into": dest}
    await alice.post("/message/edit", channel_id=source, contents="x", expect=409, code="archived")


async def test_merge_refuses_across_organisations_and_checks_rights(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    acme, globex = await org_with(alice, bob), await org_with(alice, name="Globex")
    a = (await alice.post("/channel/edit", organisation_id=acme, name="a", members=[bob.id]))["id"]
    b = (await alice.post("/channel/edit", organisation_id=globex, name="b"))["id"]
    c = (await alice.post("/channel/edit", organisation_id=acme, name="c", members=[bob.id]))["id"]
    refused = await alice.post("/channel/merge", source=a, destination=b, expect=400, code="invalid")
    assert "destination" in refused["error"]["fields"]
    await alice.post("/channel/merge", source=a, destination=a, expect=400, code="invalid")
    await bob.post("/channel/merge", source=a, destination=c, expect=403, code="forbidden")
    await alice.post("/channel/merge", source=a, expect=400, code="invalid")


async def test_member_counts_follow_every_way_in_and_out(chat: Harness) -> None:
    """``member_count`` is kept with the channel (schema 8), not counted from its rows on every read: each way
    a member comes or goes moves it, on the channel read and on the list alike."""
    alice, bob, carol, dave = await chat.users("alice", "bob", "carol", "dave")
    org = await org_with(alice, bob, carol, dave)
    cid = (await alice.post("/channel/edit", organisation_id=org, name="plans", members=[bob.id]))["id"]

    async def counted() -> int:
        read = (await alice.get("/channel/read", id=cid))["member_count"]
        listed = next(c for c in (await alice.get("/channel/search", query="plans"))["items"] if c["id"] == cid)
        assert listed["member_count"] == read
        return int(read)

    assert await counted() == 2
    await carol.post("/channel/join", id=cid)
    await alice.post("/channel/members/add", id=cid, user_ids=[dave.id, carol.id])  # carol is in already
    assert await counted() == 4
    await alice.post("/channel/members/remove", id=cid, user_ids=[bob.id, bob.id])
    await alice.post("/channel/members/remove", id=cid, user_ids=[bob.id])  # gone already
    assert await counted() == 3
    await carol.post("/channel/leave", id=cid)
    assert await counted() == 2
    await alice.post("/organisation/members/remove", id=org, user_id=dave.id)  # leaves the org's channels too
    assert await counted() == 1
