"""``build_core(settings)``: the one composition of store, clock, ids, files and caches that every entry point
shares (the server's app, each ``chatd`` command, the benchmark's fill).

It lives in the core rather than beside the app so that a command imports the core and the store only: the
faces, the websocket and the HTTP stack are half of ``chatd``'s import time, and an operator's ``chatd user
add`` waited for them on every run.
"""

from __future__ import annotations

from ..config import Settings
from ..store.blobs import LocalBlobs
from ..store.db import Database
from .clock import Clock
from .context import Core
from .credential_cache import CredentialCache
from .ids import IdGenerator
from .passwords import Passwords
from .ports import NullPublisher, Publisher
from .throttle import LoginThrottle
from .write_limit import WriteLimiter


def build_core(settings: Settings, clock: Clock | None = None, publisher: Publisher | None = None) -> Core:
    clock = clock or Clock()
    return Core(
        settings=settings,
        db=Database(settings.database),
        clock=clock,
        ids=IdGenerator(settings.server.node_id, clock),
        publisher=publisher or NullPublisher(),
        files=LocalBlobs(settings.data_path / "files"),
        passwords=Passwords(settings.auth.argon2_time_cost, settings.auth.argon2_memory_kib),
        throttle=LoginThrottle(clock, settings.auth),
        credentials=CredentialCache(settings.auth.credential_cache_seconds, clock),
        write_limit=WriteLimiter(clock, settings.limits),
    )
