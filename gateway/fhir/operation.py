"""A FHIR operation as this server declares it: its ``OperationDefinition`` and the routes that
serve it, side by side in one module of :mod:`gateway.fhir.operations`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter

from fhir_profiles.profiles import CANONICAL
from gateway.fhir.context import Fhir

HL7 = "http://hl7.org/fhir/OperationDefinition"


@dataclass(frozen=True)
class Param:
    """One parameter of an operation (``use`` ``in`` or ``out``)."""

    name: str
    use: str
    type: str
    documentation: str
    min: int = 0
    max: str = "1"
    parts: tuple[Param, ...] = ()  # a parameter made of parts has them instead of a type

    def as_fhir(self) -> dict[str, Any]:
        declared = {
            "name": self.name,
            "use": self.use,
            "min": self.min,
            "max": self.max,
            "documentation": self.documentation,
        }
        if self.parts:
            return {**declared, "part": [part.as_fhir() for part in self.parts]}
        return {**declared, "type": self.type}


@dataclass(frozen=True)
class Operation:
    """``code`` on ``resources`` (``Resource``: every type), at the type level, the instance
    level or both; ``mount`` adds its routes to the ``/fhir`` router."""

    code: str
    title: str
    description: str
    resources: tuple[str, ...]
    mount: Callable[[APIRouter, Fhir], None]
    type_level: bool = False
    instance_level: bool = False
    affects_state: bool = False
    parameters: tuple[Param, ...] = ()
    answer: str = ""  # what a non-resource answer holds, when the answer is plain JSON
    base: str | None = None  # the HL7 definition this one implements

    @property
    def id(self) -> str:
        """The OperationDefinition's id, ``Type-code`` as HL7 names its own."""
        return f"{self.resources[0]}-{self.code}"

    @property
    def url(self) -> str:
        return f"{CANONICAL}/OperationDefinition/{self.id}"

    def applies_to(self, resource_type: str) -> bool:
        return "Resource" in self.resources or resource_type in self.resources

    def definition(self) -> dict[str, Any]:
        """The R4 ``OperationDefinition`` served at ``/fhir/OperationDefinition/{id}``."""
        comment = f"Answers a JSON object (application/fhir+json): {self.answer}"
        return {
            "resourceType": "OperationDefinition",
            "id": self.id,
            "url": self.url,
            "name": "".join(part.capitalize() for part in self.id.replace("-", " ").split()),
            "title": self.title,
            "status": "active",
            "kind": "operation",
            "publisher": "Yilian 医联",
            "description": self.description,
            "affectsState": self.affects_state,
            "code": self.code,
            **({"comment": comment} if self.answer else {}),
            **({"base": self.base} if self.base else {}),
            "resource": list(self.resources),
            "system": False,
            "type": self.type_level,
            "instance": self.instance_level,
            **({"parameter": [p.as_fhir() for p in self.parameters]} if self.parameters else {}),
        }

    def capability(self) -> dict[str, str]:
        """Its entry in a CapabilityStatement resource's ``operation`` list."""
        return {"name": self.code, "definition": self.url}
