"""Structured logs keep patient data out, whatever a log call passes."""

from __future__ import annotations

import io
import json
import logging

from storage.logs import JsonFormatter, TextFormatter


def emit(formatter: logging.Formatter, msg: str, **extra) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger(f"test.{id(formatter)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.warning(msg, extra=extra)
    return stream.getvalue()


def test_json_lines_with_fields_and_patient_fields_redacted():
    line = emit(
        JsonFormatter(),
        "study stored",
        ae_title="WCRM_CT1",
        instances=3,
        patient_name="张三丰",
        patient_id="P0001",
    )
    entry = json.loads(line)
    assert entry["msg"] == "study stored"
    assert entry["ae_title"] == "WCRM_CT1"
    assert entry["instances"] == 3
    assert entry["patient_name"] == entry["patient_id"] == "[redacted]"
    assert "张三丰" not in line
    assert "P0001" not in line


def test_identity_and_phone_numbers_are_masked_anywhere():
    for formatter in (JsonFormatter(), TextFormatter()):
        out = emit(formatter, "lookup for 33070219800101123X failed", detail="call 13812345678")
        assert "33070219800101123X" not in out
        assert "13812345678" not in out
        assert "[redacted-id]" in out
        assert "[redacted-phone]" in out
    # UIDs and AE titles are not mistaken for identifiers
    out = emit(JsonFormatter(), "series 1.2.840.113619.2.55.3.604688119 from TX_CT1")
    assert "1.2.840.113619.2.55.3.604688119" in out
