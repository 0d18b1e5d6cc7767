"""Lists of ids as one parameter (``store/id_lists.py``): the same rows as ``IN`` on both databases, for no
id, one, a few and many, and on PostgreSQL one statement text whatever the list's length."""

from __future__ import annotations

from sqlalchemy import select

from chatd.store.id_lists import id_in
from chatd.store.tables import channels
from harness import Harness, org_with

_CHANNELS = select(channels.c.id).where(id_in(channels.c.id, "channel_ids")).order_by(channels.c.id)


async def test_the_rows_of_the_ids_given(chat: Harness) -> None:
    alice = await chat.user("alice")
    org = await org_with(alice)
    made = [int((await alice.post("/channel/edit", organisation_id=org, name=f"c{n}"))["id"]) for n in range(5)]
    async with chat.core.reading() as conn:
        async def found(ids: list[int]) -> list[int]:
            return [row[0] for row in await conn.execute(_CHANNELS, {"channel_ids": ids})]

        assert await found([]) == []
        assert await found([made[2]]) == [made[2]]
        assert await found([made[4], made[0], 1]) == [made[0], made[4]]  # an unknown id matches nothing
        assert await found(made * 40) == made  # repeated ids, hundreds of them
        text = str(_CHANNELS.compile(dialect=conn.dialect))
    if not chat.core.db.is_sqlite:  # one array parameter: no placeholder per id, one text for every length
        assert "channels.id = ANY (" in text and "POSTCOMPILE" not in text, text
