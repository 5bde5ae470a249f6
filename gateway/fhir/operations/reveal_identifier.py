"""``POST /fhir/Patient/{id}/$reveal-identifier``: one identifier of one patient in full — a
person's explicit "show me the 身份证号", asked for by the web app's 显示 button.

Pages show identity numbers masked (``330702********1234``).  Asking for one in full is decided
by the policy that decides reading the Patient (``Patient.r`` and the organizations that may see
it: 404 otherwise, as a read), and leaves an access record naming who asked, for which patient,
which identifier system and the reason given (action ``reveal-identifier``; it shows in the
patient's trail of ``/admin/audit-records?patient=``).

Plain FHIR reads of the Patient keep the identifier whole: systems (HIS, LIS, the matching of
a 身份证号 across members) need it and their reads are audited as reads; the guarantee for
people is that the web app shows an identity number only after this operation answered it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.errors import BadRequest, NotFound
from gateway.fhir import interactions, openapi
from gateway.fhir.context import Fhir
from gateway.fhir.http import body_bytes, fhir_json, parameter_values
from gateway.fhir.operation import Operation, Param
from storage.fhir import store as fhir_store
from storage.identity_numbers import ID_CARD

REASON_LIMIT = 500


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.post("/Patient/{patient_id}/$reveal-identifier", openapi_extra=openapi.PARAMETERS)
    async def reveal(request: Request, requester: Auth, patient_id: str) -> Response:
        interactions.authorize(requester, "Patient", "r")
        system, reason = _asked(await body_bytes(request))

        def work(session: Session) -> tuple[bool, dict[str, Any] | None]:
            stored = fhir_store.read(session, "Patient", patient_id)
            visible = (
                stored is not None
                and not stored.deleted
                and interactions.sees(session, requester, stored, current=True)
            )
            found = _identifier(stored.content, system) if visible and stored else None
            outcome = "success" if found else "not_found"
            entities: dict[str, Any] = {"id": patient_id, "identifier_system": system}
            if reason:
                entities["reason"] = reason
            interactions.audit_fhir(
                session, requester, "reveal-identifier", "Patient", outcome, **entities
            )
            return visible, found

        # Refused or not, the access record is committed before the answer goes out.
        visible, found = await fhir.read_only(work)
        if not visible:
            raise NotFound(f"Patient/{patient_id} is not known")
        if found is None:
            raise NotFound(f"Patient/{patient_id} has no identifier of system {system}")
        return fhir_json({"resourceType": "Parameters", "parameter": [
            {"name": "identifier", "valueIdentifier": found}]})  # fmt: skip


def _asked(body: bytes) -> tuple[str, str]:
    values = parameter_values(body)
    system = values.get("system", ID_CARD)
    reason = values.get("reason", "")
    if not isinstance(system, str) or not system.strip():
        raise BadRequest("system (valueUri) names the identifier to show, e.g. " + ID_CARD)
    if not isinstance(reason, str) or len(reason) > REASON_LIMIT:
        raise BadRequest(f"reason (valueString) is text of at most {REASON_LIMIT} characters")
    return system.strip(), reason.strip()


def _identifier(patient: dict[str, Any], system: str) -> dict[str, Any] | None:
    for identifier in patient.get("identifier") or []:
        if identifier.get("system") == system and identifier.get("value"):
            return {"system": system, "value": identifier["value"]}
    return None


OPERATION = Operation(
    code="reveal-identifier",
    title="Show one identifier of a patient in full (显示身份证号)",
    description="A person asks to see a patient's identity number unmasked; allowed when the "
    "Patient may be read, and audited with the identifier's system and the reason given.",
    resources=("Patient",),
    instance_level=True,
    affects_state=True,  # POST only: each reveal is an act, recorded; never a cacheable GET
    parameters=(
        Param("system", "in", "uri", f"the identifier's system (default {ID_CARD}, 身份证号)"),
        Param("reason", "in", "string", "why it is asked for (kept in the access record)"),
        Param("identifier", "out", "Identifier", "the identifier, whole", 1),
    ),
    mount=mount,
)
