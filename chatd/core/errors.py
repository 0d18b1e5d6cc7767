"""The one error tree. Faces render it (JSON body, websocket error frame); the core only raises it.

``ChatdError(code, message, fields)`` carries a machine-readable ``code``, a human ``message`` and, for
input errors, ``fields`` naming what was wrong. ``status`` is the HTTP status the edge uses:

- ``BadRequest`` 400 (``invalid``)       ``Unauthenticated`` 401     ``Forbidden`` 403
- ``NotFound`` 404                        ``Conflict`` 409 (archived, duplicate …)
- ``TooLarge`` 413                        ``RateLimited`` 429 (with ``retry_after`` seconds)
"""

from __future__ import annotations

from typing import Any

from .codes import Code


class ChatdError(Exception):
    status: int = 400
    code: Code = Code.ERROR

    def __init__(self, message: str, *, code: Code | None = None, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.fields = fields or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": str(self.code), "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return body


class BadRequest(ChatdError):
    status = 400
    code = Code.INVALID

    @classmethod
    def field(cls, name: str, problem: str) -> "BadRequest":
        return cls(f"{name}: {problem}", fields={name: problem})


class Unauthenticated(ChatdError):
    status = 401
    code = Code.UNAUTHENTICATED


class Forbidden(ChatdError):
    status = 403
    code = Code.FORBIDDEN


class NotFound(ChatdError):
    status = 404
    code = Code.NOT_FOUND


class Conflict(ChatdError):
    status = 409
    code = Code.CONFLICT


class TooLarge(ChatdError):
    status = 413
    code = Code.TOO_LARGE


class RateLimited(ChatdError):
    status = 429
    code = Code.RATE_LIMITED

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after + 0.999))
