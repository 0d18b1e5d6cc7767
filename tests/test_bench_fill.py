"""The benchmark's fill step (``scripts/benchmark/fill.py``): the store the history and search figures are
measured on is made through chatd's own write path, so it must be a store chatd could have made by posting.

A filled store is cached between benchmark runs and refilled only when the schema changes, so a fill broken
by a change in the core shows up only at the next refill, minutes into ``scripts/bench``; here it shows up
with the rest of the suite, on both databases, at a size that still spans several of the fill's transactions.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from benchmark import fill  # noqa: E402  (scripts/ is not a package on the path by default)

pytestmark = pytest.mark.slow  # starts a chatd process for the fill's setup

SPEC = fill.FillSpec(messages=2 * fill.BATCH + 1_000, public_channels=4, private_channels=2, posters=3,
                     rare_count=7, common_count=300)


async def test_the_fill_makes_a_store_chatd_could_have_made_by_posting(database_url: str, tmp_path: Path) -> None:
    info = await asyncio.to_thread(fill._fill, database_url, tmp_path / "fill", SPEC)
    assert info["fill"]["messages"] == SPEC.messages
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            async def one(sql: str, **params: object) -> int:
                return int((await conn.execute(text(sql), params)).scalar_one())

            posts = "SELECT count(*) FROM messages WHERE type = 'MESSAGE'"  # besides the channels' notices
            assert await one(posts) == SPEC.messages
            per_channel = {int(k): v for k, v in info["fill"]["per_channel"].items()}
            for channel_id, posted in per_channel.items():
                # The channel's log: gap-free seqs up to its last_seq, one CREATED event per message.
                last = await one("SELECT last_seq FROM channels WHERE id = :c", c=channel_id)
                assert await one("SELECT count(*) FROM channel_events WHERE channel_id = :c", c=channel_id) == last
                assert await one("SELECT max(seq) FROM channel_events WHERE channel_id = :c", c=channel_id) == last
                assert await one(posts + " AND channel_id = :c", c=channel_id) == posted
                assert await one(
                    "SELECT count(*) FROM channel_events e JOIN messages m ON m.id = e.message_id"
                    " WHERE e.channel_id = :c AND e.event = 'CREATED' AND m.type = 'MESSAGE'", c=channel_id) == posted
            # Ids sort like seqs, as for any post: no later event of a channel names an older message.
            assert await one(
                "SELECT count(*) FROM channel_events a JOIN channel_events b"
                " ON a.channel_id = b.channel_id AND a.seq < b.seq"
                " WHERE a.message_id IS NOT NULL AND b.message_id IS NOT NULL AND a.message_id > b.message_id"
            ) == 0
            # The search index holds every message: the planted words are found exactly as often as planted.
            for word, planted in ((fill.RARE, SPEC.rare_count), (fill.COMMON, SPEC.common_count)):
                if database_url.startswith("sqlite"):
                    found = await one("SELECT count(*) FROM message_fts WHERE message_fts MATCH :w", w=word)
                else:
                    found = await one("SELECT count(*) FROM messages"
                                      " WHERE search_vector @@ plainto_tsquery('simple', :w)", w=word)
                assert found == planted, word
    finally:
        await engine.dispose()
