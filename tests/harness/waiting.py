"""Waiting for a condition, with a deadline: the only way a test waits (a fixed sleep proves nothing)."""

from __future__ import annotations

import asyncio
from typing import Callable

WAIT = 10.0  # seconds: generous, so a slow machine is not a failure; a broken promise still fails


async def wait_until(predicate: Callable[[], bool], timeout: float = WAIT, what: str = "condition") -> None:
    """Return as soon as ``predicate()`` holds (checked every 10 ms); fail the test after ``timeout`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.01)  # the polling interval: the condition, not this sleep, ends the wait
