"""The Crust messaging API: ``/organisation/*``, ``/team/*``, ``/channel/*``, ``/message/*``, ``/user/*``.

Snake_case fields, ids as strings, parameters from the query, a form or JSON alike. Each module holds the
routes of one area; core records become JSON through ``chatd/edge/shapes.py``, which the websocket shares.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from . import channels, files, messages, orgs, teams, users


def routes() -> list[BaseRoute]:
    return [*users.routes, *orgs.routes, *teams.routes, *channels.routes, *messages.routes, *files.routes]
