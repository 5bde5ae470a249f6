"""Change how stored instances are encoded, for peers that cannot take them as stored:
to Explicit VR Little Endian (decoding compressed pixel data with pylibjpeg), and single
frames to native pixel bytes.  Big-endian data is not converted (retired, and pydicom refuses).

Whatever cannot be converted — a codec we lack, pixel data that does not decode, a data set with
an element that cannot be re-encoded — raises :class:`CannotTranscode`, never a decoder's own
exception, so that callers can refuse before they send anything."""

from __future__ import annotations

import io

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import get_decoder, pixel_array
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from storage.dicom.elements import DECODE_ERRORS, int_of

NATIVE_LITTLE_ENDIAN = {ExplicitVRLittleEndian, ImplicitVRLittleEndian}


class CannotTranscode(ValueError):
    pass


def decodable(transfer_syntax_uid: str) -> bool:
    """Whether pixel data in this syntax can be turned into native little-endian bytes."""
    uid = UID(transfer_syntax_uid)
    if uid in NATIVE_LITTLE_ENDIAN or uid == DeflatedExplicitVRLittleEndian:
        return True
    if not uid.is_transfer_syntax or not uid.is_encapsulated:
        return False
    try:
        return get_decoder(uid).is_available
    except NotImplementedError:
        return False


def to_explicit_little_endian(data: bytes) -> bytes:
    """A Part 10 file re-encoded in Explicit VR Little Endian."""
    try:
        ds = dcmread(io.BytesIO(data))
        source = UID(ds.file_meta.TransferSyntaxUID)
    except (InvalidDicomError, *DECODE_ERRORS) as exc:
        raise CannotTranscode(f"the stored data cannot be read: {type(exc).__name__}") from exc
    if not decodable(source):
        raise CannotTranscode(f"cannot decode {source.name}")
    try:
        if source.is_encapsulated and "PixelData" in ds:
            # A change of transfer syntax is the same instance: keep its SOP Instance UID
            # (pydicom would give the decompressed copy a new one).
            ds.decompress(generate_instance_uid=False)
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=True)
    except Exception as exc:  # decoder plugins raise types of their own
        raise CannotTranscode(f"cannot decode {source.name}: {type(exc).__name__}") from exc
    return out.getvalue()


def frame_pixels(ds: Dataset, index: int) -> np.ndarray:
    """Frame ``index`` (0-based) decoded to an array (colour as RGB)."""
    try:
        return pixel_array(ds, index=index)
    except Exception as exc:  # decoder plugins raise types of their own
        raise CannotTranscode(f"cannot decode frame {index + 1}: {type(exc).__name__}") from exc


def native_frame(ds: Dataset, index: int) -> bytes:
    """Frame ``index`` (0-based) as native little-endian pixel bytes (colour as RGB)."""
    return frame_pixels(ds, index).astype(_little_endian_dtype(ds)).tobytes()


def _little_endian_dtype(ds: Dataset) -> str:
    bits = int_of(ds, "BitsAllocated", 8)
    signed = int_of(ds, "PixelRepresentation", 0) == 1
    width = {1: 1, 8: 1, 16: 2, 32: 4}.get(bits or 8, 2)
    return f"<{'i' if signed else 'u'}{width}"
