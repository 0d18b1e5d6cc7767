"""``/websocket/client``: authenticate (header, cookie, or an ``auth`` frame), check ``Origin``, send
``ready``, then read client frames until the connection ends.

Bad credentials sent with the upgrade get an HTTP 401 before it (where the server supports denial
responses); a bad or missing ``auth`` frame gets close code 4401. A disallowed ``Origin`` gets 403.
Malformed frames get ``error`` frames, never a disconnect; only abuse (rate, size) closes the connection.

A database outage is not the client's fault: an upgrade that cannot be authenticated gets 503 (never 401,
which would make a client drop its credentials), a connection that cannot read its ``ready`` snapshot is
closed with 1013 (try again later), and a frame that needs the store gets an ``error`` frame ``unavailable``
with ``retry_after`` while the socket stays open.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from .. import logs
from ..core.auth import authenticate
from ..domain.codes import Code
from ..domain.errors import ChatdError, RateLimited, Unavailable
from ..domain.models import Principal
from ..edge.auth import socket_credential
from ..edge.browser import OriginRule, normalise_origin
from ..edge.errors import error_body
from ..edge.params import validate
from ..edge.responses import JSON
from . import protocol, resume, session
from .connection import Connection
from .handlers import HANDLERS
from .hub import Hub
from .rate import TokenBucket

log = logging.getLogger("chatd.websocket")


def origin_allowed(websocket: WebSocket, rule: OriginRule) -> bool:
    """No Origin (not a browser): allowed. Else the one origin rule of every face (``edge/browser.py``)."""
    if "origin" not in websocket.headers:
        return True
    return rule.trusted(normalise_origin(websocket.headers["origin"]), websocket.scope)


_DENIAL_CLOSE = {401: protocol.CLOSE_UNAUTHENTICATED, 503: protocol.CLOSE_TRY_AGAIN}


async def _deny(
    websocket: WebSocket, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> None:
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        logs.websocket_denied.set(True)  # uvicorn's spurious line about it is dropped (``logs.DeniedHandshake``)
        body = orjson.loads(error_body(code, message))
        await websocket.send_denial_response(JSON(body, status_code=status, headers=headers))
    else:
        await websocket.close(_DENIAL_CLOSE.get(status, 1008), message)


async def _auth_frame(websocket: WebSocket, timeout: float) -> tuple[Principal, dict[str, int] | None] | None:
    core = websocket.app.state.core
    try:
        text = await asyncio.wait_for(websocket.receive_text(), timeout)
        frame = validate(protocol.AuthFrame, orjson.loads(text))
        principal = await authenticate(core, frame.token, "")
    except Unavailable as exc:
        await websocket.close(protocol.CLOSE_TRY_AGAIN, exc.message)
        return None
    except (asyncio.TimeoutError, ChatdError, orjson.JSONDecodeError, TypeError, KeyError, RuntimeError):
        await websocket.close(protocol.CLOSE_UNAUTHENTICATED, "authentication required")
        return None
    return principal, frame.resume


async def websocket_client(websocket: WebSocket) -> None:
    core = websocket.app.state.core
    hub: Hub = websocket.app.state.hub
    settings = core.settings
    if not origin_allowed(websocket, OriginRule(settings.server.allowed_origins)):
        await _deny(websocket, 403, Code.CROSS_SITE, "origin not allowed: add it to server.allowed_origins")
        return
    principal: Principal | None = None
    if secret := socket_credential(websocket):
        try:
            principal = await authenticate(core, secret, websocket.headers.get("x-client-id", "").strip())
        except Unavailable as exc:
            await _deny(websocket, exc.status, exc.code, exc.message, {"Retry-After": str(exc.retry_after)})
            return
        except ChatdError as exc:
            await _deny(websocket, 401, exc.code, exc.message)
            return
    await websocket.accept()
    resume_state: dict[str, int] | None = None
    if principal is None:
        found = await _auth_frame(websocket, settings.websocket.auth_timeout_seconds)
        if found is None:
            return
        principal, resume_state = found
    conn = Connection(websocket, principal, core)
    if websocket.query_params.get("resume") in ("1", "true") or resume_state is not None:
        resume.hold(conn)
    core.probe.websocket_opened()
    try:
        # The ready frame is not kept: it would stay alive as long as the connection.
        await websocket.send_text(protocol.encode(await session.start(hub, conn)))
        conn.start()
        await hub.announce_presence(conn)
        resume.begin(hub, conn, resume_state)
        await _read_frames(hub, conn)
    except WebSocketDisconnect:
        pass
    except Unavailable as exc:  # no ready snapshot without the store: the client comes back and resumes
        conn.close(protocol.CLOSE_TRY_AGAIN, exc.message)
    finally:
        hub.unregister(conn)
        core.probe.websocket_closed(conn.closing)
        if conn.closer is not None:  # let our close frame (with its code) out before the socket goes
            await asyncio.gather(conn.closer, return_exceptions=True)
        conn.closing = conn.closing or 1000
        if conn.writer is not None:
            conn.writer.cancel()
        try:
            await hub.announce_presence(conn)
        except Exception:
            log.exception("presence update failed")


async def _read_frames(hub: Hub, conn: Connection) -> None:
    websocket = conn.websocket
    limits = conn.core.settings.websocket
    bucket = TokenBucket(limits.rate_limit_per_second, limits.rate_limit_burst, conn.core.clock)
    while conn.closing is None:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        raw = message.get("text")
        if raw is None:
            raw = (message.get("bytes") or b"").decode("utf-8", "replace")
        if len(raw) > limits.max_frame_bytes:
            conn.close(protocol.CLOSE_TOO_BIG, "frame too big")
            return
        wait = bucket.take()
        if wait:
            if bucket.strikes > limits.rate_limit_burst:
                conn.close(protocol.CLOSE_RATE_LIMITED, "rate limit exceeded")
                return
            conn.reply(protocol.error(_ref_of(raw), RateLimited("slow down: too many frames", retry_after=wait)))
            continue
        async with conn.request():  # its answer goes out before the events it causes
            await _dispatch(hub, conn, raw)


def _ref_of(raw: str) -> Any:
    """The ``ref`` of a frame we refuse without handling, so the client can match the refusal."""
    try:
        frame = orjson.loads(raw)
        return protocol.ref_of(frame) if isinstance(frame, dict) else None
    except (orjson.JSONDecodeError, ChatdError):
        return None


async def _dispatch(hub: Hub, conn: Connection, raw: str) -> None:
    ref: Any = None
    try:
        frame = orjson.loads(raw)
    except orjson.JSONDecodeError:
        conn.reply(protocol.error_code(None, Code.BAD_JSON, "the frame is not valid JSON"))
        return
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        conn.reply(protocol.error_code(None, Code.BAD_FRAME, 'a frame is a JSON object with a string "type"'))
        return
    try:
        ref = protocol.ref_of(frame)
    except ChatdError as exc:
        conn.reply(protocol.error(None, exc))
        return
    handler = HANDLERS.get(frame["type"])
    if handler is None:
        conn.reply(protocol.error_code(ref, Code.UNKNOWN_TYPE, f"unknown frame type {frame['type'][:64]!r}"))
        return
    try:
        if frame["type"] in protocol.WRITES and conn.core.write_limit is not None:
            conn.core.write_limit.take(conn.user_id)
        await handler(hub, conn, frame, ref)
    except ChatdError as exc:
        conn.reply(protocol.error(ref, exc))
    except Exception:
        log.exception("frame %s failed", frame["type"])
        conn.reply(protocol.error_code(ref, Code.INTERNAL, "internal error"))


routes: list[BaseRoute] = [WebSocketRoute("/websocket/client", websocket_client)]
