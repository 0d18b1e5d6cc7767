"""64-bit, time-ordered ids (snowflake-style), so ids sort by creation and serve as history cursors.

Layout: 41 bits of milliseconds since 2025-01-01 UTC, 10 bits of node id, 12 bits of sequence.
"""

from __future__ import annotations

from ..domain.errors import BadRequest
from .clock import Clock

EPOCH_MS = 1_735_689_600_000
MAX_ID = (1 << 63) - 1


class IdGenerator:
    def __init__(self, node_id: int, clock: Clock) -> None:
        if not 0 <= node_id < 1024:
            raise ValueError("node_id must be in 0..1023")
        self._node = node_id
        self._clock = clock
        self._last_ms = -1
        self._seq = 0

    def next(self) -> int:
        ms = max(self._clock.now_ms() - EPOCH_MS, self._last_ms)
        if ms == self._last_ms:
            self._seq = (self._seq + 1) & 0xFFF
            if self._seq == 0:
                ms += 1  # sequence exhausted within this millisecond: borrow the next one
        else:
            self._seq = 0
        self._last_ms = ms
        return (ms << 22) | (self._node << 12) | self._seq


def parse_id(value: object, field: str) -> int:
    """Accept an id as a JSON string or number; anything else is a 400 naming the field."""
    if isinstance(value, bool):
        raise BadRequest.field(field, "must be an id")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise BadRequest.field(field, "must be an id")
    if not 0 < number <= MAX_ID:
        raise BadRequest.field(field, "must be an id")
    return number
