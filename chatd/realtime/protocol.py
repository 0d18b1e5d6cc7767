"""The websocket protocol in one place: close codes, client frame shapes, and server frame builders.

docs/websocket.md describes each frame for client authors; keep the two in step.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import Field

from ..domain.codes import Code
from ..domain.errors import BadRequest, ChatdError
from ..edge.bounds import INT_MAX, INT_MIN, LONG_TEXT_MAX_CHARS
from ..edge.params import Id, Params

# Close codes (RFC 6455 leaves 4000-4999 to applications).
CLOSE_RESTART = 1012  # server shutting down: reconnect (elsewhere) and resume
CLOSE_TOO_BIG = 1009  # a frame above websocket.max_frame_bytes
CLOSE_INTERNAL = 1011  # the server could not go on with this connection: reconnect and resume
CLOSE_TRY_AGAIN = 1013  # the database cannot serve now (an outage): reconnect after a moment and resume
CLOSE_UNAUTHENTICATED = 4401  # bad or missing credentials, or no auth frame in time
CLOSE_TOO_SLOW = 4408  # the connection fell behind its queue: reconnect and resume, nothing is lost
CLOSE_RATE_LIMITED = 4429  # kept sending above the rate limit after being told


REF_MAX_CHARS = 128
# Frames that change something: each spends one of the user's writes (core.write_limit), as HTTP writes do.
WRITES = frozenset({"message.send", "message.edit", "message.remove", "typing", "read", "join", "part", "presence"})


def ref_of(frame: dict[str, Any]) -> Any:
    """The client's ``ref``, echoed in every answer: null, a number or a string of at most 128 characters.
    Anything else is refused, never echoed (a deeply nested one could not even be encoded)."""
    ref = frame.get("ref")
    if ref is None or isinstance(ref, float) or (isinstance(ref, str) and len(ref) <= REF_MAX_CHARS):
        return ref
    if isinstance(ref, int) and not isinstance(ref, bool) and INT_MIN <= ref <= INT_MAX:
        return ref
    raise BadRequest.field("ref", f"must be a number or a string of at most {REF_MAX_CHARS} characters")


def encode(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()


def stored(channel_id: int, seq: int, type_: str, event: str, payload: str) -> bytes:
    """A stored event's frame, the bytes ``encode(event.envelope())`` makes, from its payload as stored
    (JSON written by orjson) without parsing it: a replay sends thousands of these."""
    return b'{"type":%b,"event":%b,"channel_id":"%d","seq":%d,"data":%b}' % (
        orjson.dumps(type_), orjson.dumps(event), channel_id, seq, payload.encode())


def ack(ref: Any, data: Any = None) -> str:
    return encode({"type": "ack", "ref": ref, "data": data})


def error(ref: Any, exc: ChatdError) -> str:
    body = exc.to_dict()
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        body["retry_after"] = retry_after
    return encode({"type": "error", "ref": ref, "error": body})


def error_code(ref: Any, code: Code, message: str) -> str:
    return encode({"type": "error", "ref": ref, "error": {"code": code, "message": message}})


class AuthFrame(Params):
    token: str
    resume: dict[str, int] | None = None


class SendFrame(Params):
    channel_id: Id
    contents: str | None = Field(None, max_length=LONG_TEXT_MAX_CHARS)
    client_msg_id: str | None = None
    reply_to: Id | None = None
    file_ids: list[Id] | None = None


class EditFrame(Params):
    id: Id
    contents: str | None = Field(None, max_length=LONG_TEXT_MAX_CHARS)


class IdFrame(Params):
    id: Id


class ChannelFrame(Params):
    channel_id: Id


class TypingFrame(ChannelFrame):
    """``typing``: in the channel's own box, or with ``thread_id`` (the thread's first message) in a thread's.
    The thread is not looked up: typing is ephemeral and cheap, and only the channel's readers receive it."""

    thread_id: Id | None = None


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
