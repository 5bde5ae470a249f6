"""The FHIR R4 side of the gateway."""
