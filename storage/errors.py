"""Our own error types for everything below the services.

SDK errors (minio, urllib3, SQLAlchemy, OS errors) are translated into these at the edge of the
module that calls the SDK, with ``raise ... from exc``, so no caller ever sees a third-party type.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every storage-layer failure."""


class InvalidKey(StorageError, ValueError):
    """An object key that is empty, absolute, or escapes its prefix."""


class BlobNotFound(StorageError, KeyError):
    """The object does not exist under that key."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:
        return f"no object under key {self.key!r}"


class StoreUnavailable(StorageError):
    """The object store cannot be reached or refused the operation (retry later)."""


class DatabaseUnavailable(StorageError):
    """The database cannot be reached, is locked, or refused the transaction (retry later)."""


class ConfigError(StorageError):
    """A configuration or alliance file that cannot be used, with a message for a person."""


class AuditUnavailable(StorageError):
    """An access record could not be committed: the access it records must not be answered."""
