"""Invariants that only test whether elements are present, evaluated on the JSON directly.

Most FHIRPath invariants of R4 and of Yilian's profiles are ``a.exists() or b.empty()`` —
elements tested for presence, joined by ``and`` / ``or`` — maybe under a context
(``referenceRange.all(low.exists() or high.exists() or text.exists())``), or a ``matches`` of a
string; and ``path.where(...).empty()``, which holds without its filter when ``path`` is
absent.  fhirpathpy evaluates each through its model of the whole resource, 20-60 us a rule; a
lab message has ~40 such checks.  :func:`presence_rule` compiles that subset into a walk of the
JSON (~1 us): element names resolve through the R4 model fhirpathpy uses (``value`` is
``valueQuantity``...), so both give the same answer, which
``tests/integration/fhir/test_r4_examples.py`` checks on every official example.  Any other
expression gets ``None`` (left to fhirpathpy), and so does a node the walk cannot read the way
FHIRPath does (a primitive carrying extensions, ``_given``): the caller evaluates it then.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from fhirpathpy.models import models

from fhir_profiles.search_values import collect

_R4 = models["r4"]
_TEST = re.compile(r"(?P<path>[a-z]\w*(?:\.[a-z]\w*)*)\.(?P<test>exists|empty)\(\)")
_MATCHES = re.compile(r"matches\('(?P<pattern>[^'\\]*)'\)")
_ALL = re.compile(r"(?P<path>[a-z]\w*(?:\.[a-z]\w*)*)\.all\((?P<inner>.*)\)")
_NONE_WHERE = re.compile(r"(?P<path>[a-z]\w*(?:\.[a-z]\w*)*)\.where\(.*\)\.empty\(\)")

# A rule of a node: whether it holds, or None where the walk cannot tell (see the module).
Rule = Callable[[Any], bool | None]
_Steps = tuple[tuple[str, ...], ...]  # the JSON keys of each step of a path


class _Unsure(Exception):
    """The node holds what this walk does not read the way FHIRPath does."""


def presence_rule(expression: str, type_path: str) -> Rule | None:
    """``expression`` evaluated on a node of ``type_path`` (``Observation``,
    ``Observation.referenceRange``, ``Quantity``), or None when it is not in the subset."""
    context = _ALL.fullmatch(expression)
    if context is not None:
        walked = _resolve(type_path, context["path"].split("."))
        if walked is None:
            return None
        steps, item_type = walked
        inner = presence_rule(context["inner"], item_type) if item_type else None
        return None if inner is None else _all(steps, inner)
    alternatives = []
    for part in expression.split(" or "):
        terms = [_term(text, type_path) for text in part.split(" and ")]
        if any(term is None for term in terms):
            return None
        alternatives.append(terms)
    return _either(alternatives)  # type: ignore[arg-type]


def _term(text: str, type_path: str) -> Rule | None:
    matched = _MATCHES.fullmatch(text)
    if matched is not None:
        pattern = re.compile(matched["pattern"], re.DOTALL)
        return lambda node: pattern.search(node) is not None if isinstance(node, str) else None
    matched = _TEST.fullmatch(text)
    if matched is not None:
        walked = _resolve(type_path, matched["path"].split("."))
        if walked is None:
            return None
        steps, _ = walked
        present = matched["test"] == "exists"
        return lambda node: bool(_walk([node], steps)) is present
    matched = _NONE_WHERE.fullmatch(text)
    if matched is None or not _balanced(text):
        return None
    # ``path.where(...).empty()`` holds when ``path`` is absent, whatever the filter; when it
    # is present, fhirpathpy decides (obs-7: ``component.code.where(...)``, most results have no
    # components).
    walked = _resolve(type_path, matched["path"].split("."))
    if walked is None:
        return None
    steps, _ = walked
    return lambda node: True if not _walk([node], steps) else None


def _balanced(text: str) -> bool:
    """Whether every parenthesis of ``text`` closes within it (a term cut out of a longer
    expression at an ``or`` inside a ``where(...)`` does not)."""
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _either(alternatives: list[list[Rule]]) -> Rule:
    def rule(node: Any) -> bool | None:
        try:
            return any(all(_sure(term(node)) for term in terms) for terms in alternatives)
        except _Unsure:
            return None

    return rule


def _all(steps: _Steps, inner: Rule) -> Rule:
    def rule(node: Any) -> bool | None:
        try:
            return all(_sure(inner(item)) for item in _walk([node], steps))
        except _Unsure:
            return None

    return rule


def _sure(answer: bool | None) -> bool:
    if answer is None:
        raise _Unsure
    return answer


def _walk(nodes: list[Any], steps: _Steps) -> list[Any]:
    for keys in steps:
        found: list[Any] = []
        for node in nodes:
            if not isinstance(node, dict):
                raise _Unsure  # a step below a primitive: not read here
            if any("_" + key in node for key in keys):
                raise _Unsure  # a primitive with extensions exists without a value
            collect(node, keys, found)
        nodes = found
    return nodes


def _resolve(type_path: str, names: list[str]) -> tuple[_Steps, str | None] | None:
    """The JSON keys of each step from a node of ``type_path``, and the type reached (None: a
    choice or a primitive, below which nothing is walked); None if a name is not known."""
    steps = []
    current: str | None = type_path
    for name in names:
        if current is None:
            return None
        element = _element(current, name)
        if element is None:
            return None
        keys, current = element
        steps.append(keys)
    return tuple(steps), current


def _element(type_path: str, name: str) -> tuple[tuple[str, ...], str | None] | None:
    for owner in _owners(type_path):
        path = f"{owner}.{name}"
        path = _R4["pathsDefinedElsewhere"].get(path, path)
        choices = _R4["choiceTypePaths"].get(path)
        if choices:
            return tuple(name + c[0].upper() + c[1:] for c in choices), None
        kind = _R4["path2Type"].get(path)
        if kind is None and _is_backbone(path):
            return (name,), path
        if kind is not None:
            return (name,), kind if kind[0].isupper() and "." not in kind else None
    return None


def _owners(type_path: str) -> list[str]:
    """Where an element of ``type_path`` may be defined: itself, then its ancestors (a
    contained ``Resource`` is read as a ``DomainResource``)."""
    owners = [type_path, "DomainResource"] if type_path == "Resource" else [type_path]
    parent = _R4["type2Parent"].get(owners[-1])
    while parent:
        owners.append(parent)
        parent = _R4["type2Parent"].get(parent)
    return owners


@cache
def _is_backbone(path: str) -> bool:
    """A backbone element (``Observation.referenceRange``): the model types only its children."""
    return any(key.startswith(path + ".") for key in _R4["path2Type"])
