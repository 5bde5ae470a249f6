"""Synthetic DICOM studies for tests and benchmarks, and the real files pydicom ships."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
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
