"""One measurement, repeated while the machine is busy with something else: ``measure`` is called up to
``attempts.count`` times until a run is clean (``machine.Meter``); the cleanest run is kept either way, with the
reasons the others were rejected, so a noisy result is never passed off as a clean one.

A quick run bounds its retries in time as well (``Attempts.budget``): on a shared host whose hypervisor takes
a third of a core (steal), nearly every measurement is rejected, and retrying each once made ``--quick`` take
3.5 minutes where its runs alone take under two. Past the budget a rejected run is kept, marked as such."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from .machine import Meter


@dataclass
class Target:
    """Whose CPU counts as the run's own: the server process and, for PostgreSQL, its cluster."""

    name: str
    pid: int
    database_pid: int | None = None


@dataclass
class Attempts:
    """Tries per measurement (``count``), and the seconds the whole run may spend on tries after the first
    (``budget``; None: no bound). Shared by every measurement of a run."""

    count: int
    budget: float | None = None
    spent: float = 0.0

    def retry(self) -> bool:
        return self.budget is None or self.spent < self.budget


async def measured(
    target: Target, measure: Callable[[], Awaitable[dict[str, Any]]], attempts: Attempts, label: str
) -> dict[str, Any]:
    rejected: list[str] = []
    kept: dict[str, Any] | None = None
    kept_share = 0.0
    tried = 0
    for attempt in range(1, max(1, attempts.count) + 1):
        if attempt > 1 and not attempts.retry():
            break
        tried = attempt
        meter = Meter(target.pid, target.database_pid)
        started = time.monotonic()
        with meter as window:
            figures = await measure()
        if attempt > 1:
            attempts.spent += time.monotonic() - started
        record = {**figures, "cpu": window.summary()}
        requests = figures.get("requests") or figures.get("posts")
        if requests:
            record["server_cpu_us_per_request"] = round(window.server / requests * 1e6, 1)
            if target.database_pid:
                record["database_cpu_us_per_request"] = round(window.database / requests * 1e6, 1)
        if window.clean:
            record.update(attempts=attempt, rejected=rejected, clean=True)
            return record
        rejected.append(window.reason())
        print(f"bench: {label} ({target.name}) rejected: {window.reason()}", file=sys.stderr, flush=True)
        if kept is None or window.others_share < kept_share:
            kept, kept_share = record, window.others_share
    assert kept is not None
    kept.update(attempts=tried, rejected=rejected, clean=False)
    return kept


def ratio(ours: float | None, floor: float | None) -> float | None:
    if not ours or not floor:
        return None
    return round(ours / floor, 3)


def pair_ratios(ours: list[dict[str, Any]], theirs: list[dict[str, Any]], key: str) -> list[float | None]:
    """Each chatd round's ``key`` against the floor round run just before it."""
    return [ratio(o.get(key), t.get(key)) for o, t in zip(ours, theirs)]


def paired(ours: list[dict[str, Any]], theirs: list[dict[str, Any]], key: str) -> float | None:
    """The median of the rounds' own ratios (``pair_ratios``). This machine's speed drifts between rounds (the
    floor's CPU per request moved between 44 and 89 µs in one afternoon), and a round and its pair see the
    same speed; the ratio of two medians taken from different rounds does not."""
    return median(pair_ratios(ours, theirs, key))


def median(values: list[Any]) -> float | None:
    known = sorted(float(v) for v in values if v)
    if not known:
        return None
    middle = len(known) // 2
    return round(known[middle] if len(known) % 2 else (known[middle - 1] + known[middle]) / 2, 3)
