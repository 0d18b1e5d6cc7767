"""The WorkDrive face, second part: group chats, join requests, messages and meetings (docs/workdrive.md).

A group chat is a channel and a WorkDrive message is a message: the "same core" tests cross faces (what one
face writes the other reads, with the same events), and one test watches a member's websocket.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness import (
    MEETING_END,
    MEETING_START,
    Harness,
    KeyActor,
    LiveServer,
    anonymous,
    fields_of,
    file_of,
    group_chat,
    member,
    workdrive_org,
    workdrive_team,
)
from sqlalchemy import func, select

from chatd.store.tables import meeting_participants, meetings, messages

pytestmark = pytest.mark.slow_on_postgresql  # a face or transport suite: SQLite every day, both in CI


async def _wrong_key(chat: Harness, method: str, path: str, **kwargs: Any) -> None:
    """A request with an unknown access token is refused with 401 ``bad_credentials`` and leaves no trace."""
    await chat.refused(anonymous(chat, method, path, headers={"X-API-KEY": "chatd_wrong"}, **kwargs), 401, "bad_credentials")


# Group chats ------------------------------------------------------------------------------------------


async def test_create_a_group_chat_with_admins_members_and_a_picture(chat: Harness) -> None:
    t = await workdrive_team(chat)
    picture = await file_of(chat, t.admin)
    body = await group_chat(
        t.admin, "Launch", isPrivate=True, byRequest=True, description=" For the launch ", groupType="ROOM",
        category="Projects", fileId=picture, members=[{"id": t.bob.id, "isAdmin": True}, {"id": t.carol.id}],
    )
    assert body["title"] == "Launch" and body["isPrivate"] is True and body["byRequest"] is True
    assert body["description"] == "For the launch" and body["type"] == "ROOM" and body["category"] == "Projects"
    assert body["image"] == {"id": picture} and body["organizationId"] == t.org.id and body["groupId"] == body["id"]
    assert body["createdBy"] == t.admin.id and body["isAdmin"] is True and body["memberCount"] == 3
    assert sorted(body["admins"]) == sorted([t.admin.id, t.bob.id])
    assert {p["id"] for p in body["participants"]} == {t.admin.id, t.bob.id, t.carol.id}
    assert {"firstName", "userName", "email", "picture"} <= set(body["participants"][0])
    # The same channel on the Crust face, created with the core's event.
    crust = await t.carol.get("/channel/read", id=body["id"])
    assert crust["type"] == "private" and crust["name"] == "Launch" and crust["role"] == "member"
    assert body["id"] in [e.data["id"] for e in chat.events_of("channel", "CREATED")]
    public = await group_chat(t.bob, "Town hall")
    assert public["isPrivate"] is False and public["type"] == "CHAT_GROUP" and public["admins"] == [t.bob.id]


async def test_group_chat_creation_refuses_bad_input(chat: Harness) -> None:
    t = await workdrive_team(chat)
    assert fields_of(await t.admin.post("/api/group-chats", expect=400, code="invalid"))["title"].startswith("required for a CHAT_GROUP")
    assert "title" in fields_of(await group_chat(t.admin, "   ", expect=400, code="invalid"))
    assert "groupType" in fields_of(await group_chat(t.admin, groupType="CHANNEL", expect=400, code="invalid"))
    assert "description" in fields_of(await group_chat(t.admin, description="x" * 5000, expect=400, code="invalid"))
    assert "members.0.id" in fields_of(await group_chat(t.admin, members=[{"id": "abc"}], expect=400, code="invalid"))
    outsider = await chat.user("outsider")
    assert "members" in fields_of(await group_chat(t.admin, members=[{"id": outsider.id}], expect=400, code="invalid"))
    theirs = await file_of(chat, t.bob)
    assert fields_of(await group_chat(t.admin, fileId=theirs, expect=400, code="invalid")) == {"fileId": "no such file"}  # not named: no probing for ids
    text = await file_of(chat, t.admin, "text/plain")
    assert fields_of(await group_chat(t.admin, fileId=text, expect=400, code="invalid")) == {"fileId": "must be an image"}
    # The organisation: the caller's only one, else named.
    assert "organizationId" in fields_of(await group_chat(outsider, expect=400, code="invalid"))
    other = await workdrive_org(chat, "Other", root=t.org.root)
    await other.admin.post("/organisation/members/add", id=other.id, user_id=t.bob.id)
    assert "organizationId" in fields_of(await group_chat(t.bob, expect=400, code="invalid"))
    assert (await group_chat(t.bob, organizationId=other.id))["organizationId"] == other.id
    await group_chat(t.carol, organizationId=other.id, expect=404, code="not_found")
    await _wrong_key(chat, "POST", "/api/group-chats", json={"title": "X"})


async def test_listing_group_chats_filters_pages_and_participants(chat: Harness) -> None:
    t = await workdrive_team(chat)
    town = await group_chat(t.admin, "Town hall")
    chat.clock.advance(60)
    secret = await group_chat(t.admin, "Secret", isPrivate=True, groupType="ROOM", members=[{"id": t.bob.id}])
    await t.admin.post("/channel/edit", organisation_id=t.org.id, type="direct", members=[t.carol.id])
    listed = await t.carol.get("/api/group-chats")
    assert [c["id"] for c in listed["conversations"]] == [town["id"]], "private ones hidden, direct ones not group chats"
    assert listed["meta"] == {"perPage": 10, "totalPages": 1, "totalResults": 1, "curPage": 1, "nextPage": None}
    everything = await t.admin.get("/api/group-chats", per_page=1)
    assert [c["title"] for c in everything["conversations"]] == ["Secret"] and everything["meta"]["nextPage"] == 2
    assert "participants" not in everything["conversations"][0]
    mine = await t.bob.get("/api/group-chats", my_group_chats="true", include_participants="true")
    [only] = mine["conversations"]
    assert only["id"] == secret["id"] and {p["id"] for p in only["participants"]} == {t.admin.id, t.bob.id}
    assert only["admins"] == [t.admin.id] and only["isMember"] is True and only["isAdmin"] is False
    rooms = await t.admin.get("/api/group-chats", group_type="ROOM")
    assert [c["id"] for c in rooms["conversations"]] == [secret["id"]]
    early = await t.admin.get("/api/group-chats", time=town["createdAt"])
    assert [c["id"] for c in early["conversations"]] == [town["id"]]
    outsider = await chat.user("outsider")
    assert (await outsider.get("/api/group-chats"))["conversations"] == []
    assert "group_type" in fields_of(await t.admin.get("/api/group-chats", group_type="TEAM", expect=400, code="invalid"))
    assert "time" in fields_of(await t.admin.get("/api/group-chats", time="yesterday", expect=400, code="invalid"))
    assert "per_page" in fields_of(await t.admin.get("/api/group-chats", per_page=0, expect=400, code="invalid"))
    await _wrong_key(chat, "GET", "/api/group-chats")


async def test_group_chat_admins_update_settings_members_and_admins(chat: Harness) -> None:
    t = await workdrive_team(chat)
    group = await group_chat(t.admin, "Launch", description="old", category="A", members=[{"id": t.bob.id}])
    picture = await file_of(chat, t.bob)
    await t.admin.patch(f"/api/group-chats/{group['id']}", newAdmins=[t.bob.id])
    updated = await t.bob.patch(
        f"/api/group-chats/{group['id']}", title="Launch 2", description=None, isPrivate=True, category="B",
        fileId=picture, addMembers=[t.carol.id], removedAdmins=[t.admin.id],
    )
    assert updated["title"] == "Launch 2" and updated["description"] == "" and updated["isPrivate"] is True
    assert updated["category"] == "B" and updated["image"] == {"id": picture} and updated["admins"] == [t.bob.id]
    assert {p["id"] for p in updated["participants"]} == {t.admin.id, t.bob.id, t.carol.id}
    # Through the core: a RENAME message, channel UPDATED, member JOINED and ROLE events.
    history = await t.carol.get("/message/read", channel_id=group["id"])
    assert [m["type"] for m in history["items"]] == ["CREATE", "RENAME"]
    assert [e.data["type"] for e in chat.events_of("channel", "UPDATED")][-1] == "private"
    assert t.carol.id in [e.data["user_id"] for e in chat.events_of("member", "JOINED")]
    assert [e.data["role"] for e in chat.events_of("member", "ROLE")] == ["owner", "member"]
    removed = await t.bob.patch(f"/api/group-chats/{group['id']}", removeMembers=[t.carol.id], fileId=None)
    assert removed["image"] is None and t.carol.id not in {p["id"] for p in removed["participants"]}
    await t.carol.get("/channel/read", id=group["id"], expect=404, code="not_found")
    # An organisation admin who is not a member may make a public group private, and then no longer reads it.
    bobs = await group_chat(t.bob, "Bob's")
    hidden = await t.admin.patch(f"/api/group-chats/{bobs['id']}", isPrivate=True)
    assert hidden["isPrivate"] is True and hidden["isMember"] is False and "participants" not in hidden
    await t.admin.get("/channel/read", id=bobs["id"], expect=404, code="not_found")


async def test_group_chat_updates_check_permissions_and_input(chat: Harness) -> None:
    t = await workdrive_team(chat)
    group = await group_chat(t.admin, "Launch", isPrivate=True, members=[{"id": t.bob.id}])
    path = f"/api/group-chats/{group['id']}"
    await t.bob.patch(path, title="Mine", expect=403, code="forbidden")
    await t.carol.patch(path, title="Mine", expect=404, code="not_found")
    await t.admin.patch("/api/group-chats/424242", title="X", expect=404, code="not_found")
    assert "id" in fields_of(await t.admin.patch("/api/group-chats/abc", title="X", expect=400, code="invalid"))
    assert "title" in fields_of(await t.admin.patch(path, title="", expect=400, code="invalid"))
    assert "newAdmins" in fields_of(await t.admin.patch(path, newAdmins=[t.carol.id], expect=400, code="invalid"))
    outsider = await chat.user("outsider")
    assert "addMembers" in fields_of(await t.admin.patch(path, addMembers=[outsider.id], expect=400, code="invalid"))
    assert "removeMembers" in fields_of(await t.admin.patch(path, removeMembers=[t.admin.id], expect=400, code="invalid"))
    await t.admin.patch(path, removedAdmins=[t.admin.id], expect=409, code="last_owner")
    # All or nothing: a bad part leaves the good parts undone.
    await t.admin.patch(path, title="Renamed", addMembers=[t.carol.id], newAdmins=["999"], expect=400, code="invalid")
    listed = await t.admin.get("/api/group-chats", include_participants="true")
    assert listed["conversations"][0]["title"] == "Launch" and len(listed["conversations"][0]["participants"]) == 2
    direct = await t.admin.post("/channel/edit", organisation_id=t.org.id, type="direct", members=[t.bob.id])
    await t.admin.patch(f"/api/group-chats/{direct['id']}", isPrivate=False, expect=404, code="not_found")
    await _wrong_key(chat, "PATCH", path, json={"title": "X"})


async def test_deleting_group_chats_is_all_or_nothing(chat: Harness) -> None:
    t = await workdrive_team(chat)
    first, second = await group_chat(t.admin, "First"), await group_chat(t.admin, "Second", isPrivate=True)
    bobs = await group_chat(t.bob, "Bob's")
    denied = await t.bob.delete("/api/group-chats", id=[bobs["id"], first["id"]], expect=403, code="forbidden")
    assert list(fields_of(denied)) == ["id.1"]
    await t.bob.get("/channel/read", id=bobs["id"])  # not removed: the request failed as a whole
    await t.bob.delete("/api/group-chats", id=second["id"], expect=404, code="not_found")
    await t.admin.delete("/api/group-chats", id="424242", expect=404, code="not_found")
    assert "id" in fields_of(await t.admin.delete("/api/group-chats", expect=400, code="invalid"))
    await _wrong_key(chat, "DELETE", "/api/group-chats", params={"id": first["id"]})
    done = await t.admin.delete("/api/group-chats", id=[first["id"], second["id"], bobs["id"]])
    assert done == {"deleted": [first["id"], second["id"], bobs["id"]]}
    assert (await t.admin.get("/api/group-chats"))["conversations"] == []
    assert len(chat.events_of("channel", "REMOVED")) == 3


# Join requests ----------------------------------------------------------------------------------------


async def test_join_requests_are_asked_listed_and_decided_by_admins(chat: Harness) -> None:
    t = await workdrive_team(chat)
    dave = await member(chat, t.admin, "dave")
    group = await group_chat(t.admin, "Club", isPrivate=True, byRequest=True, members=[{"id": t.bob.id}])
    path = f"/api/group-chats/{group['id']}/join-requests"
    asked = await t.carol.post(path, expect=201)
    assert asked["status"] == "PENDING" and asked["userId"] == t.carol.id and asked["user"]["userName"] == "carol"
    assert (await t.carol.post(path))["id"] == asked["id"], "asking again returns the pending request"
    [told] = chat.events_of("member", "REQUESTED")
    assert told.user_id == t.admin.user.id and told.data["request_id"] == asked["id"]
    declined_id = (await dave.post(path, expect=201))["id"]
    pending = await t.admin.get(path, per_page=1)
    assert [r["id"] for r in pending["joinRequests"]] == [asked["id"]] and pending["meta"]["totalResults"] == 2
    await t.bob.get(path, expect=403, code="forbidden")
    await t.carol.get(path, expect=404, code="not_found")
    await t.bob.post(f"{path}/{asked['id']}/approve", expect=403, code="forbidden")
    approved = await t.admin.post(f"{path}/{asked['id']}/approve")
    assert approved["status"] == "APPROVED" and approved["decidedBy"] == t.admin.id
    assert (await t.carol.get("/channel/read", id=group["id"]))["role"] == "member"
    joined = chat.events_of("member", "JOINED")[-1]
    assert joined.data["user_id"] == t.carol.id and joined.data["reason"] == "request"
    await t.admin.post(f"{path}/{asked['id']}/decline", expect=409, code="decided")
    assert (await t.admin.post(f"{path}/{declined_id}/decline"))["status"] == "DECLINED"
    await dave.get("/channel/read", id=group["id"], expect=404, code="not_found")
    assert (await t.admin.get(path))["joinRequests"] == []
    await t.carol.post(path, expect=409, code="already_member")


async def test_join_requests_refuse_what_takes_none_and_bad_ids(chat: Harness) -> None:
    t = await workdrive_team(chat)
    club = await group_chat(t.admin, "Club", isPrivate=True, byRequest=True)
    closed = await group_chat(t.admin, "Closed", isPrivate=True)
    public = await group_chat(t.admin, "Open")
    await t.carol.post(f"/api/group-chats/{closed['id']}/join-requests", expect=404, code="not_found")
    await t.carol.post(f"/api/group-chats/{public['id']}/join-requests", expect=403, code="forbidden")
    outsider = await chat.user("outsider")
    await outsider.post(f"/api/group-chats/{club['id']}/join-requests", expect=404, code="not_found")
    await t.carol.post("/api/group-chats/424242/join-requests", expect=404, code="not_found")
    assert "id" in fields_of(await t.carol.post("/api/group-chats/abc/join-requests", expect=400, code="invalid"))
    path = f"/api/group-chats/{club['id']}/join-requests"
    asked = await t.carol.post(path, expect=201)
    await t.admin.post(f"/api/group-chats/{closed['id']}/join-requests/{asked['id']}/approve", expect=404, code="not_found")
    await t.admin.post(f"{path}/424242/approve", expect=404, code="not_found")
    assert "requestId" in fields_of(await t.admin.post(f"{path}/abc/approve", expect=400, code="invalid"))
    assert "per_page" in fields_of(await t.admin.get(path, per_page=0, expect=400, code="invalid"))
    await _wrong_key(chat, "POST", path)
    await _wrong_key(chat, "GET", path)
    await _wrong_key(chat, "POST", f"{path}/{asked['id']}/approve")


# Messages ---------------------------------------------------------------------------------------------


async def test_a_message_sent_here_is_the_cores_message(chat: Harness) -> None:
    t = await workdrive_team(chat)
    token = (await t.carol.post("/user/tokens/create", label="app"))["token"]
    carol = KeyActor(chat, t.carol.user, token)
    group = await group_chat(t.admin, "Launch", members=[{"id": t.bob.id}, {"id": t.carol.id}])
    attachment = await file_of(chat, carol)
    sent = await carol.post(
        f"/api/{group['id']}/messages", message="hi @bob", mention=[t.bob.id], fileId=[attachment]
    )
    assert sent["message"] == "hi @bob" and sent["conversationId"] == group["id"] and sent["type"] == "MESSAGE"
    assert sent["sender"]["id"] == t.carol.id and sent["createdBy"] == t.carol.id and sent["isEdited"] is False
    assert [m["id"] for m in sent["mention"]] == [t.bob.id] and sent["replyOfMsgId"] is None
    [media] = sent["files"]["files"]
    assert media["id"] == attachment and media["mime"] == "image/png" and media["isImage"] is True
    assert sent["reactions"] == [] and sent["repliesCount"] == 0 and sent["canEdit"] is True
    crust = await t.bob.get("/message/read", channel_id=group["id"])
    assert crust["items"][-1]["id"] == sent["id"] and crust["items"][-1]["contents"] == "hi @bob"
    assert crust["items"][-1]["mentions"] == [t.bob.id]
    [created] = [e for e in chat.events_of("message", "CREATED") if e.data["id"] == sent["id"]]
    assert created.channel_id == int(group["id"]) and created.seq is not None
    reply = await t.bob.post(f"/api/{group['id']}/messages", message="welcome", replyOfMsgId=sent["id"])
    assert reply["replyOfMsgId"] == sent["id"]
    listed = await t.bob.get(f"/api/{group['id']}/messages")
    assert [m["id"] for m in listed["messages"][:2]] == [reply["id"], sent["id"]]
    assert listed["messages"][1]["repliesCount"] == 1


async def test_messages_from_the_crust_face_are_listed_newest_first(chat: Harness) -> None:
    t = await workdrive_team(chat)
    group = await group_chat(t.admin, "Launch", members=[{"id": t.bob.id}])
    crust = [await t.bob.post("/message/edit", channel_id=group["id"], contents=f"crust {i}") for i in range(3)]
    here = await t.admin.post(f"/api/{group['id']}/messages", message="workdrive")
    first = await t.bob.get(f"/api/{group['id']}/messages", per_page=2)
    assert [m["id"] for m in first["messages"]] == [here["id"], crust[2]["id"]]
    assert first["meta"] == {"perPage": 2, "totalPages": 3, "totalResults": 5, "curPage": 1, "nextPage": 2}
    last = await t.bob.get(f"/api/{group['id']}/messages", per_page=2, cur_page=3)
    assert [m["type"] for m in last["messages"]] == ["CREATE"] and last["meta"]["nextPage"] is None
    assert (await t.bob.get("/channel/read", id=group["id"]))["unread"] == 0, "the first page marks it read"
    await t.carol.get(f"/api/{group['id']}/messages")  # public: readable by the organisation
    outsider = await chat.user("outsider")
    await outsider.get(f"/api/{group['id']}/messages", expect=404, code="not_found")
    assert "cur_page" in fields_of(await t.bob.get(f"/api/{group['id']}/messages", cur_page=0, expect=400, code="invalid"))
    await _wrong_key(chat, "GET", f"/api/{group['id']}/messages")


async def test_sending_refuses_bad_input_and_non_writers(chat: Harness) -> None:
    t = await workdrive_team(chat)
    group = await group_chat(t.admin, "Launch", members=[{"id": t.bob.id}])
    secret = await group_chat(t.admin, "Secret", isPrivate=True)
    path = f"/api/{group['id']}/messages"
    assert fields_of(await t.bob.post(path, message="  ", expect=400, code="invalid")) == {"message": "must not be empty"}
    outsider = await chat.user("outsider")
    assert fields_of(await t.bob.post(path, message="@outsider", mention=[outsider.id], expect=400, code="invalid")) == {
        "mention.0": "no such user"
    }
    assert "replyOfMsgId" in fields_of(await t.bob.post(path, message="x", replyOfMsgId="424242", expect=400, code="invalid"))
    theirs = await file_of(chat, t.admin)
    assert "fileId" in fields_of(await t.bob.post(path, message="x", fileId=[theirs], expect=400, code="invalid"))
    assert "conversationId" in fields_of(await t.bob.post("/api/abc/messages", message="x", expect=400, code="invalid"))
    await t.bob.post("/api/424242/messages", message="x", expect=404, code="not_found")
    await t.bob.post(f"/api/{secret['id']}/messages", message="x", expect=404, code="not_found")
    await outsider.post(path, message="x", expect=404, code="not_found")
    await t.carol.post(path, message="x", expect=403, code="forbidden")
    await _wrong_key(chat, "POST", path, json={"message": "x"})
    await _wrong_key(chat, "GET", path)


async def test_edits_and_removals_show_on_both_faces(chat: Harness) -> None:
    t = await workdrive_team(chat)
    group = await group_chat(t.admin, "Launch", members=[{"id": t.bob.id}])
    other = await group_chat(t.admin, "Other", members=[{"id": t.bob.id}])
    sent = await t.bob.post(f"/api/{group['id']}/messages", message="draft")
    edited = await t.bob.patch(f"/api/{group['id']}/messages/{sent['id']}", message="final")
    assert edited["message"] == "final" and edited["isEdited"] is True
    crust = await t.admin.get("/message/read", id=sent["id"])
    assert crust["contents"] == "final" and crust["edited"] is True
    assert chat.events_of("message", "EDITED")[-1].data["contents"] == "final"
    on_crust = await t.bob.post("/message/edit", channel_id=group["id"], contents="from crust")
    await t.bob.post("/message/edit", id=on_crust["id"], contents="from crust, edited")
    listed = await t.admin.get(f"/api/{group['id']}/messages")
    assert listed["messages"][0]["message"] == "from crust, edited" and listed["messages"][0]["isEdited"] is True
    path = f"/api/{group['id']}/messages/{sent['id']}"
    await t.admin.patch(path, message="mine", expect=403, code="forbidden")
    await t.bob.patch(f"/api/{other['id']}/messages/{sent['id']}", message="x", expect=404, code="not_found")
    await t.bob.delete(f"/api/{other['id']}/messages/{sent['id']}", expect=404, code="not_found")
    assert fields_of(await t.bob.patch(path, message="", expect=400, code="invalid")) == {"message": "must not be empty"}
    assert "id" in fields_of(await t.bob.patch(f"/api/{group['id']}/messages/abc", message="x", expect=400, code="invalid"))
    outsider = await chat.user("outsider")
    await outsider.delete(path, expect=404, code="not_found")
    await _wrong_key(chat, "PATCH", path, json={"message": "x"})
    await _wrong_key(chat, "DELETE", path)
    await t.carol.delete(path, expect=403, code="forbidden")  # can read (public), is neither sender nor admin
    removed = await t.admin.delete(path)  # the group's admin may remove anyone's
    assert removed == {"id": sent["id"], "conversationId": group["id"], "removed": True}
    assert chat.events_of("message", "REMOVED")[-1].data["id"] == sent["id"]
    await t.bob.get("/message/read", id=sent["id"], expect=404, code="not_found")
    await t.bob.patch(path, message="again", expect=404, code="not_found")


# Meetings ---------------------------------------------------------------------------------------------


async def test_a_meeting_is_stored_and_announced_in_the_conversation(chat: Harness) -> None:
    t = await workdrive_team(chat)
    group = await group_chat(t.admin, "Launch", isPrivate=True, members=[{"id": t.bob.id}, {"id": t.carol.id}])
    poster = await file_of(chat, t.bob)
    body = await t.bob.post(
        f"/api/{group['id']}/meetings", title="Kick-off", userIds=[t.carol.id, t.admin.id],
        startDateTime=MEETING_START, endDateTime="2026-02-01T11:00:00+01:00", posterId=poster, duration=60,
    )
    assert body["title"] == "Kick-off" and body["startDateTime"] == MEETING_START and body["endDateTime"] == MEETING_END
    assert body["duration"] == 60 and body["poster"] == {"id": poster} and body["creator"]["id"] == t.bob.id
    assert {u["id"] for u in body["rsvpUsers"]} == {t.carol.id, t.admin.id} and body["conversationId"] == group["id"]
    announced = body["message"]
    assert announced["id"] == body["messageId"] and announced["type"] == "MEETING" and announced["canEdit"] is False
    assert announced["event"]["id"] == body["id"] and announced["event"]["startDateTime"] == MEETING_START
    assert announced["files"]["files"][0]["id"] == poster
    listed = await t.carol.get(f"/api/{group['id']}/messages")
    assert listed["messages"][0]["id"] == announced["id"] and listed["messages"][0]["event"]["title"] == "Kick-off"
    assert chat.events_of("message", "CREATED")[-1].data["type"] == "MEETING"
    async with chat.core.reading() as conn:
        row = (await conn.execute(select(meetings).where(meetings.c.id == int(body["id"])))).one()
        invited = (await conn.execute(select(meeting_participants.c.user_id))).scalars().all()
    assert row.channel_id == int(group["id"]) and row.message_id == int(announced["id"]) and row.title == "Kick-off"
    assert sorted(invited) == sorted([t.carol.user.id, t.admin.user.id])


async def test_meeting_times_of_any_year_come_back_as_rfc3339(chat: Harness) -> None:
    # The fuzzer found a year-542 start shown as "542-09-04T…", which is no RFC 3339 date-time.
    t = await workdrive_team(chat)
    group = await group_chat(t.admin, "History", isPrivate=True, members=[{"id": t.bob.id}])
    for start, shown in (("0542-09-04T03:54:29.15Z", "0542-09-04T03:54:29.150Z"),
                         ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"),
                         ("1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z")):
        body = await t.bob.post(
            f"/api/{group['id']}/meetings", title="Old", startDateTime=start, endDateTime="9999-12-31T23:59:59.999Z",
        )
        assert body["startDateTime"] == shown and body["endDateTime"] == "9999-12-31T23:59:59.999Z"
        assert body["message"]["event"]["startDateTime"] == shown


async def test_meetings_refuse_bad_times_participants_and_non_writers(chat: Harness) -> None:
    t = await workdrive_team(chat)
    group = await group_chat(t.admin, "Launch", isPrivate=True, members=[{"id": t.bob.id}])
    public = await group_chat(t.admin, "Open")
    path = f"/api/{group['id']}/meetings"
    times = {"startDateTime": MEETING_START, "endDateTime": MEETING_END}

    async def count() -> int:
        async with chat.core.reading() as conn:
            return int((await conn.execute(select(func.count()).select_from(messages))).scalar_one())

    before = await count()
    backwards = await t.bob.post(path, title="M", startDateTime=MEETING_END, endDateTime=MEETING_START, expect=400, code="invalid")
    assert fields_of(backwards) == {"endDateTime": "must be after the start"}
    assert "userIds" in fields_of(await t.bob.post(path, title="M", userIds=[t.carol.id], **times, expect=400, code="invalid"))
    refused = await t.bob.post(path, title="M", startDateTime="soon", endDateTime=MEETING_END, expect=400, code="invalid")
    assert "startDateTime" in fields_of(refused)
    missing = await t.bob.post(path, expect=400, code="invalid")
    assert set(fields_of(missing)) == {"title", "startDateTime", "endDateTime"}
    text = await file_of(chat, t.bob, "text/plain")
    refused = await t.bob.post(path, title="M", posterId=text, **times, expect=400, code="invalid")
    assert fields_of(refused) == {"posterId": "must be an image"}
    assert "duration" in fields_of(await t.bob.post(path, title="M", duration=-1, **times, expect=400, code="invalid"))
    assert await count() == before, "a refused meeting posts nothing"
    await t.carol.post(path, title="M", **times, expect=404, code="not_found")
    await t.carol.post(f"/api/{public['id']}/meetings", title="M", **times, expect=403, code="forbidden")
    await _wrong_key(chat, "POST", path, json={"title": "M", **times})


# The websocket ----------------------------------------------------------------------------------------


async def test_a_members_websocket_receives_messages_sent_here(server: LiveServer) -> None:
    alice, bob = await server.user("alice"), await server.user("bob")
    org = (await alice.post("/organisation/edit", name="Acme"))["id"]
    await alice.post("/organisation/members/add", id=org, user_id=bob.id)
    group = await alice.post("/api/group-chats", title="Launch", isPrivate=True, members=[{"id": bob.id}])
    async with bob.socket() as sock:
        sent = await alice.post(f"/api/{group['id']}/messages", message="over the WorkDrive face")
        created = await sock.expect("message", event="CREATED")
        assert created["channel_id"] == group["id"] and created["data"]["id"] == sent["id"]
        assert created["data"]["contents"] == "over the WorkDrive face"


async def test_a_public_by_request_group_cannot_be_joined_directly(chat: Harness) -> None:
    t = await workdrive_team(chat)
    club = await group_chat(t.admin, "Club", byRequest=True)
    await t.carol.post("/channel/join", id=club["id"], expect=403, code="by_request")
    await t.carol.post(f"/api/group-chats/{club['id']}/join-requests", expect=201)


async def test_mentions_by_id_need_not_repeat_the_name_and_join_those_of_the_text(chat: Harness) -> None:
    """The spec's own example: ``mention`` ids are mentioned whether or not the text says ``@userName``; the
    text's ``@names`` are mentioned too; both are told; an id the sender may not see is a 400."""
    t = await workdrive_team(chat)
    group = await group_chat(t.admin, "Launch", members=[{"id": t.bob.id}, {"id": t.carol.id}])
    path = f"/api/{group['id']}/messages"
    before = len(chat.events)
    sent = await t.bob.post(path, message="Hello @carol", mention=[t.admin.id])
    assert {m["id"] for m in sent["mention"]} == {t.admin.id, t.carol.id}
    told = {e.user_id for e in chat.events[before:] if e.type == "mention"}
    assert told == {int(t.admin.id), int(t.carol.id)}
    crust = await t.admin.get("/message/read", id=sent["id"])
    assert set(crust["mentions"]) == {t.admin.id, t.carol.id}
    edited = await t.bob.patch(f"{path}/{sent['id']}", message="Hello all")
    assert [m["id"] for m in edited["mention"]] == [t.admin.id], "the edit drops @carol; the mention by id stays"
    outsider = await chat.user("outsider")
    before = len(chat.events)
    refused = await t.bob.post(path, message="hi", mention=[t.carol.id, outsider.id], expect=400, code="invalid")
    assert fields_of(refused) == {"mention.1": "no such user"} and chat.events[before:] == []
