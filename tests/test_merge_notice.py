"""Merge notices are system messages of their own type, written by whoever merged, like renames."""

from __future__ import annotations

import pytest

from harness import Harness, history, org_with

pytestmark = pytest.mark.slow_on_postgresql  # a face or transport suite: SQLite every day, both in CI


async def test_merge_notices_are_merge_messages_by_the_merger(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    source = (await alice.post("/channel/edit", organisation_id=org, name="old", members=[bob.id]))["id"]
    dest = (await alice.post("/channel/edit", organisation_id=org, name="new"))["id"]
    await bob.post("/message/edit", channel_id=source, contents="merged words")
    await alice.post("/channel/merge", source=source, destination=dest)

    into = [m for m in await history(bob, dest) if m["type"] == "MERGE"]
    assert len(into) == 1 and into[0]["user_id"] == alice.id and into[0]["meta"] == {"merged_from": source}
    assert into[0]["contents"] == "@alice merged #old into this channel"
    assert not into[0]["can_edit"]
    await alice.post("/message/edit", id=into[0]["id"], contents="changed", expect=403, code="forbidden")
    left = (await history(alice, source))[-1]
    assert left["type"] == "MERGE" and left["user_id"] == alice.id and left["meta"] == {"merged_into": dest}

    posts = await bob.get("/message/search", query="merged", message_type="MESSAGE")
    assert [m["contents"] for m in posts["items"]] == ["merged words"]
    notices = await bob.get("/message/search", query="merged", message_type="MERGE", channel_id=dest)
    assert [m["id"] for m in notices["items"]] == [into[0]["id"]]
