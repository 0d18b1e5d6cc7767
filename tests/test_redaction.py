"""Removal is redaction (issue 13): once a message is removed, no path gives anyone its text, its earlier
versions or its files; its events keep their seq, so a replay from any seq stays gap-free.

Every test runs on SQLite and PostgreSQL. The removed message is edited once (so it has a version), carries
a file, is pinned, flagged, reacted to and replied to; then each path is read as its sender, the channel's
owner and a server administrator.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select

from chatd.core import live
from chatd.store import migrations
from chatd.store.tables import channel_events, schema_version
import pytest

from harness import Actor, Harness, LiveServer, channel_with, png, send, team

pytestmark = pytest.mark.slow_on_postgresql  # a face or transport suite: SQLite every day, both in CI

WORDS = ("zanzibar", "quokka")  # in the removed message's text: first version, then edited


async def _upload(actor: Actor) -> str:
    response = await actor.call("POST", "/file/upload", files={"file": ("plan.png", png(32, 32, "#c33"), "image/png")})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def _mentions_words(value: Any) -> bool:
    text = orjson.dumps(value).decode().casefold()
    return any(word in text for word in WORDS)


async def _removed_with_everything(chat: Harness) -> tuple[dict[str, Actor], str, dict[str, Any], str]:
    """A channel where bob's message, edited, with a file, pinned, flagged, reacted to and replied to, was
    removed by its sender; returns (people, channel, the message as posted, its file id)."""
    alice, bob, carol = await chat.users("alice", "bob", "carol")
    admin = await chat.user("root", admin=True)
    cid = await channel_with(alice, bob, carol)
    file_id = await _upload(bob)
    posted = await send(bob, cid, f"the {WORDS[0]} plan", file_ids=[file_id])
    await bob.post("/message/edit", id=posted["id"], contents=f"the {WORDS[1]} plan")
    await alice.post("/message/pin", id=posted["id"])
    await carol.post("/message/flag", id=posted["id"])
    await carol.post("/message/react", id=posted["id"], emoji="👍")
    await carol.post("/message/edit", channel_id=cid, contents="a reply", reply_to=posted["id"])
    assert (await carol.get("/message/search", query=WORDS[1]))["total"] == 1
    await bob.delete("/message/remove", id=posted["id"])
    return {"alice": alice, "bob": bob, "carol": carol, "admin": admin}, cid, posted, file_id


async def test_no_path_returns_a_removed_message(chat: Harness) -> None:
    people, cid, posted, file_id = await _removed_with_everything(chat)
    message_id = posted["id"]
    for name, who in people.items():
        history = (await who.get("/message/read", channel_id=cid, include_replies=True))["items"]
        assert message_id not in [m["id"] for m in history] and not _mentions_words(history), name
        await who.get("/message/read", id=message_id, expect=404, code="not_found")
        await who.get("/message/read", channel_id=cid, thread=message_id, expect=404, code="not_found")
        await who.get("/message/versions", id=message_id, expect=404, code="not_found")
        for word in WORDS:
            assert (await who.get("/message/search", query=word))["total"] == 0, name
        assert (await who.get("/message/pins", channel_id=cid))["items"] == []
        assert not _mentions_words(await who.get("/message/flags"))
        page = await who.get(f"/api/{cid}/messages")  # the WorkDrive listing (the reply names its parent's id)
        assert not _mentions_words(page) and message_id not in [m["id"] for m in page["messages"]], name
        for path in ("/file/download", "/file/thumbnail"):
            await who.get(path, id=file_id, expect=404, code="not_found")
    # Its sender cannot attach the file again either: it went with the message.
    await send(people["bob"], cid, "again", file_ids=[file_id], expect=400, code="invalid")


async def test_the_log_keeps_the_seqs_of_a_removed_message_with_tombstones(chat: Harness) -> None:
    people, cid, posted, file_id = await _removed_with_everything(chat)
    stored = await live.events_since(chat.core, int(cid), 0, 1000)
    assert [e.seq for e in stored] == list(range(1, len(stored) + 1))  # gap-free from seq 0
    about = [e for e in stored if e.type == "message" and e.data.get("id") == posted["id"]]
    assert [e.event for e in about] == ["CREATED", "EDITED", "REMOVED"]
    for event in about[:2]:
        assert event.data["deleted"] is True and event.data["contents"] == "" and event.data["files"] == []
        assert event.data["user_id"] == people["bob"].id
    assert not any(_mentions_words(e.data) for e in stored)
    assert file_id not in orjson.dumps([e.data for e in stored]).decode()


async def test_a_resume_from_seq_0_replays_tombstones(server: LiveServer) -> None:
    (alice, bob), org = await team(server, "alice", "bob")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="plans", members=[bob.id]))["id"]
    posted = await bob.post("/message/edit", channel_id=cid, contents=f"the {WORDS[0]} plan")
    await bob.post("/message/edit", id=posted["id"], contents=f"the {WORDS[1]} plan")
    await bob.delete("/message/remove", id=posted["id"])
    async with alice.socket("resume=1") as sock:
        await sock.send({"type": "resume", "ref": "r", "channels": {cid: 0}})
        frames = []
        while (frame := await sock.recv())["type"] != "replay_done":
            frames.append(frame)
    replayed = [f for f in frames if f.get("channel_id") == cid]
    assert [f["seq"] for f in replayed] == list(range(1, len(replayed) + 1))
    assert [(f["type"], f["event"]) for f in replayed if f["data"].get("id") == posted["id"]] == [
        ("message", "CREATED"), ("message", "EDITED"), ("message", "REMOVED")
    ]
    assert not _mentions_words(frames)


async def test_upgrading_redacts_messages_removed_before_the_upgrade(chat: Harness) -> None:
    alice, bob = await chat.users("alice", "bob")
    cid = await channel_with(alice, bob)
    posted = await send(bob, cid, f"the {WORDS[0]} plan")
    kept = await send(bob, cid, "the plan that stays")
    await bob.delete("/message/remove", id=posted["id"])
    old = orjson.dumps({"id": posted["id"], "channel_id": cid, "contents": posted["contents"], "files": []}).decode()
    async with chat.core.db.write() as conn:  # as the previous release left it: text in the log, no message ids
        await conn.execute(
            channel_events.update().where(channel_events.c.message_id == int(posted["id"]), channel_events.c.event == "CREATED")
            .values(payload=old)
        )
        await conn.execute(channel_events.update().values(message_id=None))
        await conn.execute(schema_version.delete().where(schema_version.c.version >= 5))
    assert _mentions_words([e.data for e in await live.events_since(chat.core, int(cid), 0, 100)])

    assert await migrations.upgrade(chat.core.db, 1) == (4, migrations.LATEST)
    stored = await live.events_since(chat.core, int(cid), 0, 100)
    assert not _mentions_words([e.data for e in stored])
    created = {e.data["id"]: e.data for e in stored if (e.type, e.event) == ("message", "CREATED")}
    assert created[posted["id"]]["deleted"] is True and created[kept["id"]]["contents"] == "the plan that stays"
    async with chat.core.db.read() as conn:
        ids = (await conn.execute(select(channel_events.c.message_id).where(channel_events.c.type == "message"))).scalars()
        assert None not in set(ids)
