"""The WorkDrive API (``/api/…``): camelCase shapes and ``meta`` pagination of its spec, over the same core.

``params.py`` reads requests the spec's way (camelCase, path ids, times, the spec's names for error
fields); ``shapes.py`` turns core records into WorkDrive JSON (pure functions). Each other module holds the
routes of one area, each view one core call: ``users`` (the directory), ``organization``, ``tokens``,
``media``, ``group_chats`` (with join requests), ``messages`` and ``meetings`` of a conversation;
``unsupported`` answers the rest of the spec with 501.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from . import group_chats, media, meetings, messages, organization, tokens, unsupported, users


def routes() -> list[BaseRoute]:
    return [
        *users.routes,
        *organization.routes,
        *tokens.routes,
        *media.routes,
        *group_chats.routes,
        *messages.routes,
        *meetings.routes,
        *unsupported.routes,  # last: the spec's endpoints chatd does not serve, each a clear 501
    ]
