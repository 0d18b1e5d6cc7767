"""The websocket protocol in one place: close codes, client frame shapes, and server frame builders.

docs/websocket.md describes each frame for client authors; keep the two in step.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import Field

from ..domain.errors import ChatdError
from ..edge.params import Id, Params

# Close codes (RFC 6455 leaves 4000-4999 to applications).
CLOSE_RESTART = 1012  # server shutting down: reconnect (elsewhere) and resume
CLOSE_TOO_BIG = 1009  # a frame above websocket.max_frame_bytes
CLOSE_INTERNAL = 1011  # the server could not go on with this connection: reconnect and resume
CLOSE_UNAUTHENTICATED = 4401  # bad or missing credentials, or no auth frame in time
CLOSE_TOO_SLOW = 4408  # the connection fell behind its queue: reconnect and resume, nothing is lost
CLOSE_RATE_LIMITED = 4429  # kept sending above the rate limit after being told


def encode(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()


def ack(ref: Any, data: Any = None) -> str:
    return encode({"type": "ack", "ref": ref, "data": data})


def error(ref: Any, exc: ChatdError) -> str:
    body = exc.to_dict()
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        body["retry_after"] = retry_after
    return encode({"type": "error", "ref": ref, "error": body})


def error_code(ref: Any, code: str, message: str) -> str:
    return encode({"type": "error", "ref": ref, "error": {"code": code, "message": message}})


class AuthFrame(Params):
    token: str
    resume: dict[str, int] | None = None


class SendFrame(Params):
    channel_id: Id
    contents: str | None = None
    client_msg_id: str | None = None
    reply_to: Id | None = None
    file_ids: list[Id] | None = None


class EditFrame(Params):
    id: Id
    contents: str | None = None


class IdFrame(Params):
    id: Id


class ChannelFrame(Params):
    channel_id: Id


class ReadFrame(Params):
    channel_id: Id
    message_id: Id | None = None


class ResumeFrame(Params):
    channels: dict[str, int] = Field(default_factory=dict)


class HistoryFrame(Params):
    channel_id: Id
    before: Id | None = None
    after: Id | None = None
    limit: int | None = None
    thread: Id | None = None
    include_replies: bool = False


class PresenceFrame(Params):
    status: str
