"""Organisations: create, rename, read, search, archive, remove, and member roles."""

from __future__ import annotations

from typing import Any

from harness import Actor, Harness


async def _org(owner: Actor, name: str = "Acme") -> dict[str, Any]:
    org: dict[str, Any] = await owner.post("/organisation/edit", name=name)
    return org


async def test_creator_becomes_owner_and_can_rename(chat: Harness) -> None:
    alice = await chat.user("alice")
    org = await _org(alice)
    assert org["role"] == "owner" and org["name"] == "Acme" and isinstance(org["id"], str)
    renamed = await alice.post("/organisation/edit", id=org["id"], name="  Acme Corp ")
    assert renamed["name"] == "Acme Corp"
    assert (await alice.get("/organisation/read", id=org["id"]))["name"] == "Acme Corp"


async def test_parameters_come_from_query_form_or_json_alike(chat: Harness) -> None:
    alice = await chat.user("alice")
    by_form = await alice.call("POST", "/organisation/edit", data={"name": "Form"})
    by_query = await alice.call("POST", "/organisation/edit", params={"name": "Query"})
    assert by_form.status_code == by_query.status_code == 200
    number_id = int(by_form.json()["id"])
    read = await alice.get("/organisation/read", id=number_id)
    assert read["name"] == "Form"
    by_json_number = await alice.call("POST", "/organisation/edit", json={"id": number_id, "name": "Renamed"})
    assert by_json_number.json()["name"] == "Renamed"


async def test_bad_input_is_400_naming_the_field(chat: Harness) -> None:
    alice = await chat.user("alice")
    missing = await alice.post("/organisation/edit", expect=400, code="invalid")
    assert missing["error"]["fields"] == {"name": "required"}
    blank = await alice.post("/organisation/edit", name="   ", expect=400, code="invalid")
    assert "name" in blank["error"]["fields"]
    for bad in ("abc", "-1", "0", "1.5", "99999999999999999999999"):
        error = await alice.get("/organisation/read", id=bad, expect=400, code="invalid")
        assert "id" in error["error"]["fields"]
    long = await alice.post("/organisation/edit", name="x" * 129, expect=400, code="invalid")
    assert "name" in long["error"]["fields"]
    await alice.request(
        "POST", "/organisation/edit", 400, "bad_json", content=b"{nope", headers={"content-type": "application/json"}
    )


async def test_unknown_and_foreign_organisations_are_404(chat: Harness) -> None:
    alice, mallory = await chat.user("alice"), await chat.user("mallory")
    org = await _org(alice)
    await alice.get("/organisation/read", id="123456789", expect=404, code="not_found")
    await mallory.get("/organisation/read", id=org["id"], expect=404, code="not_found")
    await mallory.post("/organisation/edit", id=org["id"], name="Mine", expect=404, code="not_found")


async def test_search_lists_only_my_organisations_with_paging(chat: Harness) -> None:
    alice, bob = await chat.user("alice"), await chat.user("bob")
    for name in ("Beta", "alpha", "Gamma"):
        await _org(alice, name)
    await _org(bob, "Bob's")
    found = await alice.get("/organisation/search")
    assert [o["name"] for o in found["items"]] == ["alpha", "Beta", "Gamma"] and found["total"] == 3
    assert [o["name"] for o in (await alice.get("/organisation/search", query="AM"))["items"]] == ["Gamma"]
    paged = await alice.get("/organisation/search", per_page=2, page=2)
    assert [o["name"] for o in paged["items"]] == ["Gamma"] and paged["next_page"] is None
    assert (await bob.get("/organisation/search"))["total"] == 1


async def test_archived_organisation_refuses_changes_until_unarchived(chat: Harness) -> None:
    alice = await chat.user("alice")
    org = await _org(alice)
    archived = await alice.post("/organisation/archive", id=org["id"])
    assert archived["archived"] is True and archived["archived_at"]
    await alice.post("/organisation/edit", id=org["id"], name="New", expect=409, code="archived")
    await alice.post("/organisation/archive", id=org["id"], expect=409, code="archived")
    assert (await alice.get("/organisation/search", archived=True))["total"] == 1
    assert (await alice.get("/organisation/search", archived=False))["total"] == 0
    await alice.post("/organisation/unarchive", id=org["id"])
    await alice.post("/organisation/edit", id=org["id"], name="New")


async def test_only_owner_removes_and_then_it_is_gone(chat: Harness) -> None:
    alice, bob = await chat.user("alice"), await chat.user("bob")
    org = await _org(alice)
    await alice.post("/organisation/members/add", id=org["id"], user_id=bob.id, role="admin")
    await bob.delete("/organisation/remove", id=org["id"], expect=403, code="forbidden")
    await alice.delete("/organisation/remove", id=org["id"])
    await alice.get("/organisation/read", id=org["id"], expect=404, code="not_found")
    assert (await alice.get("/organisation/search"))["total"] == 0


async def test_admins_manage_members_but_only_owners_touch_owners(chat: Harness) -> None:
    alice, bob, carol, dave = await chat.users("alice", "bob", "carol", "dave")
    org = (await _org(alice))["id"]
    await alice.post("/organisation/members/add", id=org, user_id=bob.id, role="admin")
    await bob.post("/organisation/members/add", id=org, user_id=carol.id)
    assert (await carol.get("/organisation/read", id=org))["role"] == "member"
    await carol.post("/organisation/members/add", id=org, user_id=dave.id, expect=403, code="forbidden")
    await bob.post("/organisation/members/role", id=org, user_id=carol.id, role="owner", expect=403, code="forbidden")
    await bob.post("/organisation/members/role", id=org, user_id=alice.id, role="member", expect=403, code="forbidden")
    await bob.delete("/organisation/members/remove", id=org, user_id=alice.id, expect=403, code="forbidden")
    await bob.post("/organisation/members/role", id=org, user_id=carol.id, role="admin")
    members = await alice.get("/organisation/members", id=org)
    assert {(m["user_id"], m["role"]) for m in members["items"]} == {
        (alice.id, "owner"),
        (bob.id, "admin"),
        (carol.id, "admin"),
    }
    await alice.post("/organisation/members/add", id=org, user_id=dave.id, role="boss", expect=400, code="invalid")
    await alice.post("/organisation/members/add", id=org, user_id="424242", expect=404, code="not_found")


async def test_the_last_owner_cannot_leave_or_be_demoted(chat: Harness) -> None:
    alice, bob = await chat.user("alice"), await chat.user("bob")
    org = (await _org(alice))["id"]
    await alice.post("/organisation/members/role", id=org, user_id=alice.id, role="member", expect=409, code="last_owner")
    await alice.delete("/organisation/members/remove", id=org, user_id=alice.id, expect=409, code="last_owner")
    await alice.post("/organisation/members/add", id=org, user_id=bob.id, role="owner")
    await alice.delete("/organisation/members/remove", id=org, user_id=alice.id)
    await alice.get("/organisation/read", id=org, expect=404, code="not_found")


async def test_a_member_may_leave_and_loses_access(chat: Harness) -> None:
    alice, bob = await chat.user("alice"), await chat.user("bob")
    org = (await _org(alice))["id"]
    await alice.post("/organisation/members/add", id=org, user_id=bob.id)
    await bob.delete("/organisation/members/remove", id=org, user_id=bob.id)
    await bob.get("/organisation/read", id=org, expect=404, code="not_found")


async def test_server_admin_acts_as_owner(chat: Harness) -> None:
    alice, root = await chat.user("alice"), await chat.user("root", admin=True)
    org = (await _org(alice))["id"]
    assert (await root.get("/organisation/read", id=org))["role"] == "owner"
    await root.post("/organisation/edit", id=org, name="Taken over")


async def test_unknown_route_and_wrong_method_are_json(chat: Harness) -> None:
    alice = await chat.user("alice")
    await alice.get("/organisation/nothing", expect=404, code="not_found")
    await alice.get("/organisation/edit", expect=405, code="method_not_allowed")
