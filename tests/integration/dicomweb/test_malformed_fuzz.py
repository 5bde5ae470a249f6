"""Malformed data sets from careless or broken senders, generated: a valid instance mutated
(long or odd UIDs, values in the wrong VR, truncated elements and files, byte flips in numeric
elements, broken pixel data, missing UIDs), then sent by C-STORE (pynetdicom, chunked, the data
set byte for byte) or STOW-RS to one running node and gateway.

Whatever arrives: never an internal error (no 0xC211 from pynetdicom's exception handler, no
HTTP 5xx), every failure says why, the node still answers C-ECHO, nothing is half-written (rows
and objects match), no identifier is cut, and what was answered Success is served byte for byte
by WADO-RS — and its series' metadata, rendering and conversion answer without a server error.
Bounded by the Hypothesis profile (tests/conftest.py): the same 300 examples every run of
``make test``; ``bench/fuzz.sh`` runs many more."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pydicom
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import Verification
from sqlalchemy import select

from storage import transaction
from storage.dicom import uid_problem
from storage.models import DicomConflict, DicomInstance, DicomSeries, DicomStudy, StoredObject
from tests.conftest import new_postgres_database
from tests.dicom_data import (
    Study,
    break_compressed_pixels,
    copy_of_sample,
    data_set_bytes,
    explicit_element,
    flip_byte,
    instance,
    replace_element,
    shorten_value,
    with_transfer_syntax,
)
from tests.integration.dicom.conftest import CLINIC_AE, NODE_AE, send_file
from tests.integration.dicomweb.conftest import (
    Gateway,
    multipart,
    parts,
    start_gateway,
    strict_json,
)

UIDS = {"SOPInstanceUID": 0x00080018, "SOPClassUID": 0x00080016}
UIDS |= {"StudyInstanceUID": 0x0020000D, "SeriesInstanceUID": 0x0020000E}
# Numeric elements of the native base instance, with their VRs.
NUMERIC = {
    0x00180050: "DS",  # SliceThickness
    0x00200011: "IS",  # SeriesNumber
    0x00200013: "IS",  # InstanceNumber
    0x00280010: "US",  # Rows
    0x00280011: "US",  # Columns
    0x00280100: "US",  # BitsAllocated
    0x00280101: "US",  # BitsStored
    0x00280030: "DS",  # PixelSpacing
    0x00281050: "DS",  # WindowCenter
    0x00281051: "DS",  # WindowWidth
    0x00281052: "DS",  # RescaleIntercept
    0x00281053: "DS",  # RescaleSlope
}
# Text elements whose bytes a flip turns into other characters, or into no character at all.
TEXT = {0x00080005: "CS", 0x00081030: "LO", 0x00100010: "PN", 0x00100020: "LO"}
VRS = ["US", "SS", "UL", "FL", "FD", "DS", "IS", "UI", "LO", "PN", "DA", "AT", "OB", "UN", "SQ"]


# --- mutations: what a careless or broken sender does to a valid instance ----------------------


def long_uid() -> st.SearchStrategy[tuple]:
    return st.tuples(
        st.just("uid"),
        st.sampled_from(sorted(UIDS)),
        st.integers(65, 80).map(lambda n: ("1.2.826.0.1.3680043.8.498." + "9" * 80)[:n]),
    )


def odd_uid() -> st.SearchStrategy[tuple]:
    text = st.text(alphabet="0123456789.a \x00-", max_size=70)
    return st.tuples(st.just("uid"), st.sampled_from(sorted(UIDS)), text)


def wrong_vr() -> st.SearchStrategy[tuple]:
    tags = st.sampled_from([*NUMERIC, *UIDS.values(), 0x00100020, 0x00080020])
    return st.tuples(st.just("element"), tags, st.sampled_from(VRS), st.binary(max_size=12))


def truncated_element() -> st.SearchStrategy[tuple]:
    """A numeric element whose value lost bytes (its length says so: the file stays parseable)."""
    return st.tuples(st.just("shorten"), st.sampled_from(sorted(NUMERIC)), st.integers(1, 3))


def byte_flip() -> st.SearchStrategy[tuple]:
    tags = st.sampled_from(sorted([*NUMERIC, *TEXT]))
    return st.tuples(st.just("flip"), tags, st.integers(0, 15), st.integers(1, 255))


def missing_uid() -> st.SearchStrategy[tuple]:
    return st.tuples(st.just("remove"), st.sampled_from(sorted(UIDS.values())))


def broken_pixels() -> st.SearchStrategy[tuple]:
    return st.tuples(st.just("pixels"))


def truncated_file() -> st.SearchStrategy[tuple]:
    return st.tuples(st.just("cut"), st.floats(0.0, 0.999))


MUTATION = st.one_of(
    long_uid(), odd_uid(), wrong_vr(), truncated_element(), byte_flip(), missing_uid()
)
# A file meta that names another transfer syntax than the data set's encoding: a known one
# (negotiated by C-STORE too), or, in STOW-RS, where the sender writes the meta, any text.
KNOWN_SYNTAXES = [
    "1.2.840.10008.1.2",  # implicit VR little endian
    "1.2.840.10008.1.2.2",  # explicit VR big endian
    "1.2.840.10008.1.2.1.99",  # deflated
    "1.2.840.10008.1.2.4.50",  # JPEG baseline
    "1.2.840.10008.1.2.5",  # RLE
]
SYNTAX = st.one_of(
    st.sampled_from(KNOWN_SYNTAXES),
    st.text(alphabet="0123456789.x \x00", max_size=70).filter(lambda t: t.strip(" \x00")),
    long_uid().map(lambda mutation: mutation[2]),
)


@dataclass(frozen=True)
class Sending:
    channel: str  # "c-store" or "stow"
    base: str  # "native" or "jpeg"
    mutations: list[tuple]
    ending: tuple | None  # broken pixels or a cut, applied last
    syntax: str | None  # the transfer syntax the file meta names instead of its own


SENDINGS = st.builds(
    Sending,
    st.sampled_from(["c-store", "stow"]),
    st.sampled_from(["native", "native", "jpeg"]),
    st.lists(MUTATION, min_size=1, max_size=3),
    st.one_of(st.none(), broken_pixels(), truncated_file()),
    st.one_of(st.none(), st.none(), st.none(), SYNTAX),
)


def base_file(kind: str, directory: Path) -> Path:
    study_uid, series_uid = str(generate_uid()), str(generate_uid())
    if kind == "jpeg":
        return copy_of_sample("SC_rgb_jpeg_gdcm.dcm", directory, study_uid, series_uid)
    ds = instance(Study(study_uid=study_uid), series_uid, 1)
    ds.SliceThickness, ds.PixelSpacing = "1.25", ["0.5", "0.5"]
    ds.WindowCenter, ds.WindowWidth = "40", "400"
    ds.RescaleIntercept, ds.RescaleSlope = "-1024", "1"
    path = directory / f"{ds.SOPInstanceUID}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def mutate(raw: bytes, mutation: tuple) -> bytes:
    kind, *args = mutation
    if kind == "uid":
        tag, data = UIDS[args[0]], args[1].encode()
        return replace_element(
            raw, tag, explicit_element(tag, "UI", data + b"\0" * (len(data) % 2))
        )
    if kind == "element":
        return replace_element(raw, args[0], explicit_element(*args))
    if kind == "remove":
        return replace_element(raw, args[0], b"")
    if kind == "shorten":
        return shorten_value(raw, *args)
    return flip_byte(raw, *args)


def build(sending: Sending, directory: Path) -> Path:
    path = base_file(sending.base, directory)
    raw = path.read_bytes()
    for mutation in sending.mutations:
        raw = mutate(raw, mutation)
    if sending.ending == ("pixels",):
        path.write_bytes(raw)
        if sending.base == "jpeg":
            raw = break_compressed_pixels(path).read_bytes()
        else:
            raw = replace_element(raw, 0x7FE00010, explicit_element(0x7FE00010, "OW", bytes(100)))
    elif sending.ending is not None:  # cut somewhere in the data set
        meta_end = 132 + 12 + pydicom.dcmread(path).file_meta.FileMetaInformationGroupLength
        raw = raw[: meta_end + int(sending.ending[1] * (len(raw) - meta_end))]
    path.write_bytes(raw)
    if sending.syntax is not None and (
        sending.channel == "stow" or sending.syntax in KNOWN_SYNTAXES
    ):
        with_transfer_syntax(path, sending.syntax)
    return path


# --- what the archive must hold to ---------------------------------------------------------


AS_STORED = 'multipart/related; type="application/dicom"; transfer-syntax=*'
CONVERTED = 'multipart/related; type="application/dicom"'  # to Explicit VR Little Endian


@dataclass
class Ledger:
    """What was answered Success: SOP Instance UID -> (study, series, data set bytes) of the
    first copy (the one the index serves), and later copies that had other bytes."""

    stored: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)
    other_copies: list[tuple[str, bytes]] = field(default_factory=list)
    refusals: int = 0

    def note(self, path: Path) -> tuple[str, str, str] | None:
        """Record a stored file; its (study, series, SOP) when it is the copy to serve."""
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        study, series, sop = (
            str(ds[keyword].value).strip(" \0")
            for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
        )
        sent = data_set_bytes(path.read_bytes())
        if sop in self.stored and self.stored[sop][2] != sent:
            self.other_copies.append((sop, sent))
            return None
        self.stored.setdefault(sop, (study, series, sent))
        return study, series, sop


def c_store(gateway: Gateway, path: Path) -> bool:
    """Send; True when stored.  Every answer is a deliberate one, with a reason on failure."""
    meta = pydicom.filereader.read_file_meta_info(path)
    status = send_file(gateway.node, path, meta.MediaStorageSOPClassUID, meta.TransferSyntaxUID)
    assert "Status" in status, "no answer: the association broke"
    assert status.Status in (0x0000, 0xA900, 0xC000), hex(status.Status)  # never 0xC211
    if status.Status != 0x0000:
        assert status.ErrorComment
    return status.Status == 0x0000


def stow(web: httpx.Client, path: Path) -> bool:
    content_type, body = multipart([("application/dicom", path.read_bytes())])
    answer = web.post("/studies", content=body, headers={"Content-Type": content_type})
    assert answer.status_code in (200, 409), answer.text
    document = answer.json()
    if answer.status_code == 409:
        assert document["00081198"]["Value"][0]["00081197"]["Value"][0] in (0xA900, 0xC000)
        assert answer.headers["warning"]
    return answer.status_code == 200


def served_whole(web: httpx.Client, study: str, series: str, sop: str, sent: bytes) -> None:
    """As stored, byte for byte; and its series' metadata, its conversion and its rendering
    answer without a server error (the conversion, when it comes, complete)."""
    instance = f"/studies/{study}/series/{series}/instances/{sop}"
    as_stored = web.get(instance, headers={"Accept": AS_STORED})
    assert as_stored.status_code == 200
    [part] = parts(as_stored)
    assert data_set_bytes(part) == sent
    metadata = web.get(f"/studies/{study}/series/{series}/metadata")
    assert metadata.status_code == 200
    documents = strict_json(metadata.text)
    assert isinstance(documents, list)
    assert sop in {d["00080018"]["Value"][0] for d in documents if "00080018" in d}
    converted = web.get(instance, headers={"Accept": CONVERTED})
    assert converted.status_code in (200, 406)
    if converted.status_code == 200:
        parts(converted)
    rendered = web.get(f"{instance}/rendered", headers={"Accept": "image/jpeg"})
    assert rendered.status_code in (200, 404, 406), rendered.text


@pytest.fixture(params=["sqlite", "postgresql"])
def archive(request: pytest.FixtureRequest, tmp_path: Path, demo_sqlite: Path) -> Iterator[Gateway]:
    """The node and the gateway over one database of each kind (PostgreSQL, unlike SQLite,
    refuses a value longer than its column or holding a NUL)."""
    database_url = None
    if request.param == "postgresql":
        database_url = new_postgres_database(request.getfixturevalue("postgres_server"))
    with start_gateway(tmp_path, demo_sqlite, database_url=database_url) as gateway:
        yield gateway


def test_malformed_data_sets_never_break_the_archive(archive: Gateway, tmp_path: Path):
    gateway = archive
    token = gateway.token("wanglei")
    web = httpx.Client(
        base_url=gateway.dicomweb,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/dicom+json"},
        timeout=60,
    )
    ledger = Ledger()

    @settings(database=None, suppress_health_check=list(HealthCheck))  # examples: the profile
    @given(SENDINGS)
    def send(sending: Sending) -> None:
        note(repr(sending))
        directory = tmp_path / uuid.uuid4().hex
        directory.mkdir()
        path = build(sending, directory)
        stored = c_store(gateway, path) if sending.channel == "c-store" else stow(web, path)
        if not stored:
            ledger.refusals += 1
            return
        key = ledger.note(path)
        if key is not None:
            served_whole(web, *key, ledger.stored[key[2]][2])

    with web:
        send()
        answers_echo(gateway)
        nothing_half_written(gateway)
        for sop, (study, series, sent) in ledger.stored.items():
            served_whole(web, study, series, sop, sent)
        kept_for_an_admin(gateway, ledger.other_copies)
    assert ledger.stored, "no example was stored: the mutations are too strong to test serving"
    assert ledger.refusals, "no example was refused: the mutations are too weak"


def answers_echo(gateway: Gateway) -> None:
    ae = AE(CLINIC_AE)
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", gateway.node.port, ae_title=NODE_AE)
    assert assoc.is_established
    try:
        assert assoc.send_c_echo().Status == 0x0000
    finally:
        assoc.release()


def nothing_half_written(gateway: Gateway) -> None:
    """Every row has its object and every object its row; no identifier was cut."""
    platform = gateway.node.platform
    with transaction(platform.sessions) as session:
        recorded = set(session.scalars(select(StoredObject.key)))
        instances = session.execute(
            select(
                DicomInstance.sop_instance_uid, DicomInstance.series_uid, DicomInstance.object_key
            )
        ).all()
        conflicts = set(
            session.scalars(
                select(DicomConflict.object_key).where(DicomConflict.object_key.is_not(None))
            )
        )
        uids = [
            *session.scalars(select(DicomStudy.study_uid)),
            *session.scalars(select(DicomSeries.series_uid)),
            *(sop for sop, _, _ in instances),
        ]
    recorded = {key for key in recorded if key.startswith("dicom/")}
    assert set(platform.blobs.list("dicom/")) == recorded
    assert {key for _, _, key in instances} | conflicts == recorded
    assert [u for u in uids if uid_problem(u) is not None] == []
    for sop, series, key in instances:
        assert f"/{series}/{sop}/" in key


def kept_for_an_admin(gateway: Gateway, copies: list[tuple[str, bytes]]) -> None:
    """A later copy of a stored instance with other bytes got Success: it is kept, whole, as a
    conflict for an administrator (the documented policy), while the first copy is served."""
    platform = gateway.node.platform
    for sop, sent in copies:
        with transaction(platform.sessions) as session:
            keys = session.scalars(
                select(DicomConflict.object_key).where(DicomConflict.sop_instance_uid == sop)
            ).all()
        kept = [data_set_bytes(b"".join(platform.blobs.get(k))) for k in keys if k]
        assert sent in kept
