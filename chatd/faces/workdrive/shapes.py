"""Core records as WorkDrive JSON: camelCase, ids as strings, times as ISO 8601 UTC, ``meta`` pages.

Pure functions of what the core returns: the people a record names come with it as profiles (loaded in
batches by the core), so shaping reads nothing.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar, cast, overload

from ...core.clock import iso
from ...core.profiles import Profile
from ...core.files import file_payload
from ...core.join_requests import JoinRequest
from ...core.meetings import Meeting
from ...core.paging import Page
from . import shape_types as out
from ...domain.models import ChannelView, Membership, MessageView, Organisation, StoredFile

T = TypeVar("T")

# Core vocabulary → the spec's, where it is not a plain snake_case → camelCase rename.
STATUS = {"active": "ACTIVE", "archived": "ARCHIVE", "blocked": "BLOCKED"}
AVAILABILITY = {"available": "ACTIVE", "away": "AWAY"}


def sid(value: int | str | None) -> str | None:
    return None if value is None else str(value)


def meta(result: Page[Any]) -> out.Meta:
    """The spec's pagination block; ``nextPage`` is null on the last page."""
    return {
        "perPage": result.request.per_page,
        "totalPages": result.total_pages,
        "totalResults": result.total,
        "curPage": result.request.page,
        "nextPage": result.next_page,
    }


def users_page(result: Page[Profile]) -> out.UsersPage:
    return {"users": [user(item) for item in result.items], "meta": meta(result)}


def conversations_page(result: Page[T], shape: Callable[[T], out.GroupChat]) -> out.GroupChatsPage:
    return {"conversations": [shape(item) for item in result.items], "meta": meta(result)}


def messages_page(result: Page[MessageView], profiles: dict[int, Profile]) -> out.MessagesPage:
    return {"messages": [message(view, profiles) for view in result.items], "meta": meta(result)}


def join_requests_page(result: Page[JoinRequest], profiles: dict[int, Profile]) -> out.JoinRequestsPage:
    return {"joinRequests": [join_request(item, profiles) for item in result.items], "meta": meta(result)}


def _file(file_id: int | str | None) -> out.FileRef | None:
    return None if file_id is None else {"id": str(file_id)}


def user(profile: Profile) -> out.User:
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
        "email": profile.email,
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


def organization(record: Organisation, logo: StoredFile | None = None) -> out.Organization:
    """The spec's organisation: its profile as stored; what chatd has no source for is null, not made up.
    ``logo``: its logo's file, shown as the spec's media object."""
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
        "file": _logo(record, logo),
        "authMethod": "internal",
    }


def _logo(record: Organisation, logo: StoredFile | None) -> out.Media | out.FileRef | None:
    if logo is not None and logo.id == record.picture_file_id:
        return media(file_payload(logo))
    return _file(record.picture_file_id)


# Group chats, messages, meetings ----------------------------------------------------------------------


_PERSON = (
    "id", "userName", "firstName", "lastName", "displayName", "picture", "cover", "online", "availability",
    "designation", "department", "phone", "email", "status",
)


_CARD = ("id", "userName", "firstName", "lastName", "displayName", "picture", "status")


@overload
def person(profile: Profile) -> out.Person: ...
@overload
def person(profile: Profile | None) -> out.Person | None: ...
def person(profile: Profile | None) -> out.Person | None:
    """The spec's short user (senders, participants, creators): a subset of the user shape. Someone the
    caller may not see (a former member, docs/workdrive.md "Who sees whom") keeps only the name the
    content carries: the rest is null."""
    if profile is None:
        return None
    full: dict[str, Any] = dict(user(profile))
    shown = _PERSON if profile.visible else _CARD
    return cast("out.Person", {key: full[key] if key in shown else None for key in _PERSON})


def media(payload: dict[str, Any]) -> out.Media:
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
) -> out.GroupChat:
    """A group chat (a channel) as the caller sees it; ``participants`` and ``admins`` when members are given."""
    channel = view.channel
    shaped: out.GroupChat = {
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
        shaped["participants"] = [person(known[m.user_id]) for m in members if m.user_id in known]
        shaped["admins"] = [str(m.user_id) for m in members if m.role == "owner"]
    return shaped


def meeting_event(meta: dict[str, Any], conversation_id: int) -> out.MeetingEvent | None:
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


def message(view: MessageView, profiles: dict[int, Profile]) -> out.Message:
    """The spec's message; ``mention`` lists the users the message mentions (those who may read it)."""
    record = view.message
    shaped: out.Message = {
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
        "reactions": cast(list[out.Reaction], view.reactions),  # the core's ``{emoji, count, me}``
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


def meeting(record: Meeting, profiles: dict[int, Profile]) -> out.Meeting:
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
            {**person(profiles[u]), "invited": iso(record.created_at), "rsvp": None}
            for u in record.participant_ids
            if u in profiles
        ],
    }


def join_request(record: JoinRequest, profiles: dict[int, Profile]) -> out.JoinRequest:
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
