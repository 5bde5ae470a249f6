"""Resources found by identifier on both databases (the lab bridge's matching of patients and
orders): several keys in one query, limited to an owner, or to what a viewer sees — a patient
whose Consent denies the viewer is not found, unless the viewer holds the record itself."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from fhir_profiles.search_values import extract
from storage import import_alliance_file, transaction
from storage.fhir import by_identifiers, index_rows
from storage.fhir import store as fhir_store
from storage.policy import Viewer
from tests.conftest import DEMO_ALLIANCE

MRN = "urn:yilian:patient-id:"


def patient(session: Session, resource_id: str, owner: str, number: str) -> None:
    resource = {
        "resourceType": "Patient",
        "id": resource_id,
        "identifier": [{"system": f"{MRN}{owner}", "value": number}],
        "name": [{"text": "王芳"}],
    }
    fhir_store.put(session, resource, owner, index=index_rows(resource, extract(resource)))


def found(
    sessions: sessionmaker[Session], keys: list[tuple[str, str]], **limits: object
) -> list[str]:
    with transaction(sessions) as session:
        hits = by_identifiers(session, [("Patient", *key) for key in keys], **limits)
    return sorted(resource.id for resource in hits.values())


def test_found_by_identifier_within_an_owner_or_a_viewers_sight(sessions):
    import_alliance_file(sessions, DEMO_ALLIANCE)
    with transaction(sessions) as session:
        patient(session, "wang-tx", "tx-wsy", "T1")
        patient(session, "li-tx", "tx-wsy", "T2")
        patient(session, "zhao-cz", "cz-sq", "C1")
    keys = [(f"{MRN}tx-wsy", "T1"), (f"{MRN}tx-wsy", "T2"), (f"{MRN}cz-sq", "C1"),
            (f"{MRN}tx-wsy", "nobody"), (f"{MRN}tx-wsy", "T1")]  # fmt: skip

    assert found(sessions, keys) == ["li-tx", "wang-tx", "zhao-cz"]
    assert found(sessions, keys, owner_org_id="tx-wsy") == ["li-tx", "wang-tx"]
    assert found(sessions, keys[2:3], owner_org_id="tx-wsy") == []

    lead = Viewer("jhzx", frozenset({"jhzx", "tx-wsy"}))
    assert found(sessions, keys, viewer=lead) == ["li-tx", "wang-tx"]  # not 城中社区's
    refused = Viewer("jhzx", frozenset({"jhzx", "tx-wsy"}), frozenset({"Patient/wang-tx"}))
    assert found(sessions, keys, viewer=refused) == ["li-tx"]
    holder = Viewer("tx-wsy", frozenset({"tx-wsy"}), frozenset({"Patient/wang-tx"}))
    assert found(sessions, keys, viewer=holder) == ["li-tx", "wang-tx"]  # its own record
