"""The ``/fhir`` router, assembled in one place: the conformance resources, the searches and
reads, every registered operation (:mod:`gateway.fhir.operations`), then the writes
(:mod:`gateway.fhir.rest`).  The order matters: a literal path (``/metadata``,
``/Patient/_history``) must be mounted before the ``/{type}`` or ``/{type}/{id}`` pattern that
would also match it; a resource id is never ``$name`` (:mod:`gateway.fhir.rest`), so the
reads come before the operations.  Routes are tried in this order at a few microseconds each:
the most used come first."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.fhir import operations
from gateway.fhir.context import Fhir
from gateway.fhir.http import PREFIX
from gateway.fhir.rest import conformance, patch, read, search, write
from gateway.fhir.validator import Validator
from gateway.routing import PrefixRouter
from storage.platform import Platform


def router(platform: Platform, validation: Validator) -> APIRouter:
    api = PrefixRouter(prefix=PREFIX, tags=["FHIR"])
    fhir = Fhir(platform, validation)
    conformance.mount(api, fhir)
    search.mount(api, fhir)
    read.mount(api, fhir)
    for operation in operations.registered():
        operation.mount(api, fhir)
    write.mount(api, fhir)
    patch.mount(api, fhir)
    return api
