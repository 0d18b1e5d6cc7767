"""Writes gathered during one turn of the event loop and made by one callback at its end.

Both transports write this way: the websocket's connections (every frame a fan-out hands a socket in one
turn goes out as one write, ``realtime/connection.py``) and uvicorn's HTTP protocol (a response head held
for its body, ``http_protocol.py``). One callback per turn for all of them, not one per socket: a handle and
a copied context per socket was a tenth of a fan-out to 5,000 sockets (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable, Generic, TypeVar

log = logging.getLogger("chatd.transport")
T = TypeVar("T")


class EndOfTurn(Generic[T]):
    """Items added during a turn of a loop, each passed to ``write`` once when the turn ends, in the
    order they were added. ``what`` names the write in the log when one fails: the others still run."""

    __slots__ = ("write", "what", "waiting")

    def __init__(self, write: Callable[[T], None], what: str) -> None:
        self.write = write
        self.what = what
        self.waiting: dict[asyncio.AbstractEventLoop, list[T]] = {}  # per loop: tests run several

    def add(self, loop: asyncio.AbstractEventLoop, item: T) -> None:
        """Have ``item`` written at the end of ``loop``'s turn (the caller adds each item once a turn)."""
        waiting = self.waiting.get(loop)
        if waiting is None:
            waiting = self.waiting[loop] = []
            loop.call_soon(self._write_all, loop)
        waiting.append(item)

    def _write_all(self, loop: asyncio.AbstractEventLoop) -> None:
        write = self.write
        for item in self.waiting.pop(loop, ()):
            try:
                write(item)
            except Exception:  # one socket's failure must not keep the others' writes back
                log.exception("could not %s", self.what)
