"""Local filesystem object store: the embedded default.

Writes go to a temporary file under ``<root>/.incoming``, are fsynced, then renamed into place
and the directory is fsynced, so a key is either absent or complete - never partial - even
after a crash.  Leftover temporary files are removed by :meth:`FileBlobStore.sweep_incoming`.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from storage.blobs.store import (
    CHUNK_SIZE,
    BlobInfo,
    BlobStat,
    HashingReader,
    validate_key,
    validate_prefix,
)
from storage.errors import BlobNotFound, StoreUnavailable

_INCOMING = ".incoming"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileBlobStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        try:
            (self.root / _INCOMING).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"cannot create object store directory: {exc.strerror}") from exc

    def __repr__(self) -> str:
        return f"FileBlobStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    def put(self, key: str, data: BinaryIO | Iterable[bytes]) -> BlobInfo:
        final = self._path(key)
        tmp = self.root / _INCOMING / f"{uuid.uuid4().hex}.part"
        reader = HashingReader(data)
        try:
            with open(tmp, "xb") as out:
                for chunk in reader.chunks():
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            created = self._makedirs(final.parent)
            os.replace(tmp, final)
            for directory in {final.parent, *created}:
                _fsync_dir(directory)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            if reader.source_error is exc:
                raise
            raise StoreUnavailable(f"cannot write object: {exc.strerror}") from exc
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        return BlobInfo(key=key, size=reader.size, sha256=reader.sha256)

    def _makedirs(self, directory: Path) -> list[Path]:
        """Create ``directory`` and its parents; return the parents whose entries changed."""
        missing: list[Path] = []
        probe = directory
        while not probe.exists():
            missing.append(probe)
            probe = probe.parent
        directory.mkdir(parents=True, exist_ok=True)
        return [p.parent for p in missing]

    def get(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        handle = self._open(key)

        def chunks() -> Iterator[bytes]:
            with handle:
                while chunk := handle.read(chunk_size):
                    yield chunk

        return chunks()

    def _open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        except IsADirectoryError as exc:
            raise BlobNotFound(key) from exc
        except OSError as exc:
            raise StoreUnavailable(f"cannot read object: {exc.strerror}") from exc

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if start < 0 or length < 0:
            raise ValueError("start and length must not be negative")
        with self._open(key) as handle:
            handle.seek(start)
            return handle.read(length)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def stat(self, key: str) -> BlobStat:
        try:
            st = self._path(key).stat()
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        return BlobStat(key=key, size=st.st_size, modified=datetime.fromtimestamp(st.st_mtime, UTC))

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreUnavailable(f"cannot delete object: {exc.strerror}") from exc
        # Prune now-empty parent directories, never the root itself.
        parent = path.parent
        while parent != self.root:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def list(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)
        # Walk only the directory the prefix names, then filter by the rest of the prefix.
        head, _, _ = prefix.rpartition("/")
        start = self.root.joinpath(*head.split("/")) if head else self.root
        base = f"{head}/" if head else ""
        yield from (key for key in self._walk(start, base) if key.startswith(prefix))

    def _walk(self, directory: Path, base: str) -> Iterator[str]:
        """Keys below ``directory`` in byte order (a directory sorts as "name/", as in AWS S3)."""
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return
        visible = [e for e in entries if not e.name.startswith(".")]
        for entry in sorted(visible, key=lambda e: e.name + ("/" if e.is_dir() else "")):
            if entry.is_dir():
                yield from self._walk(Path(entry.path), f"{base}{entry.name}/")
            else:
                yield f"{base}{entry.name}"

    def check(self) -> None:
        if not os.access(self.root / _INCOMING, os.W_OK):
            raise StoreUnavailable("object store directory is not writable")

    def sweep_incoming(self, older_than_seconds: float = 3600) -> int:
        """Delete temporary files left by interrupted writes; return how many were removed."""
        cutoff = time.time() - older_than_seconds
        removed = 0
        for entry in (self.root / _INCOMING).iterdir():
            with contextlib.suppress(FileNotFoundError):
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
        return removed
