"""The WorkDrive API (``/api/…``): camelCase shapes and ``meta`` pagination of its spec, over the same core."""

from __future__ import annotations

from starlette.routing import BaseRoute


def routes() -> list[BaseRoute]:
    return []
