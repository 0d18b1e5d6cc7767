"""``chatd serve --workers 2``: two processes on one port, sharing the SQLite file and a real Redis bus."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
import orjson
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection, connect

from harness import PASSWORD, RedisServer, free_port

pytestmark = pytest.mark.slow  # chatd serve --workers 2: chatd processes


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATD_")}
    return env | {
        "CHATD_SERVER__DATA_DIR": str(tmp_path / "data"),
        "CHATD_AUTH__ARGON2_TIME_COST": "1",
        "CHATD_AUTH__ARGON2_MEMORY_KIB": "64",
        "CHATD_ADMIN_PASSWORD": PASSWORD,
    } | extra


async def _ready(ws: ClientConnection) -> dict[str, object]:
    frame: dict[str, object] = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
    assert frame["type"] == "ready"
    return frame


async def _next_message(ws: ClientConnection) -> dict[str, object]:
    while True:
        frame: dict[str, object] = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"] == "message":
            return frame


async def test_a_message_posted_on_one_worker_reaches_a_socket_on_the_other(tmp_path: Path, redis_server: RedisServer) -> None:
    env = _env(tmp_path, CHATD_BUS__URL=redis_server.url)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "chatd", "serve", "--workers", "2", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert server.stdout is not None
        line = await asyncio.to_thread(server.stdout.readline)
        assert line == f"chatd serving on http://127.0.0.1:{port} with 2 workers\n", line
        base, ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/websocket/client"
        async with httpx.AsyncClient(base_url=base) as client:
            session = (await client.post("/user/login", json={"username": "admin", "password": PASSWORD})).json()["session_id"]
            headers = {"X-Session-ID": session}
            org = (await client.post("/organisation/edit", json={"name": "Acme"}, headers=headers)).json()["id"]
            channel = (await client.post("/channel/edit", json={"organisation_id": org, "name": "general"}, headers=headers)).json()["id"]
        by_worker: dict[str, ClientConnection] = {}
        opened = 0
        async with AsyncExitStack() as stack:
            for _ in range(40):  # the kernel hands each connection to one worker: open until both answered
                ws = await stack.enter_async_context(connect(ws_url, additional_headers=headers))
                opened += 1
                by_worker.setdefault(str((await _ready(ws))["data"]["node"]), ws)  # type: ignore[index]
                if len(by_worker) == 2:
                    break
            assert len(by_worker) == 2, "every connection went to one worker"
            sender, receiver = by_worker.values()
            await sender.send(orjson.dumps({"type": "message.send", "ref": "r1", "channel_id": channel, "contents": "across"}).decode())
            received = await _next_message(receiver)
            assert received["event"] == "CREATED" and received["data"]["contents"] == "across"  # type: ignore[index]
            async with httpx.AsyncClient(base_url=base) as client:
                text = (await client.get("/metrics")).text
            gauge = [s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == "chatd_websocket_connections"]
            assert gauge == [opened]  # every worker's sockets, summed in one scrape
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr
    assert '"level":"error"' not in stderr, stderr


def test_workers_need_the_redis_bus(tmp_path: Path) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "chatd", "serve", "--workers", "2", "--port", str(free_port())],
        env=_env(tmp_path), capture_output=True, text=True, timeout=60,
    )
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "Redis" in refused.stderr and "bus.url" in refused.stderr
