"""Patient administration from HL7 (ADT over MLLP, messages built with hl7apy): register,
update, merge — each kept as versions, a merge recorded, never a silent rewrite."""

from __future__ import annotations

import httpx
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message

from storage.platform import plugins
from storage.worker import process_batch
from tests.integration.lab.conftest import Lab


def adt(trigger: str, control_id: str, patient_id: str, name: str, prior: str = "") -> Message:
    structure = "ADT_A39" if trigger == "A40" else "ADT_A01"
    msg = Message(structure, version="2.5", validation_level=VALIDATION_LEVEL.TOLERANT)
    msg.msh.msh_3, msg.msh.msh_4 = "LIS", "JHZX"
    msg.msh.msh_9 = f"ADT^{trigger}^{structure}"
    msg.msh.msh_10 = control_id
    msg.msh.msh_11 = "P"
    msg.add_segment("PID")
    msg.pid.pid_3 = f"{patient_id}^^^jhzx^PI"
    msg.pid.pid_5 = name
    msg.pid.pid_7 = "19650304"
    msg.pid.pid_8 = "F"
    if prior:
        msg.add_segment("MRG")
        msg.mrg.mrg_1 = f"{prior}^^^jhzx^PI"
    return msg


def patient(lab: Lab, patient_id: str) -> dict:
    found = lab.fhir(f"/Patient?identifier=urn:yilian:patient-id:jhzx|{patient_id}")
    assert found.get("total") == 1, found
    return found["entry"][0]["resource"]


def test_register_update_and_merge(lab: Lab):
    assert lab.send(adt("A04", "ADT-1", "JH0001", "李秀英"))["MSA"][1] == "AA"
    registered = patient(lab, "JH0001")
    assert registered["name"] == [{"text": "李秀英"}]
    assert (registered["gender"], registered["birthDate"]) == ("female", "1965-03-04")

    assert lab.send(adt("A08", "ADT-2", "JH0001", "李秀瑛"))["MSA"][1] == "AA"
    updated = patient(lab, "JH0001")
    assert (updated["id"], updated["meta"]["versionId"]) == (registered["id"], "2")
    assert updated["name"] == [{"text": "李秀瑛"}]

    assert lab.send(adt("A01", "ADT-3", "JH0002", "李秀瑛"))["MSA"][1] == "AA"
    duplicate = patient(lab, "JH0002")
    assert lab.send(adt("A40", "ADT-4", "JH0001", "李秀瑛", prior="JH0002"))["MSA"][1] == "AA"
    replaced = patient(lab, "JH0002")
    assert replaced["active"] is False
    assert replaced["link"] == [
        {"other": {"reference": f"Patient/{registered['id']}"}, "type": "replaced-by"}
    ]
    assert patient(lab, "JH0001")["link"] == [
        {"other": {"reference": f"Patient/{duplicate['id']}"}, "type": "replaces"}
    ]
    history = lab.fhir(f"/Patient/{duplicate['id']}/_history")
    assert len(history["entry"]) == 2  # the record before the merge is kept


def test_merging_an_unknown_patient_is_refused(lab: Lab):
    assert lab.send(adt("A04", "ADT-5", "JH0003", "王芳"))["MSA"][1] == "AA"
    ack = lab.send(adt("A40", "ADT-6", "JH0003", "王芳", prior="JH9999"))
    assert (ack["MSA"][1], ack["ERR"][2], ack["ERR"][3][:3]) == ("AE", "MRG^1^1", "204")
    assert "link" not in patient(lab, "JH0003")


def test_an_administrator_sees_failures_and_replays_them(lab: Lab):
    """A merge that arrived before the registration it needs fails; once the patient is
    registered, the administrator replays it and it is applied."""
    ack = lab.send(adt("A40", "ADT-7", "JH0010", "赵敏", prior="JH0011"))
    assert ack["MSA"][1] == "AE"
    headers = {"Authorization": f"Bearer {lab.gateway.token('admin')}"}
    base = f"{lab.gateway.url}/admin/hl7-messages"
    [failed] = httpx.get(f"{base}?state=failed", headers=headers).json()
    assert (failed["controlId"], failed["type"], failed["peer"]) == ("ADT-7", "ADT^A40", "jhzx-lis")
    assert failed["error"].startswith("MRG[1]-1: 204:")
    system = {"Authorization": f"Bearer {lab.gateway.token('his-jhzx')}"}
    assert httpx.get(base, headers=system).status_code == 403

    assert lab.send(adt("A04", "ADT-8", "JH0011", "赵敏"))["MSA"][1] == "AA"
    replayed = httpx.post(f"{base}/{failed['id']}/$replay", headers=headers)
    assert replayed.status_code == 202
    assert httpx.post(f"{base}/999999/$replay", headers=headers).status_code == 404
    handlers = plugins("yilian.outbox_handlers")
    while process_batch(lab.platform, handlers, limit=50):
        pass
    [done] = [m for m in httpx.get(base, headers=headers).json() if m["controlId"] == "ADT-7"]
    assert (done["state"], done["attempts"], done["error"]) == ("processed", 2, None)
    assert patient(lab, "JH0011")["active"] is False
