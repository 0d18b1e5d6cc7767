"""Teams: create, update and member sets, read, search, archive, remove, move between organisations."""

from __future__ import annotations

from typing import Any

from harness import Harness, org_with


def _member_ids(team: dict[str, Any]) -> set[str]:
    return {m["user_id"] for m in team["members"]}


async def test_create_team_with_members_and_read_it(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    team = await alice.post("/team/edit", organisation_id=org, name="Core", members=[bob.id])
    assert team["organisation_id"] == org and team["name"] == "Core"
    assert _member_ids(team) == {alice.id, bob.id}
    read = await bob.get("/team/read", id=team["id"])
    assert read["name"] == "Core" and _member_ids(read) == {alice.id, bob.id}


async def test_members_may_come_as_form_list_or_comma_separated(chat: Harness) -> None:
    alice, bob, carol = await chat.users("alice", "bob", "carol")
    org = await org_with(alice, bob, carol)
    form = await alice.call("POST", "/team/edit", data={"organisation_id": org, "name": "A", "members[]": [bob.id, carol.id]})
    assert _member_ids(form.json()) == {alice.id, bob.id, carol.id}
    comma = await alice.call("POST", "/team/edit", params={"organisation_id": org, "name": "B", "members": f"{bob.id},{carol.id}"})
    assert _member_ids(comma.json()) == {alice.id, bob.id, carol.id}


async def test_members_replaces_the_member_set(chat: Harness) -> None:
    alice, bob, carol = await chat.users("alice", "bob", "carol")
    org = await org_with(alice, bob, carol)
    team = await alice.post("/team/edit", organisation_id=org, name="Core", members=[bob.id])
    updated = await alice.post("/team/edit", id=team["id"], members=[carol.id])
    assert _member_ids(updated) == {carol.id} and updated["name"] == "Core"
    renamed = await alice.post("/team/edit", id=team["id"], name="Platform")
    assert renamed["name"] == "Platform" and _member_ids(renamed) == {carol.id}


async def test_members_must_belong_to_the_organisation(chat: Harness) -> None:
    alice, outsider = await chat.users("alice", "outsider")
    org = await org_with(alice)
    error = await alice.post("/team/edit", organisation_id=org, name="Core", members=[outsider.id], expect=400, code="invalid")
    assert "members" in error["error"]["fields"] and outsider.id in error["error"]["message"]


async def test_bad_input_names_the_field(chat: Harness) -> None:
    alice = await chat.user("alice")
    org = await org_with(alice)
    loner = await chat.user("loner")  # in no organisation: there is none to default to
    assert "organisation_id" in (await loner.post("/team/edit", name="X", expect=400, code="invalid"))["error"]["fields"]
    assert "name" in (await alice.post("/team/edit", organisation_id=org, expect=400, code="invalid"))["error"]["fields"]
    refused = await alice.post("/team/edit", organisation_id=org, name="X", members=["x"], expect=400, code="invalid")
    assert "members.0" in refused["error"]["fields"]
    await alice.get("/team/read", id="nope", expect=400, code="invalid")
    await alice.get("/team/read", id="777", expect=404, code="not_found")


async def test_outsiders_cannot_see_or_change_a_team(chat: Harness) -> None:
    alice, bob, mallory = await chat.users("alice", "bob", "mallory")
    org = await org_with(alice, bob)
    team = await alice.post("/team/edit", organisation_id=org, name="Core")
    await mallory.get("/team/read", id=team["id"], expect=404, code="not_found")
    await mallory.post("/team/edit", organisation_id=org, name="Mine", expect=404, code="not_found")
    await bob.post("/team/edit", id=team["id"], name="Bob's", expect=403, code="forbidden")
    await bob.post("/team/archive", id=team["id"], expect=403, code="forbidden")
    await bob.delete("/team/remove", id=team["id"], expect=403, code="forbidden")
    assert (await mallory.get("/team/search"))["total"] == 0


async def test_search_by_name_and_organisation(chat: Harness) -> None:
    alice = await chat.user("alice")
    acme, globex = await org_with(alice), await org_with(alice, name="Globex")
    for org, name in ((acme, "Design"), (acme, "Devops"), (globex, "Design ops")):
        await alice.post("/team/edit", organisation_id=org, name=name)
    assert [t["name"] for t in (await alice.get("/team/search", query="des"))["items"]] == ["Design", "Design ops"]
    in_acme = await alice.get("/team/search", organisation_id=acme)
    assert [t["name"] for t in in_acme["items"]] == ["Design", "Devops"]
    paged = await alice.get("/team/search", per_page=1)
    assert paged["total"] == 3 and paged["next_page"] == 2


async def test_archived_team_refuses_changes(chat: Harness) -> None:
    alice = await chat.user("alice")
    org = await org_with(alice)
    team = await alice.post("/team/edit", organisation_id=org, name="Core")
    assert (await alice.post("/team/archive", id=team["id"]))["archived"] is True
    await alice.post("/team/edit", id=team["id"], name="X", expect=409, code="archived")
    assert (await alice.get("/team/search", archived=True))["total"] == 1
    await alice.post("/team/unarchive", id=team["id"])
    await alice.post("/team/edit", id=team["id"], name="X")


async def test_no_new_team_in_an_archived_organisation(chat: Harness) -> None:
    alice = await chat.user("alice")
    org = await org_with(alice)
    await alice.post("/organisation/archive", id=org)
    await alice.post("/team/edit", organisation_id=org, name="Core", expect=409, code="archived")


async def test_removed_team_is_gone(chat: Harness) -> None:
    alice = await chat.user("alice")
    org = await org_with(alice)
    team = await alice.post("/team/edit", organisation_id=org, name="Core")
    await alice.delete("/team/remove", id=team["id"])
    await alice.get("/team/read", id=team["id"], expect=404, code="not_found")
    assert (await alice.get("/team/search"))["total"] == 0


async def test_move_drops_members_outside_the_target_organisation(chat: Harness) -> None:
    alice, bob, carol = await chat.users("alice", "bob", "carol")
    acme = await org_with(alice, bob, carol)
    globex = await org_with(alice, bob, name="Globex")
    team = await alice.post("/team/edit", organisation_id=acme, name="Core", members=[bob.id, carol.id])
    moved = await alice.post("/team/move", id=team["id"], organisation_id=globex)
    assert moved["organisation_id"] == globex
    assert _member_ids(moved) == {alice.id, bob.id}
    await carol.get("/team/read", id=team["id"], expect=404, code="not_found")


async def test_move_needs_admin_in_both_organisations(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    acme = await org_with(alice, bob)
    bobs = await org_with(bob, name="Bob's")
    team = await alice.post("/team/edit", organisation_id=acme, name="Core")
    await alice.post("/team/move", id=team["id"], organisation_id=bobs, expect=404, code="not_found")
    await bob.post("/team/move", id=team["id"], organisation_id=bobs, expect=403, code="forbidden")
    await alice.post("/team/move", id=team["id"], organisation_id=acme, expect=400, code="invalid")
    await alice.post("/team/move", id=team["id"], expect=400, code="invalid")
