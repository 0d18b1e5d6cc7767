"""The credential sweep: every few seconds, re-check the credentials of this node's open sockets in bulk.

Revocations made by a server reach the sockets at once (the hub acts on the revocation event). This
catches what no event announces: a session that expired while its socket stayed open, and changes made
by another process without a shared bus, such as ``chatd user deactivate`` next to a single SQLite node.
"""

from __future__ import annotations

import asyncio
import logging

from ..core import background
from ..core.admin import dead_credentials
from ..core.context import Core
from . import protocol
from .hub import Hub

log = logging.getLogger("chatd.websocket")


def sweep_interval(core: Core) -> float:
    """As long as a node may trust a cached credential (``auth.credential_cache_seconds``), at least 1 s."""
    return max(core.settings.auth.credential_cache_seconds, 1.0)


async def sweep_once(hub: Hub, core: Core) -> int:
    """Close the sockets whose credential no longer holds; returns how many."""
    conns = list(hub.connections())
    dead = {id(p) for p in await dead_credentials(core, [c.principal for c in conns])}
    closed = 0
    for conn in conns:
        if id(conn.principal) in dead and conn.closing is None:
            core.credentials.forget_user(conn.user_id)
            conn.close(protocol.CLOSE_UNAUTHENTICATED, "credentials revoked")
            closed += 1
    return closed


async def sweep_forever(hub: Hub, core: Core) -> None:
    while True:
        await asyncio.sleep(sweep_interval(core))
        try:
            closed = await sweep_once(hub, core)
            if closed:
                log.info("closed %d websocket(s) whose credentials no longer hold", closed)
        except Exception as exc:
            background.failed(log, "credential sweep failed", exc)
