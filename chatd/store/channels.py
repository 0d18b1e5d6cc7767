"""Channels: rows, lookups and the moves other aggregates make; which channels a user may read
(``readable_channels_clause``, the core's read rule in SQL) and a user's standing in one (``standing``)."""

from __future__ import annotations

import sqlite3
from operator import itemgetter
from typing import Any, Mapping, NamedTuple, Sequence

from sqlalchemy import and_, bindparam, func, literal_column, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import BindParameter

from ..domain.models import Channel, ChannelAccess
from .id_lists import id_in
from .like import like_pattern
from .rows import Picker
from .direct import DirectQuery, for_asyncpg, on_sqlite_thread
from .tables import channel_members, channels, org_members, organisations, teams, users


_CHANNEL = Picker(
    "id", "organisation_id", "team_id", "name", "topic", "type", "created_by", "created_at", "updated_at",
    "archived_at", "removed_at", "last_seq", "description", "group_type", "category", "by_request",
    "picture_file_id", "merged_into", "last_message_at", "direct_key",
)


def channel_of(row: Any) -> Channel:
    (row_id, organisation_id, team_id, name, topic, kind, created_by, created_at, updated_at, archived_at, removed_at,
     last_seq, description, group_type, category, by_request, picture_file_id, merged_into, last_message_at,
     direct_key) = _CHANNEL(row)
    return Channel(
        id=row_id,
        organisation_id=organisation_id,
        team_id=team_id,
        name=name,
        topic=topic,
        type=kind,
        created_by=created_by,
        created_at=created_at,
        updated_at=updated_at,
        archived_at=archived_at,
        removed_at=removed_at,
        last_seq=last_seq,
        description=description,
        group_type=group_type,
        category=category,
        by_request=bool(by_request),
        picture_file_id=picture_file_id,
        merged_into=merged_into,
        last_message_at=last_message_at,
        direct_key=direct_key,
    )


async def get_channel(conn: AsyncConnection, channel_id: int) -> Channel | None:
    """A live (not removed) channel."""
    row = (
        await conn.execute(select(channels).where(channels.c.id == channel_id, channels.c.removed_at.is_(None)))
    ).first()
    return None if row is None else channel_of(row)


async def live_channels(conn: AsyncConnection, channel_ids: Sequence[int]) -> list[Channel]:
    """The live (not removed) channels among ``channel_ids`` (a thousand ids per query: drivers bound them)."""
    ids = list(channel_ids)
    found: list[Channel] = []
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        rows = await conn.execute(select(channels).where(channels.c.id.in_(chunk), channels.c.removed_at.is_(None)))
        found.extend(channel_of(row) for row in rows)
    return found


async def insert_channel(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(channels.insert().values(**values))


async def update_channel(conn: AsyncConnection, channel_id: int, values: dict[str, Any]) -> None:
    await conn.execute(channels.update().where(channels.c.id == channel_id).values(**values))


async def last_seq(conn: AsyncConnection, channel_id: int) -> int:
    """The seq of the channel's newest event (0 for none)."""
    row = (await conn.execute(select(channels.c.last_seq).where(channels.c.id == channel_id))).first()
    return 0 if row is None else int(row[0])


async def org_channel_ids(conn: AsyncConnection, org_id: int) -> list[int]:
    """The live channels of an organisation, oldest first."""
    rows = await conn.execute(
        select(channels.c.id)
        .where(channels.c.organisation_id == org_id, channels.c.removed_at.is_(None))
        .order_by(channels.c.id)
    )
    return [row[0] for row in rows]


async def team_channel_ids(conn: AsyncConnection, team_id: int) -> list[int]:
    rows = await conn.execute(
        select(channels.c.id).where(channels.c.team_id == team_id, channels.c.removed_at.is_(None)).order_by(channels.c.id)
    )
    return [row[0] for row in rows]


async def member_ids_outside_org(conn: AsyncConnection, channel_id: int, org_id: int) -> list[int]:
    rows = await conn.execute(
        select(channel_members.c.user_id).where(
            channel_members.c.channel_id == channel_id,
            channel_members.c.user_id.not_in(select(org_members.c.user_id).where(org_members.c.organisation_id == org_id)),
        )
    )
    return sorted(row[0] for row in rows)


async def move_team_channels(conn: AsyncConnection, team_id: int, org_id: int, now: int) -> None:
    await conn.execute(
        channels.update().where(channels.c.team_id == team_id).values(organisation_id=org_id, updated_at=now)
    )


async def detach_team(conn: AsyncConnection, team_id: int, now: int) -> None:
    await conn.execute(channels.update().where(channels.c.team_id == team_id).values(team_id=None, updated_at=now))


def readable_channels_clause(user_id: int | BindParameter[int], is_admin: bool) -> Any:
    """Live channels a user may read: their own, plus public channels of their organisations (any, for admins).

    Channels of a removed organisation are gone with it, as ``access_channel`` says."""
    mine = channels.c.id.in_(select(channel_members.c.channel_id).where(channel_members.c.user_id == user_id))
    public = channels.c.type == "public"
    if not is_admin:
        public = and_(
            public,
            channels.c.organisation_id.in_(select(org_members.c.organisation_id).where(org_members.c.user_id == user_id)),
        )
    live_org = channels.c.organisation_id.in_(select(organisations.c.id).where(organisations.c.removed_at.is_(None)))
    return and_(channels.c.removed_at.is_(None), live_org, or_(mine, public))


async def search_channels(
    conn: AsyncConnection,
    user_id: int,
    is_admin: bool,
    *,
    query: str,
    team_id: int | None,
    organisation_id: int | None,
    type: str | None,
    archived: bool | None,
    member_only: bool,
    offset: int,
    limit: int,
    types: Sequence[str] | None = None,
    group_type: str | None = None,
    created_until: int | None = None,
) -> tuple[list[Channel], int]:
    where: list[Any] = [readable_channels_clause(user_id, is_admin)]
    if query:
        pattern = like_pattern(query)
        where.append(
            or_(func.lower(channels.c.name).like(pattern, escape="\\"), func.lower(channels.c.topic).like(pattern, escape="\\"))
        )
    if team_id is not None:
        where.append(channels.c.team_id == team_id)
    if organisation_id is not None:
        where.append(channels.c.organisation_id == organisation_id)
    if type is not None:
        where.append(channels.c.type == type)
    if types is not None:
        where.append(channels.c.type.in_(list(types)))
    if group_type is not None:
        where.append(channels.c.group_type == group_type)
    if created_until is not None:
        where.append(channels.c.created_at <= created_until)
    if archived is not None:
        where.append(channels.c.archived_at.is_not(None) if archived else channels.c.archived_at.is_(None))
    if member_only:
        where.append(channels.c.id.in_(select(channel_members.c.channel_id).where(channel_members.c.user_id == user_id)))
    total = int((await conn.execute(select(func.count()).select_from(channels).where(*where))).scalar_one())
    rows = await conn.execute(
        select(channels).where(*where).order_by(func.lower(channels.c.name), channels.c.id).offset(offset).limit(limit)
    )
    return [channel_of(row) for row in rows], total


#: Every channel a user (``user_id``) may read, oldest first, by whether they are an admin: whole rows, with
#: ``member_count`` after the columns ``channel_of`` reads.
READABLE = {
    is_admin: select(channels).where(readable_channels_clause(bindparam("user_id"), is_admin)).order_by(channels.c.id)
    for is_admin in (False, True)
}


async def readable_channels(conn: AsyncConnection, user_id: int, is_admin: bool) -> list[Channel]:
    """Every channel a user may read (the websocket's subscription set), oldest first."""
    rows = await conn.execute(READABLE[is_admin], {"user_id": user_id})
    return [channel_of(row) for row in rows]


async def find_direct(conn: AsyncConnection, direct_key: str) -> Channel | None:
    row = (
        await conn.execute(select(channels).where(channels.c.direct_key == direct_key, channels.c.removed_at.is_(None)))
    ).first()
    return None if row is None else channel_of(row)


_MEMBER_COUNTS = select(channels.c.id, channels.c.member_count).where(
    id_in(channels.c.id, "channel_ids")
)


async def member_counts(conn: AsyncConnection, channel_ids: list[int]) -> dict[int, int]:
    if not channel_ids:
        return {}
    rows = await conn.execute(_MEMBER_COUNTS, {"channel_ids": channel_ids})
    return {row[0]: int(row[1]) for row in rows}


def _standing_statement(user: Any, *columns: Any, channel: Any = None) -> Any:
    """The live channel with its organisation's and team's ``archived_at`` and ``user``'s two roles (``user``:
    a bound id, or the ``users`` id column to ask for many users, with their ``columns``; ``channel``: the
    channel's id, a bound ``channel_id`` unless given)."""
    org_role = (
        select(org_members.c.role)
        .where(org_members.c.organisation_id == channels.c.organisation_id, org_members.c.user_id == user)
        .scalar_subquery()
    )
    channel_role = (
        select(channel_members.c.role)
        .where(channel_members.c.channel_id == channels.c.id, channel_members.c.user_id == user)
        .scalar_subquery()
    )
    team_archived_at = (
        select(teams.c.archived_at)
        .where(teams.c.id == channels.c.team_id, teams.c.removed_at.is_(None))
        .scalar_subquery()
    )
    joined = channels.join(organisations, organisations.c.id == channels.c.organisation_id)
    if columns:
        joined = joined.join(users, true())
    return (
        select(
            channels,
            organisations.c.archived_at.label("org_archived_at"),
            team_archived_at.label("team_archived_at"),
            org_role.label("org_role"),
            channel_role.label("channel_role"),
            *columns,
        )
        .select_from(joined)
        .where(
            channels.c.id == (bindparam("channel_id") if channel is None else channel), channels.c.removed_at.is_(None),
            organisations.c.removed_at.is_(None),
        )
    )


def _access(row: Any) -> ChannelAccess:
    return ChannelAccess(
        channel=channel_of(row), role=row.channel_role, org_role=row.org_role,
        team_archived_at=row.team_archived_at, org_archived_at=row.org_archived_at,
    )


_STANDING = DirectQuery(_standing_statement(bindparam("user_id")))  # every write and most reads ask it

#: The standing's columns that a post changes and no access rule reads: left out of its fingerprint.
_VOLATILE = frozenset({"last_seq", "last_message_at"})
#: The others, by position in a row of ``_STANDING`` (rows of either driver and SQLAlchemy's alike).
_FINGERPRINTED = itemgetter(
    *(i for i, column in enumerate(_STANDING.statement.selected_columns) if column.key not in _VOLATILE)
)

#: Bumped by SQLite whenever another connection commits; unchanged by the asking connection's own commits.
DATA_VERSION = "PRAGMA data_version"


class Fingerprint(NamedTuple):
    """What a kept standing is checked by before a batch's posts it allowed are written.

    ``columns``: the standing's, but the volatile ones. ``seen``, on SQLite: the kept connection's
    ``Database.standings_epoch`` and ``PRAGMA data_version`` when the standing was read. The epoch moves with
    every write on that connection but a batch of posts (and with a new connection), the data version with
    every commit of any other connection (another worker, a command, a reader's write): while both are as
    they were, nothing can have changed the standing, and the check reads nothing."""

    columns: tuple[Any, ...]
    seen: tuple[int, int] | None = None


class StandingChanged(Exception):
    """A standing that posts of a batch were checked against is no longer what the store holds
    (``check_standings_sqlite``); ``pairs``: the (channel, user) pairs that changed."""

    def __init__(self, pairs: list[tuple[int, int]]) -> None:
        super().__init__(f"the standing of {len(pairs)} (channel, user) pair(s) changed since it was read")
        self.pairs = pairs


def _columns(row: Sequence[Any]) -> tuple[Any, ...]:
    """A row of ``_STANDING`` without its volatile columns: taken by position, as one C call, since a batch
    takes one for each poster it writes (a comprehension over the names was most of a lone post's Python on
    SQLite's thread)."""
    found: tuple[Any, ...] = _FINGERPRINTED(row)
    return found


async def standing(conn: AsyncConnection, channel_id: int, user_id: int) -> ChannelAccess | None:
    """One query for what access checks need: the live channel, whether its team or organisation is
    archived, and the user's channel and organisation roles (None when not a member). None if the channel
    or its organisation is gone."""
    row = await _STANDING.first(conn, {"channel_id": channel_id, "user_id": user_id})
    return None if row is None else _access(row)


async def standing_seen(
    conn: AsyncConnection, channel_id: int, user_id: int, *, epoch: int
) -> tuple[ChannelAccess, Fingerprint] | None:
    """``standing``, with the fingerprint it is checked by later (``check_standings_sqlite``,
    ``check_standings``); ``epoch``: ``Database.standings_epoch``, ``conn`` being the kept writer."""
    params = {"channel_id": channel_id, "user_id": user_id}
    if conn.dialect.name != "sqlite":
        row = await _STANDING.first(conn, params)
        return None if row is None else (_access(row), Fingerprint(_columns(row)))

    def run(db: sqlite3.Connection) -> tuple[int, list[Any]]:
        (version,) = db.execute(DATA_VERSION).fetchone()
        return version, _STANDING.rows_on(db, params)

    version, rows = await on_sqlite_thread(conn, run, _STANDING.sqlite_sql)
    return (_access(rows[0]), Fingerprint(_columns(rows[0]), (epoch, version))) if rows else None


#: ``_STANDING`` for the pair ``p.channel_id``, ``p.user_id`` of an enclosing PostgreSQL statement, as one JSON
#: object with its columns in order (``new_messages``' batch statement reads each standing a batch was allowed
#: by with it, ``check_standings``).
STANDING_AS_JSON_POSTGRESQL = "(SELECT to_json(s) FROM ({}) AS s)".format(
    for_asyncpg(_standing_statement(literal_column("p.user_id"), channel=literal_column("p.channel_id")))[0]
)


def check_standings(
    expected: Sequence[tuple[int, int, Fingerprint]], found: Mapping[tuple[int, int], Sequence[Any] | None]
) -> None:
    """Each (channel, user) standing of ``expected`` is still the one its fingerprint was taken of, as read
    again in the transaction that writes the batch (``found``: its columns' values, in the standing
    statement's order; missing or None when the channel is gone); ``StandingChanged`` names those that
    are not (``core/access.py``, ``access_to_post``: the posts were checked against a standing read earlier)."""
    changed = [
        (channel_id, user_id) for channel_id, user_id, fingerprint in expected
        if (row := found.get((channel_id, user_id))) is None or _columns(row) != fingerprint.columns
    ]
    if changed:
        raise StandingChanged(changed)


def check_standings_sqlite(
    db: sqlite3.Connection, expected: Sequence[tuple[int, int, Fingerprint]], epoch: int
) -> None:
    """``check_standings`` on SQLite's thread, in the transaction that writes a batch's posts and before it
    writes them (``epoch``: ``Database.standings_epoch`` now): a standing seen since the last write that could
    change one, here or elsewhere, is as it was (``Fingerprint``); any other is read again under the write
    lock and compared. Reading each again cost a statement of five tables per poster and batch."""
    now: tuple[int, int] | None = None
    stale: list[tuple[int, int, Fingerprint]] = []
    for entry in expected:
        seen = entry[2].seen
        if seen is not None:
            if now is None:
                (version,) = db.execute(DATA_VERSION).fetchone()
                now = (epoch, version)
            if seen == now:
                continue
        stale.append(entry)
    found: dict[tuple[int, int], Sequence[Any] | None] = {}
    for channel_id, user_id, _ in stale:
        cursor = db.execute(_STANDING.sqlite_sql, _STANDING.sqlite_args({"channel_id": channel_id, "user_id": user_id}))
        try:
            found[(channel_id, user_id)] = cursor.fetchone()
        finally:
            cursor.close()
    check_standings(stale, found)


async def standings(
    conn: AsyncConnection, channel_id: int, user_ids: Sequence[int]
) -> dict[int, tuple[ChannelAccess, bool]]:
    """``standing`` for several users at once, with whether each is a server administrator: one query.
    Unknown users are left out."""
    if not user_ids:
        return {}
    statement = _standing_statement(users.c.id, users.c.id.label("user_id"), users.c.is_admin)
    rows = await conn.execute(statement.where(users.c.id.in_(set(user_ids))), {"channel_id": channel_id})
    return {row.user_id: (_access(row), bool(row.is_admin)) for row in rows}
