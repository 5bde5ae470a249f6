"""Does a resource conform to Yilian's profiles?  The compiled StructureDefinitions in
``yilian/`` (from FSH, ``build_profiles.py``) are applied by their differentials, on top of the
base R4 checks of :mod:`fhir_profiles.validation`:

- cardinality (``min``/``max``) of every constrained element, in every occurrence of its parent;
- slices of a repeating element, by ``value``/``pattern`` discriminators (``identifier`` by
  ``system``, ``category`` by ``$this``) or, for extensions, by ``url`` (a complex
  extension's parts by their fixed ``url``); an extension slice's items are checked against
  the extension's own definition;
- types: choice elements narrowed (``effective[x] only dateTime``), reference targets;
- ``fixed[x]`` (exactly) and ``pattern[x]`` (at least these parts) values;
- required bindings to the alliance's value sets (``yilian/ValueSet-*.json``);
- error-severity FHIRPath invariants (fhirpathpy; presence tests walk the JSON:
  ``invariant_paths.py``), at the element they are declared on.

A profile applies to a resource that claims it in ``meta.profile``, and to every resource of a
type for which the server requires it.  A claimed profile under Yilian's canonical that is not
known is itself an error; a foreign profile is not checked (no definitions for it here).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from fhirpathpy import compile as compile_fhirpath
from fhirpathpy.models import models

from fhir_profiles.invariant_paths import presence_rule
from fhir_profiles.problem import Problem

CANONICAL = "http://yilian.example/fhir"
DEFINITIONS = Path(__file__).with_name("yilian")
_BASE = "http://hl7.org/fhir/StructureDefinition/"


@cache
def _resources() -> dict[str, dict[str, Any]]:
    """Every definition of ``yilian/`` by canonical URL."""
    found = {}
    for path in sorted(DEFINITIONS.glob("*.json")):
        resource = json.loads(path.read_text())
        found[resource["url"]] = resource
    return found


def profiles_by_type() -> dict[str, list[str]]:
    """``resource type -> profile URLs`` (for the CapabilityStatement's ``supportedProfile``)."""
    by_type: dict[str, list[str]] = {}
    for url, resource in _resources().items():
        if resource["resourceType"] == "StructureDefinition" and resource["kind"] == "resource":
            by_type.setdefault(resource["type"], []).append(url)
    return by_type


def terminology() -> list[dict[str, Any]]:
    """Yilian's CodeSystems and ValueSets (the server publishes them as FHIR resources)."""
    return [r for r in _resources().values() if r["resourceType"] in ("CodeSystem", "ValueSet")]


def known(url: str) -> bool:
    return url in _resources()


def conformance(resource: dict[str, Any], required: Iterable[str] = ()) -> list[Problem]:
    """The problems of ``resource`` against the profiles it claims and those ``required``."""
    claimed = (resource.get("meta") or {}).get("profile") or []
    problems = []
    urls: list[str] = []
    for index, url in enumerate(claimed):
        if not isinstance(url, str):
            continue
        if known(url):
            urls.append(url.partition("|")[0])
        elif url.startswith(f"{CANONICAL}/"):
            where = f"{resource.get('resourceType')}.meta.profile[{index}]"
            problems.append(Problem(where, f"unknown profile {url}"))
    for url in dict.fromkeys([*urls, *required]):
        definition = _resources().get(url)
        if definition is None or definition.get("type") != resource.get("resourceType"):
            if definition is not None:
                name = definition.get("type")
                where = f"{resource.get('resourceType')}.meta.profile"
                problems.append(Problem(where, f"{url} profiles {name}, not this type"))
            continue
        problems += _Profile.of(url).check(resource, resource["resourceType"])
    return problems


def _split(element_id: str) -> tuple[str, str]:
    """``Patient.identifier:idCard.system`` -> (``Patient.identifier:idCard``, ``system``)."""
    parent, _, name = element_id.rpartition(".")
    return parent, name


class _Profile:
    """One StructureDefinition's differential, ready to check."""

    def __init__(self, definition: dict[str, Any]) -> None:
        self.name = definition["id"]
        self.elements: list[dict[str, Any]] = definition["differential"]["element"]
        self.by_id = {e["id"]: e for e in self.elements}

    @staticmethod
    @cache
    def of(url: str) -> _Profile:
        return _Profile(_resources()[url])

    def check(self, root: Any, where: str) -> list[Problem]:
        problems: list[Problem] = []
        for element in self.elements:
            if "." not in element["id"]:
                problems += self._invariants(element, [(where, root)], root)
                continue
            parent_id, name = _split(element["id"])
            for at, parent in self._nodes(root, parent_id, where):
                values = list(self._children(parent, parent_id, name, at))
                problems += self._cardinality(element, values, at, name)
                problems += self._types(element, parent, at)
                for value_at, value in values:
                    problems += self._value(element, value, value_at)
                problems += self._invariants(element, values, root)
        return problems

    # -- finding the nodes an element id addresses -------------------------------------------

    def _nodes(self, root: Any, element_id: str, where: str) -> Iterator[tuple[str, Any]]:
        if "." not in element_id:
            yield where, root
            return
        parent_id, name = _split(element_id)
        for at, parent in self._nodes(root, parent_id, where):
            yield from self._children(parent, parent_id, name, at)

    def _children(
        self, parent: Any, parent_id: str, name: str, where: str
    ) -> Iterator[tuple[str, Any]]:
        if not isinstance(parent, dict):
            return
        base, _, slice_name = name.partition(":")
        if base.endswith("[x]"):
            prefix = base[:-3]
            keys = [k for k in parent if k.startswith(prefix) and k[len(prefix) :][:1].isupper()]
        else:
            keys = [base] if base in parent else []
        for key in keys:
            value = parent[key]
            items = (
                [(f"{where}.{key}[{i}]", v) for i, v in enumerate(value)]
                if isinstance(value, list)
                else [(f"{where}.{key}", value)]
            )
            for at, item in items:
                if not slice_name or self._in_slice(item, f"{parent_id}.{base}", name):
                    yield at, item

    def _in_slice(self, item: Any, sliced_id: str, name: str) -> bool:
        slice_id = f"{sliced_id}:{name.partition(':')[2]}"
        element = self.by_id[slice_id]
        extension = _extension_profile(element)
        if extension is None and sliced_id.endswith("extension"):  # a complex extension's part
            fixed = _assigned(self.by_id.get(f"{slice_id}.url", {}))
            extension = str(fixed[1]) if fixed is not None else None
        if extension is not None:
            return isinstance(item, dict) and item.get("url") == extension
        discriminators = (self.by_id.get(sliced_id, {}).get("slicing") or {}).get(
            "discriminator", []
        )
        for discriminator in discriminators:
            path = discriminator["path"]
            if path == "$this":
                expected = _assigned(element)
                value: Any = item
            else:
                expected = _assigned(self.by_id.get(f"{slice_id}.{path}", {}))
                value = item.get(path) if isinstance(item, dict) else None
            if expected is None or not _matches(value, *expected):
                return False
        return bool(discriminators)

    # -- the rules ---------------------------------------------------------------------------

    def _cardinality(
        self, element: dict[str, Any], values: list[tuple[str, Any]], where: str, name: str
    ) -> list[Problem]:
        count, least, most = len(values), element.get("min"), element.get("max")
        at = f"{where}.{name.partition(':')[0]}"
        label = f"{self.name}: {element['id']}"
        if element.get("sliceName") and element.get("short"):
            label += f" ({element['short']})"
        if least is not None and count < least:
            return [Problem(at, f"{label}: at least {least} required, {count} found")]
        if most not in (None, "*") and count > int(most):
            return [Problem(at, f"{label}: at most {most} allowed, {count} found")]
        return []

    def _types(self, element: dict[str, Any], parent: Any, where: str) -> list[Problem]:
        base = _split(element["id"])[1].partition(":")[0]
        if not base.endswith("[x]") or "type" not in element or not isinstance(parent, dict):
            return []
        prefix = base[:-3]
        allowed = {prefix + t["code"][0].upper() + t["code"][1:] for t in element["type"]}
        return [
            Problem(f"{where}.{key}", f"{self.name}: {key} is not allowed here (only {names})")
            for key in parent
            if key.startswith(prefix) and key[len(prefix) :][:1].isupper() and key not in allowed
            for names in [", ".join(sorted(allowed))]
        ]

    def _value(self, element: dict[str, Any], value: Any, where: str) -> list[Problem]:
        problems = []
        assigned = _assigned(element)
        if assigned is not None and not _matches(value, *assigned):
            kind, expected = assigned
            wanted = json.dumps(expected, ensure_ascii=False)
            how = "must be exactly" if kind == "fixed" else "must include"
            problems.append(Problem(where, f"{self.name}: {how} {wanted}"))
        targets = _reference_targets(element)
        if targets and isinstance(value, dict):
            kind = _reference_type(value.get("reference"))
            if kind is not None and kind not in targets:
                problems.append(
                    Problem(where, f"{self.name}: must refer to {' or '.join(sorted(targets))}")
                )
        binding = element.get("binding") or {}
        required = binding.get("valueSet") if binding.get("strength") == "required" else None
        if required and not _in_value_set(value, required):
            problems.append(Problem(where, f"{self.name}: not in {required}"))
        extension = _extension_profile(element)
        if extension is not None and known(extension):
            problems += _Profile.of(extension).check(value, where)
        return problems

    def _invariants(
        self, element: dict[str, Any], values: list[tuple[str, Any]], root: Any
    ) -> list[Problem]:
        problems = []
        for rule in element.get("constraint", []):
            if rule.get("severity") != "error":
                continue
            holds = _invariant(rule["expression"], _node_type(element))
            problems += [
                Problem(at, f"{rule['key']}: {rule['human']}")
                for at, value in values
                if not holds(value, root)
            ]
        return problems


@cache
def _invariant(expression: str, node_type: str) -> Callable[[Any, Any], bool]:
    compiled = compile_fhirpath(expression, models["r4"])
    fast = presence_rule(expression, node_type)

    def holds(node: Any, resource: Any) -> bool:
        answer = fast(node) if fast is not None else None
        if answer is not None:
            return answer
        try:
            return compiled(node, {"resource": resource}) in ([True], [])
        except Exception:
            return False

    return holds


def _node_type(element: dict[str, Any]) -> str:
    """The type of the nodes an element of a profile addresses, as the R4 model names it: the
    resource, the one type the profile allows, the base type, or a backbone's path."""
    path = element["path"]
    codes = [t["code"] for t in element.get("type", [])]
    if "." in path and len(codes) == 1:
        return codes[0]
    return models["r4"]["path2Type"].get(path, path)


def _assigned(element: dict[str, Any]) -> tuple[str, Any] | None:
    """``("fixed" | "pattern", value)`` assigned by the element, if any."""
    for key, value in element.items():
        for kind in ("fixed", "pattern"):
            if key.startswith(kind) and key[len(kind) :][:1].isupper():
                return kind, value
    return None


def _matches(value: Any, kind: str, expected: Any) -> bool:
    if kind == "fixed":
        return value == expected
    if isinstance(expected, dict):
        return isinstance(value, dict) and all(
            k in value and _matches(value[k], "pattern", v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return isinstance(value, list) and all(
            any(_matches(item, "pattern", e) for item in value) for e in expected
        )
    return value == expected


def _extension_profile(element: dict[str, Any]) -> str | None:
    for kind in element.get("type", []):
        if kind.get("code") == "Extension" and kind.get("profile"):
            return str(kind["profile"][0])
    return None


def _reference_targets(element: dict[str, Any]) -> set[str]:
    targets = set()
    for kind in element.get("type", []):
        if kind.get("code") != "Reference":
            continue
        for url in kind.get("targetProfile", []):
            definition = _resources().get(url)
            targets.add(definition["type"] if definition else url.removeprefix(_BASE))
    return targets


_REFERENCE = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/[^/]+)?$")


def _reference_type(reference: Any) -> str | None:
    """The type a literal reference names (``Patient/123``, an absolute URL); None for
    ``urn:``, contained (``#x``) or no reference."""
    if not isinstance(reference, str) or reference.startswith(("urn:", "#")):
        return None
    match = _REFERENCE.search(reference)
    return match.group(1) if match else None


@cache
def _value_set(url: str) -> frozenset[tuple[str, str]]:
    """The (system, code) pairs of one of Yilian's value sets."""
    value_set = _resources().get(url.partition("|")[0])
    if value_set is None:
        return frozenset()
    codes = set()
    for include in value_set.get("compose", {}).get("include", []):
        system = include.get("system", "")
        concepts = include.get("concept") or _resources().get(system, {}).get("concept", [])
        codes |= {(system, c["code"]) for c in concepts}
    return frozenset(codes)


def _in_value_set(value: Any, url: str) -> bool:
    codes = _value_set(url)
    if isinstance(value, str):
        return any(code == value for _, code in codes)
    if not isinstance(value, dict):
        return False
    codings = value.get("coding", [value]) if "coding" in value or "code" in value else []
    return any(isinstance(c, dict) and (c.get("system"), c.get("code")) in codes for c in codings)
