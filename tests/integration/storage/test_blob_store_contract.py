"""One contract, two object stores: the local filesystem and a real SeaweedFS S3 server."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import pytest

from storage.blobs import BlobStore, FileBlobStore, S3BlobStore, open_blob_store
from storage.errors import BlobNotFound, ConfigError, InvalidKey, StoreUnavailable


def test_put_returns_size_and_sha256_and_get_streams_back_the_same_bytes(blob_store: BlobStore):
    data = os.urandom(3 * 1024 * 1024 + 17)
    info = blob_store.put("dicom/1.2.3/1.2.3.4/1.2.3.4.5", [data[:1000], data[1000:]])
    assert info.size == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    chunks = list(blob_store.get(info.key, chunk_size=1024 * 1024))
    assert len(chunks) >= 3
    assert b"".join(chunks) == data


def test_put_accepts_a_file_object(blob_store: BlobStore, tmp_path):
    source = tmp_path / "in.bin"
    source.write_bytes(b"\x00\x01" * 5000)
    with open(source, "rb") as fh:
        info = blob_store.put("a/file", fh)
    assert info.size == 10000
    assert b"".join(blob_store.get("a/file")) == source.read_bytes()


def test_empty_object(blob_store: BlobStore):
    info = blob_store.put("empty", [])
    assert (info.size, info.sha256) == (0, hashlib.sha256(b"").hexdigest())
    assert b"".join(blob_store.get("empty")) == b""
    assert blob_store.stat("empty").size == 0


def test_read_range_reads_exact_bytes_and_stops_at_the_end(blob_store: BlobStore):
    data = bytes(range(256)) * 100
    blob_store.put("r", [data])
    assert blob_store.read_range("r", 1000, 300) == data[1000:1300]
    assert blob_store.read_range("r", len(data) - 10, 100) == data[-10:]
    assert blob_store.read_range("r", len(data), 10) == b""
    assert blob_store.read_range("r", 5, 0) == b""
    with pytest.raises(BlobNotFound):
        blob_store.read_range("missing", 0, 10)


def test_missing_objects_raise_our_error_not_the_sdks(blob_store: BlobStore):
    with pytest.raises(BlobNotFound) as caught:
        blob_store.get("no/such/object")
    assert caught.value.key == "no/such/object"
    with pytest.raises(BlobNotFound):
        blob_store.stat("no/such/object")
    assert not blob_store.exists("no/such/object")


def test_exists_stat_delete(blob_store: BlobStore):
    blob_store.put("x/y", [b"12345"])
    assert blob_store.exists("x/y")
    assert blob_store.stat("x/y").size == 5
    blob_store.delete("x/y")
    assert not blob_store.exists("x/y")
    blob_store.delete("x/y")  # idempotent


def test_list_by_prefix(blob_store: BlobStore):
    # Order is not part of the contract: SeaweedFS lists "a/" before "a-x", unlike AWS S3.
    keys = ["hl7/2026/b", "hl7/2026/a", "hl7/2026-x", "hl7/2027/c", "dicom/1/2/3", "hl7x"]
    for key in keys:
        blob_store.put(key, [key.encode()])
    assert sorted(blob_store.list("hl7/")) == [
        "hl7/2026-x",
        "hl7/2026/a",
        "hl7/2026/b",
        "hl7/2027/c",
    ]
    assert list(blob_store.list("hl7/2026/")) == ["hl7/2026/a", "hl7/2026/b"]
    assert sorted(blob_store.list("hl7/2026")) == ["hl7/2026-x", "hl7/2026/a", "hl7/2026/b"]
    assert sorted(blob_store.list()) == sorted(keys)
    assert list(blob_store.list("nothing/")) == []


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/../b", "../x", "a/./b", ".hidden", "a b"])
def test_unsafe_keys_are_refused(blob_store: BlobStore, key: str):
    with pytest.raises(InvalidKey):
        blob_store.put(key, [b"x"])


def _failing_stream(good_bytes: int) -> Iterator[bytes]:
    chunk = b"\xab" * (1024 * 1024)
    for _ in range(good_bytes // len(chunk)):
        yield chunk
    raise ConnectionResetError("sender went away")


@pytest.mark.parametrize("size_mb", [1, 40])  # single-part and multipart uploads
def test_interrupted_upload_leaves_nothing_and_keeps_the_previous_version(
    blob_store: BlobStore, size_mb: int
):
    blob_store.put("keep/me", [b"original"])
    with pytest.raises(ConnectionResetError):
        blob_store.put("keep/me", _failing_stream(size_mb * 1024 * 1024))
    with pytest.raises(ConnectionResetError):
        blob_store.put("never/written", _failing_stream(size_mb * 1024 * 1024))
    assert b"".join(blob_store.get("keep/me")) == b"original"
    assert not blob_store.exists("never/written")
    assert list(blob_store.list("never/")) == []


def test_filesystem_store_leaves_no_temporary_files(tmp_path):
    store = FileBlobStore(tmp_path / "o")
    with pytest.raises(ConnectionResetError):
        store.put("a", _failing_stream(2 * 1024 * 1024))
    store.put("b", [b"x"])
    assert list((tmp_path / "o" / ".incoming").iterdir()) == []
    assert list(store.list()) == ["b"]


def test_unwritable_filesystem_store_reports_unavailable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(StoreUnavailable):
        FileBlobStore(blocker / "objects")


def test_unreachable_s3_reports_unavailable_quickly(tmp_path):
    from tests.servers import free_port

    store = S3BlobStore(
        endpoint=f"127.0.0.1:{free_port()}",
        access_key="a",
        secret_key="b",
        bucket="yilian",
        connect_timeout=1,
    )
    for operation in (lambda: store.put("k", [b"x"]), lambda: store.get("k"), store.check):
        with pytest.raises(StoreUnavailable):
            operation()


def test_store_url_selects_the_implementation(tmp_path, seaweed):
    assert isinstance(open_blob_store((tmp_path / "o").as_uri()), FileBlobStore)
    s3 = open_blob_store(seaweed.url("yilian-url"))
    assert isinstance(s3, S3BlobStore)
    assert (s3.endpoint, s3.bucket) == (seaweed.endpoint, "yilian-url")
    with pytest.raises(ConfigError):
        open_blob_store("ftp://example/x")
    with pytest.raises(ConfigError):
        open_blob_store("s3://key:secret@127.0.0.1:9000/")
