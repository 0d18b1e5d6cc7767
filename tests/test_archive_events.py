"""Live clients are told when an organisation, a team or a channel is archived or unarchived (docs/websocket.md)."""

from __future__ import annotations

from typing import Any

import pytest

from harness import LiveServer, Socket, team

pytestmark = pytest.mark.slow_on_postgresql  # a face or transport suite: SQLite every day, both in CI


async def _frames(sock: Socket, count: int) -> list[dict[str, Any]]:
    """The next ``count`` frames, presence and typing aside."""
    frames: list[dict[str, Any]] = []
    while len(frames) < count:
        frame = await sock.recv()
        if frame["type"] not in ("presence", "typing"):
            frames.append(frame)
    return frames


async def test_a_reader_sees_its_organisation_archived_and_unarchived_in_each_channel(server: LiveServer) -> None:
    (alice, bob), org = await team(server, "alice", "bob")
    mine = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
    public = (await alice.post("/channel/edit", organisation_id=org, name="random"))["id"]  # bob reads, not a member
    await alice.post("/channel/edit", organisation_id=org, name="plans", type="private")  # bob does not read
    async with bob.socket() as sock:
        seqs = {c["id"]: c["seq"] for c in sock.ready["data"]["channels"]}
        archived = await alice.post("/organisation/archive", id=org)
        frames = await _frames(sock, 2)
        assert {(f["type"], f["event"], f["channel_id"], f["seq"]) for f in frames} == {
            ("organisation", "ARCHIVED", mine, seqs[mine] + 1),
            ("organisation", "ARCHIVED", public, seqs[public] + 1),
        }
        assert frames[0]["data"] == {"organisation_id": org, "archived": True, "archived_at": archived["archived_at"]}
        assert await sock.drain() == []  # nothing for the channel bob does not read
        await alice.post("/organisation/unarchive", id=org)
        frames = await _frames(sock, 2)
        assert {(f["event"], f["channel_id"]) for f in frames} == {("UNARCHIVED", mine), ("UNARCHIVED", public)}
        assert frames[0]["data"]["archived"] is False and frames[0]["data"]["archived_at"] is None
        assert await sock.drain() == []


async def test_a_reader_sees_a_team_archived_in_the_team_s_channels_only(server: LiveServer) -> None:
    (alice, bob), org = await team(server, "alice", "bob")
    core = (await alice.post("/team/edit", organisation_id=org, name="Core", members=[bob.id]))["id"]
    in_team = (await alice.post("/channel/edit", team_id=core, name="core-chat", members=[bob.id]))["id"]
    outside = (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
    async with bob.socket() as sock:
        await alice.post("/team/archive", id=core)
        [frame] = await _frames(sock, 1)
        assert (frame["type"], frame["event"], frame["channel_id"]) == ("team", "ARCHIVED", in_team)
        assert frame["data"]["team_id"] == core and frame["data"]["organisation_id"] == org
        await alice.post("/message/edit", channel_id=outside, contents="still writable")
        [after] = await _frames(sock, 1)  # the next frame is this message: nothing came for the other channel
        assert (after["type"], after["channel_id"]) == ("message", outside)
