"""A 2 GB object streams through either store without being held in memory."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

SIZE = 2 * 1024**3
# Peak RSS of the whole Python process: interpreter, SDKs and one 16 MiB S3 part buffer fit
# far below this; holding the object would need > 2,000 MiB.
RSS_LIMIT_MB = 200

SCRIPT = textwrap.dedent(
    r"""
    import hashlib, json, pathlib, re, sys, time
    from storage.blobs import open_blob_store

    url, size = sys.argv[1], int(sys.argv[2])
    chunk = bytes(range(256)) * 4096  # 1 MiB

    def produce():
        for i in range(size // len(chunk)):
            yield i.to_bytes(8, "big") + chunk[8:]

    store = open_blob_store(url)
    if hasattr(store, "ensure_bucket"):
        store.ensure_bucket()
    start = time.monotonic()
    info = store.put("big/object", produce())
    put_s = time.monotonic() - start
    sha = hashlib.sha256()
    got = 0
    start = time.monotonic()
    for piece in store.get("big/object"):
        sha.update(piece)
        got += len(piece)
    get_s = time.monotonic() - start
    tail = store.read_range("big/object", size - 16, 16)
    store.delete("big/object")
    print(json.dumps({
        "size": info.size, "sha_put": info.sha256, "sha_get": sha.hexdigest(), "got": got,
        "tail_ok": tail == chunk[-16:],
        "put_s": round(put_s, 1), "get_s": round(get_s, 1),
        # VmHWM: this process's own peak RSS (ru_maxrss would include the forking parent's).
        "max_rss_mb": int(
            re.search(r"VmHWM:\s+(\d+)", pathlib.Path("/proc/self/status").read_text())[1]
        ) / 1024,
    }))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fs", "s3"])
def test_two_gigabyte_object_streams_with_flat_memory(kind, tmp_path, request):
    if kind == "fs":
        url = (tmp_path / "objects").as_uri()
    else:
        url = request.getfixturevalue("seaweed").url("large-objects")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, url, str(SIZE)],
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{kind}: {result}")
    assert result["size"] == result["got"] == SIZE
    assert result["sha_put"] == result["sha_get"]
    assert result["tail_ok"]
    assert result["max_rss_mb"] < RSS_LIMIT_MB, result
