"""What a refusal looks like to a client program: the server's error ``code``, ``message`` and ``fields``."""

from __future__ import annotations

from typing import Any


class ChatError(Exception):
    """The server refused a request: ``code`` and ``message`` as in its error body (``fields`` per field)."""

    def __init__(
        self, code: str, message: str, fields: dict[str, Any] | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.retry_after = retry_after

    @classmethod
    def from_body(cls, body: Any, default: str = "error") -> "ChatError":
        """From an ``error`` object (websocket) or ``{"error": {...}}`` (HTTP)."""
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            body = body["error"]
        if not isinstance(body, dict):
            return cls(default, str(body) if body else default)
        kind = AuthError if body.get("code") in ("unauthenticated", "bad_credentials") else cls
        return kind(str(body.get("code") or default), str(body.get("message") or ""), body.get("fields"), body.get("retry_after"))


class AuthError(ChatError):
    """The credentials were refused (HTTP 401 or close code 4401): reconnecting will not help."""


class ConnectionLost(ChatError):
    """The connection ended before the answer came, for a request that is not safe to repeat."""

    def __init__(self, message: str = "the connection was lost before the server answered") -> None:
        super().__init__("disconnected", message)
