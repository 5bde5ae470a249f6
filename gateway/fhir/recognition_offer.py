"""Offering an orderer its recognisable priors (区域互认), the one way both
``$recognizable-results`` and the CDS Hooks cards do it: the priors found for the order
(:func:`gateway.workflow.recognition.recognizable`), each shared with the orderer so that
调阅报告 opens it (:func:`storage.policy.share_recognizable`), and the offer audited with every
prior it names — all in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.auth.tokens import Requester
from gateway.fhir import interactions
from gateway.workflow.recognition import Prior, recognizable
from storage.policy import share_recognizable


def offer(
    session: Session, requester: Requester, order: dict[str, Any], face: str, at: datetime
) -> list[Prior]:
    """The priors recognisable for ``order`` placed at ``at``, newest first, shared with the
    requester's organization; audited as the operation ``face`` on the order."""
    priors = recognizable(session, requester.org_id, order, at)
    share_recognizable(
        session, requester.org_id, [(p.result.resource_type, p.result.id) for p in priors]
    )
    interactions.audit_fhir(session, requester, "operation", "ServiceRequest", face=face,
                            id=order.get("id"), included=[p.reference for p in priors])  # fmt: skip
    return priors
