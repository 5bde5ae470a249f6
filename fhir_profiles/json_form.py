"""Is this FHIR JSON as the R4 JSON format writes it (R4 2.6.2)?  The models coerce (``"true"``
becomes ``true``, ``"2"`` becomes ``2``) and the store keeps the JSON it was given, so what a
strict client reads back must already be right when it arrives:

- a primitive has its JSON type: ``boolean`` a JSON boolean, ``integer``/``positiveInt``/
  ``unsignedInt`` a whole JSON number, ``decimal`` a JSON number (finite as a double), every
  other primitive a JSON string;
- no ``null`` (except as the placeholder in an array of primitives that has a ``_name`` twin),
  no empty object, no empty array, no string without non-whitespace content, no control
  character other than tab, carriage return and line feed;
- an extension has a value or extensions, not both and not neither (ext-1);
- a contained or nested resource is of a known type;
- nothing is nested deeper than :data:`MAX_DEPTH` (objects and arrays) and no resource has more
  than :data:`MAX_VALUES` JSON values, so no input costs the validator, the search index or the
  database unbounded time (a 10,000-concept CodeSystem is about 50,000 values).

The walk follows the ``fhir.resources`` R4B models' fields (the same models that check
structure and cardinality afterwards), remembered per model class.
"""

from __future__ import annotations

import decimal
import importlib
import math
import re
import types
import typing
from functools import cache
from typing import Any

from fhir_core.types import FhirBase
from pydantic import BaseModel

from fhir_profiles.problem import Problem

MAX_DEPTH = 64
MAX_VALUES = 100_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_BLANK = re.compile(r"\s*")
_INTEGER_BITS = 31

Kind = str | type[BaseModel]  # "boolean", "integer", "decimal", "string", "resource" or a model


def shape_problem(document: Any) -> Problem | None:
    """Whether ``document`` nests deeper than :data:`MAX_DEPTH` or holds more than
    :data:`MAX_VALUES` values (walked without recursion)."""
    if not isinstance(document, dict | list):
        return None
    pending: list[tuple[Any, int]] = [(document, 1)]
    values = 0
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            return Problem("", f"the document is nested deeper than {MAX_DEPTH} levels")
        children = node.values() if isinstance(node, dict) else node
        values += len(children)
        if values > MAX_VALUES:
            return Problem("", f"the document holds more than {MAX_VALUES:,} values")
        pending += [(c, depth + 1) for c in children if isinstance(c, dict | list)]
    return None


def json_problems(resource: dict[str, Any]) -> list[Problem]:
    """Where ``resource`` breaks the FHIR JSON rules (empty when it keeps them)."""
    if (unbounded := shape_problem(resource)) is not None:
        return [unbounded]
    problems: list[Problem] = []
    _resource(resource, resource.get("resourceType", "Resource"), problems)
    return problems


def _resource(node: dict[str, Any], path: str, problems: list[Problem]) -> None:
    resource_type = node.get("resourceType")
    model = model_of(resource_type) if isinstance(resource_type, str) else None
    if model is None:
        problems.append(Problem(path, f"{resource_type!r} is not a FHIR resource type"))
        return
    _object(node, model, path, problems)


def _object(
    node: dict[str, Any], model: type[BaseModel], path: str, problems: list[Problem]
) -> None:
    if not node:
        problems.append(Problem(path, "an element must have a value or children (ele-1)"))
        return
    kinds = _field_kinds(model)
    for key, value in node.items():
        if key == "resourceType" or key not in kinds:
            continue  # unknown elements are the model's to report
        is_list, kind = kinds[key]
        where = f"{path}.{key.removeprefix('_')}"
        if is_list:
            _array(node, key, value, kind, where, problems)
        else:
            _value(value, kind, where, problems)
    if model.__name__ == "Extension":
        _extension(node, path, problems)


def _array(
    node: dict[str, Any], key: str, value: Any, kind: Kind, path: str, problems: list[Problem]
) -> None:
    if value is None:
        problems.append(Problem(path, "null is not a FHIR value: leave the element out"))
        return
    if not isinstance(value, list):
        problems.append(Problem(path, "must be a JSON array"))
        return
    if not value:
        problems.append(Problem(path, "an array must not be empty"))
        return
    twin = node.get(key[1:] if key.startswith("_") else f"_{key}")
    for index, item in enumerate(value):
        if item is None and isinstance(twin, list) and index < len(twin):
            continue  # a placeholder beside its primitive's value or extension
        _value(item, kind, f"{path}[{index}]", problems)


def _value(value: Any, kind: Kind, path: str, problems: list[Problem]) -> None:
    if value is None:
        problems.append(Problem(path, "null is not a FHIR value: leave the element out"))
    elif kind == "resource" or isinstance(kind, type):
        if not isinstance(value, dict):
            problems.append(Problem(path, "must be a JSON object"))
        elif kind == "resource":
            _resource(value, path, problems)
        else:
            _object(value, kind, path, problems)
    elif (wrong := _primitive_problem(value, kind)) is not None:
        problems.append(Problem(path, wrong))


def _primitive_problem(value: Any, kind: str) -> str | None:
    if kind == "boolean":
        return None if isinstance(value, bool) else "must be a JSON boolean (true or false)"
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be a JSON whole number"
        return None if -(2**_INTEGER_BITS) <= value < 2**_INTEGER_BITS else "out of range"
    if kind == "decimal":
        if isinstance(value, bool) or not isinstance(value, int | float | decimal.Decimal):
            return "must be a JSON number"
        try:
            finite = math.isfinite(float(value))
        except OverflowError:
            finite = False
        return None if finite else "must be a finite number a double can hold"
    if not isinstance(value, str):
        return "must be a JSON string"
    if _BLANK.fullmatch(value):
        return "a string must have non-whitespace content"
    if _CONTROL.search(value):
        return "control characters are not allowed in FHIR strings"
    return None


def _extension(node: dict[str, Any], path: str, problems: list[Problem]) -> None:
    valued = any(key.startswith("value") for key in node)
    if valued == ("extension" in node):
        problems.append(Problem(path, "an extension has a value or extensions, not both (ext-1)"))


@cache
def model_of(resource_type: str) -> type[BaseModel] | None:
    if not resource_type.isalpha() or not resource_type[0].isupper():
        return None
    try:
        module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    except ImportError:
        return None
    model = getattr(module, resource_type, None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


@cache
def _field_kinds(model: type[BaseModel]) -> dict[str, tuple[bool, Kind]]:
    """JSON name -> (is an array, what each value is), for every element of the model."""
    kinds = {}
    for field in model.model_fields.values():
        if field.alias in (None, "fhir_comments"):
            continue
        kinds[field.alias] = _kind(field.annotation)
    return kinds


def _kind(annotation: Any) -> tuple[bool, Kind]:
    is_list = False
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        elif origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin is list:
            is_list, annotation = True, typing.get_args(annotation)[0]
        else:
            break
    return is_list, _base_kind(annotation)


def _base_kind(annotation: Any) -> Kind:
    if annotation is bool:
        return "boolean"
    if annotation is int:
        return "integer"
    if annotation in (decimal.Decimal, float):
        return "decimal"
    if isinstance(annotation, type) and issubclass(annotation, FhirBase):
        model = annotation.get_model_klass()
        return "resource" if model.__name__ == "Resource" else model
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return "string"
