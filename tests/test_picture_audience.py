"""Files keep their audience (issue 13): a picture never makes a file readable by people who could not
read it before.

A user's picture or cover and an organisation's logo are seen by every signed-in user, a channel's picture
and a meeting's poster by the channel's readers. A file becomes such a picture as it is only when that
audience may read it already, or when it is the caller's own file shared nowhere yet; the caller's own file
shared elsewhere is shown through a copy; anyone else's file looks exactly like an unknown id, whatever it
holds, for organisation owners and server administrators too. Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness import Actor, Harness, error_of, no_trace_between, org_with, png

pytestmark = pytest.mark.slow_on_postgresql  # a face or transport suite: SQLite every day, both in CI

UNKNOWN = "424242424242"


async def _upload(actor: Actor, data: bytes | None = None, name: str = "photo.png") -> str:
    response = await actor.call("POST", "/file/upload", files={"file": (name, data or png(48, 32, "#2a6"), "application/octet-stream")})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def _downloads(actor: Actor, file_id: str) -> bool:
    response = await actor.call("GET", "/file/download", params={"id": file_id})
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


async def _patch(actor: Actor, path: str, **body: Any) -> tuple[int, Any]:
    """The status and body; a refusal must be the house error and leave no trace (compared by the callers)."""
    before = await actor.harness.trace()
    response = await actor.call("PATCH", path, json=body)
    if response.status_code >= 400:
        error_of(response, response.status_code)
        no_trace_between(before, await actor.harness.trace(), f"PATCH {path}")
    return response.status_code, response.json()


class Acme:
    """Alice owns Acme; bob and carol are members; bob sent carol a photo in a direct message; dave is in
    no organisation with them; root is a server administrator."""

    async def make(self, chat: Harness) -> "Acme":
        self.alice, self.bob, self.carol, self.dave = await chat.users("alice", "bob", "carol", "dave")
        self.root = await chat.user("root", admin=True)
        self.org = await org_with(self.alice, self.bob, self.carol)
        self.general = (await self.alice.post("/channel/edit", organisation_id=self.org, name="general", members=[self.bob.id, self.carol.id]))["id"]
        dm = (await self.bob.post("/channel/edit", organisation_id=self.org, type="direct", members=[self.carol.id]))["id"]
        self.dm_photo = await _upload(self.bob)
        await self.bob.post("/message/edit", channel_id=dm, contents="just for you", file_ids=[self.dm_photo])
        return self


async def test_nobody_makes_someone_elses_file_a_picture_and_it_looks_unknown(chat: Harness) -> None:
    acme = await Acme().make(chat)
    assert not await _downloads(acme.dave, acme.dm_photo)
    for caller in (acme.alice, acme.root):  # the organisation's owner, a server administrator
        for field in ("fileId", "coverFileId"):
            refused = await _patch(caller, f"/api/users/{acme.bob.id}", **{field: acme.dm_photo})
            unknown = await _patch(caller, f"/api/users/{acme.bob.id}", **{field: UNKNOWN})
            assert refused == unknown == (400, {"error": {"code": "invalid", "message": f"{field}: no such file",
                                                          "fields": {field: "no such file"}}})
        logo = await _patch(caller, f"/api/organization/{acme.org}", fileId=acme.dm_photo)
        assert logo[0] == 400 and logo[1]["error"]["code"] == "invalid" and logo[1]["error"]["fields"] == {"fileId": "no such file"}
        picture = await _patch(caller, f"/api/group-chats/{acme.general}", fileId=acme.dm_photo)
        assert picture[0] == 400 and picture[1]["error"]["code"] == "invalid" and picture[1]["error"]["fields"] == {"fileId": "no such file"}
    assert not await _downloads(acme.dave, acme.dm_photo)  # still private to the direct message


async def test_what_is_not_an_image_cannot_be_told_apart_from_an_unknown_file(chat: Harness) -> None:
    acme = await Acme().make(chat)
    text = await _upload(acme.bob, b"minutes of the meeting\n", "minutes.txt")
    for field in ("fileId", "coverFileId"):
        probed = await _patch(acme.alice, f"/api/users/{acme.bob.id}", **{field: text})
        unknown = await _patch(acme.alice, f"/api/users/{acme.bob.id}", **{field: UNKNOWN})
        assert probed == unknown
    own = await _patch(acme.bob, f"/api/users/{acme.bob.id}", fileId=text)  # one's own: told what is wrong
    assert own[0] == 400 and own[1]["error"]["code"] == "invalid" and own[1]["error"]["fields"] == {"fileId": "must be an image"}


async def test_a_fresh_upload_becomes_a_picture_as_it_is(chat: Harness) -> None:
    acme = await Acme().make(chat)
    for caller, fresh in ((acme.bob, await _upload(acme.bob)), (acme.alice, await _upload(acme.alice))):
        status, body = await _patch(caller, f"/api/users/{acme.bob.id}", fileId=fresh)
        assert status == 200 and body["picture"] == {"id": fresh}
        assert await _downloads(acme.dave, fresh)  # a user's picture is seen by everyone signed in


async def test_ones_own_shared_file_becomes_a_picture_through_a_copy(chat: Harness) -> None:
    acme = await Acme().make(chat)
    status, body = await _patch(acme.bob, f"/api/users/{acme.bob.id}", fileId=acme.dm_photo)
    assert status == 200
    copy = body["picture"]["id"]
    assert copy != acme.dm_photo
    assert await _downloads(acme.dave, copy) and not await _downloads(acme.dave, acme.dm_photo)
    original = await acme.bob.call("GET", "/file/download", params={"id": acme.dm_photo})
    assert (await acme.dave.call("GET", "/file/download", params={"id": copy})).content == original.content


async def test_a_channel_picture_shows_a_file_of_that_channel_as_it_is_and_copies_others(chat: Harness) -> None:
    acme = await Acme().make(chat)
    shared = await _upload(acme.alice)
    await acme.alice.post("/message/edit", channel_id=acme.general, contents="our logo", file_ids=[shared])
    status, body = await _patch(acme.alice, f"/api/group-chats/{acme.general}", fileId=shared)
    assert status == 200 and body["image"] == {"id": shared}  # its readers read it already

    elsewhere = (await acme.alice.post("/channel/edit", organisation_id=acme.org, name="board", type="private"))["id"]
    await acme.alice.post("/message/edit", channel_id=elsewhere, contents="board only", file_ids=[(board := await _upload(acme.alice))])
    status, body = await _patch(acme.alice, f"/api/group-chats/{acme.general}", fileId=board)
    assert status == 200 and body["image"]["id"] != board
    assert await _downloads(acme.carol, body["image"]["id"]) and not await _downloads(acme.carol, board)


async def test_a_meeting_poster_from_elsewhere_is_a_copy(chat: Harness) -> None:
    acme = await Acme().make(chat)
    times: dict[str, Any] = {"startDateTime": "2026-02-01T10:00:00Z", "endDateTime": "2026-02-01T11:00:00Z"}
    refused = await acme.alice.post(f"/api/{acme.general}/meetings", title="M", posterId=acme.dm_photo, expect=400, code="invalid", **times)
    assert refused["error"]["fields"] == {"posterId": "no such file"}
    made = await acme.bob.post(f"/api/{acme.general}/meetings", title="Plans", posterId=acme.dm_photo, **times)
    poster = made["poster"]["id"]
    assert poster != acme.dm_photo
    assert await _downloads(acme.alice, poster) and not await _downloads(acme.alice, acme.dm_photo)
