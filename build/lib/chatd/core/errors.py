"""The one error tree. Faces render it (JSON body, websocket error frame); the core only raises it.

``ChatdError(code, message, fields)`` carries a machine-readable ``code``, a human ``message`` and, for
input errors, ``fields`` naming what was wrong. ``status`` is the HTTP status the edge uses:

- ``BadRequest`` 400 (``invalid``)       ``Unauthenticated`` 401     ``Forbidden`` 403
- ``NotFound`` 404                        ``Conflict`` 409 (archived, duplicate …)
- ``TooLarge`` 413                        ``RateLimited`` 429 (with ``retry_after`` seconds)
- ``Unavailable`` 503: the database cannot serve (unreachable, read-only, broken); ``detail`` says why to
  the operator (logs, the CLI) and is never shown to clients.
"""

from __future__ import annotations

from typing import Any


class ChatdError(Exception):
    status: int = 400
    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.fields = fields or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return body


class BadRequest(ChatdError):
    status = 400
    code = "invalid"

    @classmethod
    def field(cls, name: str, problem: str) -> "BadRequest":
        return cls(f"{name}: {problem}", fields={name: problem})


class Unauthenticated(ChatdError):
    status = 401
    code = "unauthenticated"


class Forbidden(ChatdError):
    status = 403
    code = "forbidden"


class NotFound(ChatdError):
    status = 404
    code = "not_found"


class Conflict(ChatdError):
    status = 409
    code = "conflict"


class TooLarge(ChatdError):
    status = 413
    code = "too_large"


class RateLimited(ChatdError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after + 0.999))


class Unavailable(ChatdError):
    status = 503
    code = "unavailable"
    retry_after = 5

    def __init__(
        self, message: str = "the service is unavailable; try again shortly", *, detail: str = "", reason: str = "unavailable"
    ) -> None:
        super().__init__(message)
        self.detail = detail or message
        self.reason = reason  # a few words for /readyz: what is wrong, without paths or addresses
