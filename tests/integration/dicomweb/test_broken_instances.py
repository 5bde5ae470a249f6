"""WADO-RS over instances with broken values or pixel data, as a viewer and a PACS ask for them:
one broken instance never hides its series, and what cannot be made is refused with a reason
before the first byte — never a server error, never a body cut off."""

from __future__ import annotations

import struct
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tests.dicom_data import (
    Study,
    break_compressed_pixels,
    copy_of_sample,
    data_set_bytes,
    explicit_element,
    replace_element,
    write_series,
)
from tests.integration.dicomweb.conftest import Gateway, parts, seed, strict_json

JSON = {"Accept": "application/dicom+json"}
AS_STORED = {"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'}
DEFAULT_SYNTAX = {"Accept": 'multipart/related; type="application/dicom"'}  # Explicit VR LE


def broken(path: Path, tag: int, vr: str, value: bytes) -> set[str]:
    """Give ``path`` a broken element; the tags (DICOM JSON keys) it should still show."""
    path.write_bytes(replace_element(path.read_bytes(), tag, explicit_element(tag, vr, value)))
    return {f"{t:08X}" for t in pydicom.dcmread(path).keys()} - {f"{tag:08X}"}  # noqa: SIM118


def item(*elements: bytes) -> bytes:
    body = b"".join(elements)
    return struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body


def test_one_broken_instance_does_not_hide_its_series_metadata(gateway: Gateway, tmp_path: Path):
    study = Study()
    files = write_series(study, tmp_path / "ct", 5)
    expected = [{f"{t:08X}" for t in pydicom.dcmread(files[0]).keys()}]  # noqa: SIM118
    # A byte-flipped DS, a US three bytes long, a DS with no JSON form (infinite), and a
    # sequence item with an IS that does not parse: each instance loses that element only.
    expected.append(broken(files[1], 0x00180050, "DS", b"1.\xb15"))
    expected.append(broken(files[2], 0x00280106, "US", b"\x01\x02\x03"))
    expected.append(broken(files[3], 0x00281050, "DS", b"1e999 "))
    referenced = item(
        explicit_element(0x00081150, "UI", b"1.2.840.10008.5.1.4.1.1.2\0"),
        explicit_element(0x00081160, "IS", b"x "),
    )
    expected.append(broken(files[4], 0x00081140, "SQ", referenced) | {"00081140"})
    seed(gateway, *files)
    series = pydicom.dcmread(files[0]).SeriesInstanceUID
    path = f"/studies/{study.study_uid}/series/{series}"

    answer = gateway.get(f"{path}/metadata", headers=JSON)
    assert answer.status_code == 200
    documents = strict_json(answer.text)
    assert isinstance(documents, list)
    by_sop = {
        pydicom.dcmread(f).SOPInstanceUID: keys for f, keys in zip(files, expected, strict=True)
    }
    assert {d["00080018"]["Value"][0]: set(d) for d in documents} == by_sop
    [sequence] = [d["00081140"] for d in documents if "00081140" in d]
    assert set(sequence["Value"][0]) == {"00081150"}  # the readable part of the item

    study_wide = gateway.get(f"/studies/{study.study_uid}/metadata", headers=JSON)
    assert study_wide.status_code == 200
    assert len(strict_json(study_wide.text)) == 5  # type: ignore[arg-type]
    for file in files[1:]:
        one = gateway.get(
            f"{path}/instances/{pydicom.dcmread(file).SOPInstanceUID}/metadata", headers=JSON
        )
        assert one.status_code == 200
        strict_json(one.text)


def broken_jpeg(gateway: Gateway, tmp_path: Path) -> tuple[str, Path]:
    study_uid, series_uid = str(generate_uid()), str(generate_uid())
    path = break_compressed_pixels(
        copy_of_sample("SC_rgb_jpeg_gdcm.dcm", tmp_path / "jpeg", study_uid, series_uid)
    )
    seed(gateway, path)
    sop = pydicom.dcmread(path).SOPInstanceUID
    return f"/studies/{study_uid}/series/{series_uid}/instances/{sop}", path


def short_native_pixels(gateway: Gateway, tmp_path: Path) -> tuple[str, Path]:
    study = Study()
    [path] = write_series(study, tmp_path / "ct", 1)
    broken(path, 0x7FE00010, "OW", bytes(100))  # 100 bytes of 8,192
    seed(gateway, path)
    ds = pydicom.dcmread(path)
    return (
        f"/studies/{study.study_uid}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}",
        path,
    )


@pytest.mark.parametrize("make", [broken_jpeg, short_native_pixels], ids=["jpeg", "native"])
def test_undecodable_pixels_are_refused_with_a_reason_not_a_server_error(
    gateway: Gateway, tmp_path: Path, make
):
    instance, _ = make(gateway, tmp_path)
    for resource in ("rendered", "thumbnail", "frames/1/rendered"):
        answer = gateway.get(f"{instance}/{resource}", headers={"Accept": "image/jpeg"})
        assert answer.status_code == 406, resource
        detail = answer.json()["detail"]
        assert "cannot be rendered" in detail
        assert "transfer-syntax=*" in detail
    decoded = gateway.get(
        f"{instance}/frames/1",
        headers={
            "Accept": f"multipart/related; type=application/octet-stream; "
            f"transfer-syntax={ExplicitVRLittleEndian}"
        },
    )
    assert decoded.status_code == 406
    assert gateway.get(f"{instance}/metadata", headers=JSON).status_code == 200


def test_untranscodable_instance_is_refused_before_the_first_byte(gateway: Gateway, tmp_path: Path):
    instance, path = broken_jpeg(gateway, tmp_path)
    answer = gateway.get(instance, headers=DEFAULT_SYNTAX)
    assert answer.status_code == 406
    detail = answer.json()["detail"]
    assert f"Explicit VR Little Endian ({ExplicitVRLittleEndian})" in detail
    assert "cannot decode JPEG" in detail
    as_stored = gateway.get(instance, headers=AS_STORED)
    assert as_stored.status_code == 200
    [part] = parts(as_stored)
    assert data_set_bytes(part) == data_set_bytes(path.read_bytes())


def test_untranscodable_instance_is_left_out_of_its_series_retrieve(
    gateway: Gateway, tmp_path: Path
):
    """The series still comes, in full but for the broken instance, which is named."""
    study_uid, series_uid = str(generate_uid()), str(generate_uid())
    good, bad = (
        copy_of_sample("SC_rgb_jpeg_gdcm.dcm", tmp_path / name, study_uid, series_uid)
        for name in ("good", "bad")
    )
    break_compressed_pixels(bad)
    seed(gateway, good, bad)
    answer = gateway.get(f"/studies/{study_uid}/series/{series_uid}", headers=DEFAULT_SYNTAX)
    assert answer.status_code == 206
    assert pydicom.dcmread(bad).SOPInstanceUID in answer.headers["warning"]
    [part] = parts(answer)
    received = pydicom.dcmread(pydicom.filebase.DicomBytesIO(part))
    assert received.SOPInstanceUID == pydicom.dcmread(good).SOPInstanceUID
    assert received.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert (received.pixel_array == pydicom.dcmread(good).pixel_array).all()
