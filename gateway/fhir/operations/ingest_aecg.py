"""``POST /fhir/Observation/$ingest-aecg``: an HL7 aECG document (the XML itself as the body)
becomes the same ECG ``Observation`` a DICOM waveform object does (:mod:`gateway.ecg`), owned
by the uploader's organization, its subject the organization's PatientID.  Sending the same
document again changes nothing (200); a new or changed one answers 201.  A body that is not a
readable aECG is a 400 and nothing is stored.  With ``order`` (the uploader's open ECG order)
the Observation is ``basedOn`` it and names its patient, and the order's reading Task is 待阅片
— ``stat``, due from now, when the clinic marks the recording ``chestPain``
(:mod:`gateway.workflow.reconcile`, :mod:`gateway.workflow.ecg_reading`)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from fhir_profiles.validation import validate
from gateway.auth.routes import Auth
from gateway.ecg import aecg
from gateway.ecg.recording import UnreadableEcg
from gateway.errors import BadRequest, Unprocessable, UnsupportedMediaType
from gateway.fhir import interactions, openapi
from gateway.fhir.context import Fhir
from gateway.fhir.http import body_bytes, written
from gateway.fhir.operation import Operation, Param
from gateway.fhir.storing import store_if_changed
from gateway.transactions import run_in_transaction
from gateway.workflow import reconcile
from storage.fhir import StoredResource
from storage.fhir import store as fhir_store

XML_TYPES = ("application/hl7-v3+xml", "application/xml", "text/xml")


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.post("/Observation/$ingest-aecg", openapi_extra=openapi.HL7_V3_XML)
    async def ingest(
        request: Request,
        requester: Auth,
        order: str = "",
        chest_pain: Annotated[bool, Query(alias="chestPain")] = False,
    ) -> Response:
        interactions.authorize(requester, "Observation", "c")
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in XML_TYPES:
            raise UnsupportedMediaType("send the aECG document as application/hl7-v3+xml")
        body = await body_bytes(request)
        zone = ZoneInfo(fhir.platform.settings.local_timezone)
        try:
            document = await run_in_threadpool(aecg.read, body, zone)
            observation = aecg.observation_of(document, requester.org_id)
        except UnreadableEcg as exc:
            raise BadRequest(f"not a readable HL7 aECG document: {exc}") from exc
        if problems := validate(observation, "Observation"):
            raise Unprocessable(
                "the Observation would not be valid", [(p.expression, p.message) for p in problems]
            )

        def work(session: Session) -> tuple[StoredResource, bool]:
            id = observation["id"]
            interactions.audit_fhir(session, requester, "ingest-aecg", "Observation", id=id)
            linked = reconcile.ecg_order(session, requester.org_id, order) if order else None
            if linked is not None:
                observation["basedOn"] = [{"reference": f"ServiceRequest/{linked.order.id}"}]
                observation["subject"] = (linked.order.content or {})["subject"]
            if (stored := store_if_changed(session, observation, requester.org_id)) is not None:
                reconcile.images_complete(session, linked, chest_pain=chest_pain)
                return stored, True
            current = fhir_store.read(session, "Observation", id)
            assert current is not None
            return current, False

        stored, changed = await run_in_threadpool(run_in_transaction, fhir.platform, work)
        return written(request, stored, 201 if changed else 200)


OPERATION = Operation(
    code="ingest-aecg",
    title="Store an HL7 aECG recording (心电图上传)",
    description="An HL7 v3 Annotated ECG document, sent as the body "
    "(application/hl7-v3+xml), is kept as one ECG Observation (MDC 131328): a component per "
    "lead (valueSampledData), the device's global measurements (MDC and LOINC) and its "
    "interpretation statements as notes; the subject is the uploading organization's "
    "PatientID (trialSubject id).  The same document again is the same Observation.  With "
    "order, it answers that ECG order of the uploader (its reading task then awaits reading; "
    "chestPain makes it stat, due from the upload).",
    resources=("Observation",),
    type_level=True,
    affects_state=True,
    parameters=(
        Param("order", "in", "string", "ServiceRequest/{id}: the uploader's ECG order it answers"),
        Param("chestPain", "in", "boolean", "chest pain / suspected STEMI: read first (stat)"),
        Param("return", "out", "Observation", "the ECG Observation (201 new or changed)", 1),
    ),
    mount=mount,
)
