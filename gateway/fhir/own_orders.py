"""An order its own organization acts on (asks what it may recognise, decides about it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gateway.auth.tokens import Requester
from gateway.errors import Forbidden, NotFound
from gateway.fhir import interactions
from storage.fhir import store as fhir_store


def own_order(session: Session, requester: Requester, order_id: str) -> dict[str, Any]:
    """The requester's own placed order (only the orderer asks what it may recognise)."""
    order = fhir_store.read(session, "ServiceRequest", order_id)
    if order is None or order.deleted or order.content is None:
        raise NotFound(f"ServiceRequest/{order_id} is not known")
    if order.owner_org_id != requester.org_id:
        if interactions.sees(session, requester, order):
            raise Forbidden(
                "only the organization that placed the order asks what it may recognise"
            )
        raise NotFound(f"ServiceRequest/{order_id} is not known")
    return order.content
