"""Linking many Patients at once: the decisions :func:`patient_matches.link` makes one record at
a time, made in one pass for every Patient the index does not know yet — a member's existing
patients loaded into the alliance, or the index of a database restored without it
(``yilian link-patients``).

The rules are the one-by-one linking's, in the same order of strength:

1. records with the same valid 身份证号 or 居民健康卡号 are one person (``id-card``,
   ``health-card``);
2. records sharing a blocking key are scored with the same comparison and weights
   (:func:`patient_scoring.pair_scores`); certain pairs are joined, the surest first
   (``score``); possible pairs become ``POSSIBLE_MATCH`` proposals for review;
3. every other record is a person of its own (``new``).

Two groups are never joined when each holds a different valid 身份证号, and two persons the
index already knows are never merged (a new record joins one of them; merging is a reviewer's
decision) — so no chain of scores makes one person of people their numbers keep apart (of two
such joins, the surer is made; a tie goes to the lower record ids).  A record is compared
with at most :data:`WINDOW` others per blocking key, its nearest in birth date (a phone number a
clinic typed for everybody would otherwise pair every record with every other).

Decisions are made in memory, then written in chunks of :data:`CHUNK` records, each one
transaction with its links' audit records.  A Patient the worker linked meanwhile (written
during the run) keeps the worker's link.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.audit.records import record_row
from storage.clinical.patient_features import Features, features
from storage.clinical.patient_matches import WORKER, link_audit, link_row
from storage.clinical.patient_scoring import CERTAIN, POSSIBLE, pair_scores
from storage.db import add_rows, reading, transaction
from storage.models import (
    AuditRecord,
    FhirResource,
    LinkSource,
    MatchGrade,
    MpiKey,
    MpiLink,
    MpiRecord,
)

WINDOW = 50  # others compared per record and blocking key, at most
CHUNK = 10_000  # records written per transaction
SCORED_AT_ONCE = 100_000  # pairs per call of the scorer
_DETERMINISTIC = {"id:": LinkSource.ID_CARD, "hc:": LinkSource.HEALTH_CARD}


@dataclass
class BatchReport:
    records: int = 0  # Patients linked by this run
    persons: int = 0  # the persons they are (known ones included)
    sources: dict[str, int] = field(default_factory=dict)  # records by link source
    possible: int = 0  # proposals queued for review
    pairs_scored: int = 0
    skipped: int = 0  # linked by the worker meanwhile

    def summary(self) -> str:
        sources = ", ".join(f"{n} {source}" for source, n in sorted(self.sources.items()))
        return (
            f"{self.records} patients linked ({sources or 'none'}) into {self.persons} persons; "
            f"{self.possible} possible matches queued for review; {self.pairs_scored} pairs "
            f"scored; {self.skipped} left as the worker linked them meanwhile"
        )


class _Groups:
    """Union–find over the records: a group is one person.  A group remembers the person the
    index already knows it as and its 身份证号; groups are joined only when both do not differ."""

    def __init__(self, records: _Records) -> None:
        self.parent = list(range(len(records.ids)))
        self.card = [wanted.id_card for wanted in records.features]
        self.person: list[str | None] = [*records.persons, *[None] * records.new]
        first: dict[str | None, int] = {}
        for i, person in enumerate(records.persons):  # a known person's records: one group
            self.parent[i] = first.setdefault(person, i)

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if self.person[ra] and self.person[rb] and self.person[ra] != self.person[rb]:
            return False
        if self.card[ra] and self.card[rb] and self.card[ra] != self.card[rb]:
            return False
        self.parent[rb] = ra
        self.person[ra] = self.person[ra] or self.person[rb]
        self.card[ra] = self.card[ra] or self.card[rb]
        return True


@dataclass
class _Records:
    """The index's known records first (``known`` of them), then the new ones."""

    ids: list[str] = field(default_factory=list)
    orgs: list[str | None] = field(default_factory=list)
    features: list[Features] = field(default_factory=list)
    persons: list[str | None] = field(default_factory=list)  # of the known records
    known: int = 0

    @property
    def new(self) -> int:
        return len(self.ids) - self.known


def link_unindexed(sessions: sessionmaker[Session]) -> BatchReport:
    """Index and link every Patient the index does not know yet."""
    records = _load(sessions)
    report = BatchReport(records=records.new)
    if not report.records:
        return report
    groups = _Groups(records)
    how: dict[int, tuple[LinkSource, float | None]] = {}
    blocks = _blocks(records)
    for key, members in blocks.items():
        source = _DETERMINISTIC.get(key[:3])
        if source is None:
            continue
        first, *rest = members
        for i in rest:
            if groups.join(first, i) and i >= records.known:
                how.setdefault(i, (source, 1.0))
    pairs = _candidate_pairs(records, groups, blocks)
    report.pairs_scored = len(pairs)
    certain, possible = [], []
    for start in range(0, len(pairs), SCORED_AT_ONCE):
        chunk = pairs[start : start + SCORED_AT_ONCE]
        found = pair_scores([(records.features[a], records.features[b]) for a, b in chunk])
        for (a, b), score in zip(chunk, found, strict=True):
            if score >= CERTAIN:
                certain.append((score, a, b))
            elif score >= POSSIBLE:
                possible.append((score, a, b))
    for score, a, b in sorted(certain, key=lambda c: (-c[0], c[1], c[2])):
        if groups.join(a, b):
            attached = next((i for i in (b, a) if i >= records.known and i not in how), None)
            if attached is not None:  # the other founded the group, or came by its number
                how[attached] = (LinkSource.SCORE, score)
        else:
            possible.append((score, a, b))  # a group of its own: a person reviews it
    person_of = _persons(records, groups)
    proposals = _proposals(groups, person_of, possible)
    report.persons = len(set(person_of[records.known :]))
    report.possible = sum(len(p) for p in proposals.values())
    report.skipped = _write(sessions, records, person_of, how, proposals)
    for i in range(records.known, len(records.ids)):
        source = how.get(i, (LinkSource.NEW, None))[0].value
        report.sources[source] = report.sources.get(source, 0) + 1
    return report


def _load(sessions: sessionmaker[Session]) -> _Records:
    records = _Records()
    with reading(sessions) as session:
        known = session.execute(
            select(MpiRecord.patient_id, MpiRecord.org_id, MpiRecord.features, MpiLink.person_id)
            .join(MpiLink, MpiLink.patient_id == MpiRecord.patient_id)
            .where(MpiLink.grade == MatchGrade.MATCH)
            .execution_options(yield_per=CHUNK)
        )
        for patient_id, org_id, data, person_id in known:
            records.ids.append(patient_id)
            records.orgs.append(org_id)
            records.features.append(Features.from_json(data))
            records.persons.append(person_id)
        records.known = len(records.ids)
        indexed = select(MpiRecord.patient_id).where(MpiRecord.patient_id == FhirResource.id)
        unknown = session.execute(
            select(FhirResource.id, FhirResource.owner_org_id, FhirResource.content)
            .where(
                FhirResource.resource_type == "Patient",
                FhirResource.deleted.is_(False),
                ~indexed.exists(),
            )
            .order_by(FhirResource.id)
            .execution_options(yield_per=CHUNK)
        )
        for patient_id, org_id, content in unknown:
            records.ids.append(patient_id)
            records.orgs.append(org_id)
            records.features.append(features(content))
    return records


def _blocks(records: _Records) -> dict[str, list[int]]:
    """Each blocking key shared by two records or more, with those records (a key of known
    records only is left out: they were linked already)."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, wanted in enumerate(records.features):
        for key in wanted.blocking_keys():
            blocks[key].append(i)
    return {
        key: members
        for key, members in blocks.items()
        if len(members) > 1 and members[-1] >= records.known
    }


def _candidate_pairs(
    records: _Records, groups: _Groups, blocks: dict[str, list[int]]
) -> list[tuple[int, int]]:
    """Pairs to score: sharing a probabilistic key, at least one new, not one person yet, not
    two holders of different 身份证号; each record with its :data:`WINDOW` nearest by birth."""
    pairs: set[tuple[int, int]] = set()
    for key, members in blocks.items():
        if key[:3] in _DETERMINISTIC:
            continue
        ordered = sorted(members, key=lambda i: (records.features[i].birth or "", i))
        for n, a in enumerate(ordered):
            for b in islice(ordered, n + 1, n + 1 + WINDOW):
                low, high = min(a, b), max(a, b)
                if high < records.known or groups.find(low) == groups.find(high):
                    continue
                if records.features[low].id_card and records.features[high].id_card:
                    continue
                pairs.add((low, high))
    return sorted(pairs)


def _persons(records: _Records, groups: _Groups) -> list[str]:
    """Each record's person: the one the index knows its group as, else a new one."""
    made: dict[int, str] = {}
    person_of = []
    for i in range(len(records.ids)):
        root = groups.find(i)
        if not groups.person[root] and root not in made:
            made[root] = str(uuid.uuid4())
        person_of.append(groups.person[root] or made[root])
    return person_of


def _proposals(
    groups: _Groups,
    person_of: list[str],
    possible: list[tuple[float, int, int]],
) -> dict[int, dict[str, float]]:
    """Per new record, the other persons it may be (the best score per person): a pair's
    proposal goes on its newer record, as the one-by-one linking puts it on the later one."""
    proposals: dict[int, dict[str, float]] = defaultdict(dict)
    for score, a, b in possible:
        if groups.find(a) == groups.find(b):
            continue
        best = proposals[b]  # b is the newer (pairs hold at least one new record, b >= a)
        if score > best.get(person_of[a], 0.0):
            best[person_of[a]] = score
    return proposals


def _write(
    sessions: sessionmaker[Session],
    records: _Records,
    person_of: list[str],
    how: dict[int, tuple[LinkSource, float | None]],
    proposals: dict[int, dict[str, float]],
) -> int:
    """The new records' index rows, links and audit records, a chunk per transaction; the
    number left as the worker linked them meanwhile."""
    skipped = 0
    for chunk in _chunks(range(records.known, len(records.ids)), CHUNK):
        with transaction(sessions) as session:
            ids = [records.ids[i] for i in chunk]
            indexed = select(MpiRecord.patient_id).where(MpiRecord.patient_id.in_(ids))
            linked = set(session.scalars(indexed))
            skipped += len(linked)
            rows: dict[type[Any], list[dict[str, Any]]] = defaultdict(list)
            for i in chunk:
                if records.ids[i] not in linked:
                    _rows_of(records, i, person_of[i], how.get(i), proposals.get(i, {}), rows)
            for table in (MpiRecord, MpiKey, MpiLink, AuditRecord):
                add_rows(session, table, rows[table])
    return skipped


def _rows_of(
    records: _Records,
    i: int,
    person: str,
    how: tuple[LinkSource, float | None] | None,
    proposed: dict[str, float],
    rows: dict[type[Any], list[dict[str, Any]]],
) -> None:
    patient_id, wanted = records.ids[i], records.features[i]
    source, score = how or (LinkSource.NEW, None)
    rows[MpiRecord].append({"patient_id": patient_id, "org_id": records.orgs[i],
                            "features": wanted.as_json()})  # fmt: skip
    rows[MpiKey] += [{"key": key, "patient_id": patient_id} for key in wanted.blocking_keys()]
    rows[MpiLink].append(link_row(patient_id, person, MatchGrade.MATCH, source, score, "mpi"))
    made = link_audit(WORKER, "mpi-link", patient_id, person, score, source=source.value)
    rows[AuditRecord].append(record_row(**made))
    for other, likely in proposed.items():
        proposed_link = (MatchGrade.POSSIBLE_MATCH, LinkSource.SCORE, likely, "mpi")
        rows[MpiLink].append(link_row(patient_id, other, *proposed_link))
        proposal = link_audit(WORKER, "mpi-possible-match", patient_id, other, likely)
        rows[AuditRecord].append(record_row(**proposal))


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
