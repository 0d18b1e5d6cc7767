"""Posts allowed by a standing read before their batch (``core/standing_cache.py``): on SQLite a group
commit's batch checks access without a read of its own when this node has read the poster's standing
before, and writes only if that standing is unchanged. Whatever changed in between (a member removed, the
channel archived, a role given), the answer is the one a fresh read gives, and a refused post leaves nothing.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from dataclasses import fields
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from chatd.core.standing_cache import StandingCache
from chatd.domain.models import Channel, ChannelAccess
from chatd.store.channels import Fingerprint
from harness import Harness, history, org_with


async def test_a_member_removed_after_posting_cannot_post_again_and_others_in_the_batch_still_can(
    chat: Harness,
) -> None:
    alice, bob, carol = await chat.users("alice", "bob", "carol")
    org = await org_with(alice, bob, carol)
    channel = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
    await alice.post("/channel/members/add", id=channel, user_ids=[bob.id, carol.id])
    await bob.post("/message/edit", channel_id=channel, contents="first")
    await carol.post("/message/edit", channel_id=channel, contents="hello")
    if chat.core.db.dialect == "sqlite":
        assert len(chat.core.standings) >= 2  # the standings these posts read are kept: the next ones use them

    await alice.post("/channel/members/remove", id=channel, user_ids=[bob.id])
    refused, *accepted = await asyncio.gather(  # one group commit's batch, as far as timing allows
        bob.call("POST", "/message/edit", json={"channel_id": channel, "contents": "after removal"}),
        *(carol.call("POST", "/message/edit", json={"channel_id": channel, "contents": f"still here {n}"})
          for n in range(5)),
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert [r.status_code for r in accepted] == [200] * 5
    texts = [m["contents"] for m in await history(alice, channel)]
    assert "after removal" not in texts
    assert sum(text.startswith("still here") for text in texts) == 5


async def test_an_archived_channel_refuses_a_poster_whose_standing_was_kept(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    channel = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
    await alice.post("/channel/members/add", id=channel, user_ids=[bob.id])
    await bob.post("/message/edit", channel_id=channel, contents="before")
    await alice.post("/channel/archive", id=channel)
    with_trace = await chat.refused(
        bob.call("POST", "/message/edit", json={"channel_id": channel, "contents": "after"}), 409, "archived"
    )
    assert with_trace["error"]["code"] == "archived"
    await alice.post("/channel/unarchive", id=channel)
    await bob.post("/message/edit", channel_id=channel, contents="after unarchiving")


async def test_a_refusal_is_never_taken_from_what_was_kept(chat: Harness) -> None:
    """A user refused once (not a member) who joins may post at once: a kept standing that refuses is read
    again, never believed."""
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    channel = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
    await bob.post("/message/edit", channel_id=channel, contents="not yet", expect=403, code="forbidden")
    await bob.post("/channel/join", id=channel)
    posted = await bob.post("/message/edit", channel_id=channel, contents="now a member")
    assert posted["contents"] == "now a member"
    await bob.post("/channel/leave", id=channel)
    await bob.post("/message/edit", channel_id=channel, contents="left", expect=403, code="forbidden")
    assert [m["contents"] for m in await history(alice, channel)][-1] != "left"



async def test_a_standing_kept_and_unchanged_lets_its_posts_commit_in_their_batch(
    chat: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Posts move their channel's seq and newest time, which no access rule reads: a standing kept before them
    still allows the next post in its batch. Any other change to the standing (here the topic) is seen, and
    the batch runs again, its post read afresh and written."""
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    channel = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
    await alice.post("/channel/members/add", id=channel, user_ids=[bob.id])
    await bob.post("/message/edit", channel_id=channel, contents="first")  # its standing is read, and kept
    caplog.set_level(logging.INFO, logger="chatd.writes")
    for n in range(3):
        await bob.post("/message/edit", channel_id=channel, contents=f"again {n}")
    retried = [r for r in caplog.records if r.name == "chatd.writes"]
    assert retried == []

    await alice.post("/channel/edit", id=channel, organisation_id=org, name="general", topic="plans")
    posted = await bob.post("/message/edit", channel_id=channel, contents="after the topic")
    assert posted["contents"] == "after the topic"
    retried = [r for r in caplog.records if r.name == "chatd.writes"]
    assert [r.getMessage() for r in retried] == ["a shared write transaction failed; running its 1 actions one by one"]
    assert [m["contents"] for m in await history(alice, channel)][-1] == "after the topic"


async def test_a_standing_changed_by_another_connection_is_read_again(chat: Harness) -> None:
    """A change this server did not make (another worker, a command, an operator's SQL) is seen by the next
    post's batch, though no write of this server since could have changed the standing it kept."""
    alice, bob = await chat.users("alice", "bob")
    org = await org_with(alice, bob)
    channel = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
    await alice.post("/channel/members/add", id=channel, user_ids=[bob.id])
    await bob.post("/message/edit", channel_id=channel, contents="first")  # read, and kept
    await bob.post("/message/edit", channel_id=channel, contents="second")  # allowed by what was kept

    other = create_async_engine(chat.core.settings.database.url)
    try:
        async with other.begin() as conn:
            await conn.exec_driver_sql(
                f"DELETE FROM channel_members WHERE channel_id = {int(channel)} AND user_id = {int(bob.id)}")
    finally:
        await other.dispose()
    await bob.post("/message/edit", channel_id=channel, contents="after removal", expect=403, code="forbidden")
    assert [m["contents"] for m in await history(alice, channel)][-1] == "second"


def test_a_standing_is_kept_as_a_copy_with_every_field() -> None:
    """The caller that read a standing goes on with it; what the cache keeps must not move with it, and no
    field may be lost or shifted in the copy."""
    # Every field holds a marker string of its own, whatever its type: a lost or shifted field shows.
    channel_markers: dict[str, Any] = {f.name: f"channel-{f.name}" for f in fields(Channel)}
    access_markers: dict[str, Any] = {f.name: f"access-{f.name}" for f in fields(ChannelAccess) if f.name != "channel"}
    channel = Channel(**channel_markers)
    access = ChannelAccess(**access_markers, channel=channel)
    original = copy.deepcopy(access)
    cache = StandingCache()
    cache.put(1, 2, access, Fingerprint(("fingerprint",)))
    access.channel.last_message_at = 99
    access.role = "owner"
    kept = cache.get(1, 2)
    assert kept is not None
    assert kept[0] == original and kept[1] == Fingerprint(("fingerprint",))


async def test_a_server_admin_posting_leaves_the_kept_standing_as_the_store_has_it(chat: Harness) -> None:
    """A server admin acts as an owner of every organisation, in a standing of their own: the one kept for
    their later posts still says what the store says (a plain member), so it is never a role the user would
    keep after losing the admin right."""
    root = await chat.user("root", admin=True)
    alice = (await chat.users("alice"))[0]
    org = await org_with(alice, root)
    channel = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
    await alice.post("/channel/members/add", id=channel, user_ids=[root.id])
    for n in range(3):
        await root.post("/message/edit", channel_id=channel, contents=f"from root {n}")
    kept = chat.core.standings.get(int(channel), int(root.id))
    assert kept is not None and kept[0].org_role == "member" and kept[0].role == "member"
