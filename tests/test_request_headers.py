"""How the edge reads a request's headers (``chatd/edge/headers.py``): by name in any case, and where a
client sends a header twice, its first value counts everywhere (credentials, the origin rule, the request id,
the envelope), as when each layer asked Starlette's ``Headers``."""

from __future__ import annotations

import pytest

from harness import Harness

pytestmark = pytest.mark.slow_on_postgresql  # a face suite: SQLite every day, both in CI

OWN = "http://chatd.test"


async def _channel(chat: Harness) -> tuple[str, str]:
    alice = await chat.user("alice")
    org = (await alice.post("/organisation/edit", name="Acme"))["id"]
    channel = str((await alice.post("/channel/edit", organisation_id=org, name="general"))["id"])
    chat.client.cookies.clear()
    return alice.secret, channel


async def test_a_repeated_credential_header_is_read_by_its_first_value(chat: Harness) -> None:
    secret, channel = await _channel(chat)
    body = {"channel_id": channel, "contents": "hello"}
    first_good = [("X-Session-ID", secret), ("X-Session-ID", "not-a-session")]
    first_bad = [("x-session-id", "not-a-session"), ("X-SESSION-ID", secret)]
    assert (await chat.client.post("/message/edit", json=body, headers=first_good)).status_code == 200
    refused = await chat.client.post("/message/edit", json=body, headers=first_bad)
    assert refused.status_code == 401, refused.text


async def test_a_repeated_origin_is_judged_by_its_first_value(chat: Harness) -> None:
    secret, channel = await _channel(chat)
    cookie = ("Cookie", f"chatd_session={secret}")
    body = {"channel_id": channel, "contents": "from our page"}
    foreign_first = [cookie, ("Origin", "http://evil.example"), ("ORIGIN", OWN)]
    own_first = [cookie, ("Origin", OWN), ("Origin", "http://evil.example")]
    refused = await chat.client.post("/message/edit", data=body, headers=foreign_first)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "cross_site"
    assert (await chat.client.post("/message/edit", data=body, headers=own_first)).status_code == 200


async def test_a_repeated_request_id_or_envelope_header_is_read_by_its_first_value(chat: Harness) -> None:
    secret, channel = await _channel(chat)
    ids = [("X-Session-ID", secret), ("X-Request-ID", "trace-first"), ("x-request-id", "trace-second")]
    answered = await chat.client.post("/message/edit", json={"channel_id": channel, "contents": "a"}, headers=ids)
    assert answered.headers["x-request-id"] == "trace-first"
    crust_first = [("X-Session-ID", secret), ("X-Chatd-Envelope", "crust"), ("X-Chatd-Envelope", "plain")]
    plain_first = [("X-Session-ID", secret), ("X-CHATD-ENVELOPE", "plain"), ("X-Chatd-Envelope", "crust")]
    enveloped = await chat.client.post("/message/edit", json={"channel_id": channel, "contents": "b"}, headers=crust_first)
    plain = await chat.client.post("/message/edit", json={"channel_id": channel, "contents": "c"}, headers=plain_first)
    assert enveloped.json()["response"]["contents"] == "b"
    assert plain.json()["contents"] == "c"
