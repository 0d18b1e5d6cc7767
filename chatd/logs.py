"""Structured logs: one JSON object per line on stderr, which every log shipper reads.

Credentials never reach a log line: clients of the original Crust server put their JWT in the websocket
URL (``?jwt=…``), and uvicorn logs URLs with their query string (the access log, and every websocket
accept or refusal at INFO). ``RedactCredentials`` replaces such values, on chatd's handler and on uvicorn's
loggers, before any formatter sees them.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import orjson

from .core.clock import iso

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}
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


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": iso(int(record.created * 1000)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
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
