"""S3 object store through the ``minio`` SDK (MinIO in production; SeaweedFS or any S3).

An S3 object becomes visible only when its (multipart) upload completes, which gives the same
"whole or nothing" guarantee as the filesystem store.  Uploads are sequential, one part at a time,
so memory stays bounded by the part size whatever the object size.  Every SDK and transport error
is translated into :mod:`storage.errors` here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, TypeVar

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

from storage.blobs.store import (
    CHUNK_SIZE,
    BlobInfo,
    BlobStat,
    HashingReader,
    validate_key,
    validate_prefix,
)
from storage.errors import BlobNotFound, StorageError, StoreUnavailable

PART_SIZE = 16 * 1024 * 1024
_MISSING = {"NoSuchKey", "NoSuchObject", "NoSuchVersion"}
T = TypeVar("T")


def _translate(exc: Exception, key: str | None = None) -> StorageError:
    if isinstance(exc, S3Error) and exc.code in _MISSING and key is not None:
        return BlobNotFound(key)
    if isinstance(exc, S3Error):
        return StoreUnavailable(f"S3 refused the request: {exc.code}")
    if isinstance(exc, MinioException | urllib3.exceptions.HTTPError | OSError):
        return StoreUnavailable(f"S3 endpoint unavailable: {type(exc).__name__}")
    raise exc


class S3BlobStore:
    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = False,
        region: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 120.0,
    ) -> None:
        self.bucket = bucket
        self.endpoint = endpoint
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            maxsize=16,
            retries=urllib3.Retry(
                total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
            ),
        )
        self._client = Minio(
            endpoint,
            access_key=access_key or None,
            secret_key=secret_key or None,
            secure=secure,
            region=region,
            http_client=http,
        )

    def __repr__(self) -> str:
        return f"S3BlobStore(endpoint={self.endpoint!r}, bucket={self.bucket!r})"

    def _call(self, fn: Callable[[], T], key: str | None = None) -> T:
        try:
            return fn()
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _translate(exc, key) from exc

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist yet (``yilian init`` and startup)."""
        if not self._call(lambda: self._client.bucket_exists(self.bucket)):
            with contextlib.suppress(StoreUnavailable):
                # Another replica may have created it meanwhile; check again below.
                self._call(lambda: self._client.make_bucket(self.bucket))
            if not self._call(lambda: self._client.bucket_exists(self.bucket)):
                raise StoreUnavailable(f"cannot create bucket {self.bucket!r}")

    def put(self, key: str, data: BinaryIO | Iterable[bytes]) -> BlobInfo:
        validate_key(key)
        reader = HashingReader(data)
        try:
            self._call(
                lambda: self._client.put_object(
                    self.bucket,
                    key,
                    reader,  # type: ignore[arg-type]
                    length=-1,
                    part_size=PART_SIZE,
                    num_parallel_uploads=1,
                )
            )
        except StorageError:
            if reader.source_error is not None:  # the producer failed, not S3
                raise reader.source_error from None
            raise
        return BlobInfo(key=key, size=reader.size, sha256=reader.sha256)

    def get(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        validate_key(key)
        response = self._call(lambda: self._client.get_object(self.bucket, key), key)

        def chunks() -> Iterator[bytes]:
            try:
                yield from response.stream(chunk_size)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise _translate(exc, key) from exc
            finally:
                response.close()
                response.release_conn()

        return chunks()

    def read_range(self, key: str, start: int, length: int) -> bytes:
        validate_key(key)
        if start < 0 or length < 0:
            raise ValueError("start and length must not be negative")
        if length == 0:
            self.stat(key)
            return b""
        try:
            response = self._client.get_object(self.bucket, key, offset=start, length=length)
        except S3Error as exc:
            if exc.code == "InvalidRange":  # start at or past the end of the object
                self.stat(key)
                return b""
            raise _translate(exc, key) from exc
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _translate(exc, key) from exc
        try:
            return self._call(response.read, key)
        finally:
            response.close()
            response.release_conn()

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except BlobNotFound:
            return False
        return True

    def stat(self, key: str) -> BlobStat:
        validate_key(key)
        info = self._call(lambda: self._client.stat_object(self.bucket, key), key)
        return BlobStat(key=key, size=int(info.size or 0), modified=info.last_modified)  # type: ignore[arg-type]

    def delete(self, key: str) -> None:
        validate_key(key)
        self._call(lambda: self._client.remove_object(self.bucket, key))

    def list(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)
        objects = self._client.list_objects(self.bucket, prefix=prefix or None, recursive=True)
        try:
            for obj in objects:
                if not obj.is_dir and obj.object_name:
                    yield obj.object_name
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _translate(exc) from exc

    def check(self) -> None:
        if not self._call(lambda: self._client.bucket_exists(self.bucket)):
            raise StoreUnavailable(f"bucket {self.bucket!r} does not exist")
