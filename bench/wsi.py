"""Whole-slide image ingest and tile latency, Yilian against Orthanc (+ DICOMweb plugin).

A synthetic slide of about 1 GB (a JPEG pyramid, 256 px tiles, TILED_FULL, written by wsidicom:
``tests/wsi_data.py``) is pushed by DCMTK's ``storescu -R -xy`` to ``yilian serve --demo`` in
its default topology (every service in one process, SQLite + filesystem) and to Orthanc from
Debian.  Printed: MB/s of the push, the peak RSS (VmHWM) of the serving process and of it with
its children (Yilian's worker pools) before and after the push, and the p50/p95 latency of
single-frame WADO-RS retrievals of random tiles of every level (targets: peak RSS of the
ingesting process <= 300 MB and flat in the slide's size, p95 <= 20 ms).  Everything runs in a
network namespace with only ``lo`` (Orthanc 1.10 binds every interface); the script re-runs
itself inside it.  Not a test: it asserts nothing.

Run as root from the repository (``apt-get install orthanc orthanc-dicomweb dcmtk`` first):

    .venv/bin/python bench/wsi.py [--width 49152] [--frames 500] [--skip-orthanc]

Last measured on the 2-core reference machine, shared (load 2-3), 2026-12-03 (982 MB slide, 6
levels, 36,858 tiles; Orthanc 1.10.1 with DICOMweb 1.7, 20 frames — it reads the whole
instance per frame):
    push                        Yilian 137 MB/s (7.2 s)   Orthanc 120 MB/s (8.2 s)
    RSS of the serving process  Yilian 272 MB before the push, peak during it 288 MB (start-up
                                peak 288 MB; its worker pools: 729 MB with them, unchanged);
                                Orthanc 32 MB before, peak 2,851 MB during, 3,950 MB after frames
    single frame                Yilian p50 8.7 ms, p95 12.7 ms   Orthanc p50 1,087 ms, p95 7,920 ms
The process was at 309 MB before the push and 327 MB during it until ``yilian serve`` fixed
glibc's mmap threshold (``storage.malloc``: memory freed by threads, an Argon2 hash of a login
among them, stayed with the process) and logins hashed with 19 MiB instead of 64 MiB.
Before the fixes of this bench's first commit, the same push was aborted by Yilian (the frame
index of the 736 MB level took minutes to build; DCMTK: "Peer aborted Association").
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from bench.dicom_ingest import PORT, Server, start_orthanc, wait_for_echo  # noqa: E402
from tests.dcmtk import dcmtk_path  # noqa: E402
from tests.servers import ensure_netns, free_port, wait_for_port  # noqa: E402
from tests.wsi_data import SlideSpec, WrittenSlide, write_slide  # noqa: E402

NETNS = "yilian-bench"
YILIAN = str(Path(sys.executable).with_name("yilian"))
PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
CALLING = "JHZX_CT1"  # a demo modality of the lead hospital, where the pathology centre is
FRAME = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'


def start_yilian(work: Path) -> tuple[Server, str, httpx.Client]:
    """``yilian serve --demo``: every service in one process, on the embedded defaults."""
    http_port = free_port()
    command = [
        YILIAN, "serve", "--demo", "--data-dir", str(work / "data"), "--host", "127.0.0.1",
        "--http-port", str(http_port), "--dicom-port", str(PORT),
        "--mllp-port", str(free_port()), "--log-level", "WARNING",
    ]  # fmt: skip
    # This checkout's code, not whichever the installed ``yilian`` script would import.
    env = {
        **os.environ,
        "YILIAN_PUBLIC_URL": f"http://127.0.0.1:{http_port}",
        "PYTHONPATH": str(REPO),
    }
    log = open(work / "yilian.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, env=env)
    wait_for_port(http_port, 120, proc)
    wait_for_echo("YILIAN", PORT, ())
    token = httpx.post(
        f"http://127.0.0.1:{http_port}/auth/token",
        data={"grant_type": "client_credentials"},
        auth=("his-jhzx", "demo-secret-jhzx"),
    ).json()["access_token"]
    client = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=120)
    return Server("Yilian", "YILIAN", proc), f"http://127.0.0.1:{http_port}/dicomweb", client


def own_mb(server: Server, field: str = "VmHWM") -> float:
    """The serving process's peak (``VmHWM``) or current (``VmRSS``) resident set, MB."""
    for line in Path(f"/proc/{server.proc.pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak(server: Server) -> None:
    """Start the process's ``VmHWM`` again from its current RSS (proc(5), ``clear_refs`` 5), so
    that the next reading is the peak of what happens after, not of the start-up."""
    Path(f"/proc/{server.proc.pid}/clear_refs").write_text("5")


def push(server: Server, slide: WrittenSlide) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [dcmtk_path("storescu"), "-R", "-xy", "-aet", CALLING, "-aec", server.called,
         "127.0.0.1", str(PORT), *map(str, slide.files)],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"storescu to {server.name} failed: {done.stderr[-500:]}")
    return time.perf_counter() - started


def frame_latencies(
    client: httpx.Client, root: str, slide: WrittenSlide, count: int, check: bool
) -> list[float]:
    """Milliseconds for ``count`` single-frame retrievals of random tiles of random levels;
    with ``check``, each part is compared with the tile sent (Yilian's answers)."""
    rng = random.Random(7)  # noqa: S311 (which tiles, not a secret)
    times = []
    for _ in range(count):
        level = rng.randrange(slide.spec.levels)
        across, down = slide.spec.tiles_across(level)
        number = rng.randint(1, across * down)
        url = (
            f"{root}/studies/{slide.study_uid}/series/{slide.series_uid}"
            f"/instances/{slide.sop_uids[level]}/frames/{number}"
        )
        started = time.perf_counter()
        answer = client.get(url, headers={"Accept": FRAME})
        times.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
        if check and slide.spec.frame(level, number) not in answer.content:
            raise RuntimeError(f"frame {number} of level {level} differs from the tile sent")
    return sorted(times)


def measure(name: str, start, slide: WrittenSlide, frames: int) -> dict[str, float]:  # noqa: ANN001
    with tempfile.TemporaryDirectory(dir=REPO / "var") as tmp:
        work = Path(tmp)
        if name == "Yilian":
            server, root, client = start(work)
        else:
            server = start(work / "orthanc", (PLUGIN,), ())
            root, client = "http://127.0.0.1:18042/dicom-web", httpx.Client(timeout=120)
        try:
            before = (own_mb(server), server.peak_rss_mb(), own_mb(server, "VmRSS"))
            reset_peak(server)
            seconds = push(server, slide)
            after = (own_mb(server), server.peak_rss_mb())
            times = frame_latencies(client, root, slide, frames, check=name == "Yilian")
            served = (own_mb(server), server.peak_rss_mb())
        finally:
            server.stop()
    return {
        "MB/s": slide.size / 1e6 / seconds,
        "seconds": seconds,
        "peak RSS of start-up (MB)": before[0],
        "RSS before push (MB)": before[2],
        "peak RSS of push (MB)": after[0],
        "peak RSS push+frames (MB)": served[0],
        "with children before (MB)": before[1],
        "with children after push (MB)": after[1],
        "frame p50 (ms)": statistics.median(times),
        "frame p95 (ms)": times[int(len(times) * 0.95) - 1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=49152, help="level 0 (height: 3/4)")
    parser.add_argument("--levels", type=int, default=6)
    parser.add_argument("--frames", type=int, default=500, help="single-frame retrievals")
    # Orthanc reads the whole instance for each frame of it: seconds per tile of a big level.
    parser.add_argument("--orthanc-frames", type=int, default=20)
    parser.add_argument("--skip-orthanc", action="store_true")
    args = parser.parse_args()
    if os.environ.get("YILIAN_BENCH_IN_NETNS") != "1":
        prefix = ensure_netns(NETNS)
        env = {**os.environ, "YILIAN_BENCH_IN_NETNS": "1"}
        return subprocess.run([*prefix, sys.executable, *sys.argv], env=env).returncode
    (REPO / "var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=REPO / "var", prefix="bench-wsi-") as tmp:
        spec = SlideSpec(args.width, args.width * 3 // 4, levels=args.levels)
        started = time.perf_counter()
        slide = write_slide(spec, Path(tmp) / "slide")
        frames = sum(a * d for a, d in map(spec.tiles_across, range(spec.levels)))
        print(
            f"slide: {slide.size / 1e6:.0f} MB, {spec.levels} levels, {frames} tiles, "
            f"written in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        peers = [("Yilian", start_yilian)]
        if not args.skip_orthanc and shutil.which("Orthanc") and Path(PLUGIN).exists():
            peers.append(("Orthanc", start_orthanc))
        results = {}
        for name, start in peers:
            count = args.frames if name == "Yilian" else args.orthanc_frames
            results[name] = measure(name, start, slide, count)
            print(name, {key: round(value, 1) for key, value in results[name].items()}, flush=True)
    print(f"\n{'':32s}" + "".join(f"{name:>10s}" for name in results))
    for key in results["Yilian"]:
        print(f"{key:32s}" + "".join(f"{r[key]:10.1f}" for r in results.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
