"""The server's logs as plain text or as one JSON object a line (``log_format``).

A JSON line holds the time (UTC, ISO 8601), level, logger and message, and the traceback
when there is one: nothing else from the record, so what a log call did not put in its
message (request bodies, tokens, frames) never reaches the log."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

JSON_HANDLER = "deskwatch.server.ops.logs.json_handler"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class JsonFormatter(logging.Formatter):
    """``{"time": ..., "level": ..., "logger": ..., "message": ...}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def json_handler() -> logging.Handler:
    """JSON lines on stderr; Python's warnings (a library's deprecation notice at import)
    go through logging too, so that no plain-text line slips into a JSON log."""
    logging.captureWarnings(True)
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    return handler


def uvicorn_log_config(fmt: str) -> dict[str, Any] | None:
    """What ``uvicorn.run(log_config=...)`` gets: for ``json``, one JSON handler on the root
    logger that uvicorn's loggers propagate to (each worker applies it as it starts); for
    ``text``, None (uvicorn's own)."""
    if fmt != "json":
        return None
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"stderr": {"()": JSON_HANDLER}},
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {
            name: {"handlers": [], "level": "INFO", "propagate": True} for name in UVICORN_LOGGERS
        },
    }


def configure(fmt: str) -> None:
    """Apply ``log_format`` in this process (the server command does it for uvicorn)."""
    import logging.config

    config = uvicorn_log_config(fmt)
    if config is not None:
        logging.config.dictConfig(config)
