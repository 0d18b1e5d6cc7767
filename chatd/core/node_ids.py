"""Which snowflake node id this process mints ids with (docs/design.md §3: ids are unique across nodes).

With SQLite and one process, ``server.node_id`` is used as configured. With PostgreSQL several nodes share
the store, and with ``serve --workers N`` several processes share the SQLite file: each leases its node id in
the database, renewing it while it runs. ``node_id = 0``
(the default) takes the lowest free id; an explicit id is taken only if no live node holds it, otherwise
the node refuses to start: two nodes minting the same ids would collide on primary keys.

A ``chatd`` command (``user add``, ``token create``…) is a process of its own, often run while a server runs:
it always leases an id (``NodeLease(core, command=True)``), also on SQLite, and never the id a single SQLite
server mints with unleased (0, or its configured ``server.node_id``), so its ids never collide with the
server's or another command's.

A lease is good for ``LEASE_MS`` from the moment it was last written; the node mints only until
``LEASE_MS - SAFETY_MS`` after that, by its monotonic clock (the margin covers clock skew between nodes,
whose wall clocks judge the lease in the database), so a node that cannot
renew (the database unreachable, or its row taken by another node after it lapsed) stops minting before
anyone else may take its id, and refuses writes with 503 (``ids.IdGenerator``). It keeps trying: a renewal
that succeeds, or a fresh lease when its old id is gone, lets it write again.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from ..domain.codes import Code
from ..domain.errors import Conflict
from ..store import node_leases
from . import background
from .context import Core
from .ids import IdGenerator

log = logging.getLogger("chatd.nodes")
LEASE_MS = 120_000
SAFETY_MS = 30_000
RENEW_SECONDS = 30.0
_GOOD_FOR = (LEASE_MS - SAFETY_MS) / 1000
RETRY_SECONDS = 5.0  # after a failed renewal: the lease is good for three renewals, not three failures


class NodeLease:
    def __init__(self, core: Core, *, command: bool = False) -> None:
        self.core = core
        self.holder = uuid.uuid4().hex
        self.node_id: int | None = None
        self.command = command
        self.leasing = command or not core.db.is_sqlite or core.settings.server.workers > 1

    async def claim(self) -> int:
        """Lease an id and switch the core's id generator to it; raises ``Conflict`` if the configured id is taken."""
        wanted = 0 if self.command else self.core.settings.server.node_id
        if not self.leasing:
            self.node_id = wanted
            return wanted
        now, started = self.core.clock.now_ms(), time.monotonic()
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
                # A command keeps off the configured id too: a single SQLite server mints with it unleased.
                unleased = self.core.settings.server.node_id if self.command else None
                free = [n for n in node_leases.NODE_IDS if n not in held and n != unleased]
                if not free:
                    raise Conflict("every node id (1..1023) is held by a running node", code=Code.NODE_ID_TAKEN)
                chosen = free[0]
            await node_leases.take(conn, chosen, self.holder, now + LEASE_MS)
        self.node_id = chosen
        self.core.ids = IdGenerator(chosen, self.core.clock, valid_until=started + _GOOD_FOR)
        log.info("minting ids as node %d", chosen)
        return chosen

    async def renew(self) -> bool:
        """Extend the lease; if the id was taken meanwhile, lease a new one. False while no lease is held."""
        if not self.leasing or self.node_id is None:
            return True
        now, started = self.core.clock.now_ms(), time.monotonic()
        try:
            async with self.core.db.write() as conn:
                renewed = await node_leases.renew(conn, self.node_id, self.holder, now + LEASE_MS)
        except Exception as exc:
            background.failed(log, f"could not renew the lease on node id {self.node_id}", exc)
            return False
        if renewed:
            self.core.ids.valid_until = started + _GOOD_FOR
            return True
        self.core.ids.valid_until = started
        log.error("another node holds node id %d now: writes are refused until this node leases another", self.node_id)
        try:
            await self.claim()
        except Exception as exc:
            background.failed(log, "could not lease a node id", exc)
            return False
        return True

    async def keep(self) -> None:
        """Renew the lease while the node runs."""
        if not self.leasing or self.node_id is None:
            return
        renewed = True
        while True:
            await asyncio.sleep(RENEW_SECONDS if renewed else RETRY_SECONDS)
            renewed = await self.renew()

    async def release(self) -> None:
        if not self.leasing or self.node_id is None:
            return
        try:
            async with self.core.db.write() as conn:
                await node_leases.release(conn, self.node_id, self.holder)
        except Exception as exc:
            background.failed(log, "could not release the node id lease", exc)
