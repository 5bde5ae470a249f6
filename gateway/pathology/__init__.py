"""Pathology as FHIR: the immunohistochemistry results of a report (:mod:`.ihc`)."""
