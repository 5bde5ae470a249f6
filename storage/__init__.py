"""Yilian's storage layer: the only code that touches the database and the object store.

It imports nothing of Yilian's other packages; the services (gateway, dicom_node, lab_bridge)
use it and talk to each other only through the database (the outbox).
"""

from storage.alliance_file import AllianceFile, parse_alliance_file
from storage.alliance_import import ImportReport, import_alliance_file
from storage.blobs import BlobInfo, BlobStat, BlobStore, open_blob_store
from storage.db import create_db_engine, migrate, session_factory, transaction
from storage.errors import (
    BlobNotFound,
    ConfigError,
    DatabaseUnavailable,
    InvalidKey,
    StorageError,
    StoreUnavailable,
)
from storage.object_records import ObjectExists, store_object, sweep_orphans
from storage.platform import Platform, open_platform, plugins
from storage.settings import ALL_SERVICES, ServiceName, Settings

__all__ = [
    "ALL_SERVICES",
    "AllianceFile",
    "BlobInfo",
    "BlobNotFound",
    "BlobStat",
    "BlobStore",
    "ConfigError",
    "DatabaseUnavailable",
    "ImportReport",
    "InvalidKey",
    "ObjectExists",
    "Platform",
    "ServiceName",
    "Settings",
    "StorageError",
    "StoreUnavailable",
    "create_db_engine",
    "import_alliance_file",
    "migrate",
    "open_blob_store",
    "open_platform",
    "parse_alliance_file",
    "plugins",
    "session_factory",
    "store_object",
    "sweep_orphans",
    "transaction",
]
