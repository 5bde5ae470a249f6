"""Build ``r4/constraints.json`` from the official R4 StructureDefinitions, ValueSets and
CodeSystems:

    python -m fhir_profiles.build_constraints hl7.fhir.r4.examples-4.0.1.tgz

Per resource type Yilian serves:

- ``invariants``: the error-severity FHIRPath constraints of the type's own elements (``obs-3``
  on ``Observation.referenceRange``, ``dom-2`` on the root…), without the generic ``ele-1`` /
  ``ext-1`` (the models check those) and without any that fhirpathpy cannot run or that an
  official example of the type fails (then fhirpathpy reads it differently from the spec; they
  are listed in ``skipped`` with the reason; a shared one skipped on one type is skipped on
  all);
- ``bindings``: the elements with a *required* binding to a value set whose codes the package
  enumerates (no filters, no external code systems), with those codes.
"""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path
from typing import Any

from fhirpathpy import evaluate

from fhir_profiles.validation import SUPPORTED_TYPES

OUTPUT = Path(__file__).with_name("r4") / "constraints.json"
GENERIC = ("ele-", "ext-")


def _load(archive: Path) -> dict[str, dict[str, Any]]:
    """The package's resources by ``Type/id``, and the examples by type."""
    resources: dict[str, dict[str, Any]] = {}
    with tarfile.open(archive) as package:
        for member in package.getmembers():
            if not (member.isfile() and member.name.endswith(".json")):
                continue
            handle = package.extractfile(member)
            assert handle is not None
            try:
                resource = json.loads(handle.read())
            except ValueError:
                continue
            if isinstance(resource, dict) and "resourceType" in resource:
                resources[f"{resource['resourceType']}/{resource.get('id')}"] = resource
    return resources


def _concepts(concepts: list[dict[str, Any]]) -> list[str]:
    codes = []
    for concept in concepts:
        codes.append(concept["code"])
        codes += _concepts(concept.get("concept", []))
    return codes


def _codes(value_set_url: str, by_url: dict[str, dict[str, Any]]) -> list[str] | None:
    value_set = by_url.get(value_set_url.split("|")[0])
    if value_set is None:
        return None
    codes: list[str] = []
    for include in value_set.get("compose", {}).get("include", []):
        if include.get("filter") or include.get("valueSet"):
            return None
        if include.get("concept"):
            codes += [c["code"] for c in include["concept"]]
            continue
        system = by_url.get(include.get("system", ""))
        if system is None or system.get("content") != "complete":
            return None
        codes += _concepts(system.get("concept", []))
    if value_set.get("compose", {}).get("exclude"):
        return None
    return sorted(set(codes)) or None


def _holds(resource: dict[str, Any], path: str, expression: str) -> bool:
    context = path.partition(".")[2]
    full = f"{context}.all({expression})" if context else expression
    result = evaluate(resource, full, {"resource": resource})
    return result in ([True], [])


def build(archive: Path) -> dict[str, Any]:
    resources = _load(archive)
    by_url = {r["url"]: r for r in resources.values() if isinstance(r.get("url"), str)}
    examples: dict[str, list[dict[str, Any]]] = {}
    for key, resource in resources.items():
        if not key.startswith(("StructureDefinition/", "SearchParameter/")):
            examples.setdefault(resource["resourceType"], []).append(resource)
    built: dict[str, Any] = {}
    for resource_type in SUPPORTED_TYPES:
        definition = resources[f"StructureDefinition/{resource_type}"]
        invariants, bindings, skipped = [], [], []
        for element in definition["snapshot"]["element"]:
            path = element["path"]
            for constraint in element.get("constraint", []):
                key = constraint["key"]
                if constraint["severity"] != "error" or key.startswith(GENERIC):
                    continue
                rule = {"key": key, "path": path, "expression": constraint["expression"],
                        "human": constraint["human"]}  # fmt: skip
                try:
                    failing = [
                        e.get("id") for e in examples.get(resource_type, [])
                        if not _holds(e, path, rule["expression"])
                    ]  # fmt: skip
                except Exception as exc:
                    skipped.append({**rule, "reason": f"fhirpathpy: {type(exc).__name__}"})
                    continue
                if failing:
                    skipped.append({**rule, "reason": f"fails official examples {failing[:3]}"})
                    continue
                invariants.append(rule)
            binding = element.get("binding", {})
            if binding.get("strength") == "required" and "[x]" not in path:
                codes = _codes(binding.get("valueSet", ""), by_url)
                if codes:
                    bindings.append({"path": path, "valueSet": binding["valueSet"], "codes": codes})
        built[resource_type] = {"invariants": invariants, "bindings": bindings, "skipped": skipped}
    # A shared constraint (dom-3) that fhirpathpy cannot run on one type is left out on all.
    unreliable = {s["key"] for b in built.values() for s in b["skipped"]}
    for constraints in built.values():
        kept = [i for i in constraints["invariants"] if i["key"] not in unreliable]
        constraints["skipped"] += [
            {**i, "reason": "not runnable on every type"}
            for i in constraints["invariants"]
            if i["key"] in unreliable
        ]
        constraints["invariants"] = kept
    return built


def main() -> None:
    OUTPUT.write_text(json.dumps(build(Path(sys.argv[1])), ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
