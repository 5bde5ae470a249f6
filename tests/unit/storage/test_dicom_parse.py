"""Reading a received file for the index: attributes, and the byte range of every frame."""

from __future__ import annotations

import time
from pathlib import Path

import pydicom
import pytest
from pydicom.encaps import encapsulate, generate_frames

from storage.dicom import InvalidInstance, parse_instance, uid_problem
from tests.dicom_data import (
    SAMPLES,
    UID_64,
    Study,
    explicit_element,
    replace_element,
    sample,
    with_transfer_syntax,
    write_series,
)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_is_indexed_with_its_transfer_syntax(name: str) -> None:
    parsed = parse_instance(sample(name))
    ds = pydicom.dcmread(sample(name))
    assert parsed.sop_instance_uid == ds.SOPInstanceUID
    assert parsed.transfer_syntax_uid == ds.file_meta.TransferSyntaxUID
    assert parsed.size == sample(name).stat().st_size


@pytest.mark.parametrize(
    "name",
    [
        "JPEG2000.dcm",
        "JPEG-lossy.dcm",
        "SC_rgb_jpeg_gdcm.dcm",
        "SC_rgb_rle_2frame.dcm",
        "examples_ybr_color.dcm",
        "MR_small_RLE.dcm",
    ],
)
def test_encapsulated_frame_ranges_point_at_each_frames_bytes(name: str) -> None:
    parsed = parse_instance(sample(name))
    ds = pydicom.dcmread(sample(name))
    expected = list(generate_frames(ds.PixelData, number_of_frames=ds.get("NumberOfFrames", 1)))
    data = sample(name).read_bytes()
    assert parsed.frames is not None
    assert len(parsed.frames) == len(expected)
    for ranges, frame in zip(parsed.frames, expected, strict=True):
        # Fragments may be padded to even length: compare up to the frame's own length.
        read = b"".join(data[offset : offset + length] for offset, length in ranges)
        assert read[: len(frame)] == frame


def test_native_frame_ranges_for_a_multiframe_dose(tmp_path: Path) -> None:
    parsed = parse_instance(sample("rtdose.dcm"))
    ds = pydicom.dcmread(sample("rtdose.dcm"))
    data = sample("rtdose.dcm").read_bytes()
    assert parsed.frames is not None
    assert len(parsed.frames) == ds.NumberOfFrames
    frame_bytes = len(ds.PixelData) // ds.NumberOfFrames
    for i, [[offset, length]] in enumerate(parsed.frames):
        assert length == frame_bytes
        assert data[offset : offset + length] == ds.PixelData[i * length : (i + 1) * length]


def test_a_slide_level_of_many_frames_in_fragments_is_indexed_at_once(tmp_path: Path) -> None:
    """A whole-slide level: 30,000 tiles, each in two fragments, with a Basic Offset Table."""
    ds = pydicom.dcmread(sample("examples_ybr_color.dcm"))
    tiles = [b"\xff\xd8" + n.to_bytes(4, "big") + b"\x00\x01" + b"\xff\xd9" for n in range(30_000)]
    ds.PixelData = encapsulate(tiles, fragments_per_frame=2, has_bot=True)
    ds.NumberOfFrames = len(tiles)
    path = tmp_path / "level.dcm"
    ds.save_as(path)
    started = time.perf_counter()
    parsed = parse_instance(path)
    assert time.perf_counter() - started < 3  # bisection: a scan per frame took minutes
    data = path.read_bytes()
    assert parsed.frames is not None
    assert len(parsed.frames) == len(tiles)
    for number in (0, 1, 14_999, 29_999):
        ranges = parsed.frames[number]
        assert len(ranges) == 2
        assert b"".join(data[at : at + length] for at, length in ranges) == tiles[number]


def test_synthetic_ct_attributes(tmp_path: Path) -> None:
    study = Study(accession="A123")
    [path] = write_series(study, tmp_path, 1)
    parsed = parse_instance(path)
    assert parsed.study_uid == study.study_uid
    assert parsed.patient_name == study.patient.name
    assert parsed.accession_number == "A123"
    assert parsed.modality == "CT"
    assert parsed.rows == 64
    assert parsed.frames is not None
    [[offset, length]] = parsed.frames[0]
    assert length == 64 * 64 * 2
    assert path.read_bytes()[offset : offset + length] == pydicom.dcmread(path).PixelData


def test_truncated_file_is_refused_as_undecodable(tmp_path: Path) -> None:
    [path] = write_series(Study(), tmp_path, 1)
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(InvalidInstance) as raised:
        parse_instance(cut)
    assert raised.value.undecodable


def test_garbage_is_refused_as_undecodable(tmp_path: Path) -> None:
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"\x00" * 128 + b"DICM" + bytes(range(256)) * 8)
    with pytest.raises(InvalidInstance) as raised:
        parse_instance(junk)
    assert raised.value.undecodable


def test_missing_study_uid_is_refused_but_not_as_undecodable(tmp_path: Path) -> None:
    [path] = write_series(Study(), tmp_path, 1)
    ds = pydicom.dcmread(path)
    del ds.StudyInstanceUID
    ds.save_as(path)
    with pytest.raises(InvalidInstance) as raised:
        parse_instance(path)
    assert not raised.value.undecodable


def test_sop_uid_must_match_the_request(tmp_path: Path) -> None:
    [path] = write_series(Study(), tmp_path, 1)
    with pytest.raises(InvalidInstance, match="differs"):
        parse_instance(path, expected_sop_instance_uid="1.2.3.4")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("1.2.840.10008.5.1.4.1.1.2", None),
        (UID_64, None),
        ("1.2.840.0113654.2.70.01", None),  # leading zeros: not conformant, but they identify
        ("1.2.3\0", None),  # padding is not part of it
        (UID_64 + "1", "has 65 characters (at most 64)"),
        ("1.2.840.x", "has characters other than 0-9 and '.'"),
        ("1.2.840 .1", "has characters other than 0-9 and '.'"),
        ("1.2..3", "has an empty component"),
        (".1.2", "has an empty component"),
        ("", "is empty"),
        (None, "is empty"),
        (12345, "is not encoded as a UID"),
        (["1.2", "3.4"], "has 2 values (a UID has one)"),
    ],
)
def test_uid_rules_refuse_only_what_breaks_identity(value: object, problem: str | None) -> None:
    assert uid_problem(value) == problem


def test_undecodable_values_are_indexed_as_empty_not_refused(tmp_path: Path) -> None:
    [path] = write_series(Study(accession="A1"), tmp_path, 1)
    raw = replace_element(path.read_bytes(), 0x00200013, explicit_element(0x00200013, "IS", b"1x"))
    raw = replace_element(raw, 0x00280010, explicit_element(0x00280010, "US", b"\x40\x00\x00"))
    raw = replace_element(raw, 0x00100010, explicit_element(0x00100010, "PN", b"Li\0Si"))
    path.write_bytes(raw)
    parsed = parse_instance(path)
    assert (parsed.instance_number, parsed.rows, parsed.frames) == (None, None, None)
    assert parsed.patient_name == "LiSi"  # no NUL reaches the index (PostgreSQL refuses it)
    assert parsed.accession_number == "A1"


def test_identifier_longer_than_its_column_is_refused_not_cut(tmp_path: Path) -> None:
    [path] = write_series(Study(accession="A" * 70), tmp_path, 1)
    with pytest.raises(InvalidInstance, match=r"AccessionNumber has 70 characters \(at most 64\)"):
        parse_instance(path)


def test_unknown_transfer_syntax_cannot_be_understood(tmp_path: Path) -> None:
    [path] = write_series(Study(), tmp_path, 1)
    with_transfer_syntax(path, "1.2.3.4")
    with pytest.raises(InvalidInstance, match="TransferSyntaxUID names no transfer syntax") as e:
        parse_instance(path)
    assert e.value.undecodable
