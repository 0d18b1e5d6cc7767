"""Files: uploads sniffed from their bytes, safe downloads, thumbnails, and presigned WorkDrive uploads."""

from __future__ import annotations

import base64
import io
from typing import Any
from urllib.parse import unquote

import httpx
import orjson
from PIL import Image

from harness import Actor, Harness, anonymous, png
from harness.scenes import channel_with, send


async def _upload(actor: Actor, name: str, data: bytes, claimed: str = "application/octet-stream") -> httpx.Response:
    return await actor.call("POST", "/file/upload", files={"file": (name, data, claimed)}, data={"module": "chat"})


async def _stored(actor: Actor, name: str, data: bytes, claimed: str = "application/octet-stream") -> dict[str, Any]:
    response = await _upload(actor, name, data, claimed)
    assert response.status_code == 200, response.text
    stored: dict[str, Any] = response.json()
    return stored


async def _presign(actor: Actor, **params: Any) -> dict[str, Any]:
    presigned: dict[str, Any] = await actor.get("/api/media", **params)
    return presigned


async def _post_presigned(chat: Harness, issued: dict[str, Any], name: str, data: bytes, **changed: str) -> httpx.Response:
    """Post the bytes with the signed fields, as an uploader holding no session would."""
    signed = issued["signedRequest"]
    fields = {**signed["fields"], **changed}
    return await anonymous(chat, "POST", signed["url"], data=fields, files={"file": (name, data, "application/octet-stream")})


async def test_png_upload_is_sniffed_measured_and_thumbnailed(chat: Harness) -> None:
    alice = await chat.user("alice")
    image = png(640, 480)
    stored = await _stored(alice, "photo.png", image, "image/png")
    assert stored["content_type"] == "image/png" and stored["size"] == len(image)
    assert (stored["width"], stored["height"]) == (640, 480) and stored["has_thumbnail"]
    assert stored["url"] == f"/file/download?id={stored['id']}"

    original = await alice.call("GET", stored["url"])
    assert original.status_code == 200 and original.content == image
    assert original.headers["content-type"] == "image/png"
    assert original.headers["x-content-type-options"] == "nosniff"
    assert original.headers["content-disposition"].startswith("inline;")

    thumbnail = await alice.call("GET", stored["thumbnail_url"])
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumbnail.content)).size == (320, 240)


async def test_transparent_image_gets_a_png_thumbnail(chat: Harness) -> None:
    alice = await chat.user("alice")
    stored = await _stored(alice, "icon.png", png(100, 50, mode="RGBA"))
    thumbnail = await alice.call("GET", stored["thumbnail_url"])
    assert thumbnail.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(thumbnail.content)).size == (100, 50)


async def test_client_type_and_extension_are_not_trusted(chat: Harness) -> None:
    alice = await chat.user("alice")
    markup = b"<html><script>alert(document.cookie)</script></html>"
    stored = await _stored(alice, "cat.png", markup, "image/png")
    assert stored["content_type"] == "text/plain"
    assert stored["width"] is None and not stored["has_thumbnail"] and stored["thumbnail_url"] is None
    served = await alice.call("GET", stored["url"])
    assert served.headers["content-type"] == "text/plain; charset=utf-8"
    assert served.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in served.headers["content-security-policy"]
    await alice.get("/file/thumbnail", id=stored["id"], expect=404, code="not_found")

    svg = await _stored(alice, "logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "image/svg+xml")
    assert svg["content_type"] == "text/plain"
    binary = await _stored(alice, "notes.txt", bytes(range(256)) * 4, "text/plain")
    assert binary["content_type"] == "application/octet-stream"


async def test_upload_size_limit_and_empty_file(chat: Harness) -> None:
    alice = await chat.user("alice")
    chat.core.settings.limits.upload_max_bytes = 100
    assert (await _upload(alice, "a.bin", b"x" * 100)).status_code == 200
    await chat.refused(_upload(alice, "b.bin", b"x" * 101), 413, "too_large")
    await chat.refused(_upload(alice, "c.bin", b"x" * 200_000), 413, "too_large")  # refused before parsing
    empty = await chat.refused(_upload(alice, "d.bin", b""), 400, "invalid")
    assert "file" in empty["error"]["fields"]
    missing = await alice.request("POST", "/file/upload", 400, "invalid", data={"module": "chat"})
    assert "file" in missing["error"]["fields"]


async def test_only_those_who_may_read_a_file_can_download_it(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    stored = await _stored(alice, "secret.txt", b"for alice only")
    assert (await alice.call("GET", stored["url"])).content == b"for alice only"
    await bob.request("GET", stored["url"], 404, "not_found")
    await chat.refused(anonymous(chat, "GET", stored["url"]), 401, "unauthenticated")
    await bob.get("/file/download", id="999999", expect=404, code="not_found")
    await bob.get("/file/download", id="nope", expect=400, code="invalid")


async def test_a_file_attached_in_a_channel_is_readable_by_its_readers(chat: Harness) -> None:
    alice, bob, mallory = await chat.users("alice", "bob", "mallory")
    org = (await alice.post("/organisation/edit", name="Acme"))["id"]
    await alice.post("/organisation/members/add", id=org, user_id=bob.id)
    channel = (await alice.post("/channel/edit", organisation_id=org, name="general", type="public"))["id"]
    stored = await _stored(alice, "plan.txt", b"the plan")
    message = await alice.post("/message/edit", channel_id=channel, contents="see", file_ids=[stored["id"]])
    assert (await bob.call("GET", stored["url"])).content == b"the plan"
    await mallory.get("/file/download", id=stored["id"], expect=404, code="not_found")
    await alice.delete("/message/remove", id=message["id"])
    await bob.get("/file/download", id=stored["id"], expect=404, code="not_found")


async def test_one_can_attach_only_ones_own_ready_files(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    org = (await alice.post("/organisation/edit", name="Acme"))["id"]
    await alice.post("/organisation/members/add", id=org, user_id=bob.id)
    channel = (await alice.post("/channel/edit", organisation_id=org, name="general", type="public"))["id"]
    await bob.post("/channel/join", id=channel)
    alices = await _stored(alice, "mine.txt", b"mine")
    error = await bob.post("/message/edit", channel_id=channel, contents="x", file_ids=[alices["id"]], expect=400, code="invalid")
    assert "file_ids" in error["error"]["fields"]
    pending = await _presign(bob, mime="text/plain", name="later.txt")
    pending_id = pending["fileId"]
    error = await bob.post("/message/edit", channel_id=channel, contents="x", file_ids=[pending_id], expect=400, code="invalid")
    assert "file_ids" in error["error"]["fields"]


async def test_download_names_are_safe_and_exact(chat: Harness) -> None:
    alice = await chat.user("alice")
    issued = await _presign(alice, mime="text/plain", name='../rep"ort\r\nX-Evil: 1\u202e ü€.txt')
    assert (await _post_presigned(chat, issued, "ignored.txt", b"hello")).status_code == 200
    served = await alice.call("GET", issued["url"])
    disposition = served.headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "x-evil" not in served.headers
    fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback.isascii() and '"' not in fallback and "\\" not in fallback and "%" not in fallback
    exact = unquote(disposition.split("filename*=UTF-8''", 1)[1], encoding="utf-8")
    assert exact == 'rep"ortX-Evil: 1 ü€.txt'

    # A browser (and httpx) sends `"`, CR and LF in a file name as %22, %0D, %0A: the name is the one chosen.
    quoted = await _stored(alice, 'Report "final".txt', b"q")
    assert quoted["name"] == 'Report "final".txt', quoted
    sent = await alice.call("POST", "/file/upload", files={"file": ("50%25 off.txt", b"p", "text/plain")}, data={"module": "chat"})
    assert sent.json()["name"] == "50%25 off.txt"  # no other escape is undone: a literal % stays

    accented = await _stored(alice, "résumé.txt", b"cv")
    disposition = (await alice.call("GET", accented["url"])).headers["content-disposition"]
    assert disposition == "attachment; filename=\"resume.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"


async def test_downloads_serve_the_byte_range_asked_for(chat: Harness) -> None:
    """A player seeking in a recording and a download resumed after a break ask for part of the file."""
    alice, bob, carol = await chat.users("alice", "bob", "carol")
    channel = await channel_with(alice, bob, name="recordings")
    data = bytes(range(256)) * 40  # 10,240 bytes, every offset recognisable
    stored = await _stored(alice, "talk.bin", data)
    await send(alice, channel, "", file_ids=[stored["id"]])
    url = stored["url"]

    whole = await bob.call("GET", url)
    assert whole.status_code == 200 and whole.content == data and whole.headers["accept-ranges"] == "bytes"
    etag = whole.headers["etag"]

    cases = {"bytes=0-99": (0, 100), "bytes=10000-": (10000, 10240), "bytes=-240": (10000, 10240),
             "bytes=10200-99999": (10200, 10240), "bytes=5-5": (5, 6), "bytes=-99999": (0, 10240)}
    for asked, (first, end) in cases.items():
        part = await bob.call("GET", url, headers={"Range": asked})
        assert part.status_code == 206, (asked, part.status_code)
        assert part.content == data[first:end], asked
        assert part.headers["content-range"] == f"bytes {first}-{end - 1}/10240", asked
        assert part.headers["content-length"] == str(end - first)
        # the same protections as the whole file: never run by the browser
        assert part.headers["x-content-type-options"] == "nosniff" and part.headers["etag"] == etag
        assert part.headers["content-disposition"].startswith("attachment;")

    # A range the server need not serve as one gets the whole file, never an error.
    for ignored in ("bytes=0-9,20-29", "items=0-9", "bytes=9-3", "bytes=-", "bytes=a-b", "0-9"):
        answer = await bob.call("GET", url, headers={"Range": ignored})
        assert answer.status_code == 200 and answer.content == data, ignored

    # Resuming against a file that changed (If-Range names another version): the whole file again.
    stale = await bob.call("GET", url, headers={"Range": "bytes=100-", "If-Range": '"another-version"'})
    assert stale.status_code == 200 and stale.content == data
    fresh = await bob.call("GET", url, headers={"Range": "bytes=100-", "If-Range": etag})
    assert fresh.status_code == 206 and fresh.content == data[100:]

    # The unit's case does not matter, and a last position of any length is cut at the end.
    upper = await bob.call("GET", url, headers={"Range": "Bytes=0-" + "9" * 40})
    assert upper.status_code == 206 and upper.content == data

    # A range past the end: 416 in chatd's JSON, with the length to resume from, also for a client of the
    # original Crust server, whose errors are otherwise 200 (a 200 would say "here is the whole file").
    past = await bob.call("GET", url, headers={"Range": "bytes=10240-"})
    assert past.status_code == 416 and past.headers["content-range"] == "bytes */10240"
    assert past.json()["error"]["code"] == "range_not_satisfiable"
    for asked in ("bytes=-0", "bytes=" + "9" * 40 + "-"):
        assert (await bob.call("GET", url, headers={"Range": asked})).status_code == 416, asked
    enveloped = await bob.call("GET", url, headers={"Range": "bytes=10240-", "X-Chatd-Envelope": "crust"})
    assert enveloped.status_code == 416 and enveloped.headers["content-range"] == "bytes */10240"

    # The access rule comes first: someone who may not read the file learns nothing from a range.
    hidden = await carol.call("GET", url, headers={"Range": "bytes=0-9"})
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
    assert "content-range" not in hidden.headers
    assert (await carol.call("GET", url, headers={"Range": "bytes=99999-"})).status_code == 404

    # Thumbnails are files too.
    image = await _stored(alice, "shot.png", png(640, 480))
    thumb = await alice.call("GET", image["thumbnail_url"])
    head = await alice.call("GET", image["thumbnail_url"], headers={"Range": "bytes=0-15"})
    assert head.status_code == 206 and head.content == thumb.content[:16]


def _matroska(doctype: bytes, *codecs: bytes) -> bytes:
    """The start of a WebM or Matroska file as far as sniffing reads it: the EBML header naming its doctype,
    then its tracks' codec ids (element 0x86 with a one-byte size)."""
    header = b"\x42\x82" + bytes([0x80 | len(doctype)]) + doctype
    tracks = b"".join(b"\xae\x90\xd7\x81\x01\x86" + bytes([0x80 | len(c)]) + c for c in codecs)
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(header)]) + header + b"\x18\x53\x80\x67\x01" + tracks + bytes(64)


async def test_a_recorded_voice_note_is_sound_and_a_clip_is_video(chat: Harness) -> None:
    """A browser records a voice note as WebM with one Opus track: stored as audio, so clients play it as
    sound (the web client draws an audio player), whatever type the uploader claimed."""
    alice = await chat.user("alice")
    kinds = {
        "voice.webm": (_matroska(b"webm", b"A_OPUS"), "video/webm", "audio/webm"),
        "clip.webm": (_matroska(b"webm", b"V_VP9", b"A_OPUS"), "video/webm", "video/webm"),
        "song.mka": (_matroska(b"matroska", b"A_FLAC"), "audio/x-matroska", "audio/x-matroska"),
        "film.mkv": (_matroska(b"matroska", b"V_MPEG4/ISO/AVC"), "video/x-matroska", "video/x-matroska"),
    }
    for name, (data, claimed, stored_as) in kinds.items():
        assert (await _stored(alice, name, data, claimed))["content_type"] == stored_as, name


async def test_presigned_upload_completes_a_pending_file(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    image = png(64, 32)
    issued = await _presign(alice, mime="image/png", name="shot.png", moduleCode=1)
    file_id = issued["fileId"]
    assert issued["signedRequest"]["url"] == "/api/media/upload"
    assert issued["url"] == f"/file/download?id={file_id}"
    await alice.get("/file/download", id=file_id, expect=404, code="not_found")  # nothing to read until the bytes arrive

    response = await _post_presigned(chat, issued, "shot.png", image)
    assert response.status_code == 200, response.text
    assert response.json() == {"fileId": file_id, "url": issued["url"], "contentType": "image/png", "size": len(image)}
    served = await alice.call("GET", issued["url"])
    assert served.status_code == 200 and served.content == image
    assert (await alice.call("GET", "/file/thumbnail", params={"id": file_id})).status_code == 200
    await bob.get("/file/download", id=file_id, expect=404, code="not_found")

    await chat.refused(_post_presigned(chat, issued, "shot.png", image), 409, "upload_used")  # a replay writes nothing


async def test_presigned_upload_refuses_forged_tampered_and_expired_policies(chat: Harness) -> None:
    alice = await chat.user("alice")
    issued = await _presign(alice, mime="text/plain", name="a.txt")
    fields = issued["signedRequest"]["fields"]
    signature = fields["x-chatd-signature"]
    forged = "0" * len(signature)
    await chat.refused(_post_presigned(chat, issued, "a.txt", b"hi", **{"x-chatd-signature": forged}), 403, "bad_signature")

    policy = orjson.loads(base64.urlsafe_b64decode(fields["policy"] + "=="))
    policy["max_size"] = 10**12
    tampered = base64.urlsafe_b64encode(orjson.dumps(policy)).decode()
    await chat.refused(_post_presigned(chat, issued, "a.txt", b"hi", policy=tampered), 403, "bad_signature")
    unsigned = anonymous(chat, "POST", "/api/media/upload", files={"file": ("a.txt", b"hi")})
    await chat.refused(unsigned, 403, "bad_signature")

    chat.clock.advance(15 * 60 + 1)
    await chat.refused(_post_presigned(chat, issued, "a.txt", b"hi"), 403, "expired")


async def test_presigned_upload_must_hold_the_promised_type(chat: Harness) -> None:
    alice = await chat.user("alice")
    issued = await _presign(alice, mime="image/png", name="pic.png")
    wrong = await chat.refused(_post_presigned(chat, issued, "pic.png", b"just some text"), 400, "invalid")
    assert "file" in wrong["error"]["fields"]
    right = await _post_presigned(chat, issued, "pic.png", png(8, 8))
    assert right.status_code == 200  # a refused upload does not use up the policy

    csv = await _presign(alice, mime="text/csv", name="t.csv")
    stored = await _post_presigned(chat, csv, "t.csv", b"a,b\n1,2\n")
    assert stored.json()["contentType"] == "text/plain"

    chat.core.settings.limits.upload_max_bytes = 10
    big = await _presign(alice, mime="text/plain", name="big.txt")
    await chat.refused(_post_presigned(chat, big, "big.txt", b"x" * 11), 413, "too_large")


async def test_media_api_needs_a_user_and_a_mime(chat: Harness) -> None:
    alice = await chat.user("alice")
    await chat.refused(anonymous(chat, "GET", "/api/media", params={"mime": "image/png", "name": "a.png"}), 401, "unauthenticated")
    missing = await alice.get("/api/media", name="a.png", expect=400, code="invalid")
    assert "mime" in missing["error"]["fields"]
    malformed = await alice.get("/api/media", mime="not a type", expect=400, code="invalid")
    assert "mime" in malformed["error"]["fields"]


async def test_a_long_module_code_is_named_as_sent(chat: Harness) -> None:
    alice = await chat.user("alice")
    error = await alice.get("/api/media", mime="image/png", name="a.png", moduleCode="m" * 65, expect=400, code="invalid")
    assert "moduleCode" in error["error"]["fields"]
