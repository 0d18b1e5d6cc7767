"""The WorkDrive face's cost does not grow with the people an answer names, and a request is one transaction."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from harness import Harness, group_chat, workdrive_team
from sqlalchemy import event


@dataclass
class Counted:
    statements: int = 0
    transactions: int = 0


@contextmanager
def counting(chat: Harness) -> Iterator[Counted]:
    """Statements and transactions the database sees meanwhile."""
    engine = chat.core.db.engine.sync_engine
    counted = Counted()

    def on_statement(*_: Any) -> None:
        counted.statements += 1

    def on_begin(*_: Any) -> None:
        counted.transactions += 1

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "begin", on_begin)
    try:
        yield counted
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "begin", on_begin)


async def test_listing_with_participants_costs_the_same_for_few_or_many_people(chat: Harness) -> None:
    t = await workdrive_team(chat)
    others = [await chat.user(f"member{i}") for i in range(6)]
    for other in others:
        await t.admin.post("/organisation/members/add", id=t.org.id, user_id=other.id)
    await group_chat(t.admin, "Few", members=[{"id": t.bob.id}])
    await t.admin.get("/api/group-chats", include_participants="true")  # warm the credential cache
    with counting(chat) as few:
        listed = await t.admin.get("/api/group-chats", include_participants="true")
    assert [len(c["participants"]) for c in listed["conversations"]] == [2]
    await group_chat(t.admin, "Many", members=[{"id": o.id} for o in others])
    with counting(chat) as many:
        listed = await t.admin.get("/api/group-chats", include_participants="true")
    assert sorted(len(c["participants"]) for c in listed["conversations"]) == [2, 7]
    assert many.statements == few.statements and many.transactions == few.transactions == 1


async def test_a_post_with_mentions_and_files_is_one_transaction(chat: Harness) -> None:
    t = await workdrive_team(chat)
    group = await group_chat(t.admin, "Launch", members=[{"id": t.bob.id}, {"id": t.carol.id}])
    path = f"/api/{group['id']}/messages"
    await t.bob.post(path, message="warm up")
    with counting(chat) as post:
        sent = await t.bob.post(path, message="hi @carol", mention=[t.admin.id])
    assert len(sent["mention"]) == 2 and post.transactions == 1
    with counting(chat) as edit:
        await t.bob.patch(f"{path}/{sent['id']}", message="hi all")
    assert edit.transactions == 1
