"""The master patient index (MPI): which members' Patients are one person.

HAPI FHIR MDM is the model.  Each member's ``Patient`` has exactly one ``MATCH`` link to a
person (a golden id); the automatic linking (:func:`link`, run by the worker whenever a Patient
is written, idempotent) decides it:

1. deterministic — another record with the same valid 身份证号 (15-digit ones upgraded, a wrong
   check character not used) or the same 居民健康卡号 is the same person (source ``id-card`` /
   ``health-card``); two valid 身份证号 that differ are never the same person;
2. probabilistic — the records sharing a blocking key (birth date, phone, a pinyin reading of
   the name with the birth year) are scored (:mod:`storage.clinical.patient_scoring`); a
   certain score links (``score``), a possible one becomes a ``POSSIBLE_MATCH`` for a person to
   review — never merged silently;
3. otherwise the Patient is a person of its own (``new``).

A reviewer's decision is ``manual`` and wins over the automatic linking: a confirmed link
stays, a ``NO_MATCH`` is never proposed again (:mod:`storage.clinical.patient_match_review`).
Every change of a link is audited by the caller's actor (the worker's is ``mpi``).
:func:`linked_patients` is what the rest of the platform asks: the Patients that are the same
person as this one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, aliased

from storage.audit import audit
from storage.clinical.patient_features import Features, features
from storage.clinical.patient_scoring import CERTAIN, POSSIBLE, scores
from storage.db import add_rows
from storage.models import (
    FhirResource,
    LinkSource,
    MatchGrade,
    MpiKey,
    MpiLink,
    MpiRecord,
    utcnow,
)

MAX_CANDIDATES = 200  # records scored for one patient, at most
WORKER = {"channel": "worker", "actor": "mpi", "actor_org_id": None}


@dataclass(frozen=True)
class Candidate:
    """Another member's record that may be the same person, and how sure that is."""

    patient_id: str
    person_id: str
    org_id: str | None
    grade: MatchGrade
    source: LinkSource
    score: float


def linked_patients(session: Session, patient_id: str) -> set[str]:
    """The ids of every Patient linked ``MATCH`` to the person of ``patient_id``, itself
    included (only itself when the index does not know it); deleted Patients are left out.
    Who may see which of them is the caller's question (:func:`storage.policy.fhir_visible`)."""
    mine, theirs = aliased(MpiLink), aliased(MpiLink)
    current = (
        select(FhirResource.id)
        .join(theirs, theirs.patient_id == FhirResource.id)
        .join(mine, mine.person_id == theirs.person_id)
        .where(
            mine.patient_id == patient_id,
            mine.grade == MatchGrade.MATCH,
            theirs.grade == MatchGrade.MATCH,
            FhirResource.resource_type == "Patient",
            FhirResource.deleted.is_(False),
        )
    )
    return {patient_id, *session.scalars(current)}


def person_of(session: Session, patient_id: str) -> str | None:
    return session.scalar(
        select(MpiLink.person_id).where(
            MpiLink.patient_id == patient_id, MpiLink.grade == MatchGrade.MATCH
        )
    )


def members(session: Session, person_id: str) -> set[str]:
    """The Patients linked ``MATCH`` to a person."""
    return set(
        session.scalars(
            select(MpiLink.patient_id).where(
                MpiLink.person_id == person_id, MpiLink.grade == MatchGrade.MATCH
            )
        )
    )


def candidates(
    session: Session, wanted: Features, *, exclude: str | None = None
) -> list[Candidate]:
    """The records that may be the person ``wanted`` describes, the surest first."""
    keys = sorted(wanted.blocking_keys())
    if not keys:
        return []
    ids = select(MpiKey.patient_id).where(MpiKey.key.in_(keys)).distinct()
    if exclude is not None:
        ids = ids.where(MpiKey.patient_id != exclude)
    rows = session.execute(
        select(MpiRecord.patient_id, MpiRecord.org_id, MpiRecord.features, MpiLink.person_id)
        .join(MpiLink, MpiLink.patient_id == MpiRecord.patient_id)
        .where(
            MpiRecord.patient_id.in_(ids.limit(MAX_CANDIDATES)),
            MpiLink.grade == MatchGrade.MATCH,
        )
    ).all()
    found, scored = [], []
    for patient_id, org_id, data, person_id in rows:
        other = Features.from_json(data)
        source = _deterministic(wanted, other)
        if source is not None:
            found.append(Candidate(patient_id, person_id, org_id, MatchGrade.MATCH, source, 1.0))
        elif not (wanted.id_card and other.id_card):  # two valid numbers that differ: no
            scored.append((patient_id, org_id, person_id, other))
    for (patient_id, org_id, person_id, _), score in zip(
        scored, scores(wanted, [other for *_, other in scored]), strict=True
    ):
        if score >= POSSIBLE:
            grade = MatchGrade.MATCH if score >= CERTAIN else MatchGrade.POSSIBLE_MATCH
            found.append(Candidate(patient_id, person_id, org_id, grade, LinkSource.SCORE, score))
    return sorted(found, key=lambda c: (-c.score, c.patient_id))


def _deterministic(wanted: Features, other: Features) -> LinkSource | None:
    if wanted.id_card and wanted.id_card == other.id_card:
        return LinkSource.ID_CARD
    if wanted.health_card and wanted.health_card == other.health_card:
        return LinkSource.HEALTH_CARD
    return None


def link(session: Session, patient_id: str, org_id: str | None, patient: dict[str, Any]) -> str:
    """Index the current version of a Patient and link it (idempotent); its person's id."""
    wanted = features(patient)
    _take_turns(session, wanted.blocking_keys())
    _index(session, patient_id, org_id, wanted)
    links = _links(session, patient_id)
    current = next((lk for lk in links if lk.grade == MatchGrade.MATCH), None)
    rejected = {lk.person_id for lk in links if lk.grade == MatchGrade.NO_MATCH}
    found = [
        c for c in candidates(session, wanted, exclude=patient_id) if c.person_id not in rejected
    ]
    if current is not None and current.source == LinkSource.MANUAL:
        chosen: tuple[str, LinkSource, float | None] = (current.person_id, current.source, None)
    elif certain := [c for c in found if c.grade == MatchGrade.MATCH]:
        chosen = (certain[0].person_id, certain[0].source, certain[0].score)
    elif current is not None and current.source == LinkSource.NEW:
        chosen = (current.person_id, LinkSource.NEW, None)
    else:
        chosen = (str(uuid.uuid4()), LinkSource.NEW, None)
    person, source, score = chosen
    if current is None or (current.person_id, current.source) != (person, source):
        set_match(session, patient_id, person, source, score, WORKER)
    possible = _best_per_person(c for c in found if c.person_id != person)
    # The automatic proposals of before are replaced by today's.
    proposed = {lk.person_id for lk in links if lk.grade == MatchGrade.POSSIBLE_MATCH}
    if gone := proposed - set(possible) - {person}:
        session.execute(
            delete(MpiLink).where(
                MpiLink.patient_id == patient_id,
                MpiLink.grade == MatchGrade.POSSIBLE_MATCH,
                MpiLink.person_id.in_(gone),
            )
        )
    for other_person, candidate in possible.items():
        if other_person not in proposed:
            row = link_row(patient_id, other_person, MatchGrade.POSSIBLE_MATCH, candidate.source,
                       candidate.score, "mpi")  # fmt: skip
            add_rows(session, MpiLink, [row])
            _audit(session, WORKER, "mpi-possible-match", patient_id, other_person,
                   candidate.score)  # fmt: skip
    return person


def _take_turns(session: Session, keys: set[str]) -> None:
    """Workers linking records that share a key take turns (PostgreSQL: a transaction lock per
    key, in order); otherwise two could each make a new person of the same one.  (SQLite, the
    embedded default, runs one worker.)"""
    if session.get_bind().dialect.name == "postgresql":
        for key in sorted(keys):
            session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))


def forget(session: Session, patient_id: str, *, keep_links: bool = False) -> None:
    """A deleted Patient leaves the index (its record, keys and links)."""
    for table in (MpiKey, MpiRecord) if keep_links else (MpiKey, MpiLink, MpiRecord):
        session.execute(delete(table).where(table.patient_id == patient_id))


def set_match(
    session: Session,
    patient_id: str,
    person_id: str,
    source: LinkSource,
    score: float | None,
    actor: dict[str, Any],
) -> None:
    """Make ``person_id`` the person of the Patient (its one ``MATCH`` link), audited."""
    session.execute(
        delete(MpiLink).where(
            MpiLink.patient_id == patient_id,
            (MpiLink.grade == MatchGrade.MATCH) | (MpiLink.person_id == person_id),
        )
    )
    made_by = actor["actor"]
    add_rows(session, MpiLink, [link_row(patient_id, person_id, MatchGrade.MATCH, source, score,
                                     made_by)])  # fmt: skip
    _audit(session, actor, "mpi-link", patient_id, person_id, score, source=source.value)


def _best_per_person(found: Iterable[Candidate]) -> dict[str, Candidate]:
    best: dict[str, Candidate] = {}
    for candidate in found:  # the surest first
        best.setdefault(candidate.person_id, candidate)
    return best


def _index(session: Session, patient_id: str, org_id: str | None, wanted: Features) -> None:
    data = wanted.as_json()
    known = session.execute(
        select(MpiRecord.org_id, MpiRecord.features).where(MpiRecord.patient_id == patient_id)
    ).first()
    if known is not None and tuple(known) == (org_id, data):
        return
    forget(session, patient_id, keep_links=True)
    row = {"patient_id": patient_id, "org_id": org_id, "features": data, "updated_at": utcnow()}
    add_rows(session, MpiRecord, [row])
    keys = [{"key": key, "patient_id": patient_id} for key in wanted.blocking_keys()]
    if keys:
        add_rows(session, MpiKey, keys)


def _links(session: Session, patient_id: str) -> list[Any]:
    """The Patient's links as plain rows (``person_id``, ``grade``, ``source``)."""
    return list(
        session.execute(
            select(MpiLink.person_id, MpiLink.grade, MpiLink.source).where(
                MpiLink.patient_id == patient_id
            )
        )
    )


def link_row(
    patient_id: str,
    person_id: str,
    grade: MatchGrade,
    source: LinkSource,
    score: float | None,
    made_by: str,
) -> dict[str, Any]:
    return {
        "patient_id": patient_id, "person_id": person_id, "grade": grade.value,
        "source": source.value, "score": score, "made_by": made_by, "made_at": utcnow(),
    }  # fmt: skip


def _audit(
    session: Session,
    actor: dict[str, Any],
    action: str,
    patient_id: str,
    person_id: str,
    score: float | None,
    **more: Any,
) -> None:
    audit(session, **link_audit(actor, action, patient_id, person_id, score, **more))


def link_audit(
    actor: dict[str, Any],
    action: str,
    patient_id: str,
    person_id: str,
    score: float | None,
    **more: Any,
) -> dict[str, Any]:
    """The audit record (its fields) of a link made or proposed."""
    entities = {"id": patient_id, "person": person_id, **more}
    if score is not None:
        entities["score"] = round(score, 4)
    return {**actor, "action": action, "outcome": "success", "resource_type": "Patient",
            **entities}  # fmt: skip
