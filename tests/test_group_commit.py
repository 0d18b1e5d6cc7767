"""Group commit: concurrent writes share a transaction, yet each fails or succeeds on its own."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import AsyncIterator

import pytest
from sqlalchemy import text

from chatd.domain.errors import BadRequest
from harness import Harness, make_settings


@pytest.fixture
async def sqlite_chat(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async with Harness.running(make_settings(sqlite_url, tmp_path)) as chat:
        async with chat.core.transaction() as tx:
            await tx.conn.execute(text("CREATE TABLE notes (n INTEGER PRIMARY KEY)"))
        yield chat


async def test_refusals_and_crashes_stay_with_their_own_action(sqlite_chat: Harness) -> None:
    core = sqlite_chat.core
    assert core.writes.enabled  # SQLite: writes are grouped

    def action(n: int):  # type: ignore[no-untyped-def]
        async def run(tx):  # type: ignore[no-untyped-def]
            if n % 7 == 3:
                raise BadRequest.field("n", "refused before writing")
            await tx.conn.execute(text("INSERT INTO notes (n) VALUES (:n)"), {"n": n})
            if n == 10:
                raise RuntimeError("crashed after writing")  # rolls the shared batch back; the rest are redone
            return n

        return run

    outcomes = await asyncio.gather(*(core.writes.run(action(n)) for n in range(30)), return_exceptions=True)
    for n, outcome in enumerate(outcomes):
        if n % 7 == 3:
            assert isinstance(outcome, BadRequest)
        elif n == 10:
            assert isinstance(outcome, RuntimeError)
        else:
            assert outcome == n
    async with core.reading() as conn:
        stored = (await conn.execute(text("SELECT n FROM notes ORDER BY n"))).scalars().all()
    assert stored == [n for n in range(30) if n % 7 != 3 and n != 10]
