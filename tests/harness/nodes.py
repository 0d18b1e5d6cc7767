"""Two chatd nodes in this process, sharing one real PostgreSQL database and one real redis-server: their
settings, the people and channels the cluster tests start from, and reading frames until a condition. The
``nodes`` fixture (``conftest.py``) starts the pair.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable

import orjson
from websockets.exceptions import ConnectionClosed

from servers import RedisServer

from .app import make_settings
from .live import LiveServer, Person, Socket

BUS_WAIT = 30.0  # seconds: generous, as the bus reconnects with backoff (up to 5 s) on a loaded machine
Frames = list[dict[str, Any]]


def node_settings(pg_url: str, redis_server: RedisServer, tmp_path: Path, node_id: int, **bus: Any) -> Any:
    return make_settings(pg_url, tmp_path, server={"node_id": node_id}, bus={"url": redis_server.url, **bus})


class World:
    """Alice owns organisation Acme on node A; bob and carol are members. ``general`` is public,
    ``secret`` private to alice and bob, ``open`` public with alice alone as a member."""

    def __init__(self, alice: Person, bob: Person, carol: Person, org: str, channels: dict[str, str]) -> None:
        self.alice, self.bob, self.carol, self.org, self.channels = alice, bob, carol, org, channels

    @classmethod
    async def make(cls, a: LiveServer) -> "World":
        alice, bob, carol = [await a.user(name) for name in ("alice", "bob", "carol")]
        org = (await alice.post("/organisation/edit", name="Acme"))["id"]
        for person in (bob, carol):
            await alice.post("/organisation/members/add", id=org, user_id=person.id)
        channels = {
            "general": (await alice.post("/channel/edit", organisation_id=org, name="general", members=[bob.id, carol.id]))["id"],
            "secret": (await alice.post("/channel/edit", organisation_id=org, name="secret", type="private", members=[bob.id]))["id"],
            "open": (await alice.post("/channel/edit", organisation_id=org, name="open"))["id"],
        }
        return cls(alice, bob, carol, org, channels)

    async def post(self, node: LiveServer, channel: str, contents: str) -> str:
        body = await self.alice.post("/message/edit", server=node, channel_id=self.channels[channel], contents=contents)
        return str(body["id"])


async def read_until(sock: Socket, done: Callable[[Frames], bool], timeout: float = BUS_WAIT) -> Frames:
    """Every frame the socket receives until ``done(frames so far)``."""
    frames: Frames = []

    async def read() -> None:
        while not done(frames):
            frames.append(orjson.loads(await sock.ws.recv()))

    await asyncio.wait_for(read(), timeout)
    return frames


async def read_until_closed(sock: Socket, timeout: float = BUS_WAIT) -> tuple[int | None, Frames]:
    """Every frame until the server closes the socket, and its close code."""
    frames: Frames = []

    async def read() -> int | None:
        while True:
            try:
                frames.append(orjson.loads(await sock.ws.recv()))
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None

    return await asyncio.wait_for(read(), timeout), frames


def hidden(channel_id: str) -> Callable[[Frames], bool]:
    return lambda frames: any(f["type"] == "channel" and f["event"] == "HIDDEN" and f["channel_id"] == channel_id for f in frames)


def has_messages(*ids: str) -> Callable[[Frames], bool]:
    return lambda frames: set(ids) <= {f["data"]["id"] for f in frames if f["type"] == "message"}


