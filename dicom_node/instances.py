"""Stored instances on their way out (C-MOVE, C-GET, forwarding): read back from the object
store, and the presentation contexts to propose for them."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from io import BytesIO

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import build_context
from pynetdicom.presentation import PresentationContext

from storage.blobs import BlobStore
from storage.dicom import StoredInstance
from storage.errors import StorageError

log = logging.getLogger("yilian.dicom")

MAX_CONTEXTS = 128
UNCOMPRESSED = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)


def load(blobs: BlobStore, instance: StoredInstance) -> Dataset:
    """The stored instance; if it cannot be read, a stand-in that makes this one sub-operation
    fail (pynetdicom cannot send it) and be listed by its SOP Instance UID."""
    try:
        return dcmread(BytesIO(b"".join(blobs.get(instance.object_key))))
    except (StorageError, ValueError, EOFError) as exc:
        log.error("stored instance unreadable", extra={"error": type(exc).__name__})
        unreadable = Dataset()
        unreadable.SOPInstanceUID = instance.sop_instance_uid
        return unreadable


def contexts_for(instances: Iterable[StoredInstance]) -> list[PresentationContext]:
    """One context per SOP class, offering its stored transfer syntaxes and uncompressed ones."""
    syntaxes: dict[str, list[str]] = {}
    for instance in instances:
        offered = syntaxes.setdefault(instance.sop_class_uid, list(UNCOMPRESSED))
        if instance.transfer_syntax_uid not in offered:
            offered.insert(0, instance.transfer_syntax_uid)
    return [build_context(sop, ts) for sop, ts in list(syntaxes.items())[:MAX_CONTEXTS]]
