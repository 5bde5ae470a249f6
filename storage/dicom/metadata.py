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
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from pydicom import dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.uid import UID

from storage.blobs import BlobStore
from storage.dicom.parse import PIXEL_DATA
from storage.dicom.retrieve import InstanceRef, SeriesRef
from storage.errors import BlobNotFound

BASE_PLACEHOLDER = "@@YILIAN_BASE@@"
BULK_THRESHOLD = 1024
_BINARY_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "UN"}
CACHE_PREFIX = "dicomweb-cache/metadata"


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


def bulk_paths(ds: Dataset, prefix: str = "") -> dict[int, str]:
    """``id(element) -> path`` for every binary element that goes out as bulk data."""
    paths: dict[int, str] = {}
    for element in ds:
        path = f"{prefix}{element.tag:08x}"
        if element.VR == "SQ":
            for index, item in enumerate(element.value):
                paths.update(bulk_paths(item, f"{path}.{index}."))
        elif element.VR in _BINARY_VRS and (
            element.tag == PIXEL_DATA or len(element.value or b"") > BULK_THRESHOLD
        ):
            paths[id(element)] = path
    return paths


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
    url = instance_url(ref)
    paths = bulk_paths(ds)

    def bulk_uri(element: DataElement) -> str:
        return f"{url}/bulk/{paths.get(id(element), f'{element.tag:08x}')}"

    document = ds.to_json_dict(
        bulk_data_threshold=BULK_THRESHOLD, bulk_data_element_handler=bulk_uri
    )
    if ref.frames:  # the header was read without it
        words = not UID(ref.transfer_syntax_uid).is_encapsulated and ds.get("BitsAllocated", 8) > 8
        document["7FE00010"] = {
            "vr": "OW" if words else "OB",
            "BulkDataURI": f"{url}/bulk/7fe00010",
        }
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
        [instance_metadata(read_header(blobs, ref), ref) for ref in refs],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    blobs.put(key, io.BytesIO(document))
    for stale in blobs.list(f"{CACHE_PREFIX}/{series.series_uid}/"):
        if stale != key:
            blobs.delete(stale)
    return document
