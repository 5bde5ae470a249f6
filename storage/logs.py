"""Structured (JSON-lines) logging that keeps patient data out of the logs.

Log calls pass facts as ``extra={...}``.  Fields whose names denote patient data are dropped, and
anything shaped like a resident identity number (身份证号) or a mobile number is masked in every
message and field, so a careless log line cannot leak an identifier.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

# Names of ``extra`` fields that carry patient data and must never be written.
PATIENT_FIELDS = frozenset(
    {
        "patient_id",
        "patient_name",
        "patient_birth_date",
        "birth_date",
        "id_number",
        "health_card",
        "phone",
        "address",
    }
)
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def scrub(text: str) -> str:
    return _MOBILE.sub("[redacted-phone]", _ID_NUMBER.sub("[redacted-id]", text))


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, value in vars(record).items():
        if key in _STANDARD or key.startswith("_") or key == "color_message":
            continue
        if key in PATIENT_FIELDS:
            fields[key] = "[redacted]"
        elif isinstance(value, str):
            fields[key] = scrub(value)
        elif isinstance(value, int | float | bool) or value is None:
            fields[key] = value
        else:
            fields[key] = scrub(repr(value))
    return fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
            **_fields(record),
        }
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        line = f"{self.formatTime(record)} {record.levelname:<7} {record.name}: "
        line += scrub(record.getMessage()) + (f" {fields}" if fields else "")
        if record.exc_info:
            line += "\n" + scrub(self.formatException(record.exc_info))
        return line


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Third-party loggers that would otherwise print dataset contents or request lines.
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
