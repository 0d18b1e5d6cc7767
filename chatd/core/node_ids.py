"""Which snowflake node id this process mints ids with (docs/design.md §3: ids are unique across nodes).

With SQLite there is one process, and ``server.node_id`` is used as configured. With PostgreSQL several
nodes share the store: each leases its node id in the database, renewing it while it runs. ``node_id = 0``
(the default) takes the lowest free id; an explicit id is taken only if no live node holds it, otherwise
the node refuses to start: two nodes minting the same ids would collide on primary keys.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from ..domain.codes import Code
from ..domain.errors import Conflict
from ..store import node_leases
from .context import Core
from .ids import IdGenerator

log = logging.getLogger("chatd.nodes")
LEASE_MS = 120_000
RENEW_SECONDS = 30.0


class NodeLease:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.holder = uuid.uuid4().hex
        self.node_id: int | None = None

    async def claim(self) -> int:
        """Lease an id and switch the core's id generator to it; raises ``Conflict`` if the configured id is taken."""
        wanted = self.core.settings.server.node_id
        if self.core.db.is_sqlite:
            self.node_id = wanted
            return wanted
        now = self.core.clock.now_ms()
        async with self.core.db.write() as conn:
            await node_leases.serialise(conn)
            held = await node_leases.holders(conn, now)
            if wanted:
                if wanted in held:
                    raise Conflict(
                        f"server.node_id {wanted} is held by another running node; give each node its own id "
                        "or leave node_id = 0 to have one assigned",
                        code=Code.NODE_ID_TAKEN,
                    )
                chosen = wanted
            else:
                free = [n for n in node_leases.NODE_IDS if n not in held]
                if not free:
                    raise Conflict("every node id (1..1023) is held by a running node", code=Code.NODE_ID_TAKEN)
                chosen = free[0]
            await node_leases.take(conn, chosen, self.holder, now + LEASE_MS)
        self.node_id = chosen
        self.core.ids = IdGenerator(chosen, self.core.clock)
        log.info("minting ids as node %d", chosen)
        return chosen

    async def keep(self) -> None:
        """Renew the lease while the node runs."""
        if self.core.db.is_sqlite or self.node_id is None:
            return
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                async with self.core.db.write() as conn:
                    renewed = await node_leases.renew(
                        conn, self.node_id, self.holder, self.core.clock.now_ms() + LEASE_MS
                    )
                if not renewed:
                    log.error("lost the lease on node id %d (the store was unreachable for too long?)", self.node_id)
            except Exception:
                log.exception("could not renew the node id lease")

    async def release(self) -> None:
        if self.core.db.is_sqlite or self.node_id is None:
            return
        try:
            async with self.core.db.write() as conn:
                await node_leases.release(conn, self.node_id, self.holder)
        except Exception:
            log.exception("could not release the node id lease")
