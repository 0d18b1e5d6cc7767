"""One write allowance per user over every face (docs/security.md §4): HTTP writes of both faces and
websocket frames that change something draw from the same bucket; above it, 429 with Retry-After or an
error frame, nothing written, and reads and other users unaffected."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import Harness, error_of, live, make_settings, no_trace_between, team

pytestmark = pytest.mark.slow_on_postgresql  # a face or transport suite: SQLite every day, both in CI


async def test_writes_above_the_allowance_get_429_with_retry_after_on_every_face(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    org = (await alice.post("/organisation/edit", name="Acme"))["id"]
    await alice.post("/organisation/members/add", id=org, user_id=bob.id)
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
    chat.settings.limits.writes_per_second = 0.5
    chat.settings.limits.write_burst = 3
    chat.clock.advance(10)  # a full bucket under the new limits
    await alice.post("/message/edit", channel_id=cid, contents="crust")
    await alice.post(f"/api/{cid}/messages", message="workdrive")
    upload = await alice.call("POST", "/file/upload", files={"file": ("a.txt", b"hello", "text/plain")})
    assert upload.status_code == 200
    before = await chat.trace()
    for method, path, body in [
        ("POST", "/message/edit", {"channel_id": cid, "contents": "one too many"}),
        ("POST", f"/api/{cid}/messages", {"message": "one too many"}),
        ("DELETE", "/channel/remove", {"id": cid}),
    ]:
        refused = await alice.call(method, path, **({"json": body} if method == "POST" else {"params": body}))
        error_of(refused, 429, "rate_limited")
        assert refused.headers["retry-after"] == "2"
    no_trace_between(before, await chat.trace(), "writes above the allowance")
    assert len((await alice.get("/message/read", channel_id=cid))["items"]) >= 2  # reading is not writing
    await bob.post("/message/edit", channel_id=cid, contents="bob has his own allowance")
    chat.clock.advance(2)
    await alice.post("/message/edit", channel_id=cid, contents="after the wait")


async def test_http_and_websocket_writes_share_one_allowance(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, limits={"writes_per_second": 0.001, "write_burst": 4})
    async with live(settings) as server:
        (alice,), org = await team(server, "alice")  # the organisation: the first write
        cid = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
        async with alice.socket() as sock:
            assert (await sock.call("message.send", channel_id=cid, contents="one"))["type"] == "ack"
            assert (await sock.call("ping"))["type"] == "pong"  # not a write
            assert (await sock.call("history", channel_id=cid))["type"] == "ack"  # nor this
            assert (await sock.call("typing", channel_id=cid))["type"] == "ack"
            refused = await sock.call("message.send", channel_id=cid, contents="two")
            assert refused["type"] == "error" and refused["ref"]
            assert refused["error"]["code"] == "rate_limited" and refused["error"]["retry_after"] > 100
            await alice.post("/message/edit", channel_id=cid, contents="three", expect=429, code="rate_limited")
            sent = [f["data"]["contents"] for f in await sock.drain() if f["type"] == "message"]
            assert "two" not in sent and "three" not in sent  # the marker came: nothing refused was emitted
            assert (await sock.call("ping"))["type"] == "pong"  # the socket stays open
        history = await alice.get("/message/read", channel_id=cid)
        contents = [m["contents"] for m in history["items"]]
        assert "one" in contents and "two" not in contents and "three" not in contents
