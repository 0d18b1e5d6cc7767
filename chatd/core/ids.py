"""64-bit, time-ordered ids (snowflake-style), so ids sort by creation and serve as history cursors.

Layout: 41 bits of milliseconds since 2025-01-01 UTC, 10 bits of node id, 12 bits of sequence.
"""

from __future__ import annotations

import time

from .clock import Clock
from ..domain.errors import BadRequest, Unavailable

EPOCH_MS = 1_735_689_600_000
MAX_ID = (1 << 63) - 1
MIN_ID = -(1 << 63)


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
        ms, last = self._clock.now_ms() - EPOCH_MS, self._last_ms
        if ms <= last:  # not ``max``: its argument parsing alone costs more than this comparison (two ids a post)
            ms = last
            self._seq = (self._seq + 1) & 0xFFF
            if self._seq == 0:
                ms += 1  # sequence exhausted within this millisecond: borrow the next one
        else:
            self._seq = 0
        self._last_ms = ms
        return (ms << 22) | (self.node_id << 12) | self._seq


#: How far an id's time may stray from its message's ``created_at``. An id is minted just after the time is
#: read, from the same clock, but its millisecond never goes back: after the node's clock stepped back, its
#: ids keep the later time until the clock has caught up (and a burst of 4,096 in one ms borrows the next).
ID_TIME_SLACK_MS = 24 * 3600 * 1000


def ids_between(since_ms: int | None, until_ms: int | None) -> tuple[int | None, int | None]:
    """The ids of messages created from ``since_ms`` to ``until_ms`` (epoch ms, inclusive; None: open) lie in
    this range, widened by ``ID_TIME_SLACK_MS`` either way. It lets an index seek to the time span (a search
    until last January starts there, not at the newest of a million messages); the times themselves are still
    what a search filters on, so the slack costs a day of messages walked. Only a message whose node's clock
    had stepped back by more than the slack before it was posted could fall outside (docs/api.md, search)."""
    low = None if since_ms is None else _int64((since_ms - ID_TIME_SLACK_MS - EPOCH_MS) << 22)
    high = None
    if until_ms is not None:  # every id of the last millisecond: its node and sequence bits all set
        high = _int64(((until_ms + ID_TIME_SLACK_MS - EPOCH_MS + 1) << 22) - 1)
    return low, high


def _int64(value: int) -> int:
    """Within what the stores bind: a span in the year 9999 or before 1970 is no error, just no id."""
    return max(MIN_ID, min(MAX_ID, value))


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
