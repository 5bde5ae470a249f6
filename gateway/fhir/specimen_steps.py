"""The steps of a pathology specimen's way as FHIR operations (``POST
/fhir/Specimen/{id}/$send`` …), in the shape of :mod:`gateway.fhir.resource_steps`: the rules of
:mod:`gateway.workflow.specimens`, the Specimen back.  Each operation module of
:mod:`gateway.fhir.operations` declares one step with :func:`specimen_operation`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from gateway.auth.tokens import Requester
from gateway.fhir.operation import Operation, Param
from gateway.fhir.resource_steps import Way, step_operation
from gateway.workflow import specimens

SPECIMENS: Way[specimens.Shipment] = Way(
    "Specimen", specimens.load, lambda shipment: shipment.specimen, specimens.save, current=True
)


def specimen_operation(
    code: str,
    title: str,
    description: str,
    step: Callable[[Session, Requester, specimens.Shipment, dict[str, Any]], None],
    parameters: tuple[Param, ...] = (),
) -> Operation:
    """The operation ``$code`` on a pathology Specimen."""
    return step_operation(SPECIMENS, code, title, description, step, parameters)
