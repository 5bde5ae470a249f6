"""QIDO-RS and WADO-RS as the dicomweb-client library (and its CLI) and OHIF use them."""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from PIL import Image
from pydicom.uid import ExplicitVRLittleEndian

from tests.dicom_data import Patient, Study, sample, write_series
from tests.integration.dicomweb.conftest import Gateway, seed, uid

STUDY, SERIES, SOP = "0020000D", "0020000E", "00080018"


@pytest.fixture
def ct(gateway: Gateway, tmp_path: Path) -> tuple[Study, list[Path]]:
    study = Study(accession="A1001", study_date="20261101", description="胸部CT平扫")
    files = write_series(study, tmp_path / "ct", 5, "CT")
    seed(gateway, *files)
    return study, files


def test_search_matches_as_c_find(gateway: Gateway, ct: tuple[Study, list[Path]], tmp_path: Path):
    other = Study(
        patient=Patient("330702195505054321", "Li^Si=李^四", "19550505", "F"),
        accession="B2002",
        study_date="20261115",
    )
    seed(gateway, *write_series(other, tmp_path / "dx", 2, "DX"), org="blq-wsy", ae="BLQ_DR1")
    client = gateway.client("wanglei")

    def studies(**filters: str) -> list[str]:
        return sorted(uid(s, STUDY) for s in client.search_for_studies(search_filters=filters))

    study, _ = ct
    assert studies() == sorted([study.study_uid, other.study_uid])
    assert studies(PatientID="330702195505054321") == [other.study_uid]
    assert studies(StudyDate="20261101-20261110") == [study.study_uid]
    assert studies(ModalitiesInStudy="DX") == [other.study_uid]
    assert studies(PatientName="li*") == [other.study_uid]
    assert studies(StudyInstanceUID=f"{study.study_uid},{other.study_uid}") == sorted(
        [study.study_uid, other.study_uid]
    )
    assert studies(AccessionNumber="NONE") == []

    found = client.search_for_studies(search_filters={"AccessionNumber": "A1001"})[0]
    assert found["00100010"]["Value"][0]["Ideographic"] == "张^三丰"
    assert found["00201208"]["Value"] == [5]
    assert found["00081190"]["Value"][0].endswith(f"/dicomweb/studies/{study.study_uid}")

    page = client.search_for_studies(limit=1, offset=1)
    assert len(page) == 1
    assert uid(page[0], STUDY) in (study.study_uid, other.study_uid)

    series = client.search_for_series(study.study_uid)
    assert [s["00080060"]["Value"] for s in series] == [["CT"]]
    instances = client.search_for_instances(study.study_uid, uid(series[0], SERIES))
    assert [i["00200013"]["Value"][0] for i in instances] == [1, 2, 3, 4, 5]
    every = client.search_for_instances(fields=["all"], search_filters={"Modality": "DX"})
    assert len(every) == 2
    assert every[0]["00100020"]["Value"] == ["330702195505054321"]


def test_ohif_study_list_and_open(gateway: Gateway, ct: tuple[Study, list[Path]]):
    """The requests OHIF v3 sends, with the headers it sends (quoted and bare ``type``)."""
    study, files = ct
    listed = gateway.get(
        "/studies?limit=101&offset=0&fuzzymatching=false"
        "&includefield=00081030,00080060,00080090,00100030&PatientName=*Zhang*",
        headers={"Accept": "application/dicom+json"},
    )
    assert listed.status_code == 200
    assert listed.headers["content-type"] == "application/dicom+json"
    row = listed.json()[0]
    assert row["00081030"]["Value"] == ["胸部CT平扫"]
    assert row["00080061"]["Value"] == ["CT"]

    series = gateway.get(
        f"/studies/{study.study_uid}/series?includefield=00080021,00080031,0008103E,00200011"
    ).json()
    series_uid = uid(series[0], SERIES)
    metadata = gateway.get(f"/studies/{study.study_uid}/series/{series_uid}/metadata").json()
    assert len(metadata) == 5
    first = pydicom.dcmread(files[0])
    sop = first.SOPInstanceUID
    for accept in (
        "multipart/related; type=application/octet-stream; transfer-syntax=*",
        'multipart/related; type="application/octet-stream"; transfer-syntax=*',
    ):
        frame = gateway.get(
            f"/studies/{study.study_uid}/series/{series_uid}/instances/{sop}/frames/1",
            headers={"Accept": accept},
        )
        assert frame.status_code == 200
        content_type = frame.headers["content-type"]
        assert content_type.startswith("multipart/related")
        boundary = content_type.split("boundary=")[1]
        head, _, rest = frame.content.partition(b"\r\n\r\n")
        assert head.startswith(f"--{boundary}".encode())
        assert b"transfer-syntax=1.2.840.10008.1.2.1" in head
        assert rest[: len(first.PixelData)] == first.PixelData

    thumbnail = gateway.get(
        f"/studies/{study.study_uid}/series/{series_uid}/instances/{sop}/thumbnail?viewport=256,256",
        headers={"Accept": "image/jpeg"},
    )
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumbnail.content)).size == (64, 64)  # never enlarged


def test_metadata_has_bulk_data_uris_and_follows_new_instances(gateway: Gateway, tmp_path: Path):
    study = Study()
    ecg = pydicom.dcmread(sample("waveform_ecg.dcm"))
    ecg.StudyInstanceUID = study.study_uid
    ecg.save_as(tmp_path / "ecg.dcm")
    seed(gateway, tmp_path / "ecg.dcm")
    client = gateway.client("wanglei")
    series_uid = ecg.SeriesInstanceUID

    metadata = client.retrieve_series_metadata(study.study_uid, series_uid)
    waveform = metadata[0]["54000100"]["Value"][0]["54001010"]
    assert "InlineBinary" not in waveform
    assert "Value" not in waveform
    assert waveform["BulkDataURI"].startswith(gateway.dicomweb)
    bulk = client.retrieve_bulkdata(waveform["BulkDataURI"])
    assert bulk[0] == ecg.WaveformSequence[0].WaveformData

    # A new instance in the series: the cached document is replaced, not served stale.
    second = copy.deepcopy(ecg)
    second.SOPInstanceUID = pydicom.uid.generate_uid()
    second.save_as(tmp_path / "ecg2.dcm")
    seed(gateway, tmp_path / "ecg2.dcm")
    again = client.retrieve_series_metadata(study.study_uid, series_uid)
    assert sorted(m[SOP]["Value"][0] for m in again) == sorted(
        [ecg.SOPInstanceUID, second.SOPInstanceUID]
    )


@pytest.mark.parametrize(
    "name",
    ["JPEG2000.dcm", "MR_small_RLE.dcm", "SC_rgb_jpeg_gdcm.dcm", "MR_small_jpeg_ls_lossless.dcm"],
)
def test_compressed_instance_as_stored_or_decoded(gateway: Gateway, name: str):
    original = pydicom.dcmread(sample(name))
    seed(gateway, sample(name))
    client = gateway.client("his-jhzx")
    study, series, sop = (
        original.StudyInstanceUID,
        original.SeriesInstanceUID,
        original.SOPInstanceUID,
    )

    as_stored = client.retrieve_instance(
        study, series, sop, media_types=(("application/dicom", "*"),)
    )
    assert as_stored.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
    assert as_stored.PixelData == original.PixelData

    decoded = client.retrieve_instance(
        study, series, sop, media_types=(("application/dicom", ExplicitVRLittleEndian),)
    )
    assert decoded.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert decoded.SOPInstanceUID == sop  # the same instance, in another transfer syntax
    assert (decoded.pixel_array == original.pixel_array).all()

    native = client.retrieve_instance_frames(
        study, series, sop, [1], media_types=(("application/octet-stream", ExplicitVRLittleEndian),)
    )[0]
    assert native == decoded.PixelData[: len(native)]
    as_stored_frame = client.retrieve_instance_frames(study, series, sop, [1])[0]  # any type
    first = next(pydicom.encaps.generate_frames(original.PixelData, number_of_frames=1))
    assert as_stored_frame == first

    # Without a transfer-syntax parameter the default is Explicit VR Little Endian (PS3.18).
    plain = gateway.get(
        f"/studies/{study}/series/{series}/instances/{sop}",
        headers={"Accept": 'multipart/related; type="application/dicom"'},
    )
    head = plain.content.split(b"\r\n\r\n", 1)[0]
    assert f"transfer-syntax={ExplicitVRLittleEndian}".encode() in head


def test_multiframe_frames_and_rendered(gateway: Gateway):
    source = sample("SC_rgb_rle_2frame.dcm")
    original = pydicom.dcmread(source)
    seed(gateway, source)
    client = gateway.client("wanglei")
    study, series, sop = (
        original.StudyInstanceUID,
        original.SeriesInstanceUID,
        original.SOPInstanceUID,
    )
    frames = client.retrieve_instance_frames(
        study, series, sop, [2, 1], media_types=(("image/dicom-rle", "1.2.840.10008.1.2.5"),)
    )
    encapsulated = list(pydicom.encaps.generate_frames(original.PixelData, number_of_frames=2))
    assert frames == [encapsulated[1], encapsulated[0]]

    png = gateway.get(
        f"/studies/{study}/series/{series}/instances/{sop}/frames/2/rendered",
        headers={"Accept": "image/png"},
    )
    image = Image.open(io.BytesIO(png.content))
    assert image.mode == "RGB"
    assert image.size == (original.Columns, original.Rows)
    assert image.getpixel((0, 0)) == tuple(int(v) for v in original.pixel_array[1][0][0])
    assert (
        gateway.get(
            f"/studies/{study}/series/{series}/instances/{sop}/frames/3/rendered"
        ).status_code
        == 404
    )


def test_rendered_window_and_viewport(gateway: Gateway, ct: tuple[Study, list[Path]]):
    study, files = ct
    ds = pydicom.dcmread(files[0])
    path = f"/studies/{study.study_uid}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}"
    png = {"Accept": "image/png"}
    wide = Image.open(
        io.BytesIO(gateway.get(f"{path}/rendered?window=0,100000", headers=png).content)
    )
    narrow = Image.open(io.BytesIO(gateway.get(f"{path}/rendered?window=0,1", headers=png).content))
    assert wide.mode == narrow.mode == "L"
    assert set(narrow.get_flattened_data()) <= {0, 255}  # a 1-wide window: black or white
    # Pixels 0-65535 in a window centred on 0 and 100000 wide: the upper half of the grey scale.
    assert min(wide.get_flattened_data()) >= 127
    full = Image.open(io.BytesIO(gateway.get(f"{path}/rendered", headers=png).content))
    assert min(full.get_flattened_data()) <= 5  # no window in the data set: the full range
    assert max(full.get_flattened_data()) >= 250
    small = Image.open(io.BytesIO(gateway.get(f"{path}/rendered?viewport=32,32").content))
    assert small.size == (32, 32)
    assert gateway.get(f"{path}/rendered?window=1").status_code == 400
    assert gateway.get(f"/studies/{study.study_uid}/thumbnail").status_code == 200


def test_series_retrieve_as_stored(gateway: Gateway, ct: tuple[Study, list[Path]]):
    study, files = ct
    client = gateway.client("wanglei")
    series_uid = pydicom.dcmread(files[0]).SeriesInstanceUID
    got = client.retrieve_series(
        study.study_uid, series_uid, media_types=(("application/dicom", "*"),)
    )
    sent = {ds.SOPInstanceUID: ds for ds in map(pydicom.dcmread, files)}
    assert sorted(ds.SOPInstanceUID for ds in got) == sorted(sent)
    for ds in got:
        assert ds.PixelData == sent[ds.SOPInstanceUID].PixelData
        assert ds.PatientName == sent[ds.SOPInstanceUID].PatientName


def test_cli_search_and_store(gateway: Gateway, tmp_path: Path):
    study = Study(accession="CLI1")
    files = write_series(study, tmp_path / "cli", 2, "CT")
    cli = [str(Path(sys.executable).with_name("dicomweb_client")), "--url", gateway.dicomweb]
    auth = ["--bearer-token", gateway.token("wanglei")]
    stored = subprocess.run(
        [*cli, *auth, "store", "instances", *map(str, files)], capture_output=True, text=True
    )
    assert stored.returncode == 0, stored.stderr
    found = subprocess.run(
        [*cli, *auth, "search", "studies", "--filter", "AccessionNumber=CLI1"],
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0, found.stderr
    assert [uid(s, STUDY) for s in json.loads(found.stdout)] == [study.study_uid]


def test_unknown_uids_and_unsupported_syntaxes(gateway: Gateway, ct: tuple[Study, list[Path]]):
    study, files = ct
    ds = pydicom.dcmread(files[0])
    series = f"/studies/{study.study_uid}/series/{ds.SeriesInstanceUID}"
    instance = f"{series}/instances/{ds.SOPInstanceUID}"
    assert gateway.get("/studies/1.2.3/metadata").status_code == 404
    assert gateway.get(f"{series}/instances/1.2.3/frames/1").status_code == 404
    assert gateway.get(f"{instance}/frames/2").status_code == 404  # single-frame image
    assert gateway.get(f"{instance}/frames/0").status_code == 400
    jpeg_frames = gateway.get(
        f"{instance}/frames/1", headers={"Accept": 'multipart/related; type="image/jpeg"'}
    )
    assert jpeg_frames.status_code == 406  # stored uncompressed; no JPEG encoding offered
    as_jpeg = gateway.get(
        instance,
        headers={
            "Accept": 'multipart/related; type="application/dicom"; '
            "transfer-syntax=1.2.840.10008.1.2.4.50"
        },
    )
    assert as_jpeg.status_code == 406
    assert gateway.get(f"{series}/metadata", headers={"Accept": "text/html"}).status_code == 406


def test_big_endian_instance_is_offered_as_stored_only(gateway: Gateway):
    name = "MR_small_bigendian.dcm"
    original = pydicom.dcmread(sample(name))
    seed(gateway, sample(name))
    path = (
        f"/studies/{original.StudyInstanceUID}/series/{original.SeriesInstanceUID}"
        f"/instances/{original.SOPInstanceUID}"
    )
    decoded = gateway.get(path, headers={"Accept": 'multipart/related; type="application/dicom"'})
    assert decoded.status_code == 406
    stored = gateway.get(
        path, headers={"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'}
    )
    assert stored.status_code == 200
    assert b"transfer-syntax=1.2.840.10008.1.2.2" in stored.content[:300]


def test_qido_paging_numbers_no_column_holds_are_400_not_500(gateway: Gateway):
    for query in ("offset=18642994167818028580864", "limit=%C2%B2", "offset=-1"):
        response = gateway.get(f"/studies?{query}")
        assert response.status_code == 400, query
