"""The WorkDrive API (``/api/…``): camelCase shapes and ``meta`` pagination of its spec, over the same core.

``shapes.py`` turns core records into WorkDrive JSON (and core error fields into its names); each other
module holds the routes of one area: ``users`` (the directory), ``organization``, ``tokens``, ``media``,
``group_chats`` (with join requests), ``messages`` and ``meetings`` of a conversation.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from . import group_chats, media, meetings, messages, organization, tokens, users


def routes() -> list[BaseRoute]:
    return [
        *users.routes,
        *organization.routes,
        *tokens.routes,
        *media.routes,
        *group_chats.routes,
        *messages.routes,
        *meetings.routes,
    ]
