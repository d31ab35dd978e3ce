"""Log lines as text for a terminal, or one JSON object per line for a log pipeline (LOG_FORMAT).

A line written while a request is served carries that request's id, so every line of one
request (and the `X-Request-ID` the client saw) can be found together. The id lives in a
context variable: each waitress or gunicorn thread serves one request at a time.
"""
from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import datetime, timezone

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, request_id."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """Send the root logger's records to stderr in `log_format` ("text" or "json"), once per process."""
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    for old in [h for h in root.handlers if getattr(h, "_store_monitor", False)]:
        root.removeHandler(old)
    handler._store_monitor = True  # type: ignore[attr-defined]  # ours, replaced by a second call
    root.addHandler(handler)
    root.setLevel(level)
