"""The recognition catalogue and the members' qualifications as spreadsheets, for the
administrator of an alliance's lead hospital: ``/admin/recognition/{alliance}``.

- ``GET …/items.csv``: the alliance's catalogue (互认项目目录), one item a row;
  ``PUT …/items.csv``: the catalogue replaced by the file's rows.
- ``GET …/qualifications.csv``: the QC / EQA passes of the alliance's members;
  ``PUT …/qualifications.csv``: replaced by the file's rows.

UTF-8 with or without a byte-order mark (what Excel saves), a header row naming the columns;
several body sites are separated by ``|``.  A file is checked as the alliance file is
(``storage.registry.replace_entries``): a refusal is a 422 naming the row and the field, and
nothing is written; what a new file leaves out is removed.  Every replacement is audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway.admin.access import administrator, json_response
from gateway.auth.routes import Auth
from gateway.auth.tokens import Requester
from gateway.errors import BadRequest, Forbidden, Unprocessable
from gateway.fhir.http import body_bytes
from gateway.routing import PrefixRouter
from gateway.transactions import run_in_transaction
from storage.platform import Platform
from storage.policy import Administration
from storage.registry import AllianceProblems, NotYours, registry_document, replace_entries

ITEM_COLUMNS = ("code", "name", "name_en", "kind", "group", "window_days", "scope", "mark",
                "price", "modality", "body_sites", "loinc")  # fmt: skip
QUALIFICATION_COLUMNS = ("organization", "group", "valid_from", "valid_until", "programme")
MAX_BYTES = 2 * 1024 * 1024


def _item_row(entry: dict[str, Any]) -> dict[str, Any]:
    match = entry.get("match", {})
    return {**entry, "modality": match.get("modality", ""), "loinc": match.get("loinc", ""),
            "body_sites": "|".join(match.get("body_sites", []))}  # fmt: skip


def _item_entry(row: dict[str, str], alliance_id: str) -> dict[str, Any]:
    match: dict[str, Any] = {}
    if row.get("modality"):
        match["modality"] = row["modality"]
    if row.get("body_sites"):
        match["body_sites"] = [s.strip() for s in row["body_sites"].split("|") if s.strip()]
    if row.get("loinc"):
        match["loinc"] = row["loinc"]
    plain = {k: v for k, v in row.items() if k in ITEM_COLUMNS[:9] and v != ""}
    return {**plain, "alliance": alliance_id, "match": match}


def _qualification_entry(row: dict[str, str], _alliance_id: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k in QUALIFICATION_COLUMNS and v != ""}


def _csv(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.DictWriter(out, columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _rows(body: bytes, columns: tuple[str, ...]) -> list[dict[str, str]]:
    if len(body) > MAX_BYTES:
        raise BadRequest(f"the file is larger than {MAX_BYTES // 1024 // 1024} MiB")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("the file is not UTF-8 text (save it as CSV UTF-8)") from None
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in columns if c not in header]
    unknown = [c for c in header if c not in columns]
    if missing or unknown:
        raise Unprocessable(
            f"the header row names the columns {', '.join(columns)}"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
            [],
        )
    return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


def _by_row(problems: list[str], section: str) -> list[str]:
    """The file check's ``section[i]`` as the spreadsheet's row (its header is row 1)."""
    renamed = []
    for problem in problems:
        if problem.startswith(f"{section}["):
            index, _, rest = problem[len(section) + 1 :].partition("]")
            if index.isdigit():
                problem = f"row {int(index) + 2}{rest}"
        renamed.append(problem)
    return renamed


class _Sheet:
    """One section as a spreadsheet: its columns, its rows from entries and back, and which
    entries of the registry an administrator replaces for an alliance."""

    def __init__(
        self,
        section: str,
        columns: tuple[str, ...],
        row: Callable[[dict[str, Any]], dict[str, Any]],
        entry: Callable[[dict[str, str], str], dict[str, Any]],
        mine: Callable[[Administration, str], Callable[[dict[str, Any]], bool]],
    ) -> None:
        self.section, self.columns, self.row, self.entry, self.mine = (
            section, columns, row, entry, mine)  # fmt: skip

    def read(self, session: Session, requester: Requester, alliance_id: str) -> bytes:
        mine = self.mine(_leading(session, requester, alliance_id), alliance_id)
        entries = [e for e in registry_document(session)[self.section] if mine(e)]
        return _csv(self.columns, [self.row(e) for e in entries])

    def replace(
        self, session: Session, requester: Requester, alliance_id: str, body: bytes
    ) -> dict[str, Any]:
        admin = _leading(session, requester, alliance_id)
        entries = [self.entry(row, alliance_id) for row in _rows(body, self.columns)]
        try:
            replace_entries(session, admin, self.section, self.mine(admin, alliance_id),
                            entries, requester.subject)  # fmt: skip
        except AllianceProblems as exc:
            problems = _by_row(exc.problems, self.section)
            raise Unprocessable("\n".join(problems), [("", p) for p in problems]) from exc
        except NotYours as exc:
            raise Forbidden(str(exc)) from exc
        return {"section": self.section, "rows": len(entries)}


def _leading(session: Session, requester: Requester, alliance_id: str) -> Administration:
    admin = administrator(session, requester)
    if alliance_id not in admin.alliances:
        raise Forbidden(
            f"the recognition catalogue of {alliance_id!r} is kept by its lead hospital"
        )
    return admin


SHEETS = {
    "items": _Sheet(
        "recognition_items", ITEM_COLUMNS, _item_row, _item_entry,
        lambda _admin, alliance_id: lambda e: e.get("alliance") == alliance_id,
    ),
    "qualifications": _Sheet(
        "qualifications", QUALIFICATION_COLUMNS, dict, _qualification_entry,
        lambda admin, _alliance_id: lambda e: e.get("organization") in admin.orgs,
    ),
}  # fmt: skip


def router(platform: Platform) -> APIRouter:
    api = PrefixRouter(prefix="/admin/recognition", tags=["administration"])

    def sheet(name: str) -> _Sheet:
        if name not in SHEETS:
            raise BadRequest(f"the files are {', '.join(f'{n}.csv' for n in SHEETS)}")
        return SHEETS[name]

    @api.get("/{alliance_id}/{name}.csv")
    async def download(requester: Auth, alliance_id: str, name: str) -> Response:
        chosen = sheet(name)
        data = await run_in_threadpool(
            run_in_transaction, platform, lambda s: chosen.read(s, requester, alliance_id)
        )
        disposition = f'attachment; filename="{alliance_id}-{name}.csv"'
        return Response(data, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": disposition})  # fmt: skip

    @api.put("/{alliance_id}/{name}.csv")
    async def upload(request: Request, requester: Auth, alliance_id: str, name: str) -> Response:
        chosen = sheet(name)
        body = await body_bytes(request)
        answer = await run_in_threadpool(
            run_in_transaction, platform,
            lambda s: chosen.replace(s, requester, alliance_id, body),
        )  # fmt: skip
        return json_response(answer)

    return api
