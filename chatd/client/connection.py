"""The connection under ``ChatClient``: one websocket that survives disconnects, and the calls sent over it.

One websocket (``/websocket/client``, the token in ``Authorization: Bearer``) and one reader task. The
reader hands each answer (``ack``, ``error``, ``pong``) to the call that is waiting for it and every other
frame to ``events()``, in the order the server sent them. It remembers, per channel, the last ``seq`` it
passed on; when the connection drops it reconnects with jittered exponential backoff, asks to resume
(``?resume=1`` and a ``resume`` frame with those seqs), and drops any frame at or below what it already
passed on, so ``events()`` sees every channel event once, in order, across restarts (docs/websocket.md).

The backoff and the open and answer timeouts are this program's own timings, on its monotonic clock.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from .. import __version__
from .errors import AuthError, ChatError, ConnectionLost

log = logging.getLogger("chatd.client")

CLOSE_POLICY = 1008  # the server refused the connection (e.g. its Origin) after accepting it
CLOSE_UNAUTHENTICATED = 4401
FATAL_CLOSE_CODES = {CLOSE_POLICY, CLOSE_UNAUTHENTICATED}  # reconnecting cannot help
STABLE_SECONDS = 10.0  # a connection that lived this long resets the backoff
MAX_INCOMING_BYTES = 16 * 1024 * 1024
_END = object()  # ends events(): the client was closed


class _Retry(Exception):
    """A failed connection attempt worth retrying (5xx, a proxy's 502 …)."""


@dataclass(slots=True)
class _Call:
    frame: dict[str, Any]
    future: asyncio.Future[dict[str, Any]]
    retry: bool  # safe to send again on the next connection if the first one dropped unanswered
    sent_on: int | None = None  # the connection (generation) it was sent on


class EventStream:
    """``async for event in client.events()``: the frames not taken by a call, in order."""

    def __init__(self, queue: asyncio.Queue[Any]) -> None:
        self._queue = queue

    def __aiter__(self) -> "EventStream":
        return self

    async def __anext__(self) -> dict[str, Any]:
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(item)  # every later wait ends the same way
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            self._queue.put_nowait(item)
            raise item
        return dict(item)


def websocket_url(base_url: str) -> str:
    """``http(s)://host[:port][/prefix]`` → ``ws(s)://host[:port][/prefix]/websocket/client``."""
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ValueError(f"not an http(s) or ws(s) URL: {base_url!r}")
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/websocket/client", "", ""))


class Connection:
    """A chatd websocket that survives disconnects, and ``call`` to send a frame over it and await its answer.

    ``backoff_initial``/``backoff_max`` bound the reconnect delay (doubled per failed attempt, jittered);
    ``ack_timeout`` bounds each call; ``buffer_events=False`` keeps no events (for send-only bots, which
    otherwise should drain ``events()`` so the buffer does not grow).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        backoff_initial: float = 0.5,
        backoff_max: float = 10.0,
        ack_timeout: float = 30.0,
        open_timeout: float = 10.0,
        buffer_events: bool = True,
        client_id: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.ws_url = websocket_url(self.base_url)
        self.token = token
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.ack_timeout = ack_timeout
        self.open_timeout = open_timeout
        self.buffer_events = buffer_events
        self.headers = {"Authorization": f"Bearer {token}", "User-Agent": f"chatd-client/{__version__}"}
        if client_id:
            self.headers["X-Client-ID"] = client_id
        self.ready: dict[str, Any] | None = None  # the latest ``ready`` frame
        self.seqs: dict[str, int] = {}  # channel id → last seq passed on
        self.reconnects = 0
        self._ready_seqs: dict[str, int] = {}
        self._ws: ClientConnection | None = None
        self._generation = 0
        self._connected = asyncio.Event()
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._pending: dict[str, _Call] = {}
        self._refs = itertools.count(1)
        self._resume_ref: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._failure: ChatError | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        try:
            await self.connect()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def connect(self) -> dict[str, Any]:
        """Open the first connection and return ``ready``; raises ``AuthError``, ``ChatError`` or ``OSError``.

        Only later disconnects are retried: a first connection that fails says so at once.
        """
        if self._task is not None:
            raise RuntimeError("already connected")
        try:
            ws = await self._open(resume=False)
        except _Retry as exc:
            raise ChatError("unavailable", str(exc)) from None
        self._task = asyncio.get_running_loop().create_task(self._run(ws))
        assert self.ready is not None
        return self.ready

    async def close(self) -> None:
        """Close normally (code 1000): no reconnect; ``events()`` ends; waiting calls get ``ConnectionLost``."""
        if self._closing:
            return
        self._closing = True
        if self._ws is not None:
            try:
                await asyncio.wait_for(self._ws.close(), 5)
            except (asyncio.TimeoutError, OSError, ConnectionClosed):
                pass
        if self._task is not None:
            if not self._task.done():
                self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._fail_pending(ConnectionLost("the client was closed"))
        self._queue.put_nowait(_END)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    # -- events --------------------------------------------------------------------------------------

    def events(self) -> "EventStream":
        """Server frames in order: ``ready`` (once per connection), channel and user events, ``replay_done``
        after each resume, and ``error`` frames that answer no call. Ends when the client is closed; raises
        ``AuthError`` (or ``ChatError``) when the server refuses to take the client back. A wait on it may be
        cancelled (``asyncio.timeout``) without ending it or losing a frame."""
        return EventStream(self._queue)

    # -- calls ---------------------------------------------------------------------------------------

    async def call(self, type: str, *, retry: bool = False, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        """Send a frame with a fresh ``ref``; return the ``ack`` (or ``pong``) frame, raise ``ChatError`` on
        ``error``. Sent once connected; with ``retry`` sent again after a reconnect if it went unanswered,
        else ``ConnectionLost``. ``None`` fields are left out."""
        if self._failure is not None:
            raise self._failure
        if self._task is None or self._closing:
            raise RuntimeError("the client is not connected (use `async with ChatClient(...)`)")
        ref = f"c{next(self._refs)}"
        frame = {"type": type, "ref": ref, **{k: v for k, v in fields.items() if v is not None}}
        call = _Call(frame, asyncio.get_running_loop().create_future(), retry)
        self._pending[ref] = call
        try:
            if self._connected.is_set():
                await self._send_call(call)
            return await asyncio.wait_for(call.future, self.ack_timeout if timeout is None else timeout)
        finally:
            self._pending.pop(ref, None)

    # -- the connection ------------------------------------------------------------------------------

    async def _open(self, resume: bool) -> ClientConnection:
        """Connect, read ``ready`` and, when resuming, send ``resume``; the connection is then current."""
        url = self.ws_url + ("?resume=1" if resume else "")
        try:
            ws = await connect(
                url, additional_headers=self.headers, open_timeout=self.open_timeout, max_size=MAX_INCOMING_BYTES,
                user_agent_header=None,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            try:
                body: Any = orjson.loads(exc.response.body or b"null")
            except orjson.JSONDecodeError:
                body = None
            error = ChatError.from_body(body, default=f"http_{status}")
            if status == 401:
                raise AuthError(error.code, error.message, error.fields) from None
            if 400 <= status < 500 and status not in (408, 429):
                raise error from None
            raise _Retry(f"HTTP {status}") from None
        except InvalidURI as exc:
            raise ValueError(str(exc)) from None
        try:
            try:
                first = orjson.loads(await asyncio.wait_for(ws.recv(), self.open_timeout))
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else 1006
                if code == CLOSE_UNAUTHENTICATED:
                    raise AuthError("unauthenticated", exc.rcvd.reason if exc.rcvd else "") from None
                if code in FATAL_CLOSE_CODES:
                    raise ChatError("refused", f"closed with {code}") from None
                raise
            if not isinstance(first, dict) or first.get("type") != "ready":
                raise ChatError("protocol", f"expected a ready frame, got {str(first)[:200]}")
            wanted = dict(self.seqs)  # channels known before this ready: resumed from what we passed on
            self._on_ready(first)
            if resume:
                self._resume_ref = f"resume{self.reconnects}"
                await ws.send(orjson.dumps({"type": "resume", "ref": self._resume_ref, "channels": wanted}).decode())
        except BaseException:
            await _abandon(ws)
            raise
        self._ws = ws
        self._generation += 1
        self._connected.set()
        for call in list(self._pending.values()):  # unsent, or safe to send again
            if call.sent_on is None or call.retry:
                await self._send_call(call)
        return ws

    def _on_ready(self, frame: dict[str, Any]) -> None:
        self.ready = frame
        channels = (frame.get("data") or {}).get("channels") or []
        self._ready_seqs = {str(c["id"]): int(c["seq"]) for c in channels if "seq" in c}
        for channel_id, seq in self._ready_seqs.items():
            self.seqs.setdefault(channel_id, seq)  # new channels start at the snapshot; known ones resume
        self._emit(frame)

    async def _run(self, ws: ClientConnection) -> None:
        """Read until the connection ends, then reconnect with backoff, until closed or refused."""
        attempt = 0
        while True:
            started = time.monotonic()
            code, reason = await self._read(ws)
            self._disconnected()
            if self._closing:
                return
            if code in FATAL_CLOSE_CODES:
                kind = AuthError if code == CLOSE_UNAUTHENTICATED else ChatError
                self._fail(kind("unauthenticated" if code == CLOSE_UNAUTHENTICATED else "refused", reason or f"closed with {code}"))
                return
            log.info("chatd connection closed (%s %s); reconnecting", code, reason)
            if time.monotonic() - started >= STABLE_SECONDS:
                attempt = 0
            while True:
                await asyncio.sleep(self._backoff(attempt))
                attempt += 1
                if self._closing:
                    return
                try:
                    self.reconnects += 1
                    ws = await self._open(resume=True)
                    break
                except ChatError as exc:  # refused for good (auth, 4xx): tell the caller
                    self._fail(exc)
                    return
                except (OSError, asyncio.TimeoutError, InvalidHandshake, ConnectionClosed, _Retry) as exc:
                    log.info("chatd reconnect attempt %d failed: %r", attempt, exc)

    def _backoff(self, attempt: int) -> float:
        """Exponential, capped at ``backoff_max``, with "equal jitter" (between half and all of it)."""
        delay = min(self.backoff_max, self.backoff_initial * 2.0 ** min(attempt, 30))
        return delay / 2 + random.uniform(0, delay / 2)

    async def _read(self, ws: ClientConnection) -> tuple[int, str]:
        while True:
            try:
                text = await ws.recv()
            except ConnectionClosed as exc:
                if exc.rcvd is None:
                    return 1006, ""
                return exc.rcvd.code, exc.rcvd.reason
            try:
                frame = orjson.loads(text)
            except orjson.JSONDecodeError:
                log.warning("chatd sent a frame that is not JSON: %r", text[:200])
                continue
            if isinstance(frame, dict):
                self._route(frame)

    def _route(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        ref = frame.get("ref")
        if kind in ("ack", "error", "pong") and isinstance(ref, str) and ref in self._pending:
            call = self._pending.pop(ref)
            if not call.future.done():
                if kind == "error":
                    call.future.set_exception(ChatError.from_body(frame.get("error")))
                else:
                    call.future.set_result(frame)
            return
        channel_id = frame.get("channel_id")
        seq = frame.get("seq")
        if channel_id is not None and isinstance(seq, int):
            key = str(channel_id)
            last = self.seqs.get(key)
            if last is not None and seq <= last:
                return  # already passed on (replayed after a reconnect, or a duplicate)
            self.seqs[key] = seq
        elif kind == "channel" and channel_id is not None:
            key = str(channel_id)
            if frame.get("event") == "HIDDEN":
                self.seqs.pop(key, None)
            elif frame.get("event") == "VISIBLE" and isinstance((frame.get("data") or {}).get("seq"), int):
                self.seqs[key] = max(self.seqs.get(key, -1), frame["data"]["seq"])
        elif kind == "replay_done" and ref == self._resume_ref:
            self._replay_done(frame.get("data") or {})
        self._emit(frame)

    def _replay_done(self, data: dict[str, Any]) -> None:
        for channel_id in data.get("lost") or []:
            self.seqs.pop(str(channel_id), None)  # no longer readable
        for channel_id in data.get("resync") or []:
            key = str(channel_id)  # history purged: the caller re-reads; live events follow the snapshot
            if key in self._ready_seqs:
                self.seqs[key] = max(self.seqs.get(key, -1), self._ready_seqs[key])
            else:
                self.seqs.pop(key, None)
        for channel_id, seq in (data.get("seqs") or {}).items():
            key = str(channel_id)
            if int(seq) < self.seqs.get(key, -1):  # the server's log is behind us (restored?): follow it
                log.warning("channel %s: server is at seq %s, below the %s seen here", key, seq, self.seqs[key])
            self.seqs[key] = int(seq)

    def _emit(self, frame: dict[str, Any]) -> None:
        if self.buffer_events:
            self._queue.put_nowait(frame)

    async def _send_call(self, call: _Call) -> None:
        ws = self._ws
        if ws is None:
            return
        call.sent_on = self._generation
        try:
            await ws.send(orjson.dumps(call.frame).decode())
        except ConnectionClosed:
            pass  # the reader sees the close and decides: resend after reconnect, or ConnectionLost

    def _disconnected(self) -> None:
        self._connected.clear()
        self._ws = None
        for ref, call in list(self._pending.items()):
            if call.sent_on == self._generation and not call.retry:
                del self._pending[ref]
                if not call.future.done():
                    call.future.set_exception(ConnectionLost())

    def _fail(self, error: ChatError) -> None:
        log.warning("chatd refused the connection: %s", error)
        self._failure = error
        self._fail_pending(error)
        self._queue.put_nowait(error)

    def _fail_pending(self, error: ChatError) -> None:
        for call in self._pending.values():
            if not call.future.done():
                call.future.set_exception(error)
        self._pending.clear()


async def _abandon(ws: ClientConnection) -> None:
    try:
        await asyncio.wait_for(ws.close(), 2)
    except Exception:  # already failing; the socket is going away either way
        pass
