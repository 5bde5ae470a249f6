"""DICOM JSON metadata (PS3.18 F.2) of stored instances, and the per-series cache behind
WADO-RS ``/metadata``.

Bulk data (binary values over :data:`BULK_THRESHOLD` bytes, and Pixel Data always) is never
inline: it becomes a ``BulkDataURI`` ``{base}/studies/…/instances/…/bulk/{path}`` where
``path`` is the tag, or ``seq.index.tag`` inside sequences.  The base is written as
:data:`BASE_PLACEHOLDER` and replaced with the public address when served, so one cached
document serves every host name the gateway is reached by.

A series' document is computed once (from the header of each instance: a ranged read up to its
pixel data) and kept in the object store under ``dicomweb-cache/metadata/{series}/{revision}``;
the revision is the series' instance count, which changes whenever an instance is added.

One broken value never hides its series.  An element whose value cannot be decoded (an IS of
``"1x"``, a US of three bytes, a sequence item that does not parse) or has no JSON form (a
non-finite DS, FL or FD) is left out of its instance's document; the rest of the instance, and
every other instance, is served.  Left out rather than re-labelled ``UN`` with ``InlineBinary``:
viewers such as OHIF (dcmjs) take each element by its VR, and an InstanceNumber, Rows or
WindowCenter that arrives as base64 bytes breaks the sorting or display of the whole display
set, while an absent element takes the path every optional attribute has.  Nothing is lost: the
instance is still retrieved as stored, byte for byte.  An instance whose header cannot be read at
all is listed with the identifying attributes the index holds.
"""

from __future__ import annotations

import io
import json
import logging
import math
from collections.abc import Callable
from typing import Any

from pydicom import dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from storage.blobs import BlobStore
from storage.dicom.elements import DECODE_ERRORS, int_of
from storage.dicom.parse import PIXEL_DATA
from storage.dicom.retrieve import InstanceRef, SeriesRef
from storage.errors import BlobNotFound

BASE_PLACEHOLDER = "@@YILIAN_BASE@@"
BULK_THRESHOLD = 1024
_BINARY_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "UN"}
CACHE_PREFIX = "dicomweb-cache/metadata"

log = logging.getLogger("yilian.dicom")


def instance_url(ref: InstanceRef, base: str = BASE_PLACEHOLDER) -> str:
    return (
        f"{base}/studies/{ref.study_uid}/series/{ref.series_uid}/instances/{ref.sop_instance_uid}"
    )


def read_header(blobs: BlobStore, ref: InstanceRef) -> Dataset:
    """The data set without its pixel data: for a file with known frame ranges, only the bytes
    before the first frame are read."""
    if ref.frames:
        prefix = blobs.read_range(ref.object_key, 0, ref.frames[0][0][0])
        return dcmread(io.BytesIO(prefix), stop_before_pixels=True, force=True)
    data = b"".join(blobs.get(ref.object_key))
    return dcmread(io.BytesIO(data), defer_size=BULK_THRESHOLD, force=True)


def read_full(blobs: BlobStore, ref: InstanceRef) -> Dataset:
    return dcmread(io.BytesIO(b"".join(blobs.get(ref.object_key))), force=True)


def read_frame(blobs: BlobStore, ref: InstanceRef, ranges: list[list[int]]) -> Dataset:
    """The header and one frame, whose byte ranges are ``ranges``, as a one-frame data set to
    decode: a level of a whole-slide image (gigabytes) is never read whole to show a tile."""
    ds = read_header(blobs, ref)
    data = b"".join(blobs.read_range(ref.object_key, at, length) for at, length in ranges)
    syntax = UID(ref.transfer_syntax_uid)
    if syntax.is_transfer_syntax and syntax.is_encapsulated:
        ds.add_new(PIXEL_DATA, "OB", encapsulate([data]))
    else:
        ds.add_new(PIXEL_DATA, "OW" if (int_of(ds, "BitsAllocated", 8) or 8) > 8 else "OB", data)
    ds.NumberOfFrames = 1
    return ds


def find_bulk(ds: Dataset, path: str) -> DataElement | None:
    """The element a bulk path names (``00880200.0.7fe00010``), or None."""
    parts = path.lower().split(".")
    current: Dataset = ds
    try:
        while len(parts) > 1:
            sequence = current[int(parts[0], 16)]
            current = sequence.value[int(parts[1])]
            parts = parts[2:]
        element = current[int(parts[0], 16)]
    except (KeyError, IndexError, ValueError):
        return None
    return element if element.VR in _BINARY_VRS else None


def instance_metadata(ds: Dataset, ref: InstanceRef) -> dict[str, Any]:
    """The instance's DICOM JSON: every element that can be decoded (see the module's notes)."""
    url = instance_url(ref)
    document = _dataset_json(ds, url, "")
    if ref.frames:  # the header was read without it
        syntax = UID(ref.transfer_syntax_uid)
        encapsulated = syntax.is_transfer_syntax and syntax.is_encapsulated
        words = not encapsulated and (int_of(ds, "BitsAllocated", 8) or 8) > 8
        document["7FE00010"] = {
            "vr": "OW" if words else "OB",
            "BulkDataURI": f"{url}/bulk/7fe00010",
        }
    return document


def instance_document(blobs: BlobStore, ref: InstanceRef) -> dict[str, Any]:
    """The instance's metadata read from its stored header; the identifying attributes the
    index holds when the header cannot be parsed at all.  ``StorageError`` when the object
    store cannot be read."""
    try:
        ds = read_header(blobs, ref)
    except (InvalidDicomError, *DECODE_ERRORS) as exc:
        log.warning("stored header unreadable", extra={"error": type(exc).__name__})
        return _identity_document(ref)
    return instance_metadata(ds, ref)


def _identity_document(ref: InstanceRef) -> dict[str, Any]:
    return {
        tag: {"vr": "UI", "Value": [value]}
        for tag, value in (
            ("00080016", ref.sop_class_uid),
            ("00080018", ref.sop_instance_uid),
            ("0020000D", ref.study_uid),
            ("0020000E", ref.series_uid),
        )
    }


def _dataset_json(ds: Dataset, url: str, prefix: str) -> dict[str, Any]:
    """``{tag: element}``; bulk data paths are ``prefix`` + tag (``seq.index.tag`` in items)."""
    document: dict[str, Any] = {}
    left_out: list[str] = []
    for tag in ds.keys():  # noqa: SIM118 (iterating a Dataset converts every value at once)
        path = f"{prefix}{tag:08x}"
        try:
            document[f"{tag:08X}"] = _element_json(ds[tag], url, path)
        except DECODE_ERRORS:
            left_out.append(path)
    if left_out:
        log.warning("undecodable elements left out of metadata", extra={"elements": left_out})
    return document


def _element_json(element: DataElement, url: str, path: str) -> dict[str, Any]:
    if element.VR == "SQ":
        items = [_dataset_json(item, url, f"{path}.{i}.") for i, item in enumerate(element.value)]
        return {"vr": "SQ", "Value": items} if items else {"vr": "SQ"}
    if element.VR in _BINARY_VRS and (
        element.tag == PIXEL_DATA or len(element.value or b"") > BULK_THRESHOLD
    ):
        return {"vr": element.VR, "BulkDataURI": f"{url}/bulk/{path}"}
    document = element.to_json_dict(None, BULK_THRESHOLD)
    for value in document.get("Value", ()):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{element.VR} value {value} has no JSON form")
    return document


def serve(document: bytes, base: str) -> bytes:
    return document.replace(BASE_PLACEHOLDER.encode(), base.encode())


def series_metadata(
    blobs: BlobStore, series: SeriesRef, instances: Callable[[], list[InstanceRef]]
) -> bytes:
    """The series' metadata document (a JSON array): the cached one, or computed from
    ``instances()`` and cached."""
    key = f"{CACHE_PREFIX}/{series.series_uid}/{series.instance_count}"
    try:
        return b"".join(blobs.get(key))
    except BlobNotFound:
        pass
    refs = instances()
    document = json.dumps(
        [instance_document(blobs, ref) for ref in refs],
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
    ).encode()
    blobs.put(key, io.BytesIO(document))
    for stale in blobs.list(f"{CACHE_PREFIX}/{series.series_uid}/"):
        if stale != key:
            blobs.delete(stale)
    return document
