"""A hung Redis delays no send (issue 13): acknowledgements wait for the commit only, and delivery recovers.

Redis is frozen with SIGSTOP: its connections stay open and nothing answers, the worst case for a client
that waits on it. The nodes are given a Redis command timeout of a minute, so a send that waited for its
publish could not be acknowledged while Redis is frozen; here every send is, on both nodes. Each node's
own sockets get its sends at once, in order (gaps filled from the store). After SIGCONT every socket on
both nodes ends with every event, in order, once.
"""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from harness import Frames, LiveServer, RedisServer, Socket, World, has_messages, live, node_settings, read_until

pytestmark = pytest.mark.slow  # two nodes and a frozen Redis (a cluster)


REDIS_TIMEOUT = 60.0  # longer than a request's timeout (5 s): a send waiting on Redis would fail, not pass late
SENDS = 20


@pytest.fixture
async def nodes(postgres_url: str, redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[tuple[LiveServer, LiveServer]]:
    one, two = (node_settings(postgres_url, redis_server, tmp_path, n, socket_timeout_seconds=REDIS_TIMEOUT) for n in (1, 2))
    async with live(one) as a, live(two) as b:
        yield a, b


def messages(frames: Frames) -> list[tuple[int, str]]:
    return [(f["seq"], f["data"]["id"]) for f in frames if f["type"] == "message"]


async def test_sends_are_acknowledged_while_redis_is_frozen_and_every_socket_gets_everything_once(
    nodes: tuple[LiveServer, LiveServer], redis_server: RedisServer
) -> None:
    a, b = nodes
    world = await World.make(a)
    async with (
        world.bob.socket(server=a) as bob_a, world.bob.socket(server=b) as bob_b,
        world.carol.socket(server=a) as carol_a, world.carol.socket(server=b) as carol_b,
    ):
        sockets: dict[Socket, LiveServer] = {bob_a: a, carol_a: a, bob_b: b, carol_b: b}
        seen: dict[Socket, Frames] = {sock: [] for sock in sockets}
        baseline = [await world.post(node, "general", f"before {i}") for i, node in enumerate((a, b) * 2)]
        for sock in sockets:
            seen[sock] += await read_until(sock, has_messages(*baseline))

        redis_server.freeze()
        try:
            sent: list[tuple[LiveServer, str]] = []
            for i in range(SENDS):
                node = (a, b)[i % 2]
                sent.append((node, await world.post(node, "general", f"frozen {i}")))
            # Each node's sockets already have everything up to its own last send, Redis or not.
            for sock, node in sockets.items():
                last = max(i for i, (by, _) in enumerate(sent) if by is node)
                seen[sock] += await read_until(sock, has_messages(*[id for _, id in sent[: last + 1]]))
        finally:
            redis_server.thaw()

        sentinels = [await world.post(node, "general", f"after, on node {node.settings.server.node_id}") for node in (a, b)]
        expected = baseline + [id for _, id in sent] + sentinels
        for sock in sockets:
            seen[sock] += await read_until(sock, has_messages(*sentinels))
            got = messages(seen[sock])
            assert [id for _, id in got] == expected  # every event, once, in the order it was sent
            assert [seq for seq, _ in got] == list(range(got[0][0], got[0][0] + len(expected)))  # no gap
