"""Structured logs: one JSON object per line on stderr, which every log shipper reads.

Every line written while a request is handled carries its ``request_id`` (also sent back in the
``X-Request-ID`` header), so an access log line, a refused login and an error can be matched. Logs
never hold a secret or message contents: callers log ids, names of things and reasons, never bodies.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Any

import orjson

from .core.clock import iso

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}
request_id: ContextVar[str | None] = ContextVar("chatd_request_id", default=None)


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
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {name: {"level": level, "propagate": True} for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }
