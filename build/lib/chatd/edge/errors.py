"""The error tree rendered once, at the edge: ``{"error": {"code", "message", "fields"}}`` (docs/design.md §3).

Foreign errors are translated here too: Starlette's routing errors keep their status with a JSON body,
and anything unexpected is logged and becomes a bare 500 JSON without internals.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..core.errors import ChatdError, RateLimited, Unavailable

log = logging.getLogger("chatd.http")

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 400: "invalid"}


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return orjson.dumps({"error": error})


def _response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


async def chatd_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ChatdError)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, (RateLimited, Unavailable)) else None
    if exc.status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="chatd"'}
    return _response(exc.status, orjson.dumps({"error": exc.to_dict()}), headers)


async def http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    return _response(exc.status_code, error_body(code, str(exc.detail)), dict(exc.headers or {}) or None)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _response(500, error_body("internal", "internal server error"))


HANDLERS = {ChatdError: chatd_error, HTTPException: http_error, Exception: unexpected_error}
