"""``chatd serve``: prepare the database and the admin account, then run uvicorn until SIGTERM.

On SIGTERM uvicorn stops accepting, the lifespan tells websocket clients to resume elsewhere, and
in-flight requests get ``server.shutdown_grace_seconds`` to finish.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets

import uvicorn

from . import logs
from .app import build_core, create_app
from .config import Settings
from .core import users
from .store import migrations

log = logging.getLogger("chatd")


async def prepare(settings: Settings) -> str | None:
    """Create or upgrade the schema and the first admin; returns a generated admin password, if any."""
    settings.data_path.mkdir(parents=True, exist_ok=True)
    core = build_core(settings)
    try:
        await migrations.upgrade(core.db, core.clock.now_ms())
        password = os.environ.get("CHATD_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        created = await users.ensure_admin(core, password)
    finally:
        await core.db.dispose()
    if created and not os.environ.get("CHATD_ADMIN_PASSWORD"):
        return password
    return None


def serve(settings: Settings) -> int:
    log_config = logs.configure()
    generated = asyncio.run(prepare(settings))
    if generated:
        print(f"created the admin account: username 'admin', password '{generated}' (shown once)", flush=True)
    print(f"chatd serving on http://{settings.server.host}:{settings.server.port}", flush=True)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.server.host,
        port=settings.server.port,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        ws_max_size=settings.websocket.max_frame_bytes,
        ws_per_message_deflate=settings.websocket.compression,
        ws_ping_interval=settings.websocket.ping_interval_seconds,
        ws_ping_timeout=settings.websocket.ping_interval_seconds,
        timeout_graceful_shutdown=int(settings.server.shutdown_grace_seconds),
        log_config=log_config,
        proxy_headers=False,
        access_log=settings.server.access_log,
    )
    uvicorn.Server(config).run()
    return 0
