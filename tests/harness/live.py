"""A real chatd served by uvicorn on a free port inside the test's event loop, and a websocket test client.

Websocket behaviour (flow control, close codes, pings, frame limits) only shows on a real socket, so these
tests never go through an in-memory transport.

"Nothing arrived" is proved with a marker, never by waiting: ``LiveServer.mark`` publishes a marker event to
a user's connections, and ``Socket.drain`` returns what came before it (see ``mark`` for why that is all).
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from contextlib import asynccontextmanager, contextmanager
from typing import Any, AsyncIterator, Iterator

import httpx
import orjson
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from chatd.app import create_app
from chatd.config import Settings
from chatd.domain.events import Event
from chatd.core.users import do_create_user
from chatd.http_protocol import OneWriteHttp
from chatd.realtime.wire import WebSocketProtocol

from .app import PASSWORD
from .trace import error_of
from .waiting import wait_until

MARKER = "marker"
NOISE = ("presence", "typing")  # frames that come and go on their own timers
_tokens = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server(uvicorn.Server):
    """uvicorn's server, leaving the test process's signal handlers alone: each server would install its own
    while it runs and put back what it found on stopping, so servers stopping out of order would leave a stopped
    one's handler in place, and Ctrl-C would no longer reach pytest."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class LiveServer:
    """chatd on uvicorn in this event loop. ``send_buffer`` (bytes) pins the kernel's send buffer of every
    accepted connection, so a client that stops reading backs up into chatd's queue after a few frames
    instead of after megabytes of autotuned buffer."""

    def __init__(self, settings: Settings, port: int | None = None, send_buffer: int | None = None) -> None:
        self.settings = settings
        self.port = port or free_port()
        self.send_buffer = send_buffer
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
            self.app, host="127.0.0.1", port=self.port, http=OneWriteHttp, ws=WebSocketProtocol, log_level="warning",
            ws_max_size=ws.max_frame_bytes, ws_ping_interval=ws.ping_interval_seconds,
            ws_ping_timeout=ws.ping_interval_seconds, ws_per_message_deflate=ws.compression, lifespan="on",
            timeout_graceful_shutdown=2,
        )
        server = self.server = _Server(config)
        task = self.task = asyncio.create_task(server.serve(sockets=self._listener()))
        await wait_until(lambda: server.started or task.done(), what="chatd to start")
        if task.done():
            task.result()
            raise RuntimeError("chatd stopped while starting")

    def _listener(self) -> list[socket.socket] | None:
        if self.send_buffer is None:
            return None  # uvicorn binds host and port itself
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer)  # accepted sockets inherit it
        listener.bind(("127.0.0.1", self.port))
        return [listener]

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            await asyncio.wait_for(self.task, 10)
            self.server = None

    async def mark(self, user_id: str) -> str:
        """Publish a marker event to ``user_id``'s connections on this node; returns its token.

        It takes the path every event takes: bus → hub → each connection's one queue, which its writer sends
        in order. So a connection that receives the marker has received everything the hub was handed before
        it, which includes every event of a request that has answered (events are published after the
        commit and before the answer). Not covered: frames the hub makes in background work after an
        answer (an organisation change re-reads the user's channels): wait for their frame first.
        """
        token = f"m{next(_tokens)}"
        marker = Event(type=MARKER, event="SENT", data={"token": token}, user_id=int(user_id))
        await self.app.state.bus.publish([marker])
        return token

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
    """A signed-in user with an HTTP client and websocket helpers; a refusal (``expect`` ≥ 400) must be the
    house error, with ``code`` when named."""

    def __init__(self, server: LiveServer, name: str, id: str, secret: str) -> None:
        self.server, self.name, self.id, self.secret = server, name, id, secret

    async def request(
        self, method: str, path: str, expect: int = 200, code: str | None = None, server: LiveServer | None = None,
        **kwargs: Any,
    ) -> Any:
        base = (server or self.server).http
        async with httpx.AsyncClient(base_url=base, headers={"X-Session-ID": self.secret}) as client:
            response = await client.request(method, path, **kwargs)
        if expect >= 400:
            return error_of(response, expect, code)
        assert response.status_code == expect, f"{path}: {response.status_code} {response.text}"
        return response.json()

    async def post(
        self, path: str, expect: int = 200, server: LiveServer | None = None, *, code: str | None = None, **body: Any
    ) -> Any:
        return await self.request("POST", path, expect, code, server, json=body)

    async def get(self, path: str, expect: int = 200, *, code: str | None = None, **params: Any) -> Any:
        return await self.request("GET", path, expect, code, params=params)

    async def delete(self, path: str, expect: int = 200, *, code: str | None = None, **params: Any) -> Any:
        return await self.request("DELETE", path, expect, code, params=params)

    @asynccontextmanager
    async def socket(self, query: str = "", server: LiveServer | None = None, **kwargs: Any) -> AsyncIterator["Socket"]:
        node = server or self.server
        url = node.ws + (f"?{query}" if query else "")
        async with connect(url, additional_headers={"X-Session-ID": self.secret}, **kwargs) as ws:
            sock = Socket(ws, node, self.id)
            sock.ready = await sock.expect("ready")
            yield sock


class Socket:
    """One websocket connection. ``server`` and ``user_id`` (set by ``Person.socket``) let it ``drain``."""

    def __init__(self, ws: ClientConnection, server: LiveServer | None = None, user_id: str | None = None) -> None:
        self.ws = ws
        self.server = server
        self.user_id = user_id
        self.ready: dict[str, Any] = {}
        self._refs = 0

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(orjson.dumps(frame).decode())

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        return orjson.loads(await asyncio.wait_for(self.ws.recv(), timeout))  # type: ignore[no-any-return]

    async def expect(self, type: str, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        """The next frame of ``type`` (and matching fields), skipping presence, typing and markers."""
        while True:
            frame = await self.recv(timeout)
            if frame["type"] == type and all(frame.get(k) == v for k, v in match.items()):
                return frame
            if frame["type"] in (*NOISE, MARKER) or type in NOISE:
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

    async def drain(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Every frame already on its way here (presence and typing dropped): sends a marker to this socket's
        user and returns what arrives before it. ``assert await sock.drain() == []`` proves nothing more is
        coming from anything done so far."""
        if self.server is None or self.user_id is None:
            raise TypeError("drain needs the socket's server and user: open it with Person.socket")
        token = await self.server.mark(self.user_id)
        frames: list[dict[str, Any]] = []
        while True:
            frame = await self.recv(timeout)
            if frame["type"] == MARKER:
                if frame["data"]["token"] == token:
                    return frames
            elif frame["type"] not in NOISE:
                frames.append(frame)

    async def closed(self, timeout: float = 5.0) -> int:
        """Wait (up to ``timeout`` s) for the server to close this connection; the close code it sent.
        Frames still arriving before the close are skipped."""
        try:
            while True:
                await self.recv(timeout)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, f"closed without a close frame from the server: {closed!r}"
            return closed.rcvd.code


async def drain_stream(
    stream: AsyncIterator[dict[str, Any]], server: LiveServer, user_id: str, timeout: float = 5.0
) -> list[dict[str, Any]]:
    """``Socket.drain`` for a ``chatd.client`` event stream: every frame before a marker sent to ``user_id``
    on ``server`` (the node the client is connected to), presence and typing dropped."""
    token = await server.mark(user_id)
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        async for frame in stream:
            if frame["type"] == MARKER:
                if frame["data"]["token"] == token:
                    return frames
            elif frame["type"] not in NOISE:
                frames.append(frame)
    raise AssertionError("the event stream ended before the marker arrived")


async def team(server: LiveServer, *names: str) -> tuple[list[Person], str]:
    """New users, the first owning an organisation ``Acme`` the others are members of: (people, org id)."""
    people = [await server.user(n) for n in names]
    org = (await people[0].post("/organisation/edit", name="Acme"))["id"]
    for p in people[1:]:
        await people[0].post("/organisation/members/add", id=org, user_id=p.id)
    return people, org


@asynccontextmanager
async def live(settings: Settings, port: int | None = None, send_buffer: int | None = None) -> AsyncIterator[LiveServer]:
    server = LiveServer(settings, port, send_buffer)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
