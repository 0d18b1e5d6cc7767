"""Core records as WorkDrive JSON: camelCase, ids as strings, times as ISO 8601 UTC, ``meta`` pages.

Also the two edge translations every WorkDrive module needs: the ``{id}`` of a path, and core error
field names (``first_name``) renamed to the spec's (``firstName``) so a client sees its own vocabulary.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Awaitable, Callable, TypeVar

from ...core.clock import iso
from ...core.errors import ChatdError
from ...core.ids import parse_id
from ...core.models import Organisation
from ...core.paging import Page
from ...core.users import Profile
from ..responses import Call

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


def organization(record: Organisation) -> dict[str, Any]:
    """The spec's organisation. chatd stores its name only: the profile fields are null, not made up."""
    return {
        "id": str(record.id),
        "createdAt": iso(record.created_at),
        "updatedAt": iso(record.updated_at),
        "createdBy": sid(record.created_by),
        "status": "ARCHIVED" if record.archived_at is not None else "ACTIVE",
        "name": record.name,
        "subdomain": None,
        "parentOrgId": None,
        "legalName": None,
        "websites": None,
        "address": None,
        "email": None,
        "phone": None,
        "description": None,
        "industry": None,
        "file": None,
        "authMethod": "internal",
    }
