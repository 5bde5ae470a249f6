"""Build ``r4/search-parameters.json`` from the official R4 SearchParameter resources.

    python -m fhir_profiles.build_search_parameters hl7.fhir.r4.examples-4.0.1.tgz

(the npm package ``hl7.fhir.r4.examples@4.0.1`` carries them).  Kept: the parameters of the
resource types Yilian serves and the common ones (``_id``, ``_lastUpdated``, ``_tag``,
``_profile``…), each with the part of its FHIRPath expression that applies to the type, in
the form fhirpathpy runs: ``where(resolve() is Patient)`` becomes a test of the reference's type
(as HAPI does; no reference is resolved at write time) and ``(x as T)`` becomes
``x.ofType(T)`` (``as`` wants one item; ``component.value`` has several).
"""

from __future__ import annotations

import json
import re
import sys
import tarfile
from pathlib import Path
from typing import Any

from fhir_profiles.validation import SUPPORTED_TYPES

OUTPUT = Path(__file__).with_name("r4") / "search-parameters.json"
KINDS = {"token", "string", "date", "reference", "quantity", "uri", "number"}


_RESOLVE_IS = re.compile(r"where\(resolve\(\) is (\w+)\)")
_AS = re.compile(r"\(([\w.]+) as (\w+)\)")


def runnable(expression: str) -> str:
    expression = _RESOLVE_IS.sub(r"where(reference.startsWith('\1/'))", expression)
    return _AS.sub(r"\1.ofType(\2)", expression)


def _split_union(expression: str) -> list[str]:
    """Top-level ``|`` alternatives (not those inside parentheses)."""
    parts, depth, current = [], 0, ""
    for char in expression:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "|" and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return [p for p in parts if p]


def _for_type(expression: str, resource_type: str) -> str | None:
    kept = [
        part
        for part in _split_union(expression)
        if part.lstrip("(").startswith((f"{resource_type}.", "Resource."))
    ]
    return " | ".join(kept) if kept else None


def build(archive: Path) -> dict[str, list[dict[str, Any]]]:
    definitions: dict[str, list[dict[str, Any]]] = {t: [] for t in SUPPORTED_TYPES}
    with tarfile.open(archive) as package:
        for member in package.getmembers():
            if not member.name.startswith("package/SearchParameter-"):
                continue
            handle = package.extractfile(member)
            assert handle is not None
            parameter = json.loads(handle.read())
            if parameter.get("type") not in KINDS or not parameter.get("expression"):
                continue
            for base in parameter["base"]:
                targets = [base] if base != "Resource" else list(SUPPORTED_TYPES)
                for resource_type in targets:
                    if resource_type not in definitions:
                        continue
                    expression = _for_type(
                        parameter["expression"].replace("Resource.", f"{resource_type}."),
                        resource_type,
                    )
                    if expression:
                        # where(resolve() is X) narrows the targets to X
                        targets = _RESOLVE_IS.findall(expression) or parameter.get("target")
                        definitions[resource_type].append(
                            {
                                "code": parameter["code"],
                                "type": parameter["type"],
                                "expression": runnable(expression),
                                **({"target": targets} if targets else {}),
                            }
                        )
    for entries in definitions.values():
        entries.sort(key=lambda e: e["code"])
    return definitions


if __name__ == "__main__":
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(json.dumps(build(Path(sys.argv[1])), indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {OUTPUT}")
