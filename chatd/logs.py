"""Structured logs: one JSON object per line on stderr, which every log shipper reads.

Every line written while a request is handled carries its ``request_id`` (also sent back in the
``X-Request-ID`` header), so an access log line, a refused login and an error can be matched. Logs
never hold a secret or message contents: callers log ids, names of things and reasons, never bodies.

Credentials never reach a log line: clients of the original Crust server put their JWT in the websocket
URL (``?jwt=…``), and uvicorn logs URLs with their query string (the access log, and every websocket
accept or refusal at INFO). ``RedactCredentials`` replaces such values, on chatd's handler and on uvicorn's
loggers, before any formatter sees them.
"""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from typing import Any

import orjson

from .core.clock import iso

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}
request_id: ContextVar[str | None] = ContextVar("chatd_request_id", default=None)
#: Set by the websocket endpoint when it answers an upgrade with an HTTP refusal (see ``DeniedHandshake``).
websocket_denied: ContextVar[bool] = ContextVar("chatd_websocket_denied", default=False)
_INCOMPLETE_HANDSHAKE = "ASGI callable returned without completing handshake."
_CREDENTIAL_IN_URL = re.compile(r"([?&]jwt=)[^&\s\"']*", re.IGNORECASE)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    return _CREDENTIAL_IN_URL.sub(r"\1" + REDACTED, text)


def _redact_arg(arg: Any) -> Any:
    """Strings, and objects that print as a URL (``httpx.URL``): their text, redacted. Numbers stay numbers."""
    if isinstance(arg, (int, float)) or arg is None:
        return arg
    text = arg if isinstance(arg, str) else str(arg)
    redacted = redact(text)
    return redacted if redacted != text else arg


class RedactCredentials(logging.Filter):
    """Blanks credentials carried in URLs, in the message and in its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redact_arg(arg) for key, arg in record.args.items()}
        return True


class DeniedHandshake(logging.Filter):
    """uvicorn's websockets-sansio protocol (0.54 at least) logs "ASGI callable returned without completing
    handshake." at error after every websocket upgrade refused with an HTTP answer (401, 503…), although it
    sent that answer (its pull request 3138 fixes it). Unfiltered, every client retrying during a database
    outage would add an error line. The line is dropped only for a connection chatd refused: a handler that
    really returned without answering still logs it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (websocket_denied.get() and record.msg == _INCOMPLETE_HANDSHAKE)


def quiet_denied_handshakes() -> None:
    """Install ``DeniedHandshake`` on uvicorn's error logger, once (logger filters survive its log config)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, DeniedHandshake) for f in logger.filters):
        logger.addFilter(DeniedHandshake())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": iso(int(record.created * 1000)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = request_id.get()
        if current is not None:
            entry["request_id"] = current
        entry.update({key: value for key, value in record.__dict__.items() if key not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure(level: str = "INFO") -> dict[str, Any]:
    """Route chatd's and uvicorn's logs through the JSON formatter; returns uvicorn's ``log_config``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactCredentials())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logger = {"level": level, "propagate": True, "filters": ["redact"]}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactCredentials}},
        "loggers": {name: dict(logger) for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }
