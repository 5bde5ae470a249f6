"""Routers whose routes all lie under one path prefix.  FastAPI tries a request against every
route of every router in the order they were included, a few microseconds each on the one
core an HTTP process has; a request for a path outside a :class:`PrefixRouter`'s prefix is
refused by it at once instead (a FHIR read no longer passes DICOMweb's twenty routes)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.routing import Match
from starlette.types import Scope


class PrefixRouter(APIRouter):
    """An :class:`APIRouter` with a non-empty ``prefix`` that every route path starts with."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # Behind a root path Starlette matches the path without it: left to FastAPI.
        if not scope.get("root_path"):
            path: str = scope["path"]
            if path != self.prefix and not path.startswith(self.prefix + "/"):
                return Match.NONE, {}
        return super().matches(scope)
