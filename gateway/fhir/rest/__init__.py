"""The FHIR REST interactions (``/fhir``), grouped by kind: the conformance resources, search,
reads and history, and writes (with transaction and batch Bundles).  Each module's ``mount``
adds its routes to the one ``/fhir`` router that :mod:`gateway.fhir.routes` assembles.

A resource id in their paths is ``{resource_id:fhir_id}``: any segment but ``$name``.  The
reads can then be tried before the operations' ``/{type}/$name`` paths, and a request for an
unknown operation finds no write route to answer 405 with."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class _NotAnOperation(Convertor[str]):
    regex = r"[^/$][^/]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("fhir_id", _NotAnOperation())
