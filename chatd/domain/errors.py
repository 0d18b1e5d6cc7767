"""The one error tree. The core raises it (and the store, when a unique key is taken); the edge renders it once
(a JSON body or a websocket error frame).

``ChatdError(code, message, fields)`` carries a machine-readable ``code``, a human ``message`` and, for
input errors, ``fields`` naming what was wrong. ``status`` is the HTTP status the edge uses:

- ``BadRequest`` 400 (``invalid``)       ``Unauthenticated`` 401     ``Forbidden`` 403
- ``NotFound`` 404                        ``Conflict`` 409 (archived, duplicate …)
- ``TooLarge`` 413                        ``RateLimited`` 429 (with ``retry_after`` seconds)
- ``Unavailable`` 503: this node cannot serve now — the database cannot (unreachable, read-only, broken), or
  its node id lease lapsed; ``detail`` says why to the operator (logs, the CLI) and is never shown to clients.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping

from .codes import Code

Rename = Mapping[str, str] | Callable[[str], str]


def _lookup(names: Mapping[str, str]) -> Callable[[str], str]:
    return lambda field: names.get(field, field)


class ChatdError(Exception):
    status: int = 400
    code: Code = Code.ERROR

    def __init__(self, message: str, *, code: Code | None = None, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.fields = fields or {}

    def rename_fields(self, rename: Rename | None = None, *, item: str | None = None) -> None:
        """Name the fields as a request named them: ``rename`` maps the core's names to a face's (a mapping,
        or a function such as snake_case to camelCase); ``item`` puts them under one item of a bulk request
        (``data.3.email``), and an error without fields then names the item itself."""
        if rename is not None and self.fields:
            names = rename if callable(rename) else _lookup(rename)
            self.fields = {names(field): problem for field, problem in self.fields.items()}
            self.message = "; ".join(f"{field}: {problem}" for field, problem in self.fields.items())
        if item is not None:
            self.fields = {f"{item}.{field}": problem for field, problem in self.fields.items()} or {item: self.message}
            self.message = f"{item}: {self.message}"

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

    @classmethod
    def over(cls, what: str, limit: int) -> TooLarge:
        """``what`` is larger than ``limit`` bytes, said as people read sizes ("25 MiB"), exact bytes after."""
        return cls(f"{what} is larger than {byte_size(limit)} ({limit:,} bytes)")


def byte_size(count: int) -> str:
    """A size as people read it: 900 bytes, 1.5 KiB, 25 MiB (binary units, as the settings' defaults)."""
    if count < 1024:
        return f"{count} bytes"
    value, unit = float(count), "bytes"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024:
            break
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"


class RateLimited(ChatdError):
    status = 429
    code = Code.RATE_LIMITED

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after + 0.999))


@contextmanager
def fields_renamed(rename: Rename | None = None, *, item: str | None = None) -> Iterator[None]:
    """Errors raised inside name their fields as ``ChatdError.rename_fields`` says: the one place fields
    are renamed, for a face's vocabulary and for the items of bulk requests alike."""
    try:
        yield
    except ChatdError as exc:
        exc.rename_fields(rename, item=item)
        raise


class Unavailable(ChatdError):
    status = 503
    code = Code.UNAVAILABLE
    retry_after = 5

    def __init__(
        self, message: str = "the service is unavailable; try again shortly", *, detail: str = "", reason: str = "unavailable"
    ) -> None:
        super().__init__(message)
        self.detail = detail or message
        self.reason = reason  # a few words for /readyz: what is wrong, without paths or addresses
