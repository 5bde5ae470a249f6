"""SMART App Launch v2 scopes: ``system/DiagnosticReport.rs``, ``user/*.cruds``.

A scope grants interactions (c create, r read, u update, d delete, s search) on one resource
type or on all (``*``).  v1 suffixes (``read``, ``write``, ``*``) are read as their v2 meaning.
Scopes with query parameters (``?category=…``) are not supported and refused when requested.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_SCOPE = re.compile(r"^(system|user|patient)/(\*|[A-Z][A-Za-z]+)\.([cruds]+|read|write|\*)$")


class InvalidScope(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Scope:
    context: str
    resource: str
    actions: frozenset[str]

    def __str__(self) -> str:
        letters = "".join(a for a in "cruds" if a in self.actions)
        return f"{self.context}/{self.resource}.{letters}"

    def covers(self, other: Scope) -> bool:
        return (
            self.context == other.context
            and self.resource in ("*", other.resource)
            and other.actions <= self.actions
        )


def parse_scope(text: str) -> Scope:
    match = _SCOPE.match(text.strip())
    if match is None:
        raise InvalidScope(f"unsupported scope {text!r}")
    context, resource, actions = match.groups()
    return Scope(context, resource, frozenset(_V1.get(actions, actions)))


@dataclass(frozen=True, slots=True)
class Scopes:
    granted: tuple[Scope, ...]

    @classmethod
    def parse(cls, text: str | list[str]) -> Scopes:
        items = text.split() if isinstance(text, str) else text
        return cls(tuple(parse_scope(item) for item in items if item.strip()))

    def __str__(self) -> str:
        return " ".join(str(scope) for scope in self.granted)

    def allows(self, resource: str, action: str) -> bool:
        return any(
            scope.resource in ("*", resource) and action in scope.actions for scope in self.granted
        )

    def narrowed_to(self, requested: Scopes) -> Scopes:
        """The requested scopes that these scopes cover (an OAuth2 ``scope`` parameter)."""
        refused = [s for s in requested.granted if not any(g.covers(s) for g in self.granted)]
        if refused:
            raise InvalidScope(f"scope not granted to this client: {refused[0]}")
        return requested
