"""A real chatd served by uvicorn on a free port inside the test's event loop, and a websocket test client.

Websocket behaviour (flow control, close codes, pings, frame limits) only shows on a real socket, so these
tests never go through an in-memory transport.
"""

from __future__ import annotations

import asyncio
import socket
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import httpx
import orjson
import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from chatd.app import create_app
from chatd.config import Settings
from chatd.core.users import do_create_user
from harness import PASSWORD


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, settings: Settings, port: int | None = None) -> None:
        self.settings = settings
        self.port = port or free_port()
        self.app = create_app(settings)
        self.server: uvicorn.Server | None = None
        self.task: asyncio.Task[None] | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/websocket/client"

    @property
    def core(self) -> Any:
        return self.app.state.core

    async def start(self) -> None:
        ws = self.settings.websocket
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, ws="websockets-sansio", log_level="warning",
            ws_max_size=ws.max_frame_bytes, ws_ping_interval=ws.ping_interval_seconds,
            ws_ping_timeout=ws.ping_interval_seconds, ws_per_message_deflate=ws.compression, lifespan="on",
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(500):
            if self.server.started:
                return
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.01)
        raise RuntimeError("chatd did not start")

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            await asyncio.wait_for(self.task, 10)
            self.server = None

    async def user(self, name: str) -> "Person":
        await do_create_user(self.core, name, f"{name}@example.com", PASSWORD)
        return await self.login(name)

    async def login(self, name: str) -> "Person":
        async with httpx.AsyncClient(base_url=self.http) as client:
            response = await client.post("/user/login", json={"username": name, "password": PASSWORD})
            assert response.status_code == 200, response.text
            body = response.json()
        return Person(self, name, body["user"]["id"], body["session_id"])


class Person:
    """A signed-in user with an HTTP client and websocket helpers."""

    def __init__(self, server: LiveServer, name: str, id: str, secret: str) -> None:
        self.server, self.name, self.id, self.secret = server, name, id, secret

    async def post(self, path: str, expect: int = 200, server: LiveServer | None = None, **body: Any) -> Any:
        base = (server or self.server).http
        async with httpx.AsyncClient(base_url=base, headers={"X-Session-ID": self.secret}) as client:
            response = await client.post(path, json=body)
        assert response.status_code == expect, f"{path}: {response.status_code} {response.text}"
        return response.json()

    async def get(self, path: str, expect: int = 200, **params: Any) -> Any:
        async with httpx.AsyncClient(base_url=self.server.http, headers={"X-Session-ID": self.secret}) as client:
            response = await client.get(path, params=params)
        assert response.status_code == expect, f"{path}: {response.status_code} {response.text}"
        return response.json()

    async def delete(self, path: str, expect: int = 200, **params: Any) -> Any:
        async with httpx.AsyncClient(base_url=self.server.http, headers={"X-Session-ID": self.secret}) as client:
            response = await client.delete(path, params=params)
        assert response.status_code == expect, f"{path}: {response.status_code} {response.text}"
        return response.json()

    @asynccontextmanager
    async def socket(self, query: str = "", server: LiveServer | None = None, **kwargs: Any) -> AsyncIterator["Socket"]:
        url = (server or self.server).ws + (f"?{query}" if query else "")
        async with connect(url, additional_headers={"X-Session-ID": self.secret}, **kwargs) as ws:
            sock = Socket(ws)
            sock.ready = await sock.expect("ready")
            yield sock


class Socket:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ready: dict[str, Any] = {}
        self._refs = 0

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(orjson.dumps(frame).decode())

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        return orjson.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def expect(self, type: str, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        """The next frame of ``type`` (and matching fields), skipping presence and typing noise."""
        while True:
            frame = await self.recv(timeout)
            if frame["type"] == type and all(frame.get(k) == v for k, v in match.items()):
                return frame
            if frame["type"] in ("presence", "typing") and type not in ("presence", "typing"):
                continue
            if type in ("presence", "typing"):
                continue
            raise AssertionError(f"expected {type} {match}, got {frame}")

    async def call(self, type: str, **fields: Any) -> dict[str, Any]:
        """Send a frame with a fresh ``ref`` and return its ack or error (other frames are skipped)."""
        self._refs += 1
        ref = f"r{self._refs}"
        await self.send({"type": type, "ref": ref, **fields})
        while True:
            frame = await self.recv()
            if frame.get("ref") == ref and frame["type"] in ("ack", "error", "pong", "replay_done"):
                return frame

    async def quiet(self, seconds: float = 0.3) -> list[dict[str, Any]]:
        """Frames that arrive within ``seconds`` (presence and typing dropped)."""
        frames = []
        try:
            while True:
                frame = await self.recv(seconds)
                if frame["type"] not in ("presence", "typing"):
                    frames.append(frame)
        except asyncio.TimeoutError:
            return frames


async def team(server: LiveServer, *names: str) -> tuple[list[Person], str]:
    """New users, the first owning an organisation ``Acme`` the others are members of: (people, org id)."""
    people = [await server.user(n) for n in names]
    org = (await people[0].post("/organisation/edit", name="Acme"))["id"]
    for p in people[1:]:
        await people[0].post("/organisation/members/add", id=org, user_id=p.id)
    return people, org


@asynccontextmanager
async def live(settings: Settings, port: int | None = None) -> AsyncIterator[LiveServer]:
    server = LiveServer(settings, port)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
