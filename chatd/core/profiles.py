"""Users as one viewer sees them: the directory (search, listing, one user) and the people a response names.

The rule is ``access.may_see_user`` and ``access.may_see_email``, applied here to whole pages at once
(``access.sight``), for both faces: a user sees the people of their organisations (server admins see all);
e-mail addresses follow ``may_see_email``. A ``Profile`` carries what its viewer may see, so shaping it
reads nothing and decides nothing.

People named by something the viewer reads (a message's sender, a channel's members, a join request's
requester, a meeting's participants) come as profiles too. Channels live inside one organisation and their
members must belong to it, so those people are the viewer's own organisation's, with two exceptions: a
former member (their messages and meetings stay) and a server administrator who joined without being a
member. For them ``visible`` is false: the faces show the name the content carries, without the directory
entry (e-mail, phone, department, organisations).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sqlalchemy.ext.asyncio import AsyncConnection

from ..store import users as user_store
from .access import Sight, access_user, sight
from .context import Core
from ..domain.models import Principal, User
from .paging import Page, PageRequest
from .presence import is_online

ADMIN_ROLES = ("admin", "owner")


@dataclass(slots=True)
class Profile:
    """A user as one viewer sees them: the account, the organisations shown (those shared with the viewer;
    all of them for themselves and server admins), whether online now, whether the viewer may see the
    directory entry (``visible``) and the e-mail address (``email``: ``None`` when hidden)."""

    user: User
    org_ids: list[int]
    online: bool
    visible: bool
    email_shown: bool

    @property
    def email(self) -> str | None:
        return self.user.email if self.email_shown else None


async def sight_of(conn: AsyncConnection, core: Core, viewer: Principal, user_ids: list[int]) -> Sight:
    """The viewer's sight of these users, under the deployment's e-mail setting."""
    theirs = await user_store.org_ids_of_users(conn, user_ids)
    return await sight(conn, viewer, theirs, member_emails=core.settings.directory.member_emails)


async def profiles_in(
    conn: AsyncConnection, core: Core, viewer: Principal, found: list[User], *, seen: Sight | None = None
) -> list[Profile]:
    """Profiles of a page of users as ``viewer`` sees them, in three queries however many there are.
    ``seen``: a sight taken earlier (what an admin saw of the users they just removed)."""
    theirs = await user_store.org_ids_of_users(conn, [u.id for u in found])
    if seen is None:
        seen = await sight(conn, viewer, theirs, member_emails=core.settings.directory.member_emails)
    now = core.clock.now_ms()
    return [
        Profile(
            u,
            seen.orgs_shown(theirs[u.id], own=u.id == viewer.user_id),
            is_online(u.last_seen_at, now),
            u.id in seen.visible,
            u.id in seen.emails,
        )
        for u in found
    ]


async def profile_in(conn: AsyncConnection, core: Core, viewer: Principal, user_id: int) -> Profile:
    user = await user_store.get_user(conn, user_id)
    assert user is not None
    return (await profiles_in(conn, core, viewer, [user]))[0]


async def profiles_of(
    conn: AsyncConnection, core: Core, viewer: Principal, user_ids: Iterable[int | None]
) -> dict[int, Profile]:
    """The profiles of everyone a response names (senders, participants, requesters), each once, as
    ``viewer`` sees them. Unknown ids are left out."""
    wanted = list(dict.fromkeys(user_id for user_id in user_ids if user_id))
    found = await user_store.get_users(conn, wanted)
    shown = await profiles_in(conn, core, viewer, [found[u] for u in wanted if u in found])
    return {p.user.id: p for p in shown}


def _within(core: Core, viewer: Principal) -> tuple[object, object]:
    """Subqueries of the users the viewer may see, and of those whose e-mail they may see (``None``: all)."""
    if viewer.user.is_admin:
        return None, None
    peers = user_store.peer_ids_query(viewer.user_id)
    if core.settings.directory.member_emails:
        return peers, peers
    return peers, user_store.peer_ids_query(viewer.user_id, ADMIN_ROLES)


async def list_directory(
    core: Core, viewer: Principal, page: PageRequest, department: str | None = None, location: str | None = None
) -> Page[Profile]:
    """Users sharing an organisation with the caller (everyone for server admins), filtered exactly."""
    filters = {name: value.strip() for name, value in (("department", department), ("location", location)) if value}
    within, _ = _within(core, viewer)
    async with core.reading() as conn:
        found, total = await user_store.search_users(conn, "", page.offset, page.per_page, filters, within)
        return Page(await profiles_in(conn, core, viewer, found), total, page)


async def search_directory(core: Core, viewer: Principal, query: str, page: PageRequest) -> Page[Profile]:
    """The people the caller may see whose username, name or e-mail matches; an e-mail matches only where
    the caller may see it, so a search cannot confirm an address."""
    within, emails_within = _within(core, viewer)
    async with core.reading() as conn:
        found, total = await user_store.search_users(
            conn, query.strip(), page.offset, page.per_page, within_ids=within, emails_within=emails_within
        )
        return Page(await profiles_in(conn, core, viewer, found), total, page)


async def read_profile(core: Core, viewer: Principal, user_id: int) -> Profile:
    """One user the caller may see (404 otherwise, as for an unknown id)."""
    async with core.reading() as conn:
        user = await access_user(conn, viewer, user_id)
        return (await profiles_in(conn, core, viewer, [user]))[0]
