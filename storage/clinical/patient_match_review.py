"""A person's decisions on the patient index (HAPI FHIR MDM's manual links): the review queue
of ``POSSIBLE_MATCH`` links, linking (the same person), unlinking (not the same person: never
proposed again) and merging two persons into one.  Every decision is ``manual``, wins over the
automatic linking (:mod:`storage.clinical.patient_matches`) and is audited with the actor
given (who decides which organizations' links is :func:`storage.policy.reviews_patient_links`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, select, text, update
from sqlalchemy.orm import Session, aliased

from storage.audit import audit
from storage.clinical.patient_matches import members, person_of, set_match
from storage.db import add_rows
from storage.models import LinkSource, MatchGrade, MpiLink, MpiRecord, utcnow
from storage.models.mpi import REVIEWED


@dataclass(frozen=True)
class Link:
    """One link as the review shows it: a member's Patient and the person it is linked to."""

    patient_id: str
    org_id: str | None
    person_id: str
    grade: str
    source: str
    score: float | None
    made_by: str
    made_at: datetime


def query_links(
    session: Session,
    orgs: frozenset[str],
    grade: MatchGrade = MatchGrade.POSSIBLE_MATCH,
    *,
    person_id: str | None = None,
    count: int = 100,
) -> list[Link]:
    """The links of ``grade`` whose Patient belongs to one of ``orgs``, newest first; a
    proposal about a person nobody is linked to any more (merged, relinked) is left out."""
    member = aliased(MpiLink)
    statement = (
        select(MpiLink, MpiRecord.org_id)
        .join(MpiRecord, MpiRecord.patient_id == MpiLink.patient_id)
        .where(MpiLink.grade == grade, MpiRecord.org_id.in_(sorted(orgs)))
        .where(
            exists().where(member.person_id == MpiLink.person_id, member.grade == MatchGrade.MATCH)
        )
        .order_by(MpiLink.made_at.desc(), MpiLink.patient_id)
        .limit(count)
    )
    if grade != MatchGrade.MATCH:  # the very term of the review's partial index
        statement = statement.where(text(REVIEWED))
    if person_id is not None:
        statement = statement.where(MpiLink.person_id == person_id)
    return [
        Link(
            lk.patient_id, org, lk.person_id, lk.grade, lk.source, lk.score, lk.made_by, lk.made_at
        )
        for lk, org in session.execute(statement)
    ]


def org_of(session: Session, patient_id: str) -> str | None:
    return session.scalar(select(MpiRecord.org_id).where(MpiRecord.patient_id == patient_id))


def person_orgs(session: Session, person_id: str) -> set[str | None]:
    """The members whose Patients are this person."""
    return set(
        session.scalars(
            select(MpiRecord.org_id).where(MpiRecord.patient_id.in_(members(session, person_id)))
        )
    )


def confirm(session: Session, patient_id: str, person_id: str, actor: dict[str, Any]) -> None:
    """The Patient is the person (a possible match accepted, or a link made by hand)."""
    set_match(session, patient_id, person_id, LinkSource.MANUAL, None, actor)


def reject(session: Session, patient_id: str, person_id: str, actor: dict[str, Any]) -> str:
    """The Patient is not the person: a proposal turned down, or the Patient unlinked from the
    person it was linked to (it becomes a person of its own).  Its person's id."""
    own = person_of(session, patient_id)
    if own == person_id:
        own = str(uuid.uuid4())
        set_match(session, patient_id, own, LinkSource.MANUAL, None, actor)
    session.execute(
        delete(MpiLink).where(MpiLink.patient_id == patient_id, MpiLink.person_id == person_id)
    )
    row = {
        "patient_id": patient_id, "person_id": person_id, "grade": MatchGrade.NO_MATCH.value,
        "source": LinkSource.MANUAL.value, "score": None, "made_by": actor["actor"],
        "made_at": utcnow(),
    }  # fmt: skip
    add_rows(session, MpiLink, [row])
    audit(session, **actor, action="mpi-unlink", outcome="success", resource_type="Patient",
          id=patient_id, person=person_id)  # fmt: skip
    return str(own)


def merge(session: Session, from_person: str, into_person: str, actor: dict[str, Any]) -> set[str]:
    """Every Patient of ``from_person`` becomes ``into_person``'s; the links that named it name
    the other (where a Patient already had one to both, the one to ``into_person`` stays).
    The Patients moved."""
    moved = members(session, from_person)
    other = aliased(MpiLink)
    already = select(other.patient_id).where(other.person_id == into_person)
    session.execute(
        delete(MpiLink).where(
            MpiLink.person_id == into_person,
            MpiLink.grade != MatchGrade.MATCH,
            MpiLink.patient_id.in_(sorted(moved)),
        )
    )
    session.execute(
        delete(MpiLink).where(
            MpiLink.person_id == from_person,
            MpiLink.grade != MatchGrade.MATCH,
            MpiLink.patient_id.in_(already),
        )
    )
    session.execute(
        update(MpiLink)
        .where(MpiLink.person_id == from_person)
        .values(person_id=into_person, made_by=actor["actor"], made_at=utcnow())
    )
    session.execute(
        update(MpiLink)
        .where(and_(MpiLink.person_id == into_person, MpiLink.patient_id.in_(sorted(moved))))
        .values(source=LinkSource.MANUAL.value, score=None)
    )
    audit(session, **actor, action="mpi-merge", outcome="success", resource_type="Patient",
          person=into_person, merged=from_person, ids=sorted(moved))  # fmt: skip
    return moved
