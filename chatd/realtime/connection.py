"""One websocket connection's outgoing side: a bounded queue, one writer, and per-channel ordering.

Everything sent to a client goes through ``Connection``'s writer task, in order. For each channel the
connection remembers the last ``seq`` it accounted for: a channel event at or below it is a duplicate
(skipped); one above the next expected seq reveals a gap (an event still in flight on another path, or
lost by the bus), which the writer fills from the store before sending it. That one rule is what makes
the ready snapshot, resume (``resume.py``), restarts and cross-node delivery seamless (docs/design.md §4.3).

Answers (acks, errors, pongs) go ahead of queued events, and the answer to a request comes before every
event that request caused (docs/websocket.md §2): while a request runs (``request``), what reaches the
connection waits behind its answer; and the writer's own reads of the store (a catch-up, a replay) take
turns with requests, so they cannot send a request's event, read back from the store, before its answer.

The queue is bounded (``websocket.queue_size``): when full, typing and presence frames are shed first; if
it is still full the connection is closed with ``CLOSE_TOO_SLOW`` and the client resumes (§4.5).

After a bus gap the hub cannot know which access changes it missed, so it ``suspend``s every connection:
the writer stops at once (a fill in progress stops after the event it is sending), sends nothing more but
answers, and waits for its ``Recheck``, which applies what the store says the user may now read
(``recovery.py``) before anything else goes out.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import AsyncIterator, Awaitable, Callable

from starlette.websockets import WebSocket

from ..core import live
from ..core.context import Core
from ..domain.errors import Unavailable
from ..domain.models import Principal
from . import protocol

log = logging.getLogger("chatd.websocket")
FILL_BATCH = 500


@dataclass(slots=True, frozen=True)
class Frame:
    text: str
    channel_id: int | None = None
    seq: int | None = None
    ephemeral: bool = False


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
    def __init__(self, websocket: WebSocket, principal: Principal, core: Core) -> None:
        self.websocket = websocket
        self.principal = principal
        self.core = core
        self.queue_size = core.settings.websocket.queue_size
        self.events: deque[Item] = deque()
        self.controls: deque[Item] = deque()
        self.pending: deque[Item] = deque()  # what arrived while a request runs: it follows the answer
        self.answering = False  # a request runs: see ``request``
        self.turn = asyncio.Lock()  # requests and the writer's reads of the store take turns
        self.wakeup = asyncio.Event()
        self.delivered: dict[int, int] = {}  # channel → the last seq accounted for (sent, or below the snapshot)
        self.ready_seqs: dict[int, int] = {}  # channel → its seq in the ``ready`` snapshot (see resume.py)
        self.orgs: set[int] = set()
        self.member_of: set[int] = set()
        self.held = False  # live events wait (a resume is coming: see resume.py); answers still go out
        self.suspended = False  # after a bus gap, until its Recheck: nothing but answers goes out
        self.started = False  # subscribed to its ready snapshot (session.py)
        self.closing: int | None = None
        self.status = "online"
        self.writer: asyncio.Task[None] | None = None
        self.typing_sent: dict[int, float] = {}
        self.closer: asyncio.Task[None] | None = None

    @property
    def user_id(self) -> int:
        return self.principal.user_id

    # -- putting things in (called by the hub and the frame handlers; never blocks) --------------------

    def push(self, item: Item) -> None:
        if self.closing is not None:
            return
        self.core.probe.events_delivered()
        if self.answering:
            self.pending.append(item)
        else:
            self.events.append(item)
            self.wakeup.set()
        if len(self.events) + len(self.pending) > self.queue_size:
            self._shed()

    def reply(self, text: str) -> None:
        """Acks, errors and pongs: ahead of queued events, never shed."""
        self.controls.append(Frame(text))
        self.wakeup.set()

    def control(self, item: Item) -> None:
        self.controls.append(item)
        self.wakeup.set()

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
                    self.wakeup.set()

    def suspend(self) -> None:
        """Send nothing more but answers until a ``Recheck`` (pushed with ``recheck``) has run."""
        self.suspended = True

    def recheck(self, item: Recheck) -> None:
        """Queue the recheck ahead of everything, answers included: it is what the suspension waits for."""
        self.controls.appendleft(item)
        self.wakeup.set()

    def forget_queued(self, channels: set[int]) -> None:
        """Drop queued frames of ``channels`` and every queued subscription change and catch-up: a recheck
        read the store after all of them were queued, and decides afresh."""

        def stale(item: Item) -> bool:
            if isinstance(item, Frame):
                return item.channel_id is not None and item.channel_id in channels
            return isinstance(item, (Subscribe, Unsubscribe, CatchUp))

        self.events = deque(item for item in self.events if not stale(item))
        self.pending = deque(item for item in self.pending if not stale(item))

    def release(self) -> None:
        """Stop holding live events."""
        if self.held:
            self.held = False
            self.wakeup.set()

    def _shed(self) -> None:
        before = len(self.events) + len(self.pending)
        self.events = deque(item for item in self.events if not (isinstance(item, Frame) and item.ephemeral))
        self.pending = deque(item for item in self.pending if not (isinstance(item, Frame) and item.ephemeral))
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
            self.wakeup.set()
            self.closer = asyncio.get_running_loop().create_task(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        if self.writer is not None and self.writer is not asyncio.current_task():
            self.writer.cancel()
        try:
            await asyncio.wait_for(self.websocket.close(code, reason), self.core.settings.websocket.ping_interval_seconds)
        except Exception:  # the peer may be gone or stuck; the ping timeout reaps it
            pass

    # -- the writer --------------------------------------------------------------------------------

    def start(self) -> None:
        self.writer = asyncio.get_running_loop().create_task(self._write_loop())

    async def _write_loop(self) -> None:
        try:
            while self.closing is None:
                item = self._next()
                if item is not None:
                    await self._handle(item)
                else:
                    self.wakeup.clear()
                    await self.wakeup.wait()
        except asyncio.CancelledError:
            raise
        except Unavailable as exc:
            # The store cannot serve a fill or a replay (an outage, which the database logs once): the
            # client comes back after a moment and resumes from the store.
            self.close(protocol.CLOSE_TRY_AGAIN, f"{exc.message}: reconnect and resume")
        except Exception as exc:
            # The socket went away (nothing to do), or the store failed mid-fill: never leave a client
            # connected to a writer that stopped; closing makes it reconnect and resume from the store.
            log.info("websocket writer for user %s stopped: %r", self.user_id, exc)
            self.close(protocol.CLOSE_INTERNAL, "internal error: reconnect and resume")

    def _next(self) -> Item | None:
        """Answers and steps first, then events; while suspended only answers and the recheck."""
        if self.controls and (not self.suspended or isinstance(self.controls[0], (Frame, Recheck))):
            return self.controls.popleft()
        if self.events and not self.held and not self.suspended:
            return self.events.popleft()
        return None

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
            self.controls = deque(item for item in self.controls if not isinstance(item, Frame))
            for answer in answers:
                await self._send_frame(answer)

    async def send(self, text: str) -> None:
        """Write one frame now; only for the writer's own steps (everything else is queued)."""
        await self.websocket.send_text(text)

    async def _send_frame(self, frame: Frame) -> None:
        if frame.seq is None or frame.channel_id is None:
            await self.websocket.send_text(frame.text)
            return
        last = self.delivered.get(frame.channel_id)
        if last is None or frame.seq <= last:
            return
        if frame.seq > last + 1:
            await self.fill(frame.channel_id, frame.seq - 1)
            if self.suspended or frame.channel_id not in self.delivered:
                return  # the fill stopped for a recheck, which decides about this event (it is in the store)
        await self.websocket.send_text(frame.text)
        self.delivered[frame.channel_id] = frame.seq

    async def fill(self, channel_id: int, upto: int | None) -> int:
        """Send stored events of a channel after what was delivered, up to ``upto`` (None: all); returns count.

        Stops early when the connection is suspended: what it may read is being re-read."""
        sent = 0
        while True:
            after = self.delivered.get(channel_id)
            if after is None or (upto is not None and after >= upto) or self.suspended:
                return sent
            stored = await live.events_since(self.core, channel_id, after, FILL_BATCH)
            for event in stored:
                if self.suspended or channel_id not in self.delivered:
                    return sent
                seq = event.seq
                assert seq is not None  # every stored event has its seq
                if upto is not None and seq > upto:
                    return sent
                await self.websocket.send_text(protocol.encode(event.envelope()))
                self.delivered[channel_id] = seq
                sent += 1
            if len(stored) < FILL_BATCH:
                return sent

    async def _catch_up(self) -> None:
        current = await live.last_seqs(self.core, list(self.delivered))
        for channel_id, seq in current.items():
            if seq > self.delivered.get(channel_id, seq):
                await self.fill(channel_id, seq)
