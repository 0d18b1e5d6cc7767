"""No silent wrong success: a request that carries what another operation takes is carried out as the
spec means it or refused with a 400 naming the right call, never answered 200 having done something else
(docs/workdrive.md and docs/api.md, "Requests meant for another call").
"""

from __future__ import annotations

from typing import Any

import pytest

from harness import MEETING_END, MEETING_START, Harness, fields_of
from harness import WorkdriveTeam as Team
from harness import workdrive_team as _team

pytestmark = pytest.mark.slow_on_postgresql  # a face or transport suite: SQLite every day, both in CI


async def _messages(t: Team, conversation: str) -> list[str]:
    return [m["message"] for m in (await t.bob.get(f"/api/{conversation}/messages", per_page=100))["messages"]]


async def test_the_specs_get_to_send_is_refused_naming_the_post(chat: Harness) -> None:
    t = await _team(chat)
    group = await t.admin.post("/api/group-chats", title="Launch", members=[{"id": t.bob.id}])
    path = f"/api/{group['id']}/messages"
    before = await _messages(t, group["id"])
    # The spec's own request: GET with the message in a JSON body.
    spec = {"message": "Hello this is me Adam", "mention": [t.admin.id]}
    error = (await chat.refused(t.bob.call("GET", path, json=spec), 400, "invalid"))["error"]
    assert "POST /api/{conversationId}/messages" in error["fields"]["message"]
    spellings = (
        ({"fileId": ["1"]}, "fileId"), ({"replyOfMsgId": "1"}, "replyOfMsgId"), ({"reply_of_msg_id": "1"}, "replyOfMsgId")
    )
    for body, named in spellings:
        refused = await chat.refused(t.bob.call("GET", path, json=body), 400, "invalid")
        assert list(fields_of(refused)) == [named]
    await chat.refused(t.bob.call("GET", path, params={"message": "in the query"}), 400, "invalid")
    assert await _messages(t, group["id"]) == before, "nothing was sent"
    # The way that sends, and plain listing, are unchanged.
    sent = await t.bob.post(path, message="Hello this is me Adam", mention=[t.admin.id])
    assert [m["id"] for m in sent["mention"]] == [t.admin.id]
    assert (await _messages(t, group["id"]))[0] == "Hello this is me Adam"


async def test_the_specs_meeting_at_group_chats_is_a_meeting_never_a_group_chat(chat: Harness) -> None:
    t = await _team(chat)
    group = await t.admin.post("/api/group-chats", title="Launch", members=[{"id": t.bob.id}])
    meeting: dict[str, Any] = {
        "title": "new Meeting", "userIds": [t.bob.id], "startDateTime": MEETING_START, "endDateTime": MEETING_END,
        "duration": 60,
    }
    chats_before = (await t.admin.get("/api/group-chats", per_page=100))["meta"]["totalResults"]
    # As the spec writes it: no conversation anywhere. Refused, naming where it goes.
    refused = await t.admin.post("/api/group-chats", expect=400, code="invalid", **meeting)
    assert "POST /api/{conversationId}/meetings" in fields_of(refused)["conversationId"]
    # The spec lists conversationId as a parameter: given in the body (or the query), it is scheduled there.
    scheduled = await t.admin.post("/api/group-chats", conversationId=group["id"], **meeting)
    assert scheduled["title"] == "new Meeting" and scheduled["conversationId"] == group["id"]
    assert scheduled["message"]["type"] == "MEETING" and [u["id"] for u in scheduled["rsvpUsers"]] == [t.bob.id]
    by_query = await t.admin.call("POST", "/api/group-chats", params={"conversationId": group["id"]}, json=meeting)
    assert by_query.status_code == 200 and by_query.json()["conversationId"] == group["id"]
    # A meeting's own rules hold there too.
    backwards = {**meeting, "endDateTime": MEETING_START}
    bad = await t.admin.post("/api/group-chats", expect=400, code="invalid", conversationId=group["id"], **backwards)
    assert "endDateTime" in fields_of(bad)
    after = await t.admin.get("/api/group-chats", per_page=100)
    assert after["meta"]["totalResults"] == chats_before, "no group chat named after the meeting"
    assert "new Meeting" not in [c["title"] for c in after["conversations"]]


async def test_a_room_without_a_title_is_named_after_its_people(chat: Harness) -> None:
    t = await _team(chat)
    room = await t.admin.post("/api/group-chats", groupType="ROOM", members=[{"id": t.bob.id}, {"id": t.carol.id}])
    assert room["title"] == "John Smith, bob and carol" and room["type"] == "ROOM"
    alone = await t.bob.post("/api/group-chats", groupType="ROOM", title="  ")
    assert alone["title"] == "bob"
    many = [await t.admin.post("/api/users/add", email=f"u{i}@example.test", firstName=f"U{i}") for i in range(4)]
    crowd = await t.admin.post(
        "/api/group-chats", groupType="ROOM", members=[{"id": t.bob.id}, *({"id": u["id"]} for u in many)]
    )
    assert crowd["title"] == "John Smith, bob, U0 and 3 others"
    # A CHAT_GROUP still needs one (the spec assigns a title "in case of group type CHAT_GROUP").
    assert "title" in fields_of(await t.admin.post("/api/group-chats", expect=400, code="invalid", members=[{"id": t.bob.id}]))


async def test_a_group_chat_update_refuses_what_it_does_not_do(chat: Harness) -> None:
    t = await _team(chat)
    group = await t.admin.post("/api/group-chats", title="Launch", members=[{"id": t.bob.id}])
    path = f"/api/group-chats/{group['id']}"
    # The create's members list means nothing on an update: refused, naming the fields that change members.
    refused = await t.admin.patch(path, expect=400, code="invalid", title="Renamed", members=[{"id": t.carol.id}])
    assert "addMembers" in fields_of(refused)["members"]
    assert (await t.admin.get("/channel/read", id=group["id"]))["name"] == "Launch", "all or nothing"
    # Moving is another call.
    other = await t.org.root.post(
        "/api/organization", name="Other", admin={"firstName": "O", "lastName": "P", "email": "o@other.test"}
    )
    moved = await t.admin.patch(path, expect=400, code="invalid", organizationId=other["id"])
    assert "/channel/move" in fields_of(moved)["organizationId"]
    assert (await t.admin.patch(path, organizationId=t.org.id, title="Same place"))["title"] == "Same place"
    # The group type is carried out, as the create takes it.
    assert (await t.admin.patch(path, groupType="ROOM"))["type"] == "ROOM"


async def test_a_message_edit_changes_only_the_text_of_a_message_of_that_conversation(chat: Harness) -> None:
    t = await _team(chat)
    group = await t.admin.post("/api/group-chats", title="Launch", members=[{"id": t.bob.id}])
    other = await t.admin.post("/api/group-chats", title="Other", members=[{"id": t.bob.id}])
    sent = await t.bob.post(f"/api/{group['id']}/messages", message="hello")
    path = f"/api/{group['id']}/messages/{sent['id']}"
    for field, value in (("mention", [t.admin.id]), ("fileId", ["1"]), ("replyOfMsgId", sent["id"])):
        refused = await t.bob.patch(path, expect=400, code="invalid", message="changed", **{field: value})
        assert list(fields_of(refused)) == [field]
    assert (await t.bob.patch(path, message="changed"))["message"] == "changed"
    # Crust: an edit names its message's channel or none; its thread and files are a send's.
    await t.bob.post("/message/edit", expect=404, code="not_found", id=sent["id"], channel_id=other["id"], contents="x")
    edited = await t.bob.post("/message/edit", id=sent["id"], channel_id=group["id"], contents="again")
    assert edited["contents"] == "again"
    for field, value in (("reply_to", sent["id"]), ("file_ids", ["1"])):
        refused = await t.bob.post("/message/edit", expect=400, code="invalid", id=sent["id"], contents="x", **{field: value})
        assert list(fields_of(refused)) == [field]


async def test_crust_edits_do_not_move_and_do_switch_visibility(chat: Harness) -> None:
    alice = await chat.user("alice")
    acme = (await alice.post("/organisation/edit", name="Acme"))["id"]
    beta = (await alice.post("/organisation/edit", name="Beta"))["id"]
    team = (await alice.post("/team/edit", organisation_id=acme, name="Core"))["id"]
    channel = (await alice.post("/channel/edit", organisation_id=acme, name="general"))["id"]
    # Sending the record back unchanged is fine; another place is a move, another call.
    same = await alice.post("/channel/edit", id=channel, name="lobby", organisation_id=acme)
    assert same["name"] == "lobby"
    for field, value in (("organisation_id", beta), ("team_id", team)):
        refused = await alice.post("/channel/edit", expect=400, code="invalid", id=channel, name="x", **{field: value})
        assert "/channel/move" in fields_of(refused)[field]
    assert (await alice.post("/team/edit", id=team, name="Core 2", organisation_id=acme))["name"] == "Core 2"
    refused = await alice.post("/team/edit", expect=400, code="invalid", id=team, name="x", organisation_id=beta)
    assert "/team/move" in fields_of(refused)["organisation_id"]
    assert (await alice.get("/team/read", id=team))["organisation_id"] == acme
    # The type a create takes is carried out on an edit (public and private switch), not ignored.
    assert (await alice.post("/channel/edit", id=channel, type="private"))["type"] == "private"
    assert "type" in fields_of(await alice.post("/channel/edit", expect=400, code="invalid", id=channel, type="direct"))
