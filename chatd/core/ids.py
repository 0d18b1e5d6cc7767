"""64-bit, time-ordered ids (snowflake-style), so ids sort by creation and serve as history cursors.

Layout: 41 bits of milliseconds since 2025-01-01 UTC, 10 bits of node id, 12 bits of sequence.
"""

from __future__ import annotations

import time

from .clock import Clock
from ..domain.errors import BadRequest, Unavailable

EPOCH_MS = 1_735_689_600_000
MAX_ID = (1 << 63) - 1


class IdGenerator:
    """Mints ids for one node id, and only until ``valid_until`` (None: for ever), a ``time.monotonic``
    reading: a node whose lease on its id lapsed must not mint with it, as another node may hold it now
    (``node_ids``). Real elapsed time, not the injected clock: it is a safety deadline, immune to wall-clock
    steps, and a test that moves its clock by days has not stopped the renewals for days."""

    def __init__(self, node_id: int, clock: Clock, valid_until: float | None = None) -> None:
        if not 0 <= node_id < 1024:
            raise ValueError("node_id must be in 0..1023")
        self.node_id = node_id
        self.valid_until = valid_until
        self._clock = clock
        self._last_ms = -1
        self._seq = 0

    def next(self) -> int:
        if self.valid_until is not None and time.monotonic() >= self.valid_until:
            raise Unavailable(
                "this node cannot write now; retry, or use another node",
                detail=f"the lease on node id {self.node_id} lapsed (the database was unreachable, or another node "
                "took the id): writes are refused until this node holds an id again",
                reason="node id lease lapsed",
            )
        ms = max(self._clock.now_ms() - EPOCH_MS, self._last_ms)
        if ms == self._last_ms:
            self._seq = (self._seq + 1) & 0xFFF
            if self._seq == 0:
                ms += 1  # sequence exhausted within this millisecond: borrow the next one
        else:
            self._seq = 0
        self._last_ms = ms
        return (ms << 22) | (self.node_id << 12) | self._seq


def parse_id(value: object, field: str) -> int:
    """Accept an id as a JSON string or number; anything else is a 400 naming the field.

    A string must be ASCII digits, at most 19 of them: ``str.isdigit`` also accepts ``²`` and ``٣`` (which
    ``int`` then refuses or reads), and ``int`` of a long string is slow before it fails. Checked with string
    methods, not a pattern: this runs for every id of every request."""
    if isinstance(value, str):  # most ids: JSON strings
        text = value.strip()
        if not (0 < len(text) <= 19 and text.isascii() and text.isdigit()):
            raise BadRequest.field(field, "must be an id")
        number = int(text)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise BadRequest.field(field, "must be an id")
    if not 0 < number <= MAX_ID:
        raise BadRequest.field(field, "must be an id")
    return number
