"""The ``/fhir`` router, assembled in one place: the conformance resources, every registered
operation (:mod:`gateway.fhir.operations`), then the REST interactions
(:mod:`gateway.fhir.rest`).  The order matters: a literal path (``/metadata``,
``/Communication/$critical-figures``, ``/Patient/_history``) must be mounted before the
``/{type}/{id}`` pattern that would also match it."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.fhir import operations
from gateway.fhir.context import Fhir
from gateway.fhir.http import PREFIX
from gateway.fhir.rest import conformance, patch, read, search, write
from gateway.fhir.validator import Validator
from storage.platform import Platform


def router(platform: Platform, validation: Validator) -> APIRouter:
    api = APIRouter(prefix=PREFIX, tags=["FHIR"])
    fhir = Fhir(platform, validation)
    conformance.mount(api, fhir)
    for operation in operations.registered():
        operation.mount(api, fhir)
    for interactions in (search, read, write, patch):
        interactions.mount(api, fhir)
    return api
