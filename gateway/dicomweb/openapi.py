"""What ``/openapi.json`` says about the DICOMweb routes, which read their parameters and
bodies themselves: the QIDO-RS query keys (PS3.18 10.6.1.2), the rendering parameters
(PS3.18 8.3.5), and the STOW-RS body (``multipart/related; type="application/dicom"``)."""

from __future__ import annotations

from typing import Any


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


QIDO = {
    "parameters": [
        _query("PatientID", "00100020; * and ? are wildcards"),
        _query("PatientName", "00100010; * and ? are wildcards"),
        _query("StudyDate", "00080020: YYYYMMDD, or a range YYYYMMDD-YYYYMMDD"),
        _query("AccessionNumber", "00080050"),
        _query("ModalitiesInStudy", "00080061"),
        _query("StudyInstanceUID", "0020000D: one UID or several, comma-separated"),
        _query("SeriesInstanceUID", "0020000E"),
        _query("Modality", "00080060"),
        _query("includefield", "attributes to return (keyword or tag), or all"),
        _query("limit", "how many matches at most", {"type": "integer", "minimum": 0}),
        _query("offset", "how many matches to skip", {"type": "integer", "minimum": 0}),
        _query("fuzzymatching", "false (fuzzy matching is not offered)"),
    ]
}
RENDERED = {
    "parameters": [
        _query("window", "center,width[,linear]"),
        _query("viewport", "width,height in pixels (at most 4096 each)"),
        _query("quality", "JPEG quality, 1-100", {"type": "integer"}),
    ]
}
STOW = {
    "requestBody": {
        "required": True,
        "content": {
            'multipart/related; type="application/dicom"': {
                "schema": {"type": "string", "format": "binary"}
            }
        },
    }
}
