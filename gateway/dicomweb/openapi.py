"""What ``/openapi.json`` says about the DICOMweb routes, which read their parameters and
bodies themselves: the QIDO-RS query keys (PS3.18 10.6.1.2), the rendering parameters
(PS3.18 8.3.5), and the STOW-RS body (``multipart/related; type="application/dicom"``)."""

from __future__ import annotations

from gateway.openapi import query_parameter

QIDO = {
    "parameters": [
        query_parameter("PatientID", "00100020; * and ? are wildcards"),
        query_parameter("PatientName", "00100010; * and ? are wildcards"),
        query_parameter("StudyDate", "00080020: YYYYMMDD, or a range YYYYMMDD-YYYYMMDD"),
        query_parameter("AccessionNumber", "00080050"),
        query_parameter("ModalitiesInStudy", "00080061"),
        query_parameter("StudyInstanceUID", "0020000D: one UID or several, comma-separated"),
        query_parameter("SeriesInstanceUID", "0020000E"),
        query_parameter("Modality", "00080060"),
        query_parameter("includefield", "attributes to return (keyword or tag), or all"),
        query_parameter("limit", "how many matches at most", {"type": "integer", "minimum": 0}),
        query_parameter("offset", "how many matches to skip", {"type": "integer", "minimum": 0}),
        query_parameter("fuzzymatching", "false (fuzzy matching is not offered)"),
    ]
}
RENDERED = {
    "parameters": [
        query_parameter("window", "center,width[,linear]"),
        query_parameter("viewport", "width,height in pixels (at most 4096 each)"),
        query_parameter("quality", "JPEG quality, 1-100", {"type": "integer"}),
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
