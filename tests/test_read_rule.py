"""Who may read a channel: one table of cases, run through every place that decides it.

The rule is stated once (``chatd/core/access.py`` ``may_read_channel``). The fetch-and-check every action
uses, "who reads this channel" for other users (mentions, meeting participants), the hub's in-memory check
and the SQL clause of search, flags and the connect snapshot must all agree with it, on both databases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from harness import Harness
from starlette.websockets import WebSocket

from chatd.core.access import access_channel, may_read_channel, readers_among
from chatd.core.ports import NullPublisher
from chatd.core.users import do_create_user
from chatd.domain.errors import NotFound
from chatd.domain.models import Principal
from chatd.realtime.connection import Connection
from chatd.realtime.hub import ChannelInfo, Hub
from chatd.store import channel_members as member_store
from chatd.store import channels as channel_store
from chatd.store import orgs as org_store


@dataclass(frozen=True)
class Case:
    kind: str  # the channel's type
    member: bool  # the user is a member of the channel
    org_role: str | None  # the user's role in the channel's organisation
    server_admin: bool
    archived: bool  # the channel is archived (reading is unaffected)
    reads: bool


CASES = [
    Case("public", False, "member", False, False, True),
    Case("public", False, "admin", False, False, True),
    Case("public", False, None, False, False, False),
    Case("public", False, None, True, False, True),
    Case("public", True, None, False, False, True),
    Case("public", False, "member", False, True, True),
    Case("private", False, "member", False, False, False),
    Case("private", False, "owner", False, False, False),
    Case("private", False, None, True, False, False),
    Case("private", True, "member", False, False, True),
    Case("private", True, "member", False, True, True),
    Case("direct", False, "admin", False, False, False),
    Case("direct", True, "member", False, False, True),
    Case("group", False, "owner", True, False, False),
    Case("group", True, None, False, False, True),
]


def test_the_pure_rule_follows_the_table() -> None:
    for case in CASES:
        decided = may_read_channel(
            is_open=case.kind == "public", is_member=case.member, in_org=case.org_role is not None,
            is_server_admin=case.server_admin,
        )
        assert decided == case.reads, case


@dataclass
class Placed:
    case: Case
    principal: Principal
    org_id: int
    channel_id: int


async def _place(chat: Harness, number: int, case: Case) -> Placed:
    """A user, an organisation and a channel standing to each other as the case says (written directly)."""
    core = chat.core
    user = await do_create_user(core, f"reader{number}", f"reader{number}@example.com", None, is_admin=case.server_admin)
    async with core.transaction() as tx:
        org_id, channel_id, now = tx.new_id(), tx.new_id(), tx.now
        await org_store.insert_org(tx.conn, {"id": org_id, "name": f"Org {number}", "created_at": now, "updated_at": now})
        if case.org_role is not None:
            await org_store.set_member(tx.conn, org_id, user.id, case.org_role, now)
        await channel_store.insert_channel(
            tx.conn,
            {
                "id": channel_id, "organisation_id": org_id, "name": f"c{number}", "topic": "", "type": case.kind,
                "created_at": now, "updated_at": now, "archived_at": now if case.archived else None,
            },
        )
        if case.member:
            await member_store.add(tx.conn, channel_id, [user.id], "member", now)
    return Placed(case, Principal(user=user), org_id, channel_id)


async def test_every_check_agrees_with_the_table(chat: Harness) -> None:
    placed = [await _place(chat, number, case) for number, case in enumerate(CASES)]
    hub = Hub(NullPublisher(), chat.core.clock)
    disagreements: list[tuple[str, Case]] = []
    async with chat.core.reading() as conn:
        for p in placed:
            try:
                await access_channel(conn, p.principal, p.channel_id)
                checked = True
            except NotFound:
                checked = False
            channel = await channel_store.get_channel(conn, p.channel_id)
            assert channel is not None
            among_readers = p.principal.user_id in await readers_among(conn, channel, [p.principal.user_id])
            listed = await channel_store.readable_channels(conn, p.principal.user_id, p.principal.user.is_admin)
            in_sql = p.channel_id in {c.id for c in listed}
            connection = Connection(cast(WebSocket, None), p.principal, chat.core)
            connection.orgs = set(await org_store.orgs_of_user(conn, p.principal.user_id))
            connection.member_of = set(await member_store.roles_of(conn, p.principal.user_id, [p.channel_id]))
            hub.channels[p.channel_id] = ChannelInfo(p.org_id, channel.is_open)
            in_hub = hub.readable(connection, p.channel_id)
            for name, decided in (("access_channel", checked), ("readers_among", among_readers),
                                  ("sql", in_sql), ("hub", in_hub)):
                if decided != p.case.reads:
                    disagreements.append((name, p.case))
    assert disagreements == []


async def test_mentions_and_meetings_reach_exactly_those_who_read_the_channel(chat: Harness) -> None:
    """A server administrator reads every public channel, so naming one there mentions them, as naming an
    organisation member does; in a private channel only its members are mentioned or may be invited."""
    alice, bob, outsider = await chat.users("alice", "bob", "outsider")
    root = await chat.user("root", admin=True)
    org = (await alice.post("/organisation/edit", name="Acme"))["id"]
    await alice.post("/organisation/members/add", id=org, user_id=bob.id)
    public = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
    private = (await alice.post("/channel/edit", organisation_id=org, name="plans", type="private"))["id"]
    text = "ping @bob @root @outsider"
    assert set((await alice.post("/message/edit", channel_id=public, contents=text))["mentions"]) == {bob.id, root.id}
    assert (await alice.post("/message/edit", channel_id=private, contents=text))["mentions"] == []
    when: dict[str, Any] = {"startDateTime": "2026-02-01T09:00:00.000Z", "endDateTime": "2026-02-01T10:00:00.000Z"}
    await alice.post(f"/api/{public}/meetings", title="All hands", userIds=[bob.id, root.id], **when)
    meeting = {"title": "Plans", "userIds": [bob.id, root.id], **when}
    refused = await alice.post(f"/api/{private}/meetings", expect=400, code="invalid", **meeting)
    assert refused["error"]["fields"] == {"userIds": f"cannot read this conversation: {', '.join(sorted([bob.id, root.id], key=int))}"}
