"""Core records as WorkDrive JSON: camelCase, ids as strings, times as ISO 8601 UTC, ``meta`` pages.

Also the two edge translations every WorkDrive module needs: the ``{id}`` of a path, and core error
field names (``first_name``) renamed to the spec's (``firstName``) so a client sees its own vocabulary.
"""

from __future__ import annotations

import functools
import re
from contextlib import contextmanager
from typing import Annotated, Any, Awaitable, Callable, Iterable, Iterator, TypeVar

from pydantic import BeforeValidator
from sqlalchemy.ext.asyncio import AsyncConnection

from ...core.clock import iso, parse_iso
from ...core.context import Core
from ...core.errors import ChatdError
from ...core.files import file_payload
from ...core.ids import parse_id
from ...core.models import ChannelView, Membership, MessageView, Organisation
from ...core.paging import Page
from ...core.users import Profile, profile_in
from ...core.join_requests import JoinRequest
from ...core.meetings import Meeting
from ...store import files as file_store
from ...edge.responses import Call

T = TypeVar("T")
H = TypeVar("H", bound=Callable[..., Awaitable[Any]])

# Core vocabulary → the spec's, where it is not a plain snake_case → camelCase rename.
STATUS = {"active": "ACTIVE", "archived": "ARCHIVE", "blocked": "BLOCKED"}
AVAILABILITY = {"available": "ACTIVE", "away": "AWAY"}
_FIELD_NAMES = {
    "picture_file_id": "fileId",
    "skills": "skill",
    "organisation_id": "organizationId",
    "additional_teams": "addAdditionalTeams",
    "additional_locations": "addAdditionalLocations",
    "username": "userName",
}


def sid(value: int | str | None) -> str | None:
    return None if value is None else str(value)


def camel(name: str) -> str:
    """``data.0.first_name`` → ``data.0.firstName``; the spec's own names where they differ."""
    parts = []
    for part in name.split("."):
        part = _FIELD_NAMES.get(part, part)
        parts.append(re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), part))
    return ".".join(parts)


def camel_errors(handler: H) -> H:
    """Rename the fields of errors the core raises, so a 400 names ``firstName``, not ``first_name``."""

    @functools.wraps(handler)
    async def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return await handler(*args, **kwargs)
        except ChatdError as exc:
            if exc.fields:
                exc.fields = {camel(name): problem for name, problem in exc.fields.items()}
                exc.message = "; ".join(f"{name}: {problem}" for name, problem in exc.fields.items())
            raise

    return run  # type: ignore[return-value]


def path_id(call: Call[Any], name: str = "id") -> int:
    """The ``{id}`` of the URL, with the same 400 as an id parameter."""
    return parse_id(call.request.path_params[name], name)


def meta(result: Page[Any]) -> dict[str, Any]:
    """The spec's pagination block; ``nextPage`` is null on the last page."""
    return {
        "perPage": result.request.per_page,
        "totalPages": result.total_pages,
        "totalResults": result.total,
        "curPage": result.request.page,
        "nextPage": result.next_page,
    }


def page(key: str, result: Page[T], shape: Callable[[T], Any]) -> dict[str, Any]:
    return {key: [shape(item) for item in result.items], "meta": meta(result)}


def _file(file_id: int | str | None) -> dict[str, Any] | None:
    return None if file_id is None else {"id": str(file_id)}


def user(profile: Profile) -> dict[str, Any]:
    """The spec's user. Fields chatd has no source for (``color``, ``badges``, ``reportsToObj``…) are left
    out rather than invented; intranet fields come back exactly as they were stored."""
    record, extra = profile.user, profile.user.profile
    return {
        "id": str(record.id),
        "createdAt": iso(record.created_at),
        "updatedAt": iso(record.updated_at),
        "createdBy": sid(extra.get("created_by")),
        "updatedBy": sid(extra.get("updated_by")),
        "orgId": sid(profile.org_ids[0]) if profile.org_ids else None,
        "organizationIds": [str(org_id) for org_id in profile.org_ids],
        "userName": record.username,
        "email": record.email,
        "status": STATUS.get(record.status, record.status.upper()),
        "firstName": record.first_name,
        "lastName": record.last_name,
        "displayName": record.display_name,
        "isServerAdmin": record.is_admin,
        "picture": _file(record.picture_file_id),
        "cover": _file(extra.get("cover_file_id")),
        "availability": AVAILABILITY.get(record.availability, record.availability.upper()),
        "online": profile.online,
        "department": record.department or None,
        "location": record.location or None,
        "bio": extra.get("bio"),
        "phone": extra.get("phone"),
        "designation": extra.get("designation"),
        "reportsTo": sid(extra.get("reports_to")),
        "isDepartmentHead": bool(extra.get("is_department_head", False)),
        "isExpert": bool(extra.get("is_expert", False)),
        "skill": extra.get("skills", []),
        "defaultVisibility": extra.get("default_visibility"),
        "securityGroup": extra.get("security_group"),
        "externalUserId": extra.get("external_user_id"),
        "userAdditionalTeams": extra.get("additional_teams", []),
        "addAdditionalLocations": extra.get("additional_locations", []),
    }


async def organization_with_logo(core: Core, record: Organisation) -> dict[str, Any]:
    shaped = organization(record)
    if record.picture_file_id is not None:
        async with core.reading() as conn:
            found = await file_store.get_files(conn, [record.picture_file_id])
        if record.picture_file_id in found:
            shaped["file"] = media(file_payload(found[record.picture_file_id]))
    return shaped


def organization(record: Organisation) -> dict[str, Any]:
    """The spec's organisation: its profile as stored; what chatd has no source for is null, not made up."""
    profile = record.profile
    return {
        "id": str(record.id),
        "createdAt": iso(record.created_at),
        "updatedAt": iso(record.updated_at),
        "createdBy": sid(record.created_by),
        "status": "ARCHIVED" if record.archived_at is not None else "ACTIVE",
        "name": record.name,
        "subdomain": None,
        "parentOrgId": None,
        "legalName": profile.get("legal_name"),
        "websites": profile.get("websites"),
        "address": profile.get("address"),
        "email": profile.get("email"),
        "phone": profile.get("phone"),
        "description": profile.get("description"),
        "industry": profile.get("industry"),
        "file": {"id": str(record.picture_file_id)} if record.picture_file_id is not None else None,
        "authMethod": "internal",
    }


# Group chats, messages, meetings ----------------------------------------------------------------------


def _time(value: Any) -> int:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 time, e.g. 2026-01-01T09:00:00.000Z")
    try:
        return parse_iso(value)
    except ValueError:
        raise ValueError("must be an ISO 8601 time, e.g. 2026-01-01T09:00:00.000Z") from None


Time = Annotated[int, BeforeValidator(_time)]
"""An ISO 8601 time parameter, as epoch milliseconds (naive means UTC)."""


@contextmanager
def renamed_errors(names: dict[str, str]) -> Iterator[None]:
    """Name a core error's fields as this endpoint's body does (``file_ids`` → ``fileId``)."""
    try:
        yield
    except ChatdError as exc:
        if exc.fields and any(name in names for name in exc.fields):
            exc.fields = {names.get(name, name): problem for name, problem in exc.fields.items()}
            exc.message = "; ".join(f"{name}: {problem}" for name, problem in exc.fields.items())
        raise


async def people(conn: AsyncConnection, core: Core, user_ids: Iterable[int | None]) -> dict[int, Profile]:
    """Profiles of the users a response names (senders, participants), each read once."""
    return {user_id: await profile_in(conn, core, user_id) for user_id in dict.fromkeys(u for u in user_ids if u)}


_PERSON = (
    "id", "userName", "firstName", "lastName", "displayName", "picture", "cover", "online", "availability",
    "designation", "department", "phone", "email", "status",
)


def person(profile: Profile | None) -> dict[str, Any] | None:
    """The spec's short user (senders, participants, creators): a subset of the user shape."""
    if profile is None:
        return None
    full = user(profile)
    return {key: full[key] for key in _PERSON}


def media(payload: dict[str, Any]) -> dict[str, Any]:
    """A file as the spec's media object, from the core's viewer-independent file payload."""
    mime = payload["content_type"]
    image, video = mime.startswith("image/"), mime.startswith("video/")
    return {
        "id": payload["id"],
        "mime": mime,
        "name": payload["name"],
        "size": payload["size"],
        "url": payload["url"],
        "thumbnail": payload["thumbnail_url"],
        "width": payload["width"],
        "height": payload["height"],
        "isImage": image,
        "isVideo": video,
        "isDoc": not image and not video,
    }


def conversation(
    view: ChannelView, members: list[Membership] | None = None, profiles: dict[int, Profile] | None = None
) -> dict[str, Any]:
    """A group chat (a channel) as the caller sees it; ``participants`` and ``admins`` when members are given."""
    channel = view.channel
    shaped: dict[str, Any] = {
        "id": str(channel.id),
        "groupId": str(channel.id),
        "createdAt": iso(channel.created_at),
        "updatedAt": iso(channel.updated_at),
        "createdBy": sid(channel.created_by),
        "organizationId": str(channel.organisation_id),
        "title": channel.name,
        "description": channel.description,
        "image": _file(channel.picture_file_id),
        "isChannel": True,
        "isPrivate": channel.type != "public",
        "byRequest": channel.by_request,
        "type": channel.group_type,
        "category": channel.category or None,
        "archived": channel.archived_at is not None,
        "lastMessageAt": iso(channel.last_message_at),
        "memberCount": view.member_count,
        "isMember": view.role is not None,
        "isAdmin": view.role == "owner",
        "unreadCount": view.unread,
    }
    if members is not None:
        known = profiles or {}
        shaped["participants"] = [person(known.get(m.user_id)) for m in members if m.user_id in known]
        shaped["admins"] = [str(m.user_id) for m in members if m.role == "owner"]
    return shaped


def meeting_event(meta: dict[str, Any], conversation_id: int) -> dict[str, Any] | None:
    """The ``event`` of a meeting announcement, from what the message carries."""
    found = meta.get("meeting")
    if not isinstance(found, dict):
        return None
    return {
        "id": found.get("id"),
        "title": found.get("title"),
        "startDateTime": found.get("start_at"),
        "endDateTime": found.get("end_at"),
        "duration": found.get("duration"),
        "poster": _file(found.get("poster_id")),
        "userIds": found.get("user_ids", []),
        "conversationId": str(conversation_id),
    }


def message(view: MessageView, profiles: dict[int, Profile]) -> dict[str, Any]:
    """The spec's message; ``mention`` lists the users the message mentions (those who may read it)."""
    record = view.message
    shaped: dict[str, Any] = {
        "id": str(record.id),
        "conversationId": str(record.channel_id),
        "createdAt": iso(record.created_at),
        "updatedAt": iso(record.updated_at),
        "createdBy": sid(record.user_id),
        "message": record.contents,
        "isEdited": record.edited_at is not None,
        "editedAt": iso(record.edited_at),
        "replyOfMsgId": sid(record.reply_to),
        "sender": person(profiles.get(record.user_id)) if record.user_id else None,
        "files": {"files": [media(f) for f in view.files]},
        "mention": [person(profiles[u]) for u in record.mentions if u in profiles],
        "reactions": view.reactions,
        "type": record.type,
        "repliesCount": record.reply_count,
        "isPinned": view.pinned,
        "canEdit": view.can_edit,
        "canRemove": view.can_remove,
    }
    event = meeting_event(record.meta, record.channel_id)
    if event is not None:
        shaped["event"] = event
    return shaped


def message_people(views: Iterable[MessageView]) -> list[int | None]:
    """Everyone a page of messages names: senders and mentioned users."""
    return [u for v in views for u in (v.message.user_id, *v.message.mentions)]


def meeting(record: Meeting, profiles: dict[int, Profile]) -> dict[str, Any]:
    """The spec's event. RSVPs, locations, links and repeats are chatd-less: left out, not invented."""
    return {
        "id": str(record.id),
        "createdAt": iso(record.created_at),
        "updatedAt": iso(record.created_at),
        "createdBy": sid(record.created_by),
        "title": record.title,
        "startDateTime": iso(record.start_at),
        "endDateTime": iso(record.end_at),
        "duration": record.duration,
        "poster": _file(record.poster_id),
        "conversationId": str(record.channel_id),
        "messageId": sid(record.message_id),
        "creator": person(profiles.get(record.created_by)) if record.created_by else None,
        "rsvpUsers": [
            {**(person(profiles[u]) or {}), "invited": iso(record.created_at), "rsvp": None}
            for u in record.participant_ids
            if u in profiles
        ],
    }


def join_request(record: JoinRequest, profiles: dict[int, Profile]) -> dict[str, Any]:
    return {
        "id": str(record.id),
        "conversationId": str(record.channel_id),
        "userId": str(record.user_id),
        "user": person(profiles.get(record.user_id)),
        "status": record.status.upper(),
        "createdAt": iso(record.created_at),
        "decidedBy": sid(record.decided_by),
        "decidedAt": iso(record.decided_at),
    }
