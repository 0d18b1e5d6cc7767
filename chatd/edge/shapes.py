"""Core records as JSON in the house conventions: snake_case, ids as strings, times as ISO 8601 UTC.

The Crust face answers with these shapes and the websocket sends the same ones (its ``ready`` frame and its
acks: docs/websocket.md says its conventions are the Crust API's), so one definition keeps the two from
drifting. They live at the edge, not in the core's events, because most of them depend on the viewer (role,
unread counts, ``can_edit``); the viewer-independent payloads that events carry come from the core
(``channel_payload``, ``message_payload``) and are extended here.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from ..core.channels import channel_payload
from ..core.clock import iso as iso  # the faces shape their own times with it too
from ..core.messages import message_payload
from ..core.paging import Page
from ..domain.models import AccessToken, ChannelView, Membership, MessageView, Organisation, Session, Team, User

T = TypeVar("T")


def sid(value: int | None) -> str | None:
    return None if value is None else str(value)


def page(result: Page[T], shape: Callable[[T], Any]) -> dict[str, Any]:
    return {
        "items": [shape(item) for item in result.items],
        "page": result.request.page,
        "per_page": result.request.per_page,
        "total": result.total,
        "next_page": result.next_page,
    }


def user(record: User) -> dict[str, Any]:
    return {
        "id": str(record.id),
        "username": record.username,
        "email": record.email,
        "display_name": record.display_name,
        "status": record.status,
        "is_admin": record.is_admin,
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
    }


def session(record: Session, current_id: int | None = None) -> dict[str, Any]:
    return {
        "id": str(record.id),
        "client_id": record.client_id,
        "user_agent": record.user_agent,
        "created_at": iso(record.created_at),
        "last_seen_at": iso(record.last_seen_at),
        "expires_at": iso(record.expires_at),
        "current": record.id == current_id,
    }


def token(record: AccessToken) -> dict[str, Any]:
    return {
        "id": str(record.id),
        "label": record.label,
        "created_at": iso(record.created_at),
        "last_used_at": iso(record.last_used_at),
    }


def membership(record: Membership) -> dict[str, Any]:
    return {"user_id": str(record.user_id), "role": record.role, "joined_at": iso(record.joined_at)}


def organisation(record: Organisation, role: str | None = None) -> dict[str, Any]:
    return {
        "id": str(record.id),
        "name": record.name,
        "created_by": sid(record.created_by),
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
        "archived": record.archived_at is not None,
        "archived_at": iso(record.archived_at),
        "role": role,
    }


def team(record: Team, members: list[Membership] | None = None) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "id": str(record.id),
        "organisation_id": str(record.organisation_id),
        "name": record.name,
        "created_by": sid(record.created_by),
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
        "archived": record.archived_at is not None,
        "archived_at": iso(record.archived_at),
    }
    if members is not None:
        shaped["members"] = [membership(m) for m in members]
    return shaped


def channel(view: ChannelView) -> dict[str, Any]:
    """A channel as the caller sees it: the shared payload plus their role and, for members, unread counts."""
    return channel_payload(view.channel) | {
        "role": view.role,
        "member": view.role is not None,
        "member_count": view.member_count,
        "unread": view.unread,
        "mentions": view.mentions,
        "last_read_message_id": sid(view.last_read_message_id) if view.last_read_message_id else None,
    }


def message(view: MessageView) -> dict[str, Any]:
    """A message as the caller sees it (docs/design.md §4.6): the shared payload plus what depends on the viewer."""
    return message_payload(view.message, view.files) | {
        "edited": view.message.edited_at is not None,
        "pinned": view.pinned,
        "flagged": view.flagged,
        "reactions": view.reactions,
        "can_edit": view.can_edit,
        "can_remove": view.can_remove,
    }
