"""C-FIND, C-MOVE and C-GET as readers' workstations use them, with DCMTK's tools."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from pynetdicom import AE
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelMove

from storage import transaction
from storage.models import DicomInstance
from tests.dicom_data import Patient, Study, data_set_bytes, write_series
from tests.integration.dicom.conftest import (
    CLINIC_AE,
    OTHER_CLINIC_AE,
    READER_AE,
    RunningNode,
    storescp,
)


@dataclass
class Alliance:
    node: RunningNode
    ct: Study  # from 汤溪卫生院 (TX_CT1)
    dx: Study  # from 白龙桥卫生院 (BLQ_DR1)
    ct_files: list[Path]
    dx_files: list[Path]


@pytest.fixture
def alliance(sqlite_node: RunningNode, tmp_path: Path) -> Alliance:
    ct = Study(accession="A1001", study_date="20261101", description="胸部CT平扫")
    dx = Study(
        patient=Patient("330702195505054321", "Li^Si=李^四", "19550505", "F"),
        accession="B2002",
        study_date="20261115",
        description="胸部正位",
    )
    ct_files = write_series(ct, tmp_path / "ct", 3, "CT")
    dx_files = write_series(dx, tmp_path / "dx", 2, "DX")
    assert sqlite_node.storescu(*ct_files, calling=CLINIC_AE).returncode == 0
    assert sqlite_node.storescu(*dx_files, calling=OTHER_CLINIC_AE).returncode == 0
    return Alliance(sqlite_node, ct, dx, ct_files, dx_files)


def findscu(
    node: RunningNode, out: Path, *keys: str, calling: str = READER_AE, model: str = "-S"
) -> tuple[subprocess.CompletedProcess[str], list[pydicom.Dataset]]:
    out.mkdir(parents=True, exist_ok=True)
    args = [model, "-X", "-od", str(out)]
    for key in keys:
        args += ["-k", key]
    result = node.dcmtk("findscu", *args, calling=calling)
    answers = [pydicom.dcmread(p) for p in sorted(out.glob("rsp*.dcm"))]
    return result, answers


def test_study_level_by_name_wildcard_is_case_insensitive(alliance: Alliance, tmp_path: Path):
    result, answers = findscu(
        alliance.node,
        tmp_path / "q",
        "QueryRetrieveLevel=STUDY",
        "PatientName=zhang*",
        "StudyInstanceUID",
        "AccessionNumber",
        "ModalitiesInStudy",
        "NumberOfStudyRelatedInstances",
        "StudyDescription",
    )
    assert result.returncode == 0, result.stderr
    [answer] = answers
    assert answer.StudyInstanceUID == alliance.ct.study_uid
    assert answer.AccessionNumber == "A1001"
    assert answer.ModalitiesInStudy == "CT"
    assert int(answer.NumberOfStudyRelatedInstances) == 3
    assert answer.StudyDescription == "胸部CT平扫"
    assert answer.PatientName == "Zhang^Sanfeng=张^三丰"  # returned because it was matched on
    assert "PatientBirthDate" not in answer  # not asked for


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("StudyDate=20261110-", {"B2002"}),
        ("StudyDate=-20261110", {"A1001"}),
        ("StudyDate=20261101-20261115", {"A1001", "B2002"}),
        ("StudyDate=20261101", {"A1001"}),
        ("AccessionNumber=?1001", {"A1001"}),
        ("ModalitiesInStudy=DX", {"B2002"}),
        ("ModalitiesInStudy=MR\\CT", {"A1001"}),
        ("PatientID=330702195505054321", {"B2002"}),
        ("PatientSex=F", {"B2002"}),
        ("StudyDescription=胸部*", {"A1001", "B2002"}),
        ("AccessionNumber=A%", set()),  # SQL wildcards are literal characters in DICOM
        ("StudyDate", {"A1001", "B2002"}),  # universal matching
    ],
)
def test_study_level_matching(alliance: Alliance, tmp_path: Path, key: str, expected: set[str]):
    result, answers = findscu(
        alliance.node,
        tmp_path / "q",
        "SpecificCharacterSet=ISO_IR 192",
        "QueryRetrieveLevel=STUDY",
        *([] if key.startswith("AccessionNumber") else ["AccessionNumber"]),
        key,
    )
    assert result.returncode == 0, result.stderr
    assert {a.AccessionNumber for a in answers} == expected


def test_uid_list_matching(alliance: Alliance, tmp_path: Path) -> None:
    both = f"{alliance.ct.study_uid}\\{alliance.dx.study_uid}"
    _, answers = findscu(
        alliance.node, tmp_path / "q", "QueryRetrieveLevel=STUDY", f"StudyInstanceUID={both}"
    )
    assert {a.StudyInstanceUID for a in answers} == {alliance.ct.study_uid, alliance.dx.study_uid}


def test_series_and_image_levels(alliance: Alliance, tmp_path: Path) -> None:
    _, series = findscu(
        alliance.node,
        tmp_path / "s",
        "QueryRetrieveLevel=SERIES",
        f"StudyInstanceUID={alliance.ct.study_uid}",
        "SeriesInstanceUID",
        "Modality",
        "NumberOfSeriesRelatedInstances",
    )
    [one] = series
    assert one.Modality == "CT"
    assert int(one.NumberOfSeriesRelatedInstances) == 3
    _, images = findscu(
        alliance.node,
        tmp_path / "i",
        "QueryRetrieveLevel=IMAGE",
        f"StudyInstanceUID={alliance.ct.study_uid}",
        f"SeriesInstanceUID={one.SeriesInstanceUID}",
        "SOPInstanceUID",
        "InstanceNumber",
        "SOPClassUID",
    )
    assert sorted(int(i.InstanceNumber) for i in images) == [1, 2, 3]
    sent = {str(pydicom.dcmread(p).SOPInstanceUID) for p in alliance.ct_files}
    assert {i.SOPInstanceUID for i in images} == sent


def test_patient_root_patient_level(alliance: Alliance, tmp_path: Path) -> None:
    result, answers = findscu(
        alliance.node,
        tmp_path / "p",
        "QueryRetrieveLevel=PATIENT",
        "PatientID=330702198001011234",
        "PatientName",
        "PatientBirthDate",
        "NumberOfPatientRelatedStudies",
        model="-P",
    )
    assert result.returncode == 0, result.stderr
    [patient] = answers
    assert patient.PatientBirthDate == "19800101"
    assert int(patient.NumberOfPatientRelatedStudies) == 1


def test_patient_level_is_not_in_the_study_root_model(alliance: Alliance, tmp_path: Path):
    result = alliance.node.dcmtk(
        "findscu", "-v", "-S", "-k", "QueryRetrieveLevel=PATIENT", "-k", "PatientID"
    )
    assert "Final Find Response (Error: DataSetDoesNotMatchSOPClass)" in result.stderr  # 0xA900


@pytest.mark.parametrize(
    ("calling", "visible"),
    [
        (CLINIC_AE, {"A1001"}),  # a clinic sees its own studies
        (OTHER_CLINIC_AE, {"B2002"}),
        (READER_AE, {"A1001", "B2002"}),  # the lead hospital's centres serve both
        ("WCRM_CT1", set()),  # another member sees neither
    ],
)
def test_each_ae_sees_what_its_organization_may_see(
    alliance: Alliance, tmp_path: Path, calling: str, visible: set[str]
) -> None:
    _, answers = findscu(
        alliance.node,
        tmp_path / "q",
        "QueryRetrieveLevel=STUDY",
        "AccessionNumber",
        calling=calling,
    )
    assert {a.AccessionNumber for a in answers} == visible


@pytest.fixture
def reader_storescp(alliance: Alliance, tmp_path: Path) -> Iterator[Path]:
    """The reading workstation's storage SCP (DCMTK storescp) at its registered address."""
    with storescp(alliance.node, READER_AE, tmp_path / "received") as out:
        yield out


def movescu(
    alliance: Alliance, destination: str, study_uid: str, calling: str
) -> subprocess.CompletedProcess[str]:
    return alliance.node.dcmtk(
        "movescu",
        "-S",
        "-aem",
        destination,
        "-k",
        "QueryRetrieveLevel=STUDY",
        "-k",
        f"StudyInstanceUID={study_uid}",
        calling=calling,
    )


def test_move_study_to_the_reading_workstation(alliance: Alliance, reader_storescp: Path) -> None:
    result = movescu(alliance, READER_AE, alliance.ct.study_uid, READER_AE)
    assert result.returncode == 0, result.stderr
    received = sorted(reader_storescp.iterdir())
    assert len(received) == 3
    sent = {data_set_bytes(p.read_bytes()) for p in alliance.ct_files}
    assert {data_set_bytes(p.read_bytes()) for p in received} == sent


def test_move_to_an_unknown_destination_fails(alliance: Alliance) -> None:
    result = movescu(alliance, "NOWHERE", alliance.ct.study_uid, READER_AE)
    assert "Refused: MoveDestinationUnknown" in result.stderr  # 0xA801


def test_move_of_a_study_the_requester_may_not_see_sends_nothing(
    alliance: Alliance, reader_storescp: Path
) -> None:
    result = movescu(alliance, READER_AE, alliance.dx.study_uid, CLINIC_AE)
    assert result.returncode == 0, result.stderr
    assert list(reader_storescp.iterdir()) == []


def test_get_series(alliance: Alliance, tmp_path: Path) -> None:
    out = tmp_path / "got"
    out.mkdir()
    series_uid = pydicom.dcmread(alliance.dx_files[0]).SeriesInstanceUID
    result = alliance.node.dcmtk(
        "getscu",
        "-S",
        "-od",
        str(out),
        "-k",
        "QueryRetrieveLevel=SERIES",
        "-k",
        f"StudyInstanceUID={alliance.dx.study_uid}",
        "-k",
        f"SeriesInstanceUID={series_uid}",
        calling=READER_AE,
    )
    assert result.returncode == 0, result.stderr
    # getscu accepts implicit VR little endian only: the node converts, the content is equal.
    got = {(d.SOPInstanceUID, d.PixelData) for d in map(pydicom.dcmread, out.iterdir())}
    assert got == {(d.SOPInstanceUID, d.PixelData) for d in map(pydicom.dcmread, alliance.dx_files)}


def test_move_with_a_damaged_object_reports_the_partial_failure(
    alliance: Alliance, reader_storescp: Path
) -> None:
    """One object lost behind the index's back: the other two are delivered, the final status
    is Warning 0xB000 with 2 completed / 1 failed, and the failed UID is listed."""
    lost = str(pydicom.dcmread(alliance.ct_files[1]).SOPInstanceUID)
    with transaction(alliance.node.platform.sessions) as session:
        key = session.get(DicomInstance, lost).object_key
    alliance.node.platform.blobs.delete(key)
    query = pydicom.Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = alliance.ct.study_uid
    ae = AE(READER_AE)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    assoc = ae.associate("127.0.0.1", alliance.node.port, ae_title="YILIAN")
    responses = list(
        assoc.send_c_move(query, READER_AE, StudyRootQueryRetrieveInformationModelMove)
    )
    assoc.release()
    final, identifier = responses[-1]
    assert final.Status == 0xB000
    assert final.NumberOfCompletedSuboperations == 2
    assert final.NumberOfFailedSuboperations == 1
    assert identifier.FailedSOPInstanceUIDList == lost
    assert len(list(reader_storescp.iterdir())) == 2
