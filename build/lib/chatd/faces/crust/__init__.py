"""The Crust messaging API: ``/organisation/*``, ``/team/*``, ``/channel/*``, ``/message/*``, ``/user/*``.

Snake_case fields, ids as strings, parameters from the query, a form or JSON alike. ``shapes.py`` turns
core records into JSON; each other module holds the routes of one area.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from . import channels, files, messages, orgs, teams, users


def routes() -> list[BaseRoute]:
    return [*users.routes, *orgs.routes, *teams.routes, *channels.routes, *messages.routes, *files.routes]
