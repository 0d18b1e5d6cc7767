"""The Crust messaging API: ``/organisation/*``, ``/team/*``, ``/channel/*``, ``/message/*``, ``/user/*``.

Snake_case fields, ids as strings, parameters from the query, a form or JSON alike; the original Crust
server's envelope where a deployment or request asks for it (``edge/envelope.py``). ``shapes.py`` turns
core records into JSON; each other module holds the routes of one area.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from ...edge import envelope
from . import channels, files, messages, orgs, teams, users


def routes() -> list[BaseRoute]:
    """Every route of the face, tagged as Crust's: the edge gives them the original envelope where wanted."""
    face = [*users.routes, *orgs.routes, *teams.routes, *channels.routes, *messages.routes, *files.routes]
    return envelope.on_face(envelope.CRUST, face)
