"""Prometheus metrics of the DICOM node (no identifiers in labels)."""

from prometheus_client import Counter

ASSOCIATIONS = Counter("yilian_dicom_associations_total", "DICOM association requests", ["outcome"])
DIMSE = Counter("yilian_dicom_dimse_total", "DIMSE requests answered", ["service", "status"])
