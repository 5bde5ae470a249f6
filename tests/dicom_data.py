"""Synthetic DICOM studies for tests and benchmarks, and the real files pydicom ships."""

from __future__ import annotations

import io
import random
import struct
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pydicom
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filereader import data_element_generator
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    CTImageStorage,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    MRImageStorage,
    UltrasoundImageStorage,
    generate_uid,
)

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
# Real files shipped with pydicom (local only: other names would be downloaded).
SAMPLES = {
    "CT_small.dcm": "explicit VR little endian CT",
    "MR_small_implicit.dcm": "implicit VR little endian MR",
    "MR_small_bigendian.dcm": "explicit VR big endian MR",
    "MR_small_RLE.dcm": "RLE lossless",
    "MR_small_jpeg_ls_lossless.dcm": "JPEG-LS lossless",
    "MR_small_jp2klossless.dcm": "JPEG 2000 lossless",
    "JPEG2000.dcm": "JPEG 2000",
    "JPEG-lossy.dcm": "JPEG baseline",
    "JPGExtended.dcm": "JPEG extended",
    "SC_rgb_jpeg_gdcm.dcm": "JPEG lossless SV1",
    "SC_rgb_rle_2frame.dcm": "RLE, two frames",
    "examples_ybr_color.dcm": "JPEG baseline, 30 frames",
    "rtdose.dcm": "multi-frame native",
    "waveform_ecg.dcm": "12-lead ECG waveform",
    "image_dfl.dcm": "deflated explicit VR little endian",
    "test-SR.dcm": "structured report",
}

MODALITY_CLASS = {
    "CT": CTImageStorage,
    "MR": MRImageStorage,
    "DX": DigitalXRayImageStorageForPresentation,
    "US": UltrasoundImageStorage,
}


def sample(name: str) -> Path:
    return PYDICOM_FILES / name


@dataclass
class Patient:
    patient_id: str = "330702198001011234"
    name: str = "Zhang^Sanfeng=张^三丰"
    birth_date: str = "19800101"
    sex: str = "M"


@dataclass
class Study:
    patient: Patient = field(default_factory=Patient)
    study_uid: str = field(default_factory=lambda: str(generate_uid()))
    accession: str = "A0001"
    study_date: str = field(default_factory=lambda: date.today().strftime("%Y%m%d"))
    description: str = "胸部平扫"


def instance(
    study: Study,
    series_uid: str,
    number: int,
    modality: str = "CT",
    rows: int = 64,
    columns: int = 64,
    sop_uid: str | None = None,
    pixel_seed: int = 0,
) -> Dataset:
    """One single-frame image with 16-bit monochrome (noise) pixels, as a modality would send it."""
    sop_class = MODALITY_CLASS[modality]
    sop_uid = sop_uid or str(generate_uid())
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.PatientID = study.patient.patient_id
    ds.PatientName = study.patient.name
    ds.PatientBirthDate = study.patient.birth_date
    ds.PatientSex = study.patient.sex
    ds.StudyInstanceUID = study.study_uid
    ds.StudyDate = study.study_date
    ds.StudyTime = "093000"
    ds.AccessionNumber = study.accession
    ds.StudyID = "1"
    ds.StudyDescription = study.description
    ds.ReferringPhysicianName = "Li^Ming"
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = 1
    ds.Modality = modality
    ds.BodyPartExamined = "CHEST"
    ds.InstanceNumber = number
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = random.Random(pixel_seed * 100_003 + number).randbytes(rows * columns * 2)
    return ds


def write_series(
    study: Study,
    directory: Path,
    count: int,
    modality: str = "CT",
    rows: int = 64,
    columns: int = 64,
) -> list[Path]:
    """Write ``count`` instances of one new series; returns the file paths in order."""
    directory.mkdir(parents=True, exist_ok=True)
    series_uid = str(generate_uid())
    paths = []
    for number in range(1, count + 1):
        ds = instance(study, series_uid, number, modality, rows, columns)
        path = directory / f"{ds.SOPInstanceUID}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def sop_uid_of(path: Path) -> UID:
    return pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID


def data_set_bytes(raw: bytes) -> bytes:
    """A Part 10 file without preamble and file meta: the data set as it travels on the wire
    (the receiver writes its own file meta, so only this part is compared byte for byte)."""
    group_length = int.from_bytes(raw[140:144], "little")
    return raw[144 + group_length :]


# VRs whose explicit-VR header has a 4-byte length (PS3.5 7.1.2).
_LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}


def explicit_element(tag: int, vr: str, value: bytes) -> bytes:
    """One element in Explicit VR Little Endian exactly as given — any VR, any (odd) length —
    as a careless sender writes it (pydicom refuses to write such values itself)."""
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr.encode("latin-1")
    if vr in _LONG_VRS:
        return head + b"\0\0" + struct.pack("<I", len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def raw_elements(raw: bytes) -> dict[int, RawDataElement]:
    """The top-level elements of a Part 10 file (Explicit VR Little Endian), unconverted, each
    with where its value starts (``value_tell``) and its length."""
    fp = io.BytesIO(raw)
    fp.seek(144 + int.from_bytes(raw[140:144], "little"))  # after the file meta
    elements = data_element_generator(fp, is_implicit_VR=False, is_little_endian=True, defer_size=0)
    return {element.tag: element for element in elements}


def replace_element(raw: bytes, tag: int, element: bytes) -> bytes:
    """A Part 10 file (Explicit VR Little Endian) with its top-level element ``tag`` replaced by
    ``element`` (inserted in tag order when absent; removed when ``element`` is empty)."""
    elements = raw_elements(raw)
    later = [t for t in elements if t > tag]
    end = _element_start(elements[min(later)]) if later else len(raw)
    start = _element_start(elements[tag]) if tag in elements else end
    return raw[:start] + element + raw[end:]


def _element_start(element: RawDataElement) -> int:
    header = 12 if element.VR in _LONG_VRS or element.length == 0xFFFFFFFF else 8
    return element.value_tell - header


# 64 characters: the longest a UID may be.
UID_64 = "1.2.826.0.1.3680043.8.498." + "7" * 38


def with_uid(path: Path, keyword: str, value: str, request_uid: str | None = None) -> Path:
    """The file with the UID ``keyword`` set to exactly ``value`` (pydicom would refuse to write
    it); ``request_uid``: the SOP Instance UID a C-STORE request names (the file meta's)."""
    if request_uid is not None:
        ds = pydicom.dcmread(path)
        ds.file_meta.MediaStorageSOPInstanceUID = request_uid
        ds.save_as(path)
    tag = tag_for_keyword(keyword)
    assert tag is not None
    padded = value.encode().ljust(len(value) + len(value) % 2, b"\0")
    path.write_bytes(replace_element(path.read_bytes(), tag, explicit_element(tag, "UI", padded)))
    return path


def copy_of_sample(name: str, directory: Path, study_uid: str, series_uid: str) -> Path:
    """A pydicom sample as a new instance of the given study and series (pixel data as is)."""
    ds = pydicom.dcmread(sample(name))
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{ds.SOPInstanceUID}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def break_compressed_pixels(path: Path) -> Path:
    """Zero the first 32 bytes of the first fragment (the codestream's header): the file's
    structure stays intact, its pixels no longer decode."""
    ds = pydicom.dcmread(path, defer_size=256)
    item = ds.get_item(0x7FE00010, keep_deferred=True)
    raw = bytearray(path.read_bytes())
    at = item.value_tell
    offset_table = int.from_bytes(raw[at + 4 : at + 8], "little")
    fragment = at + 8 + offset_table + 8  # the first fragment's value
    raw[fragment : fragment + 32] = bytes(32)
    path.write_bytes(bytes(raw))
    return path


def shorten_value(raw: bytes, tag: int, lost: int) -> bytes:
    """The element's value without its last ``lost`` bytes (its length says so)."""
    item = raw_elements(raw).get(tag)
    if item is None or item.length == 0xFFFFFFFF:
        return raw
    value = raw[item.value_tell : item.value_tell + item.length]
    return replace_element(raw, tag, explicit_element(tag, item.VR, value[:-lost]))


def flip_byte(raw: bytes, tag: int, at: int, flip: int) -> bytes:
    """The element's value with byte ``at`` (modulo its length) XORed with ``flip``."""
    item = raw_elements(raw).get(tag)
    if item is None or item.length in (0, 0xFFFFFFFF):
        return raw
    changed = bytearray(raw)
    changed[item.value_tell + at % item.length] ^= flip
    return bytes(changed)


def with_transfer_syntax(path: Path, syntax: str) -> Path:
    """The file with its meta naming ``syntax``, its data set untouched."""
    meta = pydicom.filereader.read_file_meta_info(path)
    raw = path.read_bytes()
    written = io.BytesIO()
    meta_end = 132 + 12 + meta.FileMetaInformationGroupLength
    meta.TransferSyntaxUID = syntax
    pydicom.filewriter.write_file_meta_info(written, meta, enforce_standard=True)
    path.write_bytes(raw[:128] + b"DICM" + written.getvalue() + raw[meta_end:])
    return path
