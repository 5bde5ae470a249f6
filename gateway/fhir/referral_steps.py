"""The steps of a referral as FHIR operations (``POST /fhir/Task/{id}/$accept`` …), in the shape
of :mod:`gateway.fhir.resource_steps`: the rules of :mod:`gateway.workflow.referrals`, the Task
back.  Each operation module of :mod:`gateway.fhir.operations` declares one step with
:func:`referral_operation`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from gateway.auth.tokens import Requester
from gateway.fhir.operation import Operation, Param
from gateway.fhir.resource_steps import Way, step_operation, text
from gateway.workflow import referrals

__all__ = ["referral_operation", "text"]

REFERRALS: Way[referrals.Work] = Way("Task", referrals.load, lambda work: work.task, referrals.save)


def referral_operation(
    code: str,
    title: str,
    description: str,
    step: Callable[[Session, Requester, referrals.Work, dict[str, Any]], None],
    parameters: tuple[Param, ...] = (),
) -> Operation:
    """The operation ``$code`` on a referral Task."""
    return step_operation(REFERRALS, code, title, description, step, parameters)
