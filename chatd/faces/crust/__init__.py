"""The Crust messaging API: ``/organisation/*``, ``/team/*``, ``/channel/*``, ``/message/*``, ``/user/*``.

Snake_case fields, ids as strings, parameters from the query, a form or JSON alike; the original Crust
server's envelope where a deployment or request asks for it (``edge/envelope.py``). Each module holds the
routes of one area; core records become JSON through ``chatd/edge/shapes.py``, which the websocket shares.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from ...edge import envelope
from . import channels, files, messages, orgs, teams, users


def routes() -> list[BaseRoute]:
    """Every route of the face, tagged as Crust's: the edge gives them the original envelope where wanted."""
    face = [*users.routes, *orgs.routes, *teams.routes, *channels.routes, *messages.routes, *files.routes]
    return envelope.on_face(envelope.CRUST, face)
