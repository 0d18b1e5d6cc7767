"""Two chatd processes sharing a real PostgreSQL and a real redis-server (docs/design.md §5).

A client on node A receives, in order, what is posted over HTTP to node B; when redis-server dies
mid-stream and comes back, the nodes reconnect, fill the gap from the store, and no client misses an event;
a client that moves from node A to node B resumes there with nothing lost.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from chatd.core.assembly import build_core
from chatd.config import load_settings
from chatd.core.users import do_create_user
from harness import PASSWORD, Person, RedisServer, Socket, free_port
from websockets.asyncio.client import connect

pytestmark = pytest.mark.slow  # two chatd processes per test

class Node:
    """One ``chatd serve`` process."""

    def __init__(self, env: dict[str, str], node_id: int, tmp: Path) -> None:
        self.port = free_port()
        self.log = open(tmp / f"node{node_id}.log", "wb")
        environ = {**os.environ, **env, "CHATD_SERVER__NODE_ID": str(node_id), "CHATD_ADMIN_PASSWORD": PASSWORD}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chatd", "serve", "--port", str(self.port)],
            env=environ, stdout=self.log, stderr=subprocess.STDOUT,
        )

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/websocket/client"

    async def wait_ready(self) -> None:
        async with httpx.AsyncClient(base_url=self.http) as client:
            for _ in range(300):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"node exited: {Path(self.log.name).read_text()}")
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)  # polling a condition (ready, or the process gone) with a bound
        raise RuntimeError("node did not become ready")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def cluster_env(postgres_url: str, redis_server: RedisServer, tmp_path: Path) -> dict[str, str]:
    return {
        "CHATD_DATABASE__URL": postgres_url,
        "CHATD_BUS__URL": redis_server.url,
        "CHATD_SERVER__DATA_DIR": str(tmp_path / "data"),
        "CHATD_SERVER__SECRET_KEY": "cluster-secret",
        "CHATD_AUTH__ARGON2_TIME_COST": "1",
        "CHATD_AUTH__ARGON2_MEMORY_KIB": "64",
    }


@pytest.fixture
def nodes(cluster_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    a, b = Node(cluster_env, 1, tmp_path), Node(cluster_env, 2, tmp_path)
    yield a, b
    a.stop()
    b.stop()


async def _people(env: dict[str, str], node: Node, *names: str) -> list[Person]:
    core = build_core(load_settings(environ=env))
    try:
        for name in names:
            await do_create_user(core, name, f"{name}@example.com", PASSWORD)
    finally:
        await core.close()
    people = []
    async with httpx.AsyncClient(base_url=node.http) as client:
        for name in names:
            body = (await client.post("/user/login", json={"username": name, "password": PASSWORD})).json()
            people.append(Person(None, name, body["user"]["id"], body["session_id"]))  # type: ignore[arg-type]
    return people


async def _post(node: Node, person: Person, path: str, **body: object) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=node.http, headers={"X-Session-ID": person.secret}) as client:
        response = await client.post(path, json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def _setup(env: dict[str, str], a: Node, b: Node) -> tuple[Person, Person, str]:
    await asyncio.gather(a.wait_ready(), b.wait_ready())
    alice, bob = await _people(env, a, "alice", "bob")
    org = (await _post(b, alice, "/organisation/edit", name="Acme"))["id"]
    await _post(b, alice, "/organisation/members/add", id=org, user_id=bob.id)
    channel = (await _post(b, alice, "/channel/edit", organisation_id=org, name="general", members=[bob.id]))["id"]
    return alice, bob, channel


async def _socket(node: Node, person: Person, query: str = "") -> tuple[Socket, object]:
    manager = connect(node.ws + (f"?{query}" if query else ""), additional_headers={"X-Session-ID": person.secret})
    ws = await manager.__aenter__()
    sock = Socket(ws)
    sock.ready = await sock.expect("ready")
    return sock, manager


async def _messages(sock: Socket, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while len(got) < count:
        frame = await sock.expect("message", timeout=timeout)
        got.append(frame)
    return got


async def test_posts_on_node_b_reach_a_client_on_node_a_in_order(
    nodes: tuple[Node, Node], cluster_env: dict[str, str]
) -> None:
    a, b = nodes
    alice, bob, channel = await _setup(cluster_env, a, b)
    sock, manager = await _socket(a, bob)
    try:
        sent = [(await _post(b, alice, "/message/edit", channel_id=channel, contents=f"m{i}"))["id"] for i in range(50)]
        got = await _messages(sock, 50)
        assert [f["data"]["id"] for f in got] == sent
        seqs = [f["seq"] for f in got]
        assert seqs == list(range(seqs[0], seqs[0] + 50))
    finally:
        await manager.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_redis_outage_loses_nothing(
    nodes: tuple[Node, Node], cluster_env: dict[str, str], redis_server: RedisServer
) -> None:
    a, b = nodes
    alice, bob, channel = await _setup(cluster_env, a, b)
    sock, manager = await _socket(a, bob)
    try:
        sent = [(await _post(b, alice, "/message/edit", channel_id=channel, contents=f"before{i}"))["id"] for i in range(10)]
        await _messages(sock, 10)
        redis_server.kill()
        sent = [(await _post(b, alice, "/message/edit", channel_id=channel, contents=f"during{i}"))["id"] for i in range(20)]
        redis_server.start()
        got = await _messages(sock, 20, timeout=20)
        assert [f["data"]["id"] for f in got] == sent
        after = (await _post(b, alice, "/message/edit", channel_id=channel, contents="after"))["id"]
        assert (await _messages(sock, 1))[0]["data"]["id"] == after
    finally:
        await manager.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_resume_on_another_node(nodes: tuple[Node, Node], cluster_env: dict[str, str]) -> None:
    a, b = nodes
    alice, bob, channel = await _setup(cluster_env, a, b)
    sock, manager = await _socket(a, bob)
    last = next(c["seq"] for c in sock.ready["data"]["channels"] if c["id"] == channel)
    await manager.__aexit__(None, None, None)  # type: ignore[attr-defined]
    sent = [(await _post(a, alice, "/message/edit", channel_id=channel, contents=f"m{i}"))["id"] for i in range(40)]
    sock, manager = await _socket(b, bob, "resume=1")
    try:
        await sock.send({"type": "resume", "ref": "r", "channels": {channel: last}})
        frames = []
        while (frame := await sock.recv())["type"] != "replay_done":
            if frame["type"] == "message":
                frames.append(frame)
        assert [f["data"]["id"] for f in frames] == sent
        assert [f["seq"] for f in frames] == list(range(last + 1, last + 41))
    finally:
        await manager.__aexit__(None, None, None)  # type: ignore[attr-defined]
