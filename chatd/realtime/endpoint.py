"""``/websocket/client``: thin over the hub and the core."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
