"""Stored instances on their way out (C-MOVE, C-GET, forwarding): read back from the object
store, and the presentation contexts to propose for them.

Forwarding sends an instance the peer accepts in its stored transfer syntax from a file, in
PDU-sized chunks (pynetdicom's ``STORE_SEND_CHUNKED_DATASET``), never decoded: an 82 MB slide
level raised the process's peak by 28-57 MB (pynetdicom queues the PDUs it has read until the
socket takes them, so a slow peer costs up to the instance's size), against ~300 MB read whole.
One that must be converted, and whatever C-GET and C-MOVE send (pynetdicom's SCP wants a
decoded data set), is read whole.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import _config, build_context
from pynetdicom.presentation import PresentationContext

from storage.blobs import BlobStore
from storage.dicom import StoredInstance
from storage.errors import StorageError

log = logging.getLogger("yilian.dicom")

MAX_CONTEXTS = 128
UNCOMPRESSED = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
# A path given to send_c_store is sent as it is stored, chunk by chunk (data sets are not).
_config.STORE_SEND_CHUNKED_DATASET = True


def load(blobs: BlobStore, instance: StoredInstance) -> Dataset:
    """The stored instance; if it cannot be read, a stand-in that makes this one sub-operation
    fail (pynetdicom cannot send it) and be listed by its SOP Instance UID."""
    try:
        return dcmread(BytesIO(b"".join(blobs.get(instance.object_key))))
    except (StorageError, ValueError, EOFError) as exc:
        return _unreadable(instance, exc)


def _unreadable(instance: StoredInstance, exc: Exception) -> Dataset:
    log.error("stored instance unreadable", extra={"error": type(exc).__name__})
    unreadable = Dataset()
    unreadable.SOPInstanceUID = instance.sop_instance_uid
    return unreadable


@contextmanager
def outgoing(
    blobs: BlobStore, instance: StoredInstance, accepted: Iterable[PresentationContext]
) -> Iterator[Dataset | Path]:
    """What to give ``send_c_store`` for ``instance`` on an association that ``accepted``
    these contexts: the stored file, copied to a temporary file chunk by chunk, when its
    transfer syntax was accepted for its class; otherwise the data set (:func:`load`)."""
    exact = any(
        context.abstract_syntax == instance.sop_class_uid
        and instance.transfer_syntax_uid in context.transfer_syntax
        for context in accepted
    )
    if not exact:
        yield load(blobs, instance)
        return
    with tempfile.NamedTemporaryFile(prefix="yilian-send-", suffix=".dcm") as spool:
        try:
            for chunk in blobs.get(instance.object_key):
                spool.write(chunk)
            spool.flush()
        except (StorageError, OSError) as exc:
            yield _unreadable(instance, exc)
            return
        yield Path(spool.name)


def contexts_for(instances: Iterable[StoredInstance]) -> list[PresentationContext]:
    """One context per SOP class, offering its stored transfer syntaxes and uncompressed ones."""
    syntaxes: dict[str, list[str]] = {}
    for instance in instances:
        offered = syntaxes.setdefault(instance.sop_class_uid, list(UNCOMPRESSED))
        if instance.transfer_syntax_uid not in offered:
            offered.insert(0, instance.transfer_syntax_uid)
    return [build_context(sop, ts) for sop, ts in list(syntaxes.items())[:MAX_CONTEXTS]]
