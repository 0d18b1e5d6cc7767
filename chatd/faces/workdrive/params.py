"""The request side of the WorkDrive face: camelCase bodies, ``{id}``s of paths, times, pages, and the names
the spec gives the fields of errors (``firstName`` where the core says ``first_name``)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Callable, Mapping

from pydantic import BeforeValidator, ConfigDict, WithJsonSchema
from pydantic.alias_generators import to_camel

from ...core.clock import parse_iso
from ...domain.errors import BadRequest
from ...core.ids import parse_id
from ...core.paging import PageRequest
from ...edge.params import Params, merged_params
from ...edge.responses import Call


class CamelParams(Params):
    """WorkDrive bodies are camelCase; the snake_case names are accepted too."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, alias_generator=to_camel)


def _time(value: Any) -> int:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 time, e.g. 2026-01-01T09:00:00.000Z")
    try:
        return parse_iso(value)
    except ValueError:
        raise ValueError("must be an ISO 8601 time, e.g. 2026-01-01T09:00:00.000Z") from None


Time = Annotated[
    int,
    BeforeValidator(_time),
    WithJsonSchema({"type": "string", "format": "date-time", "description": "ISO 8601; without a zone, UTC"}),
]
"""An ISO 8601 time parameter, as epoch milliseconds (naive means UTC)."""


def path_id(call: Call[Any], name: str = "id") -> int:
    """The ``{id}`` of the URL, with the same 400 as an id parameter."""
    return parse_id(call.request.path_params[name], name)


def page_of(call: Call[Any]) -> PageRequest:
    """The spec's ``cur_page`` and ``per_page`` (on every listing's parameters)."""
    return PageRequest.of(call.params.cur_page, call.params.per_page, call.core.settings.limits.page_size_max)


# Core field name → the spec's, where it is not a plain snake_case → camelCase rename.
_SPEC_NAMES = {
    "picture_file_id": "fileId",
    "skills": "skill",
    "organisation_id": "organizationId",
    "additional_teams": "addAdditionalTeams",
    "additional_locations": "addAdditionalLocations",
    "username": "userName",
}


def camel(name: str, own: Mapping[str, str] | None = None) -> str:
    """``data.0.first_name`` → ``data.0.firstName``: each part by ``own`` names, else the spec's where they
    differ from a plain snake_case → camelCase rename."""
    parts = []
    for part in name.split("."):
        part = (own or {}).get(part) or _SPEC_NAMES.get(part, part)
        parts.append(re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), part))
    return ".".join(parts)


def spec_names(body: Mapping[str, str] | None = None) -> Callable[[str], str]:
    """How an endpoint names the core's error fields: its own body's names first (``contents`` is this
    body's ``message``, ``mention_ids.0`` its ``mention.0``), then the spec's camelCase (the ``fields`` of
    ``edge.responses.endpoint``)."""
    own = dict(body or {})
    return lambda name: camel(name, own)


async def carried(call: Call[Any], names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` (each in camelCase; the snake_case spelling counts too) the request carries, in
    its query string or body: how an endpoint tells a request meant for another operation."""
    data = await merged_params(call.request)
    return [name for name in names if name in data or camel_to_snake(name) in data]


async def refuse_carried(call: Call[Any], names: tuple[str, ...], problem: str) -> None:
    """Refuse (400, naming the first such field) a request that carries what another operation takes, rather
    than answer 200 having done something else (docs/workdrive.md, "Requests meant for another call")."""
    found = await carried(call, names)
    if found:
        raise BadRequest.field(found[0], problem)


def camel_to_snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)
