"""Batch and transaction Bundles (FHIR R4 3.1.0.11).

A transaction is all or nothing: ``urn:uuid:`` full URLs become the ids they are stored under
(references to them rewritten), then every entry runs in one database transaction — deletes,
creates, updates, reads, as the specification orders them — each resource written as soon as
it is validated (the validator's workers check the next ones meanwhile).  Any failure, an
invalid resource included, rolls back everything.  A batch runs each entry on its own and
reports each result.  Conditional entries (URLs with a query) are not supported yet: 400.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gateway.auth.tokens import Requester
from gateway.errors import BadRequest, HttpError, PreconditionFailed, TooLarge, Unprocessable
from gateway.fhir import interactions
from gateway.fhir.http import whole_number
from gateway.fhir.outcome import operation_outcome
from gateway.fhir.validator import Prepared
from storage.db import deferred_writes, write_pending
from storage.fhir import IndexRows, StoredResource, instant, new_id
from storage.fhir.store import MAX_VERSION

MAX_ENTRIES = 1000
ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "GET": 3}
STATUS_TEXT = {200: "200 OK", 201: "201 Created", 204: "204 No Content"}
# A transaction's collected rows go to the database after this many writes, while the
# validator's workers check the next resources.
WRITE_EVERY = 64

Prepare = Callable[[list[tuple[Any, str]]], Iterator[Prepared]]


@dataclass
class Entry:
    index: int
    method: str
    resource_type: str
    resource_id: str | None
    resource: dict[str, Any] | None
    full_url: str | None
    if_match: int | None
    rows: IndexRows | None = None  # the index rows, made when validated


def parse(bundle: Any) -> tuple[str, list[Entry]]:
    """The entries of a batch or transaction, POSTed resources given their ids (``urn:uuid:``
    references pointing at them)."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise BadRequest("POST to the base URL takes a Bundle")
    kind = bundle.get("type")
    if kind not in ("batch", "transaction"):
        raise BadRequest(f"Bundle.type must be batch or transaction, not {kind!r}")
    raw_entries = bundle.get("entry") or []
    if not isinstance(raw_entries, list):
        raise BadRequest("Bundle.entry must be a list")
    if len(raw_entries) > MAX_ENTRIES:
        raise TooLarge(f"at most {MAX_ENTRIES} entries per Bundle; split it")
    entries = [_entry(i, raw) for i, raw in enumerate(raw_entries)]
    resolve_placeholders(entries)
    return kind, entries


def _written(entries: list[Entry]) -> list[Entry]:
    return [e for e in entries if e.method in ("POST", "PUT")]


def _take(entry: Entry, prepared: Prepared) -> None:
    """The entry's index rows, or the 422 naming its problems."""
    problems, entry.rows = prepared
    if problems:
        where = f"Bundle.entry[{entry.index}]"
        raise Unprocessable(
            f"{where} is not a valid {entry.resource_type}",
            [(f"{where}.resource.{p.expression}", p.message) for p in problems],
        )


def _entry(index: int, raw: Any) -> Entry:
    where = f"Bundle.entry[{index}]"
    request = raw.get("request") if isinstance(raw, dict) else None
    if not isinstance(request, dict):
        raise BadRequest(f"{where}.request is missing")
    method, url = str(request.get("method", "")).upper(), str(request.get("url", ""))
    if method not in ORDER:
        raise BadRequest(f"{where}.request.method {method!r} is not supported")
    if "?" in url:
        raise BadRequest(f"{where}: conditional requests are not supported yet")
    parts = [p for p in url.split("/") if p]
    if not 1 <= len(parts) <= 2 or (method == "POST") != (len(parts) == 1):
        raise BadRequest(f"{where}.request.url {url!r} does not fit {method}")
    resource = raw.get("resource")
    if method in ("POST", "PUT") and not isinstance(resource, dict):
        raise BadRequest(f"{where}.resource is missing")
    if method == "PUT" and resource.get("id") != parts[1]:
        raise BadRequest(f"{where}: the resource's id must be the id in request.url")
    if_match = request.get("ifMatch")
    version = str(if_match).removeprefix("W/").strip('"') if if_match else None
    if version is not None and not (version.isascii() and version.isdigit()):
        raise BadRequest(f"{where}.request.ifMatch must be a version ETag")
    if version is not None and whole_number(version, MAX_VERSION) is None:
        raise PreconditionFailed(f"{where}.request.ifMatch: version {version} cannot exist")
    return Entry(
        index,
        method,
        parts[0],
        parts[1] if len(parts) == 2 else None,
        resource if isinstance(resource, dict) else None,  # the parsed body's own: no copy
        raw.get("fullUrl"),
        int(version) if version else None,
    )


def resolve_placeholders(entries: list[Entry]) -> None:
    """Give POSTed resources their ids and point ``urn:uuid:`` references at them."""
    targets: dict[str, str] = {}
    for entry in entries:
        if entry.method == "POST":
            entry.resource_id = new_id()
        if entry.full_url and entry.full_url.startswith("urn:") and entry.resource_id:
            targets[entry.full_url] = f"{entry.resource_type}/{entry.resource_id}"
    for entry in entries:
        if entry.resource is not None:
            if entry.method == "POST":
                entry.resource["id"] = entry.resource_id
            _rewrite(entry.resource, targets)


def _rewrite(node: Any, targets: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str) and value in targets:
                node[key] = targets[value]
            else:
                _rewrite(value, targets)
    elif isinstance(node, list):
        for item in node:
            _rewrite(item, targets)


def run_entry(session: Session, requester: Requester, entry: Entry, check: bool) -> dict[str, Any]:
    """One entry's ``response`` (raises the interaction's HttpError); ``check``: references."""
    if entry.method == "DELETE":
        assert entry.resource_id is not None
        interactions.delete(session, requester, entry.resource_type, entry.resource_id)
        return {"status": STATUS_TEXT[204]}
    if entry.method == "GET":
        assert entry.resource_id is not None
        stored = interactions.read(session, requester, entry.resource_type, entry.resource_id)
        return _response(stored, 200, include=True)
    assert entry.resource is not None
    if entry.method == "POST":
        stored = interactions.create(
            session, requester, entry.resource, check=check, index=entry.rows
        )
        return _response(stored, 201)
    stored = interactions.update(
        session, requester, entry.resource, entry.if_match, check=check, index=entry.rows
    )
    return _response(stored, 201 if stored.version_id == 1 else 200)


def _response(stored: StoredResource, status: int, include: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "status": STATUS_TEXT[status],
        "location": f"{stored.resource_type}/{stored.id}/_history/{stored.version_id}",
        "etag": f'W/"{stored.version_id}"',
        "lastModified": instant(stored.last_updated),
    }
    if include:
        response["_resource"] = stored.content
    return response


def transaction_response(
    entries: list[Entry],
    in_one_transaction: Callable[[Callable[[Session], list[dict[str, Any]]]], Any],
    requester: Requester,
    check: bool,
    prepare: Prepare,
) -> dict[str, Any]:
    """All or nothing; references are checked once every entry is written (they may point at
    each other)."""
    ordered = sorted(entries, key=lambda e: (ORDER[e.method], e.index))
    written = _written(ordered)

    def work(session: Session) -> list[dict[str, Any]]:
        answers: dict[int, dict[str, Any]] = {}
        prepared = prepare([(e.resource, e.resource_type) for e in written])
        with deferred_writes(session):
            for count, entry in enumerate(ordered, 1):
                if entry.method in ("POST", "PUT"):
                    _take(entry, next(prepared))
                try:
                    answers[entry.index] = run_entry(session, requester, entry, check=False)
                except HttpError as exc:
                    exc.message = f"Bundle.entry[{entry.index}]: {exc.message}"
                    raise
                if count % WRITE_EVERY == 0:
                    write_pending(session)
            if check:
                resources = [e.resource for e in written if e.resource]
                own = {f"{e.resource_type}/{e.resource_id}" for e in written}
                interactions.check_references(session, requester, resources, own)
        return [answers[e.index] for e in entries]

    return _bundle("transaction-response", in_one_transaction(work))


def batch_response(
    entries: list[Entry],
    each_in_transaction: Callable[[Callable[[Session], dict[str, Any]]], Any],
    each_read: Callable[[Callable[[Session], dict[str, Any]]], Any],
    requester: Requester,
    check: bool,
    prepare: Prepare,
) -> dict[str, Any]:
    """Each entry on its own: an invalid resource is its entry's 422, the others still run.
    A read (GET) runs in ``each_read``: read-only, its access record committed by the audit
    log before the answer."""
    written = _written(entries)
    items = [(e.resource, e.resource_type) for e in written]
    prepared = dict(zip((e.index for e in written), prepare(items), strict=True))
    answers = []
    for entry in entries:
        try:
            if entry.index in prepared:
                _take(entry, prepared[entry.index])
            run = each_read if entry.method == "GET" else each_in_transaction
            answers.append(run(lambda s, e=entry: run_entry(s, requester, e, check)))
        except HttpError as exc:
            answers.append(
                {
                    "status": str(exc.status),
                    "outcome": operation_outcome(exc.status, exc.message, exc.problems),
                }
            )
    return _bundle("batch-response", answers)


def _bundle(kind: str, responses: list[dict[str, Any]]) -> dict[str, Any]:
    entries = []
    for response in responses:
        resource = response.pop("_resource", None)
        entries.append({**({"resource": resource} if resource else {}), "response": response})
    return {"resourceType": "Bundle", "type": kind, "entry": entries}
