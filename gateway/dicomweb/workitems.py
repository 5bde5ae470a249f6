"""UPS-RS (PS3.18 11): the reading worklist for reporting workstations, mounted beside the
other DICOMweb services — ``GET /dicomweb/workitems`` (search: ProcedureStepState, PatientID,
AccessionNumber, limit/offset), ``GET /dicomweb/workitems/{uid}`` (retrieve) and ``PUT
/dicomweb/workitems/{uid}/state`` (claim with a Transaction UID, complete, give back).  The
work is the centre's reading Tasks the requester sees; every state change is a step of
:mod:`gateway.workflow.reading` (:mod:`gateway.workflow.ups`), audited."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.dicomweb.media import DICOM_JSON
from gateway.errors import BadRequest, NotFound
from gateway.fhir import interactions
from gateway.fhir.http import body_bytes
from gateway.routing import PrefixRouter
from gateway.transactions import run_in_transaction
from gateway.workflow import reading, ups
from storage.json_codec import dump_bytes, loads
from storage.models import Centre, ReadingMilestones
from storage.platform import Platform
from storage.policy import visible_orgs

SEARCH_KEYS = {"ProcedureStepState": "00741000", "PatientID": "00100020",
               "AccessionNumber": "00080050"}  # fmt: skip
MAX_LIMIT = 500


def router(platform: Platform) -> APIRouter:
    api = PrefixRouter(prefix="/dicomweb", tags=["DICOMweb UPS-RS"])

    @api.get("/workitems")
    def search(request: Request, requester: Auth) -> Response:
        interactions.authorize(requester, "Task", "s")
        wanted, limit, offset = _query(dict(request.query_params))

        def work(session: Session) -> list[dict[str, Any]]:
            found = []
            for task_id in _open_work(session, requester.org_id):
                item = ups.workitem(session, reading.load(session, task_id)).to_json_dict()
                if all(_value(item, tag) == value for tag, value in wanted.items()):
                    found.append(item)
            interactions.audit_fhir(session, requester, "search", "Task", face="ups-rs")
            return found[offset : offset + limit]

        items = run_in_transaction(platform, work)
        return Response(dump_bytes(items), 200 if items else 204, media_type=DICOM_JSON)

    @api.get("/workitems/{uid}")
    def retrieve(uid: str, requester: Auth) -> Response:
        interactions.authorize(requester, "Task", "r")

        def work(session: Session) -> dict[str, Any]:
            current = _visible(session, requester, uid)
            interactions.audit_fhir(session, requester, "read", "Task", id=current.task.id)
            return ups.workitem(session, current).to_json_dict()

        item = run_in_transaction(platform, work)
        return Response(dump_bytes([item]), media_type=DICOM_JSON)

    @api.put("/workitems/{uid}/state")
    async def change_state(uid: str, request: Request, requester: Auth) -> Response:
        interactions.authorize(requester, "Task", "u")
        try:
            body = loads(await body_bytes(request))
        except ValueError:
            raise BadRequest("the body is not DICOM JSON") from None

        def work(session: Session) -> None:
            current = _visible(session, requester, uid)
            ups.change_state(session, requester, current, body)
            reading.save(session, current)
            interactions.audit_fhir(session, requester, "ups-state", "Task", id=current.task.id)

        run_in_transaction(platform, work)
        return Response(status_code=200)

    return api


def _query(params: dict[str, str]) -> tuple[dict[str, str], int, int]:
    wanted = {tag: params[key] for key, tag in SEARCH_KEYS.items() if params.get(key)}
    wanted |= {tag: params[tag] for tag in SEARCH_KEYS.values() if params.get(tag)}
    try:
        limit = min(int(params.get("limit", "100")), MAX_LIMIT)
        offset = int(params.get("offset", "0"))
    except ValueError:
        raise BadRequest("limit and offset are whole numbers") from None
    if limit < 1 or offset < 0:
        raise BadRequest("limit is at least 1, offset at least 0")
    return wanted, limit, offset


def _open_work(session: Session, org_id: str) -> list[str]:
    """The unfinished reading Tasks of the centres of the requester's organization, by due."""
    centres = select(Centre.id).where(Centre.org_id == org_id)
    query = (
        select(ReadingMilestones.task_id)
        .where(ReadingMilestones.centre_id.in_(centres), ReadingMilestones.finished_at.is_(None))
        .order_by(ReadingMilestones.due_at)
        .limit(MAX_LIMIT * 4)
    )
    return list(session.scalars(query))


def _visible(session: Session, requester: Any, uid: str) -> reading.Work:
    current = reading.load(session, ups.task_id(uid))
    if current.centre.org_id not in visible_orgs(session, requester.org_id):
        raise NotFound(f"workitem {uid} is not known")
    return current


def _value(item: dict[str, Any], tag: str) -> str | None:
    if tag == "00080050":
        requests = item.get("0040A370", {}).get("Value", [{}])
        return str((requests[0].get(tag) or {}).get("Value", [""])[0])
    values = item.get(tag, {}).get("Value", [])
    return str(values[0]) if values else None
