"""The object store: original bytes of every DICOM file and HL7 message, and their records.

Owns the small ``BlobStore`` protocol (put, get, read a range, exists, stat, delete, list) with
its two implementations, the local filesystem (``fs``, embedded default) and S3 through the
``minio`` SDK (``s3``), chosen by URL in ``open_blob_store``; and ``records``, the one rule for
writing an object and its ``stored_objects`` row (object first, then row; orphans swept).
Code above it never knows which store it writes to.
"""

from storage.blobs.fs import FileBlobStore
from storage.blobs.records import ObjectExists, store_object, sweep_orphans
from storage.blobs.s3 import S3BlobStore
from storage.blobs.store import (
    CHUNK_SIZE,
    BlobInfo,
    BlobStat,
    BlobStore,
    HashingReader,
    open_blob_store,
    validate_key,
    validate_prefix,
)

__all__ = [
    "CHUNK_SIZE",
    "BlobInfo",
    "BlobStat",
    "BlobStore",
    "FileBlobStore",
    "HashingReader",
    "ObjectExists",
    "S3BlobStore",
    "open_blob_store",
    "store_object",
    "sweep_orphans",
    "validate_key",
    "validate_prefix",
]
