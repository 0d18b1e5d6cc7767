"""Core records as JSON in the house conventions: snake_case, ids as strings, times as ISO 8601 UTC.

The Crust face answers with these shapes and the websocket sends the same ones (its ``ready`` frame and its
acks: docs/websocket.md says its conventions are the Crust API's), so one definition keeps the two from
drifting. They live at the edge, not in the core's events, because most of them depend on the viewer (role,
unread counts, ``can_edit``); the viewer-independent payloads that events carry come from the core
(``channel_payload``, ``message_payload``) and are extended here. Each returns its type of
``shape_types.py``, which the OpenAPI document describes.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar, cast

from ..core.channels import channel_payload
from ..core.clock import iso as iso  # the views' times too
from ..core.messages import message_payload
from ..core.paging import Page
from ..core.profiles import Profile
from ..core.search import Hit
from ..domain.models import AccessToken, ChannelView, Membership, MessageView, Organisation, Session, Team, User
from . import shape_types as out

T = TypeVar("T")
S = TypeVar("S")


def sid(value: int | None) -> str | None:
    return None if value is None else str(value)


def page(result: Page[T], shape: Callable[[T], S]) -> out.Paged[S]:
    return {
        "items": [shape(item) for item in result.items],
        "page": result.request.page,
        "per_page": result.request.per_page,
        "total": result.total,
        "next_page": result.next_page,
    }


def user(record: User) -> out.User:
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


def profile(seen: Profile) -> out.User:
    """Another user, as the caller may see them: ``email`` is null where the caller may not see it."""
    return user(seen.user) | {"email": seen.email}


def session(record: Session, current_id: int | None = None) -> out.Session:
    return {
        "id": str(record.id),
        "client_id": record.client_id,
        "user_agent": record.user_agent,
        "created_at": iso(record.created_at),
        "last_seen_at": iso(record.last_seen_at),
        "expires_at": iso(record.expires_at),
        "current": record.id == current_id,
    }


def token(record: AccessToken) -> out.AccessToken:
    return {
        "id": str(record.id),
        "label": record.label,
        "created_at": iso(record.created_at),
        "last_used_at": iso(record.last_used_at),
    }


def membership(record: Membership) -> out.Membership:
    return {"user_id": str(record.user_id), "role": record.role, "joined_at": iso(record.joined_at)}


def organisation(record: Organisation, role: str | None = None) -> out.Organisation:
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


def team(record: Team, members: list[Membership] | None = None) -> out.Team:
    shaped: out.Team = {
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


def channel(view: ChannelView) -> out.Channel:
    """A channel as the caller sees it: the shared payload plus their role and, for members, unread counts."""
    viewer = {
        "role": view.role,
        "member": view.role is not None,
        "member_count": view.member_count,
        "unread": view.unread,
        "mentions": view.mentions,
        "last_read_message_id": sid(view.last_read_message_id) if view.last_read_message_id else None,
    }
    return cast(out.Channel, channel_payload(view.channel) | viewer)  # the core's payload is an untyped dict


def message(view: MessageView) -> out.Message:
    """A message as the caller sees it (docs/design.md §4.6): the shared payload plus what depends on the viewer."""
    viewer = {
        "edited": view.message.edited_at is not None,
        "pinned": view.pinned,
        "flagged": view.flagged,
        "reactions": view.reactions,
        "can_edit": view.can_edit,
        "can_remove": view.can_remove,
    }
    shared = view.shared if view.shared is not None else message_payload(view.message, view.files)
    return cast(out.Message, shared | viewer)


def found(hit: Hit) -> out.FoundMessage:
    return {**message(hit.view), "snippet": hit.snippet, "score": hit.score}


def pinned(view: MessageView, by: int | None, at: int | None) -> out.PinnedMessage:
    return {**message(view), "pinned_by": sid(by), "pinned_at": iso(at)}


# What the core already returns as JSON-ready dicts, typed for the document.


def versions(found: list[dict[str, Any]]) -> out.Versions:
    return {"versions": cast(list[out.Version], found)}


def read_state(state: dict[str, Any]) -> out.ReadState:
    return cast(out.ReadState, state)


def reactions(summary: list[dict[str, object]]) -> out.Reactions:
    return {"reactions": cast(list[out.Reaction], summary)}


def reactors(found: list[dict[str, object]]) -> out.ReactionList:
    return {"reactions": cast(list[out.Reactors], found)}
