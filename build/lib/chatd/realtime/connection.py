"""One websocket connection's outgoing side: a bounded queue, one writer, and per-channel ordering.

Everything sent to a client goes through ``Connection``'s writer task, in order. For each channel the
connection remembers the last ``seq`` it accounted for: a channel event at or below it is a duplicate
(skipped); one above the next expected seq reveals a gap (an event still in flight on another path, or
lost by the bus), which the writer fills from the store before sending it. That one rule is what makes
the ready snapshot, resume, restarts and cross-node delivery seamless (docs/design.md §4.3).

The queue is bounded (``websocket.queue_size``): when full, typing and presence frames are shed first; if
it is still full the connection is closed with ``CLOSE_TOO_SLOW`` and the client resumes (§4.5).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket

from ..core.context import Core
from ..core.models import Principal
from ..store import events as event_log
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
class Resume:
    ref: Any
    channels: dict[int, int]
    lost: list[int] = field(default_factory=list)


@dataclass(slots=True)
class CatchUp:
    """Fill every subscribed channel up to what the store holds (after a bus outage or at ready)."""


Item = Frame | Subscribe | Unsubscribe | Resume | CatchUp


class Connection:
    def __init__(self, websocket: WebSocket, principal: Principal, core: Core) -> None:
        self.websocket = websocket
        self.principal = principal
        self.core = core
        self.queue_size = core.settings.websocket.queue_size
        self.events: deque[Item] = deque()
        self.controls: deque[Item] = deque()
        self.wakeup = asyncio.Event()
        self.delivered: dict[int, int] = {}
        self.base: dict[int, int] = {}
        self.orgs: set[int] = set()
        self.member_of: set[int] = set()
        self.held = False
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
        self.events.append(item)
        self.core.probe.events_delivered()
        if len(self.events) > self.queue_size:
            self._shed()
        self.wakeup.set()

    def reply(self, text: str) -> None:
        """Acks, errors and pongs: ahead of queued events, never shed."""
        self.controls.append(Frame(text))
        self.wakeup.set()

    def control(self, item: Item) -> None:
        self.controls.append(item)
        self.wakeup.set()

    def _shed(self) -> None:
        kept = deque(item for item in self.events if not (isinstance(item, Frame) and item.ephemeral))
        self.core.probe.events_shed(len(self.events) - len(kept))
        self.events = kept
        if len(kept) > self.queue_size:
            log.info("closing slow websocket of user %s: %d events queued", self.user_id, len(kept))
            self.core.probe.slow_consumer_closed()
            self.close(protocol.CLOSE_TOO_SLOW, "too slow: reconnect and resume")

    def close(self, code: int, reason: str = "") -> None:
        if self.closing is None:
            self.closing = code
            self.events.clear()
            self.controls.clear()
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
                if self.controls:
                    await self._handle(self.controls.popleft())
                elif self.events and not self.held:
                    await self._handle(self.events.popleft())
                else:
                    self.wakeup.clear()
                    await self.wakeup.wait()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The socket went away (nothing to do), or the store failed mid-fill: never leave a client
            # connected to a writer that stopped; closing makes it reconnect and resume from the store.
            log.info("websocket writer for user %s stopped: %r", self.user_id, exc)
            self.close(protocol.CLOSE_INTERNAL, "internal error: reconnect and resume")

    async def _handle(self, item: Item) -> None:
        if isinstance(item, Frame):
            await self._send_frame(item)
        elif isinstance(item, Subscribe):
            self.delivered.setdefault(item.channel_id, item.after_seq)
        elif isinstance(item, Unsubscribe):
            self.delivered.pop(item.channel_id, None)
        elif isinstance(item, Resume):
            await self._resume(item)
        elif isinstance(item, CatchUp):
            await self._catch_up()

    async def _send_frame(self, frame: Frame) -> None:
        if frame.seq is None or frame.channel_id is None:
            await self.websocket.send_text(frame.text)
            return
        last = self.delivered.get(frame.channel_id)
        if last is None or frame.seq <= last:
            return
        if frame.seq > last + 1:
            await self._fill(frame.channel_id, frame.seq - 1)
        await self.websocket.send_text(frame.text)
        self.delivered[frame.channel_id] = frame.seq

    async def _fill(self, channel_id: int, upto: int | None) -> int:
        """Send stored events of a channel after what was delivered, up to ``upto`` (None: all); returns count."""
        sent = 0
        while True:
            after = self.delivered.get(channel_id)
            if after is None or (upto is not None and after >= upto):
                return sent
            async with self.core.reading() as conn:
                stored = await event_log.since(conn, channel_id, after, FILL_BATCH)
            for event in stored:
                if upto is not None and event.seq > upto:  # type: ignore[operator]
                    return sent
                await self.websocket.send_text(protocol.encode(event.envelope()))
                self.delivered[channel_id] = event.seq  # type: ignore[assignment]
                sent += 1
            if len(stored) < FILL_BATCH:
                return sent

    async def _catch_up(self) -> None:
        async with self.core.reading() as conn:
            current = await event_log.last_seqs(conn, list(self.delivered))
        for channel_id, seq in current.items():
            if seq > self.delivered.get(channel_id, seq):
                await self._fill(channel_id, seq)

    async def _resume(self, item: Resume) -> None:
        """Replay what the client missed per channel, then ``replay_done``; live events follow, in order."""
        replayed: dict[str, int] = {}
        resync: list[str] = []
        wanted = [channel_id for channel_id in item.channels if channel_id in self.delivered]
        async with self.core.reading() as conn:  # where each log starts and ends, in one snapshot
            currents = await event_log.last_seqs(conn, wanted)
            firsts = {channel_id: await event_log.first_seq(conn, channel_id) for channel_id in wanted}
        for channel_id in wanted:
            client_seq = item.channels[channel_id]
            base = self.base.get(channel_id, self.delivered[channel_id])
            live_started = self.delivered[channel_id] > base
            first, current = firsts[channel_id], currents.get(channel_id, 0)
            purged = first is None and current > 0 or first is not None and client_seq < first - 1
            if purged or client_seq > current:
                resync.append(str(channel_id))  # purged history, or a log behind the client: re-read the channel
                continue
            if live_started:
                # Live events already went out after the snapshot: replay only the part before it.
                saved = self.delivered[channel_id]
                self.delivered[channel_id] = min(client_seq, base)
                count = await self._fill(channel_id, base)
                self.delivered[channel_id] = saved
            else:
                self.delivered[channel_id] = min(client_seq, self.delivered[channel_id])
                count = await self._fill(channel_id, None)
            replayed[str(channel_id)] = count
        self.core.probe.resumed(sum(replayed.values()))
        await self.websocket.send_text(
            protocol.encode(
                {
                    "type": "replay_done",
                    "ref": item.ref,
                    "data": {
                        "replayed": replayed,
                        "seqs": {str(c): s for c, s in self.delivered.items() if str(c) in replayed},
                        "lost": [str(c) for c in item.lost],
                        "resync": resync,
                    },
                }
            )
        )
        self.held = False
