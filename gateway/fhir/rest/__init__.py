"""The FHIR REST interactions (``/fhir``), grouped by kind: the conformance resources, search,
reads and history, and writes (with transaction and batch Bundles).  Each module's ``mount``
adds its routes to the one ``/fhir`` router that :mod:`gateway.fhir.routes` assembles."""
