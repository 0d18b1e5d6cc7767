"""Every request of the WorkDrive spec's chat part, made as the spec writes it: its method and path, the
``X-API-KEY`` header, query parameters in the query string and the spec's example bodies as JSON (with real
ids where the spec shows UUIDs, and real values where it shows the placeholder "string" for a field with a
listed set of values). Where chatd answers otherwise, the test holds the documented answer
(docs/workdrive.md, "Deviations from the spec").
"""

from __future__ import annotations

from typing import Any

import httpx

from harness import Harness
from test_files import _png

NOW = "2026-12-31T00:00:00.000Z"  # after everything this test creates (the harness clock starts in 2026)


class Spec:
    """A client written from the spec: its key in ``X-API-KEY``, nothing else."""

    def __init__(self, chat: Harness, key: str) -> None:
        self.chat, self.key = chat, key

    async def call(
        self, method: str, path: str, *, query: dict[str, Any] | None = None, body: Any = None, expect: int = 200
    ) -> Any:
        self.chat.client.cookies.clear()  # the spec's clients send their key, not our login cookie
        kwargs: dict[str, Any] = {"params": query, "headers": {"X-API-KEY": self.key}}
        if body is not None:
            kwargs["json"] = body
        response: httpx.Response = await self.chat.client.request(method, path, **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    async def media(self, name: str = "cover.png") -> str:
        """The spec's two steps: ask for a signed request, then post the file with its fields as FormData."""
        issued = await self.call("GET", "/api/media", query={"mime": "image/png", "name": name, "moduleCode": 1})
        signed = issued["signedRequest"]
        posted = await self.chat.client.post(
            signed["url"], data=signed["fields"], files={"file": (name, _png(32, 32), "image/png")}
        )
        assert posted.status_code == 200, posted.text
        return str(issued["fileId"])


def _new_user(email: str, boss: str) -> dict[str, Any]:
    """The spec's "Create a User" body (its placeholders for reportsTo and defaultVisibility made real)."""
    return {
        "email": email, "phone": "string", "firstName": "John", "lastName": "Smith", "designation": "Manager",
        "isDepartmentHead": True, "department": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "location": "string",
        "securityGroup": "string", "reportsTo": boss, "skill": ["string"], "defaultVisibility": "public",
        "addAdditionalTeams": ["string"],
    }


async def test_every_workdrive_request_as_written(chat: Harness) -> None:
    root_user = await chat.user("root", admin=True)
    root = Spec(chat, (await root_user.post("/user/tokens/create", label="superadmin"))["token"])

    # Organization: created by a superadmin's key; its admin's token is in the answer.
    org = await root.call("POST", "/api/organization", body={
        "name": "Stilla", "admin": {"firstName": "john", "lastName": "smith", "email": "abc@xyz.com"},
        "auth": {"method": "internal"},
    })
    admin = Spec(chat, org["accessToken"])
    admin_id = org["admin"]["id"]
    logo = await admin.media("logo.png")
    spec_video = await admin.call(
        "GET", "/api/media", query={"mime": "video/mp4", "name": "5 Second Countdown.mp4", "moduleCode": 1}
    )
    assert spec_video["signedRequest"]["fields"]["Content-Type"] == "video/mp4"
    updated = await admin.call("PATCH", f"/api/organization/{org['id']}", body={
        "fileId": logo, "name": "Stilla", "legalName": "stilla", "websites": ["abc_stilla.com"],
        "address": {"street1": "3739 Liberty Avenue", "street2": None, "city": "Anaheim", "state": "California",
                    "zip": "92805"},
        "email": "stilla@abc.com", "phone": "714-517-5291", "description": "Real estate organization", "industry": None,
    })
    assert updated["file"]["id"] == logo and updated["address"]["city"] == "Anaheim"

    # Users.
    jane = await admin.call("POST", "/api/users/add", query={"bulk": "true"}, body=_new_user("jane@xyz.com", admin_id))
    assert jane["reportsTo"] == admin_id and jane["department"] == "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    listed = await admin.call("GET", "/api/users", query={
        "cur_page": 1, "per_page": 5, "department": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "location": "string",
    })
    assert [u["id"] for u in listed["users"]] == [jane["id"]] and listed["meta"]["curPage"] == 1
    # Deviation: no reporting hierarchy to list.
    unsupported = await admin.call(
        "GET", "/api/users/supervisors", query={"cur_page": 1, "per_page": 5, "userId": jane["id"]}, expect=501
    )
    assert unsupported["error"]["code"] == "not_supported"
    token = await admin.call("POST", "/api/token/generate-access", body={"userId": jane["id"]})
    assert token["userId"] == jane["id"]
    as_jane = Spec(chat, token["token"])
    bulk = await admin.call("POST", "/api/users/bulk-create", body={"data": [
        {**_new_user("a@xyz.com", admin_id), "externalUserId": "string"},
        {**_new_user("b@xyz.com", admin_id), "externalUserId": "string2"},
        {**_new_user("c@xyz.com", admin_id), "externalUserId": "string3"},
    ]})
    a, b, c = (u["id"] for u in bulk)
    assert bulk[0]["externalUserId"] == "string"

    # GroupChat.
    cover = await admin.media()
    group = await admin.call("POST", "/api/group-chats", body={
        "isPrivate": True, "byRequest": True, "description": "This group is created for testing purpose",
        "members": [{"id": jane["id"], "isAdmin": False}, {"id": a, "isAdmin": False}],
        "fileId": cover, "title": "new testing group", "groupType": "CHAT_GROUP", "category": "Testing",
    })
    assert group["title"] == "new testing group" and group["image"] == {"id": cover} and group["memberCount"] == 3
    room = await admin.call("POST", "/api/group-chats", body={  # the spec gives a ROOM no title
        "isPrivate": True, "byRequest": False, "description": "A room",
        "members": [{"id": jane["id"], "isAdmin": False}], "groupType": "ROOM",
    })
    assert room["title"] == "john smith and John Smith" and room["type"] == "ROOM"
    rooms = await admin.call("GET", "/api/group-chats", query={
        "per_page": 5, "cur_page": 1, "group_type": "ROOM", "my_group_chats": "true", "include_participants": "true",
        "time": NOW,
    })
    assert [c["id"] for c in rooms["conversations"]] == [room["id"]]
    assert len(rooms["conversations"][0]["participants"]) == 2
    changed = await admin.call("PATCH", f"/api/group-chats/{group['id']}", body={
        "title": "new testing group", "description": "This group is created for testing purpose", "isPrivate": True,
        "newAdmins": [jane["id"]], "removedAdmins": [jane["id"]], "fileId": cover, "category": "Testing",
    })
    assert changed["admins"] == [admin_id], "newAdmins, then removedAdmins, as the spec's example asks"
    assert await admin.call("DELETE", "/api/group-chats", query={"id": [room["id"]]}) == {"deleted": [room["id"]]}

    # Messages: as written, a GET with a body. Deviation: refused, naming the POST that sends.
    first = await as_jane.call("POST", f"/api/{group['id']}/messages", body={"message": "first"})
    attachment = await as_jane.media("plan.png")
    send = {
        "message": "Hello this is me Adam", "mention": [admin_id], "replyOfMsgId": first["id"], "fileId": [attachment]
    }
    refused = await as_jane.call("GET", f"/api/{group['id']}/messages", body=send, expect=400)
    assert "POST /api/{conversationId}/messages" in refused["error"]["fields"]["message"]
    sent = await as_jane.call("POST", f"/api/{group['id']}/messages", body=send)
    assert sent["replyOfMsgId"] == first["id"] and [m["id"] for m in sent["mention"]] == [admin_id]
    assert [f["id"] for f in sent["files"]["files"]] == [attachment] and sent["sender"]["id"] == jane["id"]

    # A meeting, at the spec's POST /api/group-chats: it needs the conversation the spec lists as a parameter.
    meeting = {
        "title": "new Meeting", "userIds": [jane["id"]], "startDateTime": "2022-09-14T07:58:00.000Z",
        "endDateTime": "2022-09-14T08:58:00.000Z", "posterId": cover, "duration": 0,
    }
    unplaced = await admin.call("POST", "/api/group-chats", body=meeting, expect=400)
    assert "conversationId" in unplaced["error"]["fields"]
    scheduled = await admin.call("POST", "/api/group-chats", query={"conversationId": group["id"]}, body=meeting)
    assert scheduled["title"] == "new Meeting" and scheduled["message"]["type"] == "MEETING"
    history = await as_jane.call("GET", f"/api/{group['id']}/messages", query={"cur_page": 1, "per_page": 10})
    assert [m["type"] for m in history["messages"][:3]] == ["MEETING", "MESSAGE", "MESSAGE"]

    # The spec's user update (status ARCHIVE among the rest), then the deletes.
    archived = await admin.call("PATCH", f"/api/users/{a}", body={
        "firstName": "John", "lastName": "Smith", "status": "ARCHIVE", "phone": "+13756366604", "isExpert": False,
        "availability": "ACTIVE", "fileId": cover, "coverFileId": cover, "reportsTo": admin_id,
        "designation": "Web Developer", "bio": "string", "isDepartmentHead": False,
        "department": "Development/Subdivider", "location": "e9659111-c52a-42c9-b6ed-42d0f5bdd29e",
        "addAdditionalTeams": ["string"], "removeAdditionalTeams": ["string"],
    })
    # The admin's own image, already shared as a group chat's picture, becomes the user's through a copy, so
    # the picture's audience is exactly who sees it (docs/security.md §12).
    assert archived["status"] == "ARCHIVE" and archived["picture"] is not None and archived["picture"]["id"] != cover
    assert (await admin.call("DELETE", f"/api/users/{b}", query={"bulk": "true"}))["status"] == "ARCHIVE"
    gone = await admin.call("DELETE", "/api/users/bulk-delete", body={"id": [c]})
    assert [u["id"] for u in gone["users"]] == [c]
