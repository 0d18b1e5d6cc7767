"""The longest event-loop stall of chatd during a measurement, from its ``chatd_event_loop_lag_seconds``
histogram (a timer due every 10 ms, and how late it ran: ``chatd/app.py`` ``watch_loop``).

The histogram is read before and after; the highest bucket whose count grew holds the longest stall, so it
is known to that bucket's bounds: ``[low, high]`` in milliseconds (``high`` None past the last bucket)."""

from __future__ import annotations

from typing import Any, Awaitable

import httpx

METRIC = "chatd_event_loop_lag_seconds_bucket"


def lag_buckets(port: int) -> dict[float, float]:
    """Upper bound (seconds; inf for +Inf) → cumulative count."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    found: dict[float, float] = {}
    for line in text.splitlines():
        if line.startswith(METRIC + "{"):
            labels, value = line.rsplit(" ", 1)
            bound = labels.split('le="', 1)[1].split('"', 1)[0]
            found[float("inf") if bound == "+Inf" else float(bound)] = float(value)
    return found


def longest(before: dict[float, float], after: dict[float, float]) -> list[float | None] | None:
    """[low, high] ms of the longest stall between the two readings; None if no timer ran meanwhile."""
    bounds = sorted(after)
    grew = [after[b] - before.get(b, 0.0) for b in bounds]
    low = 0.0
    found: list[float | None] | None = None
    for index, bound in enumerate(bounds):
        own = grew[index] - (grew[index - 1] if index else 0.0)
        if own > 0:
            found = [round(low * 1000, 1), None if bound == float("inf") else round(bound * 1000, 1)]
        low = bound
    return found


async def measuring(port: int, run: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """``run``'s result with ``loop_stall_ms``: the longest stall while it ran."""
    before = lag_buckets(port)
    result = await run
    result["loop_stall_ms"] = longest(before, lag_buckets(port))
    return result


def shown(stall: list[float | None] | None) -> str:
    if stall is None:
        return "—"
    low, high = stall
    return f"> {low:g}" if high is None else f"{low:g}–{high:g}"
