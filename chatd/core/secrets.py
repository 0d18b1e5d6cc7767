"""The server secret that every signature chatd makes derives its key from (upload policies, Crust JWTs).

``server.secret_key`` when the operator sets one. Otherwise the first node to start makes one and keeps it
in the store, and every later start, on this node or another, reads that same one. It used to be kept in
each node's data directory: two nodes with their own directories then signed with different keys, so an
upload policy issued by one node was refused by the next (403), and a Crust JWT would have been too (401).
The store is the one thing all nodes of a deployment share.

Each use derives its own key (``derived_key``), so a signature made for one purpose never verifies for
another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from ..store import secrets as secret_store
from .context import Core

_NAME = "server_secret"


async def load(core: Core) -> None:
    """Called once at start, after the schema is current: fills ``core.secret``."""
    configured = core.settings.server.secret_key
    if configured:
        core.secret = configured
        return
    candidate = base64.urlsafe_b64encode(os.urandom(32)).decode()
    async with core.transaction() as tx:
        core.secret = await secret_store.keep_first(tx.conn, _NAME, candidate, tx.now)


def derived_key(core: Core, purpose: bytes) -> bytes:
    """A key for ``purpose`` only: HMAC-SHA256 of the purpose under the server secret."""
    if not core.secret:
        raise RuntimeError("the server secret is not loaded (chatd.core.secrets.load runs at start)")
    return hmac.new(core.secret.encode(), purpose, hashlib.sha256).digest()
