"""The schema, the alliance import, the outbox and recorded objects, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from storage import (
    ConfigError,
    ObjectExists,
    import_alliance_file,
    store_object,
    sweep_orphans,
    transaction,
)
from storage.blobs import BlobInfo, BlobStore
from storage.db import add_rows, deferred_writes, migrate, reading, write_pending
from storage.fhir import store as fhir_store
from storage.models import (
    AETitle,
    Alliance,
    ApiClient,
    Base,
    Centre,
    FhirResource,
    Organization,
    OutboxEvent,
    StoredObject,
    User,
)
from storage.models.base import utcnow
from storage.outbox import claim, complete, enqueue, fail, replay
from storage.registry import authenticate_client, authenticate_user, registered_ae_titles
from tests.conftest import DEMO_ALLIANCE


def test_migrations_build_exactly_the_models_schema(engine: Engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    migrate(engine)  # a second run is a no-op


def test_every_index_of_the_fhir_tables_has_planner_statistics(engine: Engine):
    """On SQLite an index without a row in ``sqlite_stat1`` is taken for a selective one (a
    worklist day was read to the newest order through a date sort index): a migration that
    makes an index gives it statistics, as 0005, 0013 and 0032 do."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's planner")
    with engine.connect() as conn:
        indexes = conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND (tbl_name = 'fhir_resources'"
            " OR tbl_name LIKE 'fhir\\_index\\_%' ESCAPE '\\')"
        )).scalars().all()  # fmt: skip
        described = set(conn.execute(text("SELECT idx FROM sqlite_stat1")).scalars())
    assert len(indexes) > 15
    assert sorted(set(indexes) - described) == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path):
    from storage.db import create_db_engine

    engine = create_db_engine(f"sqlite:///{tmp_path / 'y.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    engine.dispose()


def _dump(sessions: sessionmaker[Session]) -> dict[str, list[tuple]]:
    out = {}
    with sessions() as session:
        for table in Base.metadata.sorted_tables:
            rows = session.execute(select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(r) for r in rows]
    return out


def test_demo_alliance_imports_and_reimport_changes_nothing(sessions):
    first = import_alliance_file(sessions, DEMO_ALLIANCE)
    assert first.created["organizations"] == 9
    assert first.created["ae_titles"] == 13
    before = _dump(sessions)
    second = import_alliance_file(sessions, DEMO_ALLIANCE)
    assert not second.changed
    assert second.unchanged["users"] == 18
    assert _dump(sessions) == before

    with sessions() as session:
        lead = session.get(Organization, "jhzx")
        assert (lead.name, lead.kind) == ("金华市中心医院", "lead_hospital")
        alliance = session.get(Alliance, "jhzx-ylt")
        assert alliance.kind == "city_medical_group"
        assert len(alliance.members) == 9
        pathology = session.get(Centre, "jhzx-pathology")
        assert [s.org_id for s in pathology.served] == ["wcdy", "wcrm"]
        imaging = session.get(Centre, "jhzx-imaging")
        assert len(imaging.served) == 8  # every member but the lead itself
        assert session.get(AETitle, "WCRM_CT1").org_id == "wcrm"
        assert session.get(AETitle, "JHZX_READ1").port == 11113
        # Secrets are stored hashed, and the hashes verify.
        client = session.get(ApiClient, "his-wcrm")
        assert "demo-secret" not in client.secret_hash
        assert authenticate_client(session, "his-wcrm", "demo-secret-wcrm") is not None
        assert authenticate_client(session, "his-wcrm", "wrong-secret-000") is None
        user = authenticate_user(session, "chenjing", "Demo@2026")
        assert sorted(r.role for r in user.roles) == ["reader", "senior_reader"]
        assert registered_ae_titles(session)["TX_CT1"].org_id == "tx-wsy"


def test_reimport_with_one_change_updates_only_that_entry(sessions, tmp_path: Path):
    import_alliance_file(sessions, DEMO_ALLIANCE)
    edited = tmp_path / "alliance.yaml"
    text_ = DEMO_ALLIANCE.read_text(encoding="utf-8")
    edited.write_text(
        text_.replace(
            'roles: [reader], practitioner_id: "110330700000101"',
            'roles: [reader, senior_reader], practitioner_id: "110330700000101"',
        ).replace("description: 汤溪卫生院 CT", "description: 汤溪卫生院 64排CT"),
        encoding="utf-8",
    )
    report = import_alliance_file(sessions, edited)
    assert report.updated["users"] == 1
    assert report.unchanged["users"] == 17
    assert report.updated["ae_titles"] == 1
    assert sum(report.created.values()) == 0
    with sessions() as session:
        assert sorted(r.role for r in session.get(User, "wanglei").roles) == [
            "reader",
            "senior_reader",
        ]


def test_conflict_with_existing_data_rolls_back_the_whole_file(sessions, tmp_path: Path):
    import_alliance_file(sessions, DEMO_ALLIANCE)
    before = _dump(sessions)
    other = tmp_path / "other.yaml"
    other.write_text(
        """
organizations:
  - {id: new-org, name: 新机构, kind: village_clinic, national_id: "123307004701184004"}
  - {id: jhzx, name: 金华市中心医院（改名）, kind: lead_hospital, national_id: "123307004701184004"}
alliances:
  - {id: a2, name: 第二联盟, kind: 专科联盟, lead: jhzx, members: [jhzx]}
""",
        encoding="utf-8",
    )
    # Same national_id twice inside the file is caught before writing ...
    with pytest.raises(ConfigError, match=r"organizations\[1\] \(national_id 123307004701184004\)"):
        import_alliance_file(sessions, other)
    # ... and a clash with what the database already holds rolls everything back.
    other.write_text(
        """
organizations:
  - {id: jhzx, name: 金华市中心医院（改名）, kind: lead_hospital, national_id: "123307004701184004"}
  - {id: new-org, name: 新机构, kind: village_clinic, national_id: "12330702470120100X"}
alliances:
  - {id: a2, name: 第二联盟, kind: 专科联盟, lead: jhzx, members: [jhzx, new-org]}
""",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"other.yaml: .*national_id"):
        import_alliance_file(sessions, other)
    assert _dump(sessions) == before


def test_outbox_claim_complete_retry_and_dead_letter(sessions):
    with transaction(sessions) as session:
        enqueue(session, "study.stable", {"study": "1.2.3"})
        enqueue(session, "later", {}, delay=timedelta(hours=1))
        enqueue(session, "fragile", {}, max_attempts=2)
    events = claim(sessions, limit=10)
    assert sorted(e.topic for e in events) == ["fragile", "study.stable"]
    assert claim(sessions) == []  # leased: nobody else gets them
    stable = next(e for e in events if e.topic == "study.stable")
    assert stable.payload == {"study": "1.2.3"}
    assert stable.attempts == 1
    complete(sessions, stable.id)

    fragile = next(e for e in events if e.topic == "fragile")
    assert fail(sessions, fragile.id, "peer down") == "pending"
    with transaction(sessions) as session:  # make the retry due now
        session.get(OutboxEvent, fragile.id).available_at -= timedelta(hours=2)
    again = claim(sessions)
    assert [(e.id, e.attempts) for e in again] == [(fragile.id, 2)]
    assert fail(sessions, fragile.id, "peer down") == "dead"
    assert claim(sessions) == []
    replay(sessions, fragile.id)
    assert [e.id for e in claim(sessions)] == [fragile.id]
    with sessions() as session:
        states = dict(session.execute(select(OutboxEvent.topic, OutboxEvent.state)).all())
    assert states == {"study.stable": "done", "later": "pending", "fragile": "running"}


def test_deferred_rows_of_any_shape_are_written_with_their_types(sessions):
    """Rows collected in a deferred block reach the table as given (dates, JSON, booleans),
    those that leave a column to its default get it, and a failed block leaves none."""
    with transaction(sessions) as session, deferred_writes(session):
        enqueue(session, "with.dates", {"n": 1, "名": "王芳"})  # gives every column
        add_rows(session, OutboxEvent, [{"topic": "defaults", "payload": {"n": 2}}])
        add_rows(session, OutboxEvent, [{"topic": "mixed", "payload": [3]}])
        add_rows(session, OutboxEvent, [{"topic": "mixed", "payload": [4], "attempts": 7}])
    with (  # noqa: PT012 (it fails after the rows went out)
        pytest.raises(ZeroDivisionError),
        transaction(sessions) as session,
        deferred_writes(session),
    ):
        enqueue(session, "undone", {})
        write_pending(session)
        raise ZeroDivisionError
    with sessions() as session:
        events = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
    assert [(e.topic, e.payload, e.attempts, e.state) for e in events] == [
        ("with.dates", {"n": 1, "名": "王芳"}, 0, "pending"),
        ("defaults", {"n": 2}, 0, "pending"),
        ("mixed", [3], 0, "pending"),
        ("mixed", [4], 7, "pending"),
    ]
    assert all(e.created_at.tzinfo is not None and e.available_at for e in events)


def test_a_read_by_key_sees_what_its_transaction_has_not_sent_yet(sessions):
    """Reads by key run on the session's connection, past the ORM (``execute_plain``): they
    still see the rows a deferred block holds and the ORM objects added but not flushed."""
    patient = {"resourceType": "Patient", "id": "p-deferred", "gender": "female"}
    with transaction(sessions) as session, deferred_writes(session):
        fhir_store.put(session, patient, None, new=True)
        assert fhir_store.read(session, "Patient", "p-deferred").content["gender"] == "female"
        assert fhir_store.vread(session, "Patient", "p-deferred", 1) is not None
        session.add(
            FhirResource(
                resource_type="Patient",
                id="p-added",
                version_id=1,
                last_updated=utcnow(),
                deleted=False,
                owner_org_id=None,
                content={"resourceType": "Patient", "id": "p-added"},
            )
        )
        assert fhir_store.read(session, "Patient", "p-added") is not None
    with reading(sessions) as session:
        assert fhir_store.read(session, "Patient", "p-deferred").version_id == 1
        assert fhir_store.vread(session, "Patient", "p-deferred", 2) is None


def test_outbox_lease_expiry_lets_another_worker_take_over(sessions):
    with transaction(sessions) as session:
        enqueue(session, "t", {})
    first = claim(sessions, lease=timedelta(seconds=-1))  # the worker "died" at once
    second = claim(sessions)
    assert [e.id for e in second] == [first[0].id]
    assert second[0].attempts == 2


def test_a_claim_takes_a_dead_workers_events_then_the_oldest_due(sessions):
    with transaction(sessions) as session:
        for i in range(3):
            enqueue(session, "t", {"i": i})
    abandoned = claim(sessions, limit=1, lease=timedelta(seconds=-1))  # its worker died
    with transaction(sessions) as session:
        enqueue(session, "t", {"i": 3}, delay=timedelta(hours=1))
        enqueue(session, "t", {"i": 4})
        overdue = session.scalar(select(func.max(OutboxEvent.id)))
        session.get(OutboxEvent, overdue).available_at -= timedelta(days=1)
    first = claim(sessions, limit=1)
    assert [(e.id, e.attempts) for e in first] == [(abandoned[0].id, 2)]
    assert [e.payload["i"] for e in claim(sessions, limit=2)] == [1, 4]
    assert [e.payload["i"] for e in claim(sessions, limit=10)] == [2]


def test_concurrent_workers_never_claim_the_same_event(sessions):
    with transaction(sessions) as session:
        for i in range(200):
            enqueue(session, "t", {"i": i})
    seen: list[int] = []
    lock = threading.Lock()
    errors: list[Exception] = []

    def work() -> None:
        try:
            while events := claim(sessions, limit=7):
                with lock:
                    seen.extend(e.id for e in events)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(seen) == len(set(seen)) == 200


def test_store_object_records_size_and_sha256_after_the_object(sessions, blob_store: BlobStore):
    info = store_object(sessions, blob_store, "hl7/x/1.hl7", [b"MSH|^~\\&|..."])
    with sessions() as session:
        row = session.get(StoredObject, "hl7/x/1.hl7")
    assert (row.size, row.sha256) == (info.size, info.sha256)
    assert blob_store.exists("hl7/x/1.hl7")
    with pytest.raises(ObjectExists):
        store_object(sessions, blob_store, "hl7/x/1.hl7", [b"different"])
    assert b"".join(blob_store.get("hl7/x/1.hl7")) == b"MSH|^~\\&|..."


def test_failed_index_write_removes_the_object_again(sessions, blob_store: BlobStore):
    def index(session: Session, info: BlobInfo) -> None:
        session.add(AETitle(ae_title="X", org_id="no-such-org", kind="modality"))  # FK fails

    with pytest.raises(Exception, match=r"(?i)foreign key"):
        store_object(sessions, blob_store, "dicom/a/b/c", [b"DICM"], on_stored=index)
    assert not blob_store.exists("dicom/a/b/c")
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(StoredObject)) == 0


def test_sweep_removes_only_old_unrecorded_objects(sessions, blob_store: BlobStore):
    store_object(sessions, blob_store, "dicom/1/1/recorded", [b"a"])
    blob_store.put("dicom/1/1/orphan", [b"b"])  # a crash between object and row
    assert sweep_orphans(sessions, blob_store, "dicom/", older_than=timedelta(hours=1)) == 0
    assert sweep_orphans(sessions, blob_store, "dicom/", older_than=timedelta(seconds=-60)) == 1
    assert sorted(blob_store.list("dicom/")) == ["dicom/1/1/recorded"]
