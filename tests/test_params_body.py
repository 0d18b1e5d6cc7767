"""Parameters from a body on GET, as the Crust spec marks them, and the bound on parameter bodies."""

from __future__ import annotations

import pytest

from harness import Harness, channel_with, send

pytestmark = pytest.mark.slow_on_postgresql  # a face or transport suite: SQLite every day, both in CI


async def test_get_reads_parameters_from_a_json_or_form_body(chat: Harness) -> None:
    alice = await chat.user("alice")
    cid = await channel_with(alice)
    await send(alice, cid, "hello")
    as_json = await alice.call("GET", "/message/read", json={"channel_id": cid})
    assert as_json.status_code == 200, as_json.text
    assert [m["contents"] for m in as_json.json()["items"]][-1] == "hello"
    as_form = await alice.call(
        "GET", "/message/read", content=f"channel_id={cid}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert as_form.status_code == 200 and as_form.json()["items"] == as_json.json()["items"]
    await alice.request("GET", "/message/read", 400, "bad_json", content="{", headers={"Content-Type": "application/json"})


async def test_a_body_beyond_the_bound_is_refused_before_it_is_parsed(chat: Harness) -> None:
    alice = await chat.user("alice")
    cid = await channel_with(alice)
    chat.settings.limits.body_max_bytes = limit = 1_000_000  # the bound of every body but an upload
    huge = b'{"channel_id": "' + cid.encode() + b'", "pad": "' + b"x" * limit + b'"}'
    for method, path in (("GET", "/message/read"), ("POST", "/message/edit")):
        await alice.request(method, path, 413, "too_large", content=huge, headers={"Content-Type": "application/json"})
    # the longest message, in its worst JSON spelling, still fits
    longest = "😀" * chat.settings.limits.message_max_chars
    posted = await alice.call(
        "POST", "/message/edit", content=b'{"channel_id": "' + cid.encode() + b'", "contents": "'
        + longest.encode("ascii", "backslashreplace").replace(b"\\U0001f600", b"\\ud83d\\ude00") + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert posted.status_code == 200, posted.text[:200]
    assert posted.json()["contents"] == longest
