"""Yilian's storage layer: the only code that touches the database and the object store.

It imports nothing of Yilian's other packages; the services (gateway, dicom_node, lab_bridge)
use it and talk to each other only through the database (the outbox).  Its parts, bottom up
(each imports only the rows below it; the import-linter contract in ``pyproject.toml`` holds
them to it):

- ``errors``, ``settings``, ``json_codec``, ``logs``: the shared vocabulary; ``readiness``: which
  of the process's services are up (the ``platform`` carries it); ``processes``: worker pools
  whose processes die with their parent;
- ``db`` (engine, sessions, transactions, bulk rows) and ``models`` (every table, one module
  per domain; ``migrations`` is their history);
- ``blobs``: the object store and the object-then-row rule;
- ``policy`` (who sees what), ``audit`` (who looked), ``outbox`` (events between services);
- ``registry`` (the alliance and who may connect) and ``platform`` (one process's engine,
  sessions and store);
- the domain parts, independent of each other: ``dicom``, ``fhir``, ``hl7``, ``clinical``
  (critical alerts, lab turnaround);
- ``worker``: runs the outbox's handlers and the periodic jobs.
"""

from storage.blobs import (
    BlobInfo,
    BlobStat,
    BlobStore,
    ObjectExists,
    open_blob_store,
    store_object,
    sweep_orphans,
)
from storage.db import create_db_engine, migrate, session_factory, transaction
from storage.errors import (
    BlobNotFound,
    ConfigError,
    DatabaseUnavailable,
    InvalidKey,
    StorageError,
    StoreUnavailable,
)
from storage.platform import Platform, open_platform, plugins
from storage.registry import AllianceFile, ImportReport, import_alliance_file, parse_alliance_file
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
