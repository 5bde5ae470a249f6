"""Every FHIR operation this server offers, one module each: the module's ``OPERATION`` declares
its ``OperationDefinition`` next to the handler that serves it.

This package is the one registry: :func:`registered` finds the modules, the ``/fhir`` router
mounts their routes, ``/fhir/OperationDefinition`` serves their definitions and the
CapabilityStatement lists them.  Adding an operation is adding one module here.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from gateway.fhir.operation import Operation


@cache
def registered() -> tuple[Operation, ...]:
    """The operations, in the order of their modules' names."""
    found = []
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        operation = getattr(importlib.import_module(f"{__name__}.{module}"), "OPERATION", None)
        if not isinstance(operation, Operation):
            raise TypeError(f"{__name__}.{module} declares no OPERATION")
        found.append(operation)
    return tuple(found)


def by_id() -> dict[str, Operation]:
    return {operation.id: operation for operation in registered()}
