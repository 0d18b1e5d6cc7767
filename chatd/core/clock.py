"""The injectable clock, and times as every face shows them.

Every time the domain keeps or compares (stored times, expiries, throttle windows, credential lifetimes,
presence) is read from ``Core.clock``, so tests move time forward instead of sleeping. Transport timings
(socket and bus timeouts, backoff, a statement's time budget, request durations for metrics) are read from
the event loop's or the process's monotonic clock where they are taken, and say so: they measure this
process's work, not the domain's time."""

from __future__ import annotations

import time
from functools import lru_cache
from datetime import datetime, timedelta, timezone
from typing import overload


class Clock:
    """Wall-clock milliseconds (stored times) and a monotonic reading (rate limits, expiry of ephemera)."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, start_ms: int = 1_767_225_600_000) -> None:
        self._ms = start_ms
        self._mono = 1000.0

    def now_ms(self) -> int:
        return self._ms

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._ms += int(seconds * 1000)
        self._mono += seconds

    def step(self, seconds: float) -> None:
        """The wall clock alone moves, either way (as NTP steps a node's clock); monotonic time does not."""
        self._ms += int(seconds * 1000)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@overload
def iso(ms: int) -> str: ...
@overload
def iso(ms: None) -> None: ...
@overload
def iso(ms: int | None) -> str | None: ...
def iso(ms: int | None) -> str | None:
    """UTC ISO 8601 with milliseconds and ``Z``, as every face shows times."""
    return None if ms is None else _iso(ms)


_TWO_DIGITS = tuple(f"{n:02d}" for n in range(100))
_THREE_DIGITS = tuple(f"{n:03d}" for n in range(1000))


@lru_cache(maxsize=4096)
def _iso(ms: int) -> str:
    """Cached: a post shows the same few times over and over (its created and updated times, in its event,
    its answer and every socket's copy), and formatting was a tenth of a send's own CPU. The date comes from
    ``_date`` (one per day), the time of day from integer arithmetic: exact, and ``divmod`` floors, so times
    before 1970 are right too. Its digits are looked up, not formatted: a format specification is parsed
    on every use (about 2,000 instructions each, four per time)."""
    days, rest = divmod(ms, 86_400_000)
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{_date(days)}T{_TWO_DIGITS[hours]}:{_TWO_DIGITS[minutes]}:{_TWO_DIGITS[seconds]}.{_THREE_DIGITS[millis]}Z"


@lru_cache(maxsize=64)
def _date(days: int) -> str:
    # isoformat pads years below 1000 to four digits as RFC 3339 requires, which strftime("%Y") does not on
    # glibc.
    return (_EPOCH + timedelta(days=days)).date().isoformat()


def parse_iso(value: str) -> int:
    """Parse an ISO 8601 time (``Z`` or offset; naive means UTC) into epoch milliseconds."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    stamp = datetime.fromisoformat(text)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return (stamp - _EPOCH) // timedelta(milliseconds=1)
