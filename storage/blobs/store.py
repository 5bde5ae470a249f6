"""The object-store interface: a handful of typed operations and nothing about DICOM or HL7.

Modelled on Orthanc's ``IStorageArea``: put (streamed), get (streamed), read a byte range,
exists, stat, delete, list by prefix.  Two implementations exist, chosen by URL in
:func:`open_blob_store`: the local filesystem (embedded default) and S3 through the ``minio`` SDK.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol, runtime_checkable
from urllib.parse import parse_qs, unquote, urlsplit

from storage.errors import ConfigError, InvalidKey

CHUNK_SIZE = 1024 * 1024
_KEY_SEGMENT = re.compile(r"^[A-Za-z0-9._=+@,-]+$")


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """What a completed put returns, and what the database records for the object."""

    key: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class BlobStat:
    key: str
    size: int
    modified: datetime


@runtime_checkable
class BlobStore(Protocol):
    """A flat key -> bytes store.  Keys are ``/``-separated relative paths."""

    def put(self, key: str, data: BinaryIO | Iterable[bytes]) -> BlobInfo:
        """Store ``data`` under ``key`` atomically: readers see the whole object or nothing."""
        ...

    def get(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """Stream the object in chunks.  Raises BlobNotFound before the first chunk."""
        ...

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """Read ``length`` bytes from offset ``start`` (fewer at the end of the object)."""
        ...

    def exists(self, key: str) -> bool: ...

    def stat(self, key: str) -> BlobStat: ...

    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""
        ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys that start with ``prefix`` (order is store-specific), streamed page by page."""
        ...

    def check(self) -> None:
        """Raise StoreUnavailable unless the store answers (used by /health)."""
        ...


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key, else raise InvalidKey."""
    if not key or len(key) > 1024:
        raise InvalidKey(f"object key must be 1-1024 characters, got {len(key)}")
    parts = key.split("/")
    for part in parts:
        if part in ("", ".", "..") or not _KEY_SEGMENT.match(part) or part.startswith("."):
            raise InvalidKey(f"invalid object key {key!r}: bad segment {part!r}")
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix: empty, or a key possibly ending in ``/``."""
    if prefix:
        validate_key(prefix.rstrip("/"))
    return prefix


class HashingReader:
    """Wraps a byte stream (file-like or iterable of chunks), counting and hashing what is read.

    It offers ``read(n)`` so SDKs that want a file object can consume it, and ``chunks()``
    for code that writes chunk by chunk.  Memory use is bounded by the chunk size.
    """

    def __init__(self, data: BinaryIO | Iterable[bytes]) -> None:
        self._file = data if hasattr(data, "read") else None
        self._iter = None if self._file is not None else iter(data)  # type: ignore[arg-type]
        self._pending = b""
        self._sha = hashlib.sha256()
        self.size = 0
        # The producer's own failure (a client disconnecting), kept so a store does not
        # report it as its own outage.
        self.source_error: BaseException | None = None

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    def _next_piece(self, n: int) -> bytes:
        try:
            return self._produce(n)
        except BaseException as exc:
            self.source_error = exc
            raise

    def _produce(self, n: int) -> bytes:
        if self._file is not None:
            return self._file.read(n)  # type: ignore[union-attr]
        if self._pending:
            piece, self._pending = self._pending[:n], self._pending[n:]
            return piece
        for chunk in self._iter:  # type: ignore[union-attr]
            if chunk:
                piece, self._pending = bytes(chunk[:n]), bytes(chunk[n:])
                return piece
        return b""

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            buf = bytearray()
            while piece := self._next_piece(CHUNK_SIZE):
                buf += piece
            data = bytes(buf)
        else:
            # Fill up to n bytes: SDKs treat a short read as end of stream.
            buf = bytearray()
            while len(buf) < n and (piece := self._next_piece(n - len(buf))):
                buf += piece
            data = bytes(buf)
        self._sha.update(data)
        self.size += len(data)
        return data

    def chunks(self, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        while chunk := self.read(chunk_size):
            yield chunk


def open_blob_store(url: str) -> BlobStore:
    """Build the store named by ``url``.

    * ``file:///var/lib/yilian/objects`` - local filesystem
    * ``s3://ACCESS:SECRET@host:port/bucket?secure=false&region=cn-east-1`` - any S3
      (MinIO, SeaweedFS)
    """
    parts = urlsplit(url)
    if parts.scheme == "file":
        from storage.blobs.fs import FileBlobStore

        if not parts.path:
            raise ConfigError(f"object store URL {url!r} has no path")
        return FileBlobStore(unquote(parts.path))
    if parts.scheme in ("s3", "s3+http", "s3+https"):
        from storage.blobs.s3 import S3BlobStore

        bucket = parts.path.strip("/")
        if not bucket or not parts.hostname:
            raise ConfigError(
                "object store URL needs host and bucket: s3://KEY:SECRET@host:port/bucket"
            )
        query = parse_qs(parts.query)
        secure = parts.scheme == "s3+https" or query.get("secure", ["false"])[0] == "true"
        endpoint = parts.hostname + (f":{parts.port}" if parts.port else "")
        return S3BlobStore(
            endpoint=endpoint,
            access_key=unquote(parts.username or ""),
            secret_key=unquote(parts.password or ""),
            bucket=bucket,
            secure=secure,
            region=query.get("region", [None])[0],
        )
    raise ConfigError(
        f"unsupported object store URL scheme {parts.scheme!r} (use file:// or s3://)"
    )
