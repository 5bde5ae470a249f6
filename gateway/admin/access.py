"""Who may administer, as the policy module decides it, and the JSON answers of the admin API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Response
from sqlalchemy.orm import Session

from gateway.auth.tokens import Requester
from gateway.errors import Forbidden
from storage.audit import audit
from storage.json_codec import dump_bytes
from storage.policy import Administration, administration

# A row id in a path: a 64-bit database key (a larger number is a 422, not a database error).
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def administrator(session: Session, requester: Requester) -> Administration:
    """What the requester administers; 403 unless they have the admin role."""
    admin = administration(session, requester.org_id, requester.roles)
    if admin is None:
        raise Forbidden("administrators only")
    return admin


def operator(session: Session, requester: Requester) -> Administration:
    """An administrator of the platform's shared machinery (the outbox): an alliance's lead."""
    admin = administrator(session, requester)
    if not admin.alliances:
        raise Forbidden("administrators of an alliance's lead hospital only")
    return admin


def json_response(body: Any, status_code: int = 200) -> Response:
    return Response(dump_bytes(body), status_code=status_code, media_type="application/json")


def audit_admin(session: Session, requester: Requester, action: str, **entities: Any) -> None:
    """The record of an administrator's action, in the action's own transaction."""
    audit(
        session, channel="admin", actor=requester.subject, actor_org_id=requester.org_id,
        action=action, outcome="success", **entities,
    )  # fmt: skip
