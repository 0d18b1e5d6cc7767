"""Request bodies are bounded before they are read: 413 with a JSON error, never a server holding 64 MiB.

``bounded`` (applied to every HTTP request by ``front.Front``) gives it ``limits.body_max_bytes``. A route that takes
uploads raises its own request's limit with ``allow_upload`` before it reads the body; nothing else can.
A ``Content-Length`` above the largest limit is refused before the application runs, one above the
request's limit on the first read, and a body without one (chunked) as soon as the bytes counted pass it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from ..config import LimitSettings
from ..domain.errors import TooLarge, byte_size
from .errors import error_body
from .headers import headers_of

# Room for the multipart boundaries, part headers and the small fields around an uploaded file.
MULTIPART_OVERHEAD = 64 * 1024
_SCOPE_KEY = "chatd.body_limit"


def allow_upload(request: Request, file_max_bytes: int) -> None:
    """This request may carry a file of up to ``file_max_bytes`` (plus its multipart framing)."""
    request.scope[_SCOPE_KEY] = file_max_bytes + MULTIPART_OVERHEAD


def _declared_length(scope: Scope) -> int | None:
    value = headers_of(scope).get(b"content-length")
    return int(value) if value is not None and value.isdigit() else None


def _refusal(limit: int) -> TooLarge:
    return TooLarge.over("the request body", limit)


def bounded(scope: Scope, receive: Receive, limits: LimitSettings) -> Receive | None:
    """``receive`` bounded by this request's limit (``limits`` read now, so a changed setting applies at
    once), or None when the declared length is over any request's limit: ``refuse`` answers it."""
    declared = _declared_length(scope)
    body_max = limits.body_max_bytes
    if declared is not None and declared > body_max and declared > limits.upload_max_bytes + MULTIPART_OVERHEAD:
        return None
    scope[_SCOPE_KEY] = body_max
    counted = 0

    async def bounded_receive() -> Message:
        nonlocal counted
        limit: int = scope[_SCOPE_KEY]
        if declared is not None and declared > limit:
            raise _refusal(limit)
        message = await receive()
        if message["type"] == "http.request":
            counted += len(message.get("body", b""))
            if counted > limit:
                raise _refusal(limit)
        return message

    return bounded_receive


async def refuse(send: Send, limits: LimitSettings) -> None:
    """The answer to a request whose declared length is over any limit, before its body is read."""
    said = (f"the request body is larger than any request takes: {byte_size(limits.body_max_bytes)}, "
            f"a file upload {byte_size(limits.upload_max_bytes)}")
    body = error_body("too_large", said)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
