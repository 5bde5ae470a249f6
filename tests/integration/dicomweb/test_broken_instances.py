"""WADO-RS over instances with broken values, as a viewer asks for them: one broken instance
never hides its series."""

from __future__ import annotations

import struct
from pathlib import Path

import pydicom

from tests.dicom_data import Study, explicit_element, replace_element, write_series
from tests.integration.dicomweb.conftest import Gateway, seed, strict_json

JSON = {"Accept": "application/dicom+json"}


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
