"""One websocket connection's outgoing side: a bounded queue, frames written in order, and per-channel ordering.

Everything sent to a client goes out in order, through one buffer (``out``) written to the socket once per
turn of the event loop, every frame of that turn joined into one write (``wire.py``). For each channel the
connection remembers the last ``seq`` it accounted for: a channel event at or below it is a duplicate
(skipped); one above the next expected seq reveals a gap (an event still in flight on another path, or
lost by the bus), which is filled from the store before it is sent. That one rule is what makes the ready
snapshot, resume (``resume.py``), restarts and cross-node delivery seamless (docs/design.md §4.3).

An event that reaches an idle connection (nothing queued, no store read under way, the socket taking
writes) is taken at once, without a task: most frames never wait. Anything else waits in the queue for the
connection's writer, a task that runs only while there is such work (a gap to fill, a replay, a recheck,
a backlog behind a socket that stopped reading) and ends when the queue is empty: an idle connection holds
no task but the one reading its frames.

Answers (acks, errors, pongs) go ahead of queued events, and the answer to a request comes before every
event that request caused (docs/websocket.md §2): while a request runs (``request``), what reaches the
connection waits behind its answer; and the writer's own reads of the store (a catch-up, a replay) take
turns with requests, so they cannot send a request's event, read back from the store, before its answer.

The queue is bounded (``websocket.queue_size``): when full, typing and presence frames are shed first; if
it is still full the connection is closed with ``CLOSE_TOO_SLOW`` and the client resumes (§4.5).

After a bus gap the hub cannot know which access changes it missed, so it ``suspend``s every connection:
the writer stops at once (a fill in progress stops after the page it is sending), sends nothing more but
answers, and waits for its ``Recheck``, which applies what the store says the user may now read
(``recovery.py``) before anything else goes out.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import AsyncIterator, Awaitable, Callable

from starlette.websockets import WebSocket

from ..core import live
from ..core.context import Core
from ..domain.errors import Unavailable
from ..domain.models import Principal
from ..edge.end_of_turn import EndOfTurn
from . import protocol
from .wire import Wire, payload_of, text_frame, wire_of

log = logging.getLogger("chatd.websocket")
FILL_BATCH = 5000  # stored events per read when filling a gap or replaying: a resume of 10,000 is two reads


@dataclass(slots=True, frozen=True)
class Frame:
    """A frame to send: ``data`` is the whole websocket frame (``wire.text_frame``), the same bytes for
    every recipient, so an event shared by many connections is one object, built once."""

    data: bytes
    channel_id: int | None = None
    seq: int | None = None
    ephemeral: bool = False

    @staticmethod
    def text(text: str, ephemeral: bool = False) -> "Frame":
        return Frame(text_frame(text.encode()), ephemeral=ephemeral)


@dataclass(slots=True)
class Subscribe:
    channel_id: int
    after_seq: int


@dataclass(slots=True)
class Unsubscribe:
    channel_id: int


@dataclass(slots=True)
class CatchUp:
    """Fill every subscribed channel up to what the store holds (after a bus outage or at ready)."""


@dataclass(slots=True)
class Step:
    """Work the writer does in its turn, so it is ordered with what the connection sends (a resume's replay)."""

    run: Callable[[], Awaitable[None]]


@dataclass(slots=True)
class Recheck:
    """After a bus gap: apply the user's access as re-read from the store; the first thing a suspended
    connection does, and the end of its suspension (``recovery.py``)."""

    run: Callable[[], Awaitable[None]]


Item = Frame | Subscribe | Unsubscribe | CatchUp | Step | Recheck


class Connection:
    # Slots: thousands of these are held at once, and an idle one should cost little more than its socket.
    __slots__ = (
        "websocket", "principal", "core", "wire", "queue_size", "events", "controls", "pending", "out",
        "answering", "turn", "delivered", "ready_seqs", "orgs", "member_of", "held", "suspended", "started",
        "live", "closing", "status", "writer", "typing_sent", "closer",
    )

    def __init__(self, websocket: WebSocket, principal: Principal, core: Core) -> None:
        self.websocket = websocket
        self.principal = principal
        self.core = core
        # Frames written as built, straight to the socket; None: through ASGI, one at a time (wire.py).
        self.wire: Wire | None = wire_of(websocket.scope) if websocket is not None else None
        self.queue_size = core.settings.websocket.queue_size
        self.events: list[Item] = []
        self.controls: list[Item] = []
        self.pending: list[Item] = []  # what arrived while a request runs: it follows the answer
        self.out: list[bytes] = []  # frames taken this turn of the loop, written together at its end
        self.answering = False  # a request runs: see ``request``
        self.turn = asyncio.Lock()  # requests and the writer's reads of the store take turns
        self.delivered: dict[int, int] = {}  # channel → the last seq accounted for (sent, or below the snapshot)
        self.ready_seqs: dict[int, int] = {}  # channel → its seq in the ``ready`` snapshot (see resume.py)
        self.orgs: set[int] = set()
        self.member_of: set[int] = set()
        self.held = False  # live events wait (a resume is coming: see resume.py); answers still go out
        self.suspended = False  # after a bus gap, until its Recheck: nothing but answers goes out
        self.started = False  # subscribed to its ready snapshot (session.py)
        self.live = False  # ``ready`` went out: frames may follow (``start``)
        self.closing: int | None = None
        self.status = "online"
        self.writer: asyncio.Task[None] | None = None  # only while there is queued work
        self.typing_sent: dict[tuple[int, int], float] = {}  # (channel, thread or 0) → when last passed on
        self.closer: asyncio.Task[None] | None = None

    @property
    def user_id(self) -> int:
        return self.principal.user_id

    # -- putting things in (called by the hub and the frame handlers; never blocks) --------------------

    def push(self, item: Item) -> bool:
        """Take ``item`` (sent at once, or queued); False if the connection is closing. Whoever fans a
        frame out counts the deliveries once (``Hub``): a counter per socket was a tenth of a fan-out."""
        if self.closing is not None:
            return False
        if self.answering:
            self.pending.append(item)
        elif self._idle() and self._now(item):
            return True
        else:
            self.events.append(item)
            self._wake()
        if len(self.events) + len(self.pending) > self.queue_size:
            self._shed()
        return True

    def reply(self, text: str) -> None:
        """Acks, errors and pongs: ahead of queued events, never shed."""
        if self.closing is not None:
            return
        frame = Frame.text(text)
        if self._idle():
            self._emit(frame.data)
        else:
            self.controls.append(frame)
            self._wake()

    def control(self, item: Item) -> None:
        self.controls.append(item)
        self._wake()

    @asynccontextmanager
    async def request(self) -> AsyncIterator[None]:
        """Around one client request: its answer goes out before any event it caused.

        Every event a request causes reaches this connection before the core call returns (the core
        publishes after the commit, before the action returns), so whatever arrives meanwhile waits in
        ``pending`` and is queued after the answer. Events queued before the request keep flowing."""
        async with self.turn:
            self.answering = True
            try:
                yield
            finally:
                self.answering = False
                if self.pending:
                    self.events.extend(self.pending)
                    self.pending.clear()
                    self._wake()

    def suspend(self) -> None:
        """Send nothing more but answers until a ``Recheck`` (pushed with ``recheck``) has run."""
        self.suspended = True

    def recheck(self, item: Recheck) -> None:
        """Queue the recheck ahead of everything, answers included: it is what the suspension waits for."""
        self.controls.insert(0, item)
        self._wake()

    def forget_queued(self, channels: set[int]) -> None:
        """Drop queued frames of ``channels`` and every queued subscription change and catch-up: a recheck
        read the store after all of them were queued, and decides afresh."""

        def stale(item: Item) -> bool:
            if isinstance(item, Frame):
                return item.channel_id is not None and item.channel_id in channels
            return isinstance(item, (Subscribe, Unsubscribe, CatchUp))

        self.events = [item for item in self.events if not stale(item)]
        self.pending = [item for item in self.pending if not stale(item)]

    def release(self) -> None:
        """Stop holding live events."""
        if self.held:
            self.held = False
            self._wake()

    def _shed(self) -> None:
        before = len(self.events) + len(self.pending)
        self.events = [item for item in self.events if not (isinstance(item, Frame) and item.ephemeral)]
        self.pending = [item for item in self.pending if not (isinstance(item, Frame) and item.ephemeral)]
        queued = len(self.events) + len(self.pending)
        self.core.probe.events_shed(before - queued)
        if queued > self.queue_size:
            log.info("closing slow websocket of user %s: %d events queued", self.user_id, queued)
            self.core.probe.slow_consumer_closed()
            self.close(protocol.CLOSE_TOO_SLOW, "too slow: reconnect and resume")

    def close(self, code: int, reason: str = "") -> None:
        if self.closing is None:
            self.closing = code
            self.events.clear()
            self.controls.clear()
            self.pending.clear()
            self.closer = asyncio.get_running_loop().create_task(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        if self.writer is not None and self.writer is not asyncio.current_task():
            self.writer.cancel()
        try:
            await asyncio.wait_for(self.websocket.close(code, reason), self.core.settings.websocket.ping_interval_seconds)
        except Exception:  # the peer may be gone or stuck; the ping timeout reaps it
            pass

    # -- taking frames at once ---------------------------------------------------------------------

    def start(self) -> None:
        """``ready`` went out: frames may follow it."""
        self.live = True
        self._wake()

    def _idle(self) -> bool:
        """Nothing queued or under way, and the socket takes writes: an item can be taken at once."""
        wire = self.wire
        return (
            self.writer is None and not self.events and not self.controls and self.live and not self.held
            and not self.suspended and wire is not None and wire.writable()
        )

    def _now(self, item: Item) -> bool:
        """Take ``item`` without the writer if it needs no store read; False if it must be queued."""
        if isinstance(item, Frame):
            return self._take(item)
        if isinstance(item, Subscribe):
            self.delivered.setdefault(item.channel_id, item.after_seq)
            return True
        if isinstance(item, Unsubscribe):
            self.delivered.pop(item.channel_id, None)
            return True
        return False

    def _take(self, frame: Frame) -> bool:
        """Send ``frame`` if it is next in its channel (or no channel event); drop a duplicate; False when
        a gap must first be filled from the store. Only with a ``Wire``: nothing here waits."""
        channel_id, seq = frame.channel_id, frame.seq
        if seq is None or channel_id is None:
            self._emit(frame.data)
            return True
        last = self.delivered.get(channel_id)
        if last is None or seq <= last:
            return True
        if seq > last + 1:
            return False
        self._emit(frame.data)
        self.delivered[channel_id] = seq
        return True

    def _emit(self, data: bytes) -> None:
        """Hand a frame to the socket: written, with every other frame of this turn, at the turn's end."""
        if not self.out:
            _unflushed.add(asyncio.get_running_loop(), self)
        self.out.append(data)

    def _flush(self) -> None:
        out = self.out
        if out and self.wire is not None:
            self.out = []
            self.wire.write(out[0] if len(out) == 1 else b"".join(out))

    # -- the writer: queued work, in order ---------------------------------------------------------

    def _wake(self) -> None:
        if self.writer is None and self.live and self.closing is None:
            if self.wire is not None and self.wire.closed():
                self.events.clear()  # the socket is gone; the endpoint hears of it and unregisters us
                return
            self.writer = asyncio.get_running_loop().create_task(self._write_loop())

    async def _write_loop(self) -> None:
        try:
            while self.closing is None:
                if self.controls and (not self.suspended or isinstance(self.controls[0], (Frame, Recheck))):
                    await self._handle(self.controls.pop(0))
                elif not self.events or self.held or self.suspended:
                    return
                elif self.wire is not None and (self.wire.closed() or not self.wire.writable()):
                    if self.wire.closed():
                        self.events.clear()
                        return
                    self._flush()
                    await self.wire.drained()  # the client reads slowly: the queue grows meanwhile, bounded
                else:
                    await self._drain()
        except asyncio.CancelledError as exc:
            # Cancelled in a store read, its traceback holds frames that hold the exception (SQLAlchemy's
            # re-raise guards keep it as a local): a cycle through this connection, which would wait for the
            # collector's next complete pass (``collector.py``). Nobody reads that traceback.
            raise exc.with_traceback(None)
        except Unavailable as exc:
            # The store cannot serve a fill or a replay (an outage, which the database logs once): the
            # client comes back after a moment and resumes from the store.
            self.close(protocol.CLOSE_TRY_AGAIN, f"{exc.message}: reconnect and resume")
        except Exception as exc:
            # The socket went away (nothing to do), or the store failed mid-fill: never leave a client
            # connected to a writer that stopped; closing makes it reconnect and resume from the store.
            log.info("websocket writer for user %s stopped: %r", self.user_id, exc)
            self.close(protocol.CLOSE_INTERNAL, "internal error: reconnect and resume")
        finally:
            if self.writer is asyncio.current_task():
                self.writer = None

    async def _drain(self) -> None:
        """Send the queued events, all of them in this turn unless one needs the store; after any wait,
        answers and a suspension or hold come first (what is left goes back to the front of the queue)."""
        batch, self.events = self.events, []
        for index, item in enumerate(batch):
            if isinstance(item, Frame) and self.wire is not None and self._take(item):
                continue
            await self._handle(item)
            if self.closing is not None:
                return
            if self.controls or self.held or self.suspended:
                self.events[:0] = batch[index + 1:]
                return

    async def _handle(self, item: Item) -> None:
        if isinstance(item, Frame):
            await self._send_frame(item)
        elif isinstance(item, Subscribe):
            self.delivered.setdefault(item.channel_id, item.after_seq)
        elif isinstance(item, Unsubscribe):
            self.delivered.pop(item.channel_id, None)
        elif isinstance(item, CatchUp):
            async with self.turn:
                await self._answers_first()
                await self._catch_up()
        elif isinstance(item, (Step, Recheck)):
            async with self.turn:
                await self._answers_first()
                await item.run()

    async def _answers_first(self) -> None:
        """Answers queued while a store step waited for its turn go out before it reads the store: a request
        that ran meanwhile committed, and its event must not be read back and sent ahead of its answer."""
        answers = [item for item in self.controls if isinstance(item, Frame)]
        if answers:
            self.controls = [item for item in self.controls if not isinstance(item, Frame)]
            for answer in answers:
                await self._put(answer.data)

    async def _put(self, data: bytes) -> None:
        """Send one built frame, after everything sent before it."""
        if self.wire is not None:
            self._emit(data)
        else:
            await self.websocket.send_text(payload_of(data).decode())

    async def send(self, text: str) -> None:
        """Send one frame now; only for the writer's own steps (everything else is queued)."""
        await self._put(text_frame(text.encode()))

    async def _send_frame(self, frame: Frame) -> None:
        if frame.seq is None or frame.channel_id is None:
            await self._put(frame.data)
            return
        last = self.delivered.get(frame.channel_id)
        if last is None or frame.seq <= last:
            return
        if frame.seq > last + 1:
            await self.fill(frame.channel_id, frame.seq - 1)
            if self.suspended or frame.channel_id not in self.delivered:
                return  # the fill stopped for a recheck, which decides about this event (it is in the store)
        await self._put(frame.data)
        self.delivered[frame.channel_id] = frame.seq

    async def fill(self, channel_id: int, upto: int | None) -> int:
        """Send stored events of a channel after what was delivered, up to ``upto`` (None: all); returns count.

        Reads the log a page at a time and sends each page as frames built from the stored payloads (no
        event objects). Stops early when the connection is suspended: what it may read is being re-read."""
        sent = 0
        while True:
            after = self.delivered.get(channel_id)
            if after is None or (upto is not None and after >= upto) or self.suspended:
                return sent
            if self.wire is not None and (self.wire.closed() or not self.wire.writable()):
                if self.wire.closed():
                    return sent
                self._flush()
                await self.wire.drained()
                continue
            stored = await live.stored_since(self.core, channel_id, after, upto, FILL_BATCH)
            if self.suspended or self.delivered.get(channel_id) != after:
                continue  # a recheck began, or changed this channel, while the page was read
            if self.wire is not None:
                if stored:
                    self._emit(b"".join([text_frame(protocol.stored(channel_id, *row)) for row in stored]))
                    self.delivered[channel_id] = stored[-1][0]
            else:
                for row in stored:
                    if self.suspended or channel_id not in self.delivered:
                        return sent
                    await self.websocket.send_text(protocol.stored(channel_id, *row).decode())
                    self.delivered[channel_id] = row[0]
            sent += len(stored)
            if len(stored) < FILL_BATCH:
                return sent

    async def _catch_up(self) -> None:
        current = await live.last_seqs(self.core, list(self.delivered))
        for channel_id, seq in current.items():
            if seq > self.delivered.get(channel_id, seq):
                await self.fill(channel_id, seq)


# Connections with frames taken this turn, each written once at the turn's end (``edge/end_of_turn.py``).
_unflushed: EndOfTurn[Connection] = EndOfTurn(Connection._flush, "write to a websocket")
