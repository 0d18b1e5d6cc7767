"""The error tree rendered once, at the edge: ``{"error": {"code", "message", "fields"}}`` (docs/design.md §3).

Foreign errors are translated here too: Starlette's routing errors keep their status with a JSON body,
and anything unexpected is logged and becomes a bare 500 JSON without internals. Where a request gets the
Crust envelope (``envelope.py``) the body is the same and only the status changes: 200, as the original
server answered, unless the status is one that the envelope keeps.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..domain.codes import Code
from ..domain.errors import ChatdError, RateLimited, Unavailable
from . import envelope

log = logging.getLogger("chatd.http")

_HTTP_CODES = {
    404: Code.NOT_FOUND, 405: Code.METHOD_NOT_ALLOWED, 413: Code.TOO_LARGE, 400: Code.INVALID,
    416: Code.RANGE_NOT_SATISFIABLE,
}


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> bytes:
    error: dict[str, Any] = {"code": str(code), "message": message}
    if fields:
        error["fields"] = fields
    return orjson.dumps({"error": error})


def _response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _answer(request: Request, status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return _response(envelope.status(status) if envelope.wanted(request) else status, body, headers)


async def chatd_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ChatdError)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, (RateLimited, Unavailable)) else None
    if exc.status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="chatd"'}
    return _answer(request, exc.status, orjson.dumps({"error": exc.to_dict()}), headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, Code.ERROR)
    return _answer(request, exc.status_code, error_body(code, str(exc.detail)), dict(exc.headers or {}) or None)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _response(500, error_body(Code.INTERNAL, "internal server error"))


HANDLERS = {ChatdError: chatd_error, HTTPException: http_error, Exception: unexpected_error}


async def error_response(request: Request, exc: Exception) -> tuple[Response, bool]:
    """The answer to ``exc``, raised while serving ``request``, from ``HANDLERS`` (its nearest class there),
    and whether it was expected: False for the 500 of an error nothing handles."""
    for cls in type(exc).__mro__:
        handler = HANDLERS.get(cls)
        if handler is not None:
            return await handler(request, exc), cls is not Exception
    raise exc  # a BaseException: not ours to answer
