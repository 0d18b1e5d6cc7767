"""Archived means read-only at every level: a channel, its team, its organisation (docs/api.md).

Every write to a channel asks one check (``core/access.check_writable``); each refusal here is a 409
``archived`` that writes nothing and emits nothing, on both databases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable

import httpx
import pytest
from harness import Actor, Harness


@dataclass
class Scene:
    alice: Actor  # owns the organisation and the channel
    bob: Actor  # a member of the channel
    carol: Actor  # in the organisation, not in the channel
    org: str
    team: str
    channel: str
    message: str


async def _scene(chat: Harness) -> Scene:
    alice, bob, carol = await chat.users("alice", "bob", "carol")
    org = (await alice.post("/organisation/edit", name="Acme"))["id"]
    for other in (bob, carol):
        await alice.post("/organisation/members/add", id=org, user_id=other.id)
    team = (await alice.post("/team/edit", organisation_id=org, name="Core"))["id"]
    channel = (await alice.post("/channel/edit", team_id=team, name="general", members=[bob.id]))["id"]
    message = (await bob.post("/message/edit", channel_id=channel, contents="ship it"))["id"]
    return Scene(alice, bob, carol, org, team, channel, message)


async def _archive(chat: Harness, scene: Scene, level: str) -> None:
    target = {"organisation": scene.org, "team": scene.team, "channel": scene.channel}[level]
    await scene.alice.post(f"/{level}/archive", id=target)


async def _refused(chat: Harness, request: Awaitable[httpx.Response], level: str) -> dict[str, Any]:
    """The request answers 409 ``archived`` naming the archived level, and stores and publishes nothing."""
    error = (await chat.refused(request, 409, "archived"))["error"]
    assert level in error["message"]
    return error  # type: ignore[no-any-return]


LEVELS = ["organisation", "team", "channel"]


@pytest.mark.parametrize("level", LEVELS)
async def test_removing_a_message_of_an_archived_level_is_refused_and_keeps_it(chat: Harness, level: str) -> None:
    scene = await _scene(chat)
    await _archive(chat, scene, level)
    for remover in (scene.bob, scene.alice):  # the sender, and a manager of the channel
        await _refused(chat, remover.call("DELETE", "/message/remove", params={"id": scene.message}), level)
    assert (await scene.bob.get("/message/read", id=scene.message))["contents"] == "ship it"


@pytest.mark.parametrize("level", LEVELS)
async def test_joining_a_channel_of_an_archived_level_is_refused(chat: Harness, level: str) -> None:
    scene = await _scene(chat)
    await _archive(chat, scene, level)
    await _refused(chat, scene.carol.call("POST", "/channel/join", json={"id": scene.channel}), level)
    members = await scene.alice.get("/channel/members", id=scene.channel)
    assert scene.carol.id not in {m["user_id"] for m in members["members"]}


@pytest.mark.parametrize("level", LEVELS)
async def test_every_other_write_to_a_channel_of_an_archived_level_is_refused(chat: Harness, level: str) -> None:
    scene = await _scene(chat)
    await _archive(chat, scene, level)
    bob, channel, message = scene.bob, scene.channel, scene.message
    for request in (
        bob.call("POST", "/message/edit", json={"channel_id": channel, "contents": "more"}),
        bob.call("POST", "/message/edit", json={"id": message, "contents": "changed"}),
        bob.call("POST", "/message/react", json={"id": message, "emoji": "👍"}),
        bob.call("POST", "/message/pin", json={"id": message}),
        scene.alice.call("POST", "/channel/members/add", json={"id": channel, "user_ids": [scene.carol.id]}),
        scene.alice.call("POST", "/channel/edit", json={"id": channel, "topic": "new"}),
    ):
        await _refused(chat, request, level)
    read = await bob.get("/message/read", id=message)
    assert read["contents"] == "ship it" and read["reactions"] == [] and read["pinned"] is False
    history = await bob.get("/message/read", channel_id=channel)
    assert [m["contents"] for m in history["items"] if m["type"] == "MESSAGE"] == ["ship it"]


@pytest.mark.parametrize("level", LEVELS)
async def test_asking_to_join_a_channel_of_an_archived_level_is_refused(chat: Harness, level: str) -> None:
    scene = await _scene(chat)
    org, team = scene.org, scene.team
    group = (await scene.alice.post("/api/group-chats", title="Launch", byRequest=True, organizationId=org))["id"]
    if level == "channel":
        await scene.alice.post("/channel/archive", id=group)
    elif level == "team":
        await scene.alice.post("/channel/move", id=group, team_id=team)
        await scene.alice.post("/team/archive", id=team)
    else:
        await scene.alice.post("/organisation/archive", id=org)
    await _refused(chat, scene.carol.call("POST", f"/api/group-chats/{group}/join-requests"), level)
    await scene.alice.get(f"/api/group-chats/{group}/join-requests", expect=200)


async def test_reading_and_leaving_still_work_in_an_archived_organisation(chat: Harness) -> None:
    scene = await _scene(chat)
    await _archive(chat, scene, "organisation")
    assert (await scene.carol.get("/channel/read", id=scene.channel))["name"] == "general"
    assert (await scene.carol.get("/message/search", query="ship"))["total"] == 1
    await scene.carol.post("/message/flag", id=scene.message)
    await scene.bob.post("/channel/leave", id=scene.channel)


async def test_unarchiving_makes_writes_possible_again(chat: Harness) -> None:
    scene = await _scene(chat)
    for level in ("organisation", "team"):
        await _archive(chat, scene, level)
        await scene.bob.post("/message/edit", channel_id=scene.channel, contents="refused", expect=409, code="archived")
        target = scene.org if level == "organisation" else scene.team
        await scene.alice.post(f"/{level}/unarchive", id=target)
    await scene.carol.post("/channel/join", id=scene.channel)
    await scene.bob.delete("/message/remove", id=scene.message)
