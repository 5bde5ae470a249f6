"""The ``yilian`` command."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvloop

from gateway.runner import bootstrap, serve
from storage import (
    ALL_SERVICES,
    ConfigError,
    Settings,
    StorageError,
    import_alliance_file,
    open_platform,
    parse_alliance_file,
)
from storage.clinical.patient_batch import link_unindexed
from storage.logs import configure_logging
from storage.malloc import fix_mmap_threshold

METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"
METRICS_PREFIX = "yilian-metrics-"  # then the pid of the `yilian serve` that made it


def _platform_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("platform (also YILIAN_* environment variables)")
    group.add_argument("--data-dir", type=Path, help="database and objects (default ./var)")
    group.add_argument("--database-url", help="SQLAlchemy URL, e.g. postgresql://u:p@host/db")
    group.add_argument(
        "--object-store-url", help="file:///path or s3://KEY:SECRET@host:port/bucket"
    )
    group.add_argument("--log-level", help="DEBUG, INFO, WARNING ...")
    group.add_argument("--log-format", choices=["json", "text"])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yilian", description="Yilian 医联 platform")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("serve", help="run the platform (all services in one process)")
    _platform_options(run)
    run.add_argument(
        "--only", action="append", choices=ALL_SERVICES, help="run only this service (repeatable)"
    )
    run.add_argument("--host", help="bind address (default 127.0.0.1)")
    run.add_argument("--http-port", type=int)
    run.add_argument("--dicom-port", type=int)
    run.add_argument("--mllp-port", type=int)
    run.add_argument("--ae-title", help="the node's own DICOM AE title (default YILIAN)")
    run.add_argument(
        "--config", dest="config_file", type=Path, help="alliance file to import at start"
    )
    run.add_argument("--demo", action="store_true", default=None, help="load the demo alliance")

    init = commands.add_parser(
        "init", help="create or upgrade the schema and bucket; import YILIAN_CONFIG_FILE if set"
    )
    _platform_options(init)
    init.add_argument("--config", dest="config_file", type=Path, help="alliance file to import")

    imp = commands.add_parser("import-alliance", help="import an alliance file (idempotent)")
    _platform_options(imp)
    imp.add_argument("file", type=Path)

    linking = commands.add_parser(
        "link-patients",
        help="link every Patient the patient index does not know yet (after a bulk load)",
    )
    _platform_options(linking)

    check = commands.add_parser("check-config", help="validate an alliance file, write nothing")
    check.add_argument("file", type=Path)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    names = set(Settings.model_fields)
    given: dict[str, Any] = {k: v for k, v in vars(args).items() if k in names and v is not None}
    return Settings(**given)


@contextmanager
def shared_metrics() -> Iterator[None]:
    """The figures of every process ``yilian serve`` starts (HTTP helpers, ingest and HL7
    workers) in one directory that ``/metrics`` sums (prometheus_client's multiprocess mode:
    set before any metric exists), removed when it stops, or by the next start after a kill."""
    if os.environ.get(METRICS_DIR):
        yield
        return
    sweep_metrics(Path(tempfile.gettempdir()))
    directory = tempfile.mkdtemp(prefix=f"{METRICS_PREFIX}{os.getpid()}-")
    os.environ[METRICS_DIR] = directory
    try:
        yield
    finally:
        del os.environ[METRICS_DIR]
        shutil.rmtree(directory, ignore_errors=True)


def sweep_metrics(parent: Path) -> None:
    """Remove the metrics directories of ``yilian serve`` processes that are gone (a
    ``kill -9`` or an OOM kill gives no chance to remove one at exit)."""
    for directory in parent.glob(f"{METRICS_PREFIX}*-*"):
        owner = directory.name.removeprefix(METRICS_PREFIX).partition("-")[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(directory, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "check-config":
            parsed = parse_alliance_file(args.file)
            print(
                f"{args.file}: valid - {len(parsed.organizations)} organizations, "
                f"{len(parsed.alliances)} alliances, {len(parsed.ae_titles)} AE titles, "
                f"{len(parsed.api_clients)} API clients, {len(parsed.users)} users"
            )
            return 0
        settings = _settings(args)
        configure_logging(settings.log_level, settings.log_format)
        if args.command == "serve":
            fix_mmap_threshold()  # before any thread: what a request frees is given back
            # uvloop (from uvicorn[standard]): less event-loop overhead per HTTP request.
            with shared_metrics(), asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                return runner.run(serve(settings, args.only or list(ALL_SERVICES)))
        platform = open_platform(settings)
        try:
            if args.command == "import-alliance":
                report = import_alliance_file(platform.sessions, args.file)
                print(f"{args.file}: imported - {report.summary()}")
            elif args.command == "link-patients":
                print(link_unindexed(platform.sessions).summary())
            else:
                bootstrap(platform)
                scheme = settings.effective_object_store_url.split(":")[0]
                print(f"database and object store ready ({scheme})")
        finally:
            platform.close()
        return 0
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
