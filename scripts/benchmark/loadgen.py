"""One load generator for chatd and the floor, on uvloop: HTTP/1.1 keep-alive requests from a raw protocol
(the Python HTTP clients cost more CPU per request than the servers they would measure) and websocket
receivers on picows (a websocket client written in Cython).

Every loop here is bounded by a count and a deadline: a server that stops answering ends the measurement
with what arrived (``timed_out``), never a hang.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

STAMP = b"bench:"  # contents carry "bench:<monotonic ns>:" so a receiver can tell the post -> delivery latency


def stamped(text: str = "") -> str:
    return f"bench:{time.monotonic_ns()}: {text}"


@dataclass
class Result:
    requests: int = 0
    seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    timed_out: bool = False

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


def post(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: bench", "Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def get(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: bench", *[f"{name}: {value}" for name, value in headers.items()]]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class _Http(asyncio.Protocol):
    """One keep-alive connection: ``ask`` sends a request and resolves with (status, body) when it is in."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed by the server"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = bytes(self.buffer[:end]).split(b"\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        waiter, self.waiter = self.waiter, None
        if not waiter.done():
            waiter.set_result((int(head[0].split()[1]), body))

    async def ask(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        if self.lost:
            raise ConnectionError("connection closed by the server")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


async def connect_http(host: str, port: int) -> _Http:
    _, protocol = await asyncio.get_running_loop().create_connection(_Http, host, port)
    return protocol


async def closed_loop(
    host: str, port: int, make_request: Callable[[int, int], bytes], connections: int, total: int, deadline: float
) -> Result:
    """``total`` requests over ``connections`` keep-alive connections, each sending its next request when the
    previous answer is in; stops early at ``deadline`` seconds."""
    result = Result()
    counter = iter(range(total))
    stop_at = time.monotonic() + deadline
    conns = [await connect_http(host, port) for _ in range(connections)]

    async def worker(number: int) -> None:
        conn = conns[number]
        for index in counter:
            if time.monotonic() > stop_at:
                result.timed_out = True
                return
            sent = time.perf_counter()
            status, _ = await conn.ask(make_request(number, index))
            result.latencies.append(time.perf_counter() - sent)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            result.requests += 1

    started = time.perf_counter()
    try:
        await asyncio.wait_for(asyncio.gather(*(worker(n) for n in range(connections))), deadline + 30)
    except asyncio.TimeoutError:
        result.timed_out = True
    result.seconds = time.perf_counter() - started
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    return result


async def paced(
    host: str, port: int, make_request: Callable[[int], bytes], rate: float, seconds: float, connections: int = 16
) -> Result:
    """Open loop: request i goes out at ``i / rate`` seconds, on the next of ``connections`` connections
    (waiting there if that one is still busy), for ``seconds``."""
    result = Result()
    conns = [await connect_http(host, port) for _ in range(connections)]
    locks = [asyncio.Lock() for _ in conns]
    total = max(1, int(rate * seconds))
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def one(index: int) -> None:
        await asyncio.sleep(max(0.0, started + index / rate - loop.time()))
        async with locks[index % connections]:
            sent = time.perf_counter()
            status, _ = await conns[index % connections].ask(make_request(index))
            result.latencies.append(time.perf_counter() - sent)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            result.requests += 1

    began = time.perf_counter()
    try:
        await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(total))), seconds + 30)
    except asyncio.TimeoutError:
        result.timed_out = True
    result.seconds = time.perf_counter() - began
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    return result


class Receivers:
    """K websocket connections counting the frames that carry a stamp, and each one's post -> delivery time."""

    def __init__(self) -> None:
        self.transports: list[WSTransport] = []
        self.ready = 0
        self.delivered = 0
        self.recording = False
        self.latencies: list[float] = []
        self.frames = 0
        self.closed = 0
        self._target = 0
        self._reached: asyncio.Event = asyncio.Event()
        self._ready_target = 0
        self._all_ready: asyncio.Event = asyncio.Event()
        self.marker: bytes = b'"type":"replay_done"'
        self.marker_seen = 0
        self.reached_at = 0.0

    def listener(self) -> WSListener:
        receivers = self

        class Listener(WSListener):
            def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
                if frame.msg_type == WSMsgType.CLOSE:
                    transport.disconnect()
                    return
                if frame.msg_type not in (WSMsgType.TEXT, WSMsgType.CONTINUATION):
                    return
                receivers.on_payload(frame.get_payload_as_bytes())

            def on_ws_disconnected(self, transport: WSTransport) -> None:
                receivers.closed += 1

        return Listener()

    def on_payload(self, payload: bytes) -> None:
        self.frames += 1
        at = payload.find(STAMP)
        if at >= 0:
            self.delivered += 1
            if self.recording:
                end = payload.index(b":", at + len(STAMP))
                self.latencies.append((time.monotonic_ns() - int(payload[at + len(STAMP) : end])) / 1e9)
            if self.delivered >= self._target > 0 and not self._reached.is_set():
                self.reached_at = time.perf_counter()
                self._reached.set()
        elif payload.startswith(b'{"type":"ready"'):
            self.ready += 1
            if self.ready >= self._ready_target > 0:
                self._all_ready.set()
        elif self.marker in payload:
            self.marker_seen += 1

    async def connect(self, url: str, headers: dict[str, str], count: int, deadline: float, parallel: int = 50) -> None:
        """Open ``count`` connections, ``parallel`` at a time, and wait for each one's ``ready`` frame."""
        self._ready_target = self.ready + count
        self._all_ready = asyncio.Event()
        semaphore = asyncio.Semaphore(parallel)

        async def one() -> None:
            async with semaphore:
                transport, _ = await ws_connect(
                    self.listener, url, extra_headers=headers, websocket_handshake_timeout=deadline,
                    max_frame_size=64 * 1024 * 1024,
                )
                self.transports.append(transport)

        await asyncio.wait_for(asyncio.gather(*(one() for _ in range(count))), deadline)
        await asyncio.wait_for(self._all_ready.wait(), max(1.0, deadline))

    def expect(self, deliveries: int) -> None:
        """From now on, count stamped frames toward ``deliveries`` more."""
        self._target = self.delivered + deliveries
        self._reached = asyncio.Event()

    async def wait(self, deadline: float) -> bool:
        """Whether every expected delivery arrived within ``deadline`` seconds."""
        try:
            await asyncio.wait_for(self._reached.wait(), deadline)
            return True
        except asyncio.TimeoutError:
            return False

    async def close(self) -> None:
        for transport in self.transports:
            transport.disconnect()
        for transport in self.transports:
            try:
                await asyncio.wait_for(transport.wait_disconnected(), 5)
            except asyncio.TimeoutError:
                pass
        self.transports.clear()
