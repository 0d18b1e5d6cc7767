"""Who sees whom: the directory stays inside its organisations, on both faces and the websocket.

One world: Acme (olga owns it; ann and amy are members), Beta (bert owns it; bea is a member), otto in no
organisation, and root, a server administrator. Each viewer asks about ann on every route that shows a user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from harness import Actor, Harness, LiveServer, Person, error_of, team

pytestmark = pytest.mark.slow_on_postgresql  # a face or transport suite: SQLite every day, both in CI


@dataclass
class World:
    root: Actor
    olga: Actor
    ann: Actor
    amy: Actor
    bert: Actor
    bea: Actor
    otto: Actor
    acme: str
    beta: str

    def __getitem__(self, name: str) -> Actor:
        actor: Actor = getattr(self, name)
        return actor


async def _world(chat: Harness) -> World:
    root = await chat.user("root", admin=True)
    olga, ann, amy, bert, bea, otto = await chat.users("olga", "ann", "amy", "bert", "bea", "otto")
    acme = (await olga.post("/organisation/edit", name="Acme"))["id"]
    for member in (ann, amy):
        await olga.post("/organisation/members/add", id=acme, user_id=member.id)
    beta = (await bert.post("/organisation/edit", name="Beta"))["id"]
    await bert.post("/organisation/members/add", id=beta, user_id=bea.id)
    return World(root, olga, ann, amy, bert, bea, otto, acme, beta)


# viewer → (sees ann, sees ann's e-mail)
SIGHT = {
    "otto": (False, False),  # in no organisation
    "bea": (False, False),  # a member of another organisation
    "bert": (False, False),  # an owner of another organisation
    "amy": (True, False),  # a member of the same organisation
    "olga": (True, True),  # an owner of ann's organisation
    "root": (True, True),  # a server administrator
    "ann": (True, True),  # herself
}


def _ids_and_emails(found: list[dict[str, Any]]) -> dict[str, Any]:
    return {u["id"]: u["email"] for u in found}


@pytest.mark.parametrize("viewer", list(SIGHT))
async def test_a_user_is_seen_only_from_a_shared_organisation(chat: Harness, viewer: str) -> None:
    world = await _world(chat)
    ann, who = world.ann, world[viewer]
    sees, email = SIGHT[viewer]
    shown = "ann@example.com" if email else None

    read = await who.call("GET", "/user/read", params={"id": ann.id})
    if sees:
        assert read.status_code == 200 and read.json()["username"] == "ann" and read.json()["email"] == shown
    else:
        error_of(read, 404, "not_found")
        unknown = await who.call("GET", "/user/read", params={"id": "4242424242"})
        assert error_of(unknown, 404, "not_found")["error"] == read.json()["error"]  # indistinguishable

    by_name = _ids_and_emails((await who.get("/user/search", query="ann", per_page=100))["items"])
    assert (ann.id in by_name) == sees and by_name.get(ann.id) == shown
    by_mail = _ids_and_emails((await who.get("/user/search", query="ann@example", per_page=100))["items"])
    assert (ann.id in by_mail) == email, "an address one may not see cannot be confirmed by searching for it"

    listed = _ids_and_emails((await who.get("/api/users", per_page=100))["users"])
    assert (ann.id in listed) == sees and listed.get(ann.id) == shown

    everyone = _ids_and_emails((await who.get("/user/search", per_page=100))["items"])
    assert (world.otto.id in everyone) == (viewer in ("otto", "root")), "otto is seen only by himself and root"
    assert (world.bea.id in everyone) == (viewer in ("bea", "bert", "root"))


async def test_acting_on_an_unseen_user_is_404_as_for_an_unknown_one(chat: Harness) -> None:
    world = await _world(chat)
    await world.olga.patch(f"/api/users/{world.bea.id}", expect=404, code="not_found", firstName="Bee")
    await world.olga.post("/api/token/generate-access", userId=world.bea.id, expect=404, code="not_found")
    await world.olga.delete(f"/api/users/{world.bea.id}", expect=404, code="not_found")
    # A supervisor must be someone one may see: another organisation's member looks unknown.
    refused = await world.olga.patch(f"/api/users/{world.ann.id}", expect=400, code="invalid", reportsTo=world.bea.id)
    assert refused["error"]["fields"] == {"reportsTo": "no such user"}
    assert (await world.olga.patch(f"/api/users/{world.ann.id}", reportsTo=world.amy.id))["reportsTo"] == world.amy.id
    # Mentioning by id: the same rule.
    chat_id = (await world.olga.post("/api/group-chats", title="Launch", members=[{"id": world.ann.id}]))["id"]
    bad = await world.olga.post(f"/api/{chat_id}/messages", expect=400, code="invalid", message="hi", mention=[world.bea.id])
    assert bad["error"]["fields"] == {"mention.0": "no such user"}


async def test_members_may_open_the_address_book_by_setting(chat: Harness) -> None:
    world = await _world(chat)
    chat.settings.directory.member_emails = True
    assert chat.core.settings.directory.member_emails, "the core reads the live settings"
    assert (await world.amy.get("/user/read", id=world.ann.id))["email"] == "ann@example.com"
    found = (await world.amy.get("/api/users", per_page=100))["users"]
    assert {u["userName"]: u["email"] for u in found}["ann"] == "ann@example.com"
    assert [u["id"] for u in (await world.amy.get("/user/search", query="ann@example"))["items"]] == [world.ann.id]
    await world.bea.get("/user/read", id=world.ann.id, expect=404, code="not_found")  # still nothing across organisations


async def test_organisation_ids_shown_are_those_shared(chat: Harness) -> None:
    world = await _world(chat)
    await world.bert.post("/organisation/members/add", id=world.beta, user_id=world.ann.id)
    by = {name: (await world[name].get("/api/users", per_page=100))["users"] for name in ("amy", "bea", "ann", "root")}
    orgs = {name: next(u["organizationIds"] for u in found if u["id"] == world.ann.id) for name, found in by.items()}
    assert orgs["amy"] == [world.acme] and orgs["bea"] == [world.beta]
    assert orgs["ann"] == orgs["root"] == [world.acme, world.beta]


async def test_people_named_in_what_one_reads_follow_the_same_rule(chat: Harness) -> None:
    world = await _world(chat)
    group = await world.olga.post(
        "/api/group-chats", title="Launch", isPrivate=True, byRequest=True,
        members=[{"id": world.ann.id}, {"id": world.amy.id, "isAdmin": True}],
    )
    path = f"/api/{group['id']}/messages"
    await world.ann.post(path, message="hello from ann")

    async def sender(viewer: Actor) -> dict[str, Any]:
        found = (await viewer.get(path))["messages"]
        card: dict[str, Any] = next(m["sender"] for m in found if m["message"] == "hello from ann")
        return card

    assert (await sender(world.amy))["email"] is None and (await sender(world.amy))["userName"] == "ann"
    assert (await sender(world.olga))["email"] == "ann@example.com"
    participants = {p["userName"]: p["email"] for p in group["participants"]}
    assert participants["ann"] == "ann@example.com"  # olga, the organisation's owner, created it
    as_amy = (await world.amy.patch(f"/api/group-chats/{group['id']}", description="ours"))["participants"]
    assert {p["userName"]: p["email"] for p in as_amy} == {"olga": None, "ann": None, "amy": "amy@example.com"}

    # A join request shows its requester to the group chat's admins by the same rule.
    await world.olga.post("/organisation/members/add", id=world.acme, user_id=world.otto.id)
    await world.otto.post(f"/api/group-chats/{group['id']}/join-requests", expect=201)
    as_admin = (await world.amy.get(f"/api/group-chats/{group['id']}/join-requests"))["joinRequests"]
    as_owner = (await world.olga.get(f"/api/group-chats/{group['id']}/join-requests"))["joinRequests"]
    assert as_admin[0]["user"]["userName"] == "otto" and as_admin[0]["user"]["email"] is None
    assert as_owner[0]["user"]["email"] == "otto@example.com"

    # ann leaves Acme: her message stays, with her name, but nobody of Acme sees her directory entry now.
    await world.olga.post("/organisation/members/remove", id=world.acme, user_id=world.ann.id)
    gone = await sender(world.amy)
    assert (gone["userName"], gone["firstName"], gone["displayName"]) == ("ann", "", "ann")
    assert gone["email"] is None and gone["online"] is None and gone["availability"] is None
    assert (await sender(world.olga))["email"] is None, "ann is no longer in an organisation olga runs"
    assert (await world.root.get("/user/read", id=world.ann.id))["email"] == "ann@example.com"
    await world.amy.get("/user/read", id=world.ann.id, expect=404, code="not_found")


async def test_channels_never_mix_organisations(chat: Harness) -> None:
    """So a channel's members always share its organisation: no DM or group channel reaches across."""
    world = await _world(chat)
    for type in ("direct", "group", "private"):
        refused = await world.olga.post(
            "/channel/edit", expect=400, code="invalid", organisation_id=world.acme, type=type, name="x", members=[world.bea.id]
        )
        assert "not members of the organisation" in refused["error"]["fields"]["members"]
    chan = (await world.olga.post("/channel/edit", organisation_id=world.acme, type="private", name="ops"))["id"]
    await world.olga.post("/channel/members/add", expect=400, code="invalid", id=chan, user_ids=[world.bea.id])


async def _frames_until_pong(sock: Any) -> list[dict[str, Any]]:
    """Every frame queued for this socket before a ping's answer (presence included)."""
    await sock.send({"type": "ping", "ref": "p"})
    frames = []
    while (frame := await sock.recv())["type"] != "pong":
        frames.append(frame)
    return frames


async def test_the_websocket_tells_about_users_only_inside_their_organisations(server: LiveServer) -> None:
    (olga, ann, amy), acme = await team(server, "olga", "ann", "amy")
    bea: Person = await server.user("bea")
    await bea.post("/organisation/edit", name="Beta")
    otto: Person = await server.user("otto")
    async with amy.socket() as amy_sock, bea.socket() as bea_sock, otto.socket() as otto_sock:
        assert amy_sock.ready["data"]["user"]["email"] == "amy@example.com"  # the snapshot names only oneself
        assert all(ann.id not in str(s.ready) for s in (amy_sock, bea_sock, otto_sock))
        async with ann.socket():
            while True:  # amy, in ann's organisation, is told ann is online
                frame = await amy_sock.expect("presence")
                if frame["data"]["user_id"] == ann.id:
                    break
            for sock in (bea_sock, otto_sock):  # the hub told everyone it tells at once: nothing here
                assert all(ann.id not in str(f) for f in await _frames_until_pong(sock))
