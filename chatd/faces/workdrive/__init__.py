"""The WorkDrive API (``/api/…``): camelCase shapes and ``meta`` pagination of its spec, over the same core.

``shapes.py`` turns core records into WorkDrive JSON (and core error fields into its names); each other
module holds the routes of one area: ``users`` (the directory), ``organization``, ``tokens``.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from . import media, organization, tokens, users


def routes() -> list[BaseRoute]:
    # The lead adds ``media.routes`` (chatd/faces/workdrive/media.py, written separately) here.
    return [*users.routes, *organization.routes, *tokens.routes, *media.routes]
