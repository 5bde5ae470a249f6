"""The operation registry: one module, one operation, found without being named anywhere."""

from __future__ import annotations

import pkgutil

from gateway.fhir import operations


def test_every_module_of_the_package_is_one_registered_operation():
    modules = [m.name for m in pkgutil.iter_modules(operations.__path__)]
    registered = operations.registered()
    assert len(registered) == len(modules) >= 8
    assert len({op.id for op in registered}) == len(registered)


def test_definitions_state_their_level_and_parameters():
    definitions = {op.id: op.definition() for op in operations.registered()}
    acknowledge = definitions["Communication-acknowledge"]
    assert (acknowledge["instance"], acknowledge["type"], acknowledge["system"]) == (
        True, False, False,
    )  # fmt: skip
    assert acknowledge["affectsState"] is True
    assert {p["name"]: p["use"] for p in acknowledge["parameter"]} == {
        "readBack": "in",
        "return": "out",
    }
    figures = definitions["ServiceRequest-turnaround-figures"]
    assert (figures["type"], figures["instance"]) == (True, False)
    assert {p["name"] for p in figures["parameter"]} == {"since", "until"}
    assert definitions["Resource-validate"]["base"].endswith("/Resource-validate")
    assert all(d["url"].endswith(f"/OperationDefinition/{d['id']}") for d in definitions.values())
