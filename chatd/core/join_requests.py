"""Join requests: asking to join a channel that takes requests (``by_request``), and its owners' answer.

Who may ask (``access.access_requestable``): a member of the channel's organisation who is not in the
channel, for a writable public or private channel with ``by_request`` set; asking again while a request is
pending returns that request. A private channel that takes no requests stays invisible (404), as everywhere;
one that takes requests admits that it exists to members of its organisation who know its id (that is what
taking requests means).

Who decides: the channel's owners and the organisation's admins (``access_channel(owner=True)``). Approving
adds the requester through ``channel_members.add_members_in``, so the ``member``/``JOINED`` event is the
usual one. The channel's owners are told of a new request (``member``/``REQUESTED``, private to each owner's
connections, not stored in the channel log: the requester is not a member and the request changes nothing
in the channel).
"""

from __future__ import annotations

from ..domain import events
from ..domain.codes import Code
from ..domain.errors import BadRequest, Conflict, NotFound
from ..domain.models import Principal
from ..store import channel_members as member_store
from ..store import events as event_log
from ..store import join_requests as request_store
from ..store.join_requests import JoinRequest
from .access import access_channel, access_requestable
from .channel_members import add_members_in
from .context import Core
from .profiles import Profile, profiles_of
from .paging import Page, PageRequest

__all__ = ["JoinRequest", "do_request_join", "list_pending", "do_decide"]

People = dict[int, Profile]


async def do_request_join(core: Core, principal: Principal, channel_id: int) -> tuple[JoinRequest, bool, People]:
    """Ask to join; returns (request, created, the requester's profile). A pending request of the caller is
    returned as it is."""
    async with core.transaction() as tx:
        await access_requestable(tx.conn, principal, channel_id)
        await event_log.lock(tx.conn, channel_id)  # one pending request per user, even for concurrent asks
        if await member_store.get_role(tx.conn, channel_id, principal.user_id) is not None:
            raise Conflict("already a member of this channel", code=Code.ALREADY_MEMBER)  # joined while we waited
        existing = await request_store.pending_of(tx.conn, channel_id, principal.user_id)
        if existing is not None:
            return existing, False, await profiles_of(tx.conn, core, principal, [principal.user_id])
        request = JoinRequest(
            id=tx.new_id(), channel_id=channel_id, user_id=principal.user_id, status="pending", created_at=tx.now
        )
        await request_store.insert(tx.conn, request)
        told = {"request_id": str(request.id), "channel_id": str(channel_id), "user_id": str(principal.user_id)}
        for member in await member_store.list_members(tx.conn, channel_id):
            if member.role == "owner":
                tx.notify(member.user_id, events.MEMBER, "REQUESTED", told, channel_id=channel_id)
        return request, True, await profiles_of(tx.conn, core, principal, [principal.user_id])


async def list_pending(
    core: Core, principal: Principal, channel_id: int, page: PageRequest
) -> tuple[Page[JoinRequest], People]:
    """Pending requests, oldest first, with the requesters' profiles: owners and organisation admins only."""
    async with core.reading() as conn:
        await access_channel(conn, principal, channel_id, owner=True)
        items, total = await request_store.pending(conn, channel_id, page.offset, page.per_page)
        return Page(items, total, page), await profiles_of(conn, core, principal, [r.user_id for r in items])


async def do_decide(
    core: Core, principal: Principal, channel_id: int, request_id: int, approve: bool
) -> tuple[JoinRequest, People]:
    """Approve (the requester joins as a member) or decline a pending request of this channel; returns it
    with the requester's profile."""
    async with core.transaction() as tx:
        await access_channel(tx.conn, principal, channel_id, owner=True)
        await event_log.lock(tx.conn, channel_id)  # two owners deciding at once: the second sees the first
        request = await request_store.get(tx.conn, request_id)
        if request is None or request.channel_id != channel_id:
            raise NotFound("no such join request")
        if request.status != "pending":
            raise Conflict(f"this request was already {request.status}", code=Code.DECIDED)
        if approve:
            try:
                await add_members_in(tx, principal, channel_id, [request.user_id], reason="request")
            except BadRequest:
                raise Conflict("the requester is no longer a member of the organisation", code=Code.NOT_IN_ORGANISATION) from None
        request.status = "approved" if approve else "declined"
        request.decided_by, request.decided_at = principal.user_id, tx.now
        await request_store.decide(tx.conn, request.id, request.status, principal.user_id, tx.now)
        return request, await profiles_of(tx.conn, core, principal, [request.user_id])
