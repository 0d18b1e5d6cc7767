"""Who may read, write and manage what: the one place every face, the websocket and every core action ask.

Fetch-and-check helpers (``access_*``) load an entity and prove the caller may do the thing, or raise.
Unknown and invisible look the same (404), so ids cannot be probed.

- **Organisations**: members read; admins manage members, teams and archive; owners also remove and touch
  owners. Server administrators act as owners of every organisation.
- **Teams**: organisation members read; the team's creator and organisation admins change it.
- **Channels** (``may_read_channel``, the read rule stated once): a member of a channel reads it; a public
  channel is also read by every member of its organisation and by server administrators. Private, direct
  and group channels are read by their members only. The hub's in-memory check (``realtime/hub.py``) and
  the SQL clause of search, flags and the connect snapshot (``store/channels.readable_channels_clause``)
  apply the same rule; ``tests/test_read_rule.py`` runs one table of cases through all of them.
  "Who reads this channel" for other users (mention audience, meeting participants) is ``readers_among``,
  by the same rule, so a server administrator named in a public channel is mentioned like anyone who reads it.
- **Writing** (``check_writable``): archived means read-only at every level — the channel, its team or its
  organisation (409 ``archived``); every change to a channel, its messages, members, pins, reactions and
  join requests asks it. Posting, reacting and pinning also need channel membership.
- **Managing a channel**: its owners, and the admins and owners of its organisation (``ChannelAccess.is_owner``).
- **Messages**: whoever reads the channel reads them; the sender edits; the sender or a channel manager removes.
- **Users** (``may_see_user``, ``access_user``): a user sees themselves and those sharing an organisation
  (server administrators see everyone); others are 404, as unknown ids. E-mail addresses
  (``may_see_email``): one's own, those of the organisations one administers, all for server admins, and
  those of one's organisations' members where ``directory.member_emails`` is on. ``sight`` applies both
  to a page of users at once. Acting on an account needs authority over it in each of its organisations.
- **Files**: one attaches only one's own uploads; a file is read by its owner, by whoever reads a channel
  where a live message carries it or whose picture it is, and by everyone when it is a user's picture.
  A file becomes a picture only if everyone who will see the picture may read it already, or it is the
  caller's own and unshared; else a copy is shown (``picture_source``): a picture never widens the audience
  of a file someone shared.
  A file whose messages were all removed is removed with them: nobody reads or attaches it, its owner
  included (removal is redaction, docs/design.md §3), unless it is also a picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.codes import Code
from ..domain.errors import BadRequest, ChatdError, Conflict, Forbidden, NotFound, fields_renamed
from ..domain.models import Channel, ChannelAccess, Message, Organisation, Principal, StoredFile, Team, User
from ..store import channel_members as member_store
from ..store import channels as channel_store
from ..store import events as event_log
from ..store import files as file_store
from ..store import messages as message_store
from ..store import orgs as org_store
from ..store import teams as team_store
from ..store import users as user_store

if TYPE_CHECKING:
    from .context import Tx

_RANK = {"member": 1, "admin": 2, "owner": 3}
REQUESTABLE = ("public", "private")  # channel types that may take join requests


def role_at_least(role: str | None, needed: str) -> bool:
    return role is not None and _RANK.get(role, 0) >= _RANK[needed]


def may_manage(caller_role: str | None, target_role: str | None) -> bool:
    """Owners manage everyone in their organisation; admins everyone but owners."""
    return caller_role == "owner" or (caller_role == "admin" and target_role != "owner")


def check_may_grant(caller_role: str, target_current: str | None, target_new: str | None) -> None:
    """Admins manage members and admins; only owners touch owners (grant, demote or remove)."""
    if "owner" in (target_current, target_new) and caller_role != "owner":
        raise Forbidden("only an owner can grant, change or remove the owner role")


def may_read_channel(*, is_open: bool, is_member: bool, in_org: bool, is_server_admin: bool) -> bool:
    """The read rule, as a pure function of the facts every check has at hand (see the module docstring)."""
    return is_member or (is_open and (in_org or is_server_admin))


def check_writable(found: ChannelAccess) -> None:
    """Archived means read-only: the channel, its team or its organisation (409 ``archived``)."""
    if found.channel.archived_at is None and found.team_archived_at is None and found.org_archived_at is None:
        return  # nearly always: no list of the three to make and walk
    for level, archived_at in (
        ("channel", found.channel.archived_at),
        ("team", found.team_archived_at),
        ("organisation", found.org_archived_at),
    ):
        if archived_at is not None:
            raise Conflict(f"{level} is archived (read-only)", code=Code.ARCHIVED)


# Organisations and teams --------------------------------------------------------------------------------


async def access_org(
    conn: AsyncConnection, principal: Principal, org_id: int, need: str = "member", *, writing: bool = False
) -> tuple[Organisation, str]:
    """The organisation and the caller's role in it; ``writing`` needs it unarchived."""
    org = await org_store.get_org(conn, org_id)
    role = await org_store.get_role(conn, org_id, principal.user_id) if org else None
    if principal.user.is_admin and org is not None:
        role = "owner"
    if org is None or role is None:
        raise NotFound("no such organisation")
    if not role_at_least(role, need):
        raise Forbidden(f"needs the {need} role in this organisation")
    if writing and org.archived_at is not None:
        raise Conflict("organisation is archived (read-only)", code=Code.ARCHIVED)
    return org, role


async def access_team(
    conn: AsyncConnection,
    principal: Principal,
    team_id: int,
    need: str = "member",
    *,
    writing: bool = False,
    manage: bool = False,
) -> tuple[Team, Organisation, str]:
    """The team, its organisation and the caller's role there; ``writing`` needs both unarchived;
    ``manage``: the team's creator or an organisation admin (403 otherwise)."""
    team = await team_store.get_team(conn, team_id)
    if team is None:
        raise NotFound("no such team")
    try:
        org, role = await access_org(conn, principal, team.organisation_id, need, writing=writing)
    except NotFound:
        raise NotFound("no such team") from None
    if writing and team.archived_at is not None:
        raise Conflict("team is archived (read-only)", code=Code.ARCHIVED)
    if manage and not (role_at_least(role, "admin") or team.created_by == principal.user_id):
        raise Forbidden("only the team's creator or an organisation admin can change a team")
    return team, org, role


# Channels and messages ----------------------------------------------------------------------------------


def _readable(found: ChannelAccess, is_server_admin: bool) -> bool:
    return may_read_channel(
        is_open=found.channel.is_open,
        is_member=found.role is not None,
        in_org=found.org_role is not None,
        is_server_admin=is_server_admin,
    )


async def _standing(conn: AsyncConnection, principal: Principal, channel_id: int) -> ChannelAccess:
    found = await channel_store.standing(conn, channel_id, principal.user_id)
    if found is None:
        raise NotFound("no such channel")
    return _as_seen_by(found, principal)


def _as_seen_by(found: ChannelAccess, principal: Principal) -> ChannelAccess:
    """``found`` as ``principal`` stands in it: server admins act as owners of every organisation. A new
    standing then, never a change to ``found``, which may be the one kept for later posts (``StandingCache``)."""
    if principal.user.is_admin and found.org_role != "owner":
        return ChannelAccess(found.channel, found.role, "owner", found.team_archived_at, found.org_archived_at)
    return found


async def access_channel(
    conn: AsyncConnection, principal: Principal, channel_id: int, *, writing: bool = False, owner: bool = False
) -> ChannelAccess:
    """The channel and the caller's standing, if they may read it (404 otherwise, as for an unknown id).

    ``owner``: the caller manages the channel (403 otherwise). ``writing``: the caller is a member (or,
    with ``owner``, a manager) and the channel is writable (``check_writable``)."""
    return _allowed(await _standing(conn, principal, channel_id), principal, writing=writing, owner=owner)


def _allowed(found: ChannelAccess, principal: Principal, *, writing: bool, owner: bool) -> ChannelAccess:
    """``access_channel``'s rule, on a standing already read."""
    if not _readable(found, principal.user.is_admin):
        raise NotFound("no such channel")
    if owner and not found.is_owner:
        raise Forbidden("needs the channel owner role or organisation admin")
    if writing:
        if found.role is None and not (owner and found.is_owner):
            raise Forbidden("join the channel first")
        check_writable(found)
    return found


async def access_to_post(tx: Tx, principal: Principal, channel_id: int) -> ChannelAccess:
    """``access_channel(writing=True)`` for a post that a group commit's batch writes: a standing this node
    read before may allow the post without a read now, and the batch is then written only if that standing
    is unchanged (the store checks it as it writes: ``core/standing_cache.py``). A refusal is only ever
    decided on a standing read in this transaction."""
    kept = tx.core.standings.get(channel_id, principal.user_id)
    if kept is not None:
        found, fingerprint = kept
        try:
            allowed = _allowed(_as_seen_by(found, principal), principal, writing=True, owner=False)
        except ChatdError:
            pass  # perhaps stale: read again below
        else:
            tx.expect_standing(channel_id, principal.user_id, fingerprint)
            return allowed
    seen = await channel_store.standing_seen(tx.conn, channel_id, principal.user_id, epoch=tx.core.db.standings_epoch)
    if seen is None:
        raise NotFound("no such channel")
    found, fingerprint = seen
    tx.core.standings.put(channel_id, principal.user_id, found, fingerprint)
    return _allowed(_as_seen_by(found, principal), principal, writing=True, owner=False)


async def readable_accesses(conn: AsyncConnection, principal: Principal) -> dict[int, ChannelAccess]:
    """Every channel the caller may read, with their standing in it, in three queries (not one per channel):
    what a search across channels needs. The readable set is ``readable_channels_clause`` (the read rule in
    SQL); roles as ``_standing`` gives them, server admins standing as organisation owners."""
    found = await channel_store.readable_channels(conn, principal.user_id, principal.user.is_admin)
    roles = await member_store.roles_of(conn, principal.user_id, [channel.id for channel in found])
    org_roles = {} if principal.user.is_admin else await org_store.orgs_of_user(conn, principal.user_id)
    return {
        channel.id: ChannelAccess(
            channel=channel,
            role=roles.get(channel.id),
            org_role="owner" if principal.user.is_admin else org_roles.get(channel.organisation_id),
        )
        for channel in found
    }


async def access_requestable(conn: AsyncConnection, principal: Principal, channel_id: int) -> ChannelAccess:
    """A channel the caller may ask to join: one of their organisation's public or private channels that
    takes requests, which they are not in, and writable. A private channel that takes none stays a 404;
    one that takes requests admits it exists to members of its organisation who know its id."""
    found = await _standing(conn, principal, channel_id)
    if found.org_role is None:
        raise NotFound("no such channel")
    channel = found.channel
    if not channel.by_request or channel.type not in REQUESTABLE:
        if not _readable(found, principal.user.is_admin):
            raise NotFound("no such channel")
        if found.is_member:
            raise Conflict("already a member of this channel", code=Code.ALREADY_MEMBER)
        raise Forbidden("this channel takes no join requests" + ("; join it" if channel.is_open else ""))
    check_writable(found)
    if found.is_member:
        raise Conflict("already a member of this channel", code=Code.ALREADY_MEMBER)
    return found


async def readers_among(conn: AsyncConnection, channel: Channel, user_ids: Iterable[int]) -> set[int]:
    """Which of these users may read ``channel`` (the read rule, for others than the caller); unknown
    users may not. One query, however many users."""
    found = await channel_store.standings(conn, channel.id, list(dict.fromkeys(user_ids)))
    return {user_id for user_id, (standing, is_admin) in found.items() if _readable(standing, is_admin)}


async def access_message(
    conn: AsyncConnection,
    principal: Principal,
    message_id: int,
    *,
    writing: bool = False,
    owner: bool = False,
    lock: bool = False,
    channel_id: int | None = None,
) -> tuple[Message, ChannelAccess]:
    """A live message and the caller's standing in its channel; invisible and missing look alike (404).

    ``channel_id``: the message must be of that channel (a conversation's message, on the WorkDrive face).
    ``lock``: lock the message's row, then read it again, so a change builds on what the previous writer
    committed (two concurrent edits keep both versions; two removals remove once). The channel's log lock is
    taken first and the row second, the order posts (channel, then a thread root) and merges (both channels,
    then their rows) keep too, so writers never deadlock."""
    message = await message_store.get_message(conn, message_id)
    if message is None or message.deleted_at is not None or channel_id not in (None, message.channel_id):
        raise NotFound("no such message")
    try:
        found = await access_channel(conn, principal, message.channel_id, writing=writing, owner=owner)
    except NotFound:
        raise NotFound("no such message") from None
    if lock:
        await event_log.lock(conn, message.channel_id)  # channel first, then the row: the order every writer keeps
        fresh = await message_store.get_message(conn, message_id, for_update=True)
        if fresh is None or fresh.deleted_at is not None or fresh.channel_id != message.channel_id:
            raise NotFound("no such message")  # removed, or merged away, while we waited
        message = fresh
    return message, found


def check_may_remove(principal: Principal, message: Message, found: ChannelAccess) -> None:
    """The sender, or whoever manages the channel, removes a message; not in a read-only channel."""
    if message.user_id != principal.user_id and not found.is_owner:
        raise Forbidden("only the sender, a channel owner or an organisation admin can remove a message")
    check_writable(found)


# Users ---------------------------------------------------------------------------------------------------


def may_see_user(*, own: bool, server_admin: bool, shares_org: bool) -> bool:
    """The directory rule: one sees oneself and the people of one's organisations; server admins see all."""
    return own or server_admin or shares_org


def may_see_email(
    *, own: bool, server_admin: bool, admin_of_theirs: bool, shares_org: bool, member_emails: bool
) -> bool:
    """Whose e-mail address one sees: one's own; everyone's, for server admins; that of the people of an
    organisation one administers (admin or owner); and, where the deployment opens the address book
    (``directory.member_emails``), that of everyone one shares an organisation with."""
    return own or server_admin or admin_of_theirs or (member_emails and shares_org)


@dataclass(slots=True)
class Sight:
    """What one viewer may see of some users: who is visible (``may_see_user``), whose e-mail
    (``may_see_email``), and the viewer's organisations (``None`` for all: themselves and server admins see
    every organisation of a user; others only those they share)."""

    visible: set[int]
    emails: set[int]
    viewer_orgs: set[int] | None

    def orgs_shown(self, orgs: list[int], *, own: bool) -> list[int]:
        if own or self.viewer_orgs is None:
            return orgs
        return [org_id for org_id in orgs if org_id in self.viewer_orgs]


async def sight(
    conn: AsyncConnection, principal: Principal, theirs: dict[int, list[int]], *, member_emails: bool
) -> Sight:
    """The viewer's ``Sight`` of the users of ``theirs`` (each user's live organisations): one query."""
    admin = principal.user.is_admin
    mine = {} if admin else await org_store.orgs_of_user(conn, principal.user_id)
    administered = {org_id for org_id, role in mine.items() if role_at_least(role, "admin")}
    visible: set[int] = set()
    emails: set[int] = set()
    for user_id, orgs in theirs.items():
        own, shares = user_id == principal.user_id, bool(mine.keys() & set(orgs))
        if may_see_user(own=own, server_admin=admin, shares_org=shares):
            visible.add(user_id)
        if may_see_email(
            own=own, server_admin=admin, admin_of_theirs=bool(administered & set(orgs)), shares_org=shares,
            member_emails=member_emails,
        ):
            emails.add(user_id)
    return Sight(visible, emails, None if admin else set(mine))


async def access_user(conn: AsyncConnection, principal: Principal, user_id: int, *, manage: bool = False) -> User:
    """The user, if the caller may see them (``may_see_user``; others get 404, as for an unknown id).
    ``manage`` also proves authority over the account (403 otherwise): acting on it, or minting a token
    that acts as it everywhere, needs the caller to outrank it in every organisation it belongs to, and
    only server admins manage server admins."""
    target = await user_store.get_user(conn, user_id)
    if target is None:
        raise NotFound("no such user")
    if principal.user.is_admin:
        return target
    theirs = await org_store.orgs_of_user(conn, target.id)
    mine = await org_store.orgs_of_user(conn, principal.user_id)
    shares = bool(theirs.keys() & mine.keys())
    if not may_see_user(own=target.id == principal.user_id, server_admin=False, shares_org=shares):
        raise NotFound("no such user")
    if manage:
        if target.is_admin:
            raise Forbidden("only server administrators manage server administrators")
        if not theirs or not all(may_manage(mine.get(org_id), role) for org_id, role in theirs.items()):
            raise Forbidden("needs the admin role in every organisation of this user (owner for an owner)")
    return target


async def visible_users(conn: AsyncConnection, principal: Principal, user_ids: Iterable[int]) -> set[int]:
    """Which of these users the caller may see (``may_see_user``, for many at once, in three queries)."""
    found = list(await user_store.get_users(conn, list(set(user_ids))))
    theirs = await user_store.org_ids_of_users(conn, found)
    return (await sight(conn, principal, theirs, member_emails=False)).visible


# Files ---------------------------------------------------------------------------------------------------


async def attachable_files(conn: AsyncConnection, principal: Principal, file_ids: list[int]) -> list[StoredFile]:
    """The caller's own ready files, in the order asked (duplicates once): one can attach only one's own."""
    wanted = list(dict.fromkeys(file_ids))
    found = await file_store.get_files(conn, wanted)
    redacted = await file_store.of_removed_messages(conn, wanted)
    attachable: list[StoredFile] = []
    for file_id in wanted:
        stored = found.get(file_id)
        if stored is None or stored.deleted_at is not None or stored.owner_id != principal.user_id or file_id in redacted:
            raise BadRequest.field("file_ids", f"no such file: {file_id}")
        if stored.status != "ready":
            raise BadRequest.field("file_ids", f"file {file_id} has not been uploaded yet")
        attachable.append(stored)
    return attachable


# Pictures: a file shown to others as a user's picture or cover, an organisation's logo, a channel's
# picture or a meeting's poster.


async def picture_source(
    conn: AsyncConnection, principal: Principal, file_id: int, field: str, *, channel_id: int | None = None
) -> tuple[StoredFile, bool]:
    """The image the caller wants shown as a picture, and whether it must be copied first.

    A picture is seen by everyone (a user's picture or cover, an organisation's logo: ``channel_id`` None)
    or by one channel's readers (its picture, a meeting poster in it). The file is shown as it is when
    everyone who will see the picture may read it already (it is a user's picture or a logo; for a channel,
    a live message of that channel carries it or it is the channel's picture), or when it is the caller's
    own and shared nowhere yet (its audience is theirs to choose). The caller's own file that is shared
    elsewhere is copied: the copy's audience is the picture's, the original keeps its own. Every other
    file, another user's or one gone with its removed messages, looks unknown, whatever it holds (no
    probing: an unknown id and someone else's file get the same answer). Errors name ``field``."""
    stored = await file_store.get_file(conn, file_id)
    if stored is None or stored.deleted_at is not None or stored.status != "ready":
        raise BadRequest.field(field, "no such file")
    public = await file_store.is_user_picture(conn, file_id)
    mine = stored.owner_id == principal.user_id and not await file_store.of_removed_messages(conn, [file_id])
    if not (public or mine):
        raise BadRequest.field(field, "no such file")
    if not stored.is_image:
        raise BadRequest.field(field, "must be an image")
    if public or (channel_id is not None and await _in_channel(conn, file_id, channel_id)):
        return stored, False
    return stored, await file_store.is_shared(conn, file_id)


async def _in_channel(conn: AsyncConnection, file_id: int, channel_id: int) -> bool:
    """Whether the readers of ``channel_id`` may read the file already."""
    found = await file_store.message_channel_ids(conn, file_id) + await file_store.picture_channel_ids(conn, file_id)
    return channel_id in found


async def readable_file(conn: AsyncConnection, principal: Principal, file_id: int) -> StoredFile:
    """A ready file the caller may read (see the module docstring); 404 otherwise."""
    stored = await file_store.get_file(conn, file_id)
    if stored is None or stored.deleted_at is not None or stored.status != "ready":
        raise NotFound("no such file")
    if await file_store.is_user_picture(conn, file_id):
        return stored
    if stored.owner_id == principal.user_id and not await file_store.of_removed_messages(conn, [file_id]):
        return stored
    channel_ids = await file_store.message_channel_ids(conn, file_id)
    channel_ids += await file_store.picture_channel_ids(conn, file_id)
    for channel_id in dict.fromkeys(channel_ids):
        try:
            await access_channel(conn, principal, channel_id)
        except NotFound:
            continue
        return stored
    raise NotFound("no such file")
