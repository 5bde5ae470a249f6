"""Shared fixtures: both databases (SQLite, real PostgreSQL) and both object stores
(filesystem, real SeaweedFS S3).  Parametrised fixtures run each test against each backend.

The fuzz tests (Hypothesis) run the ``suite`` profile: a fixed set of examples, bounded so
``make test`` stays short.  ``YILIAN_FUZZ=long`` runs many more, freshly drawn each time
(``bench/fuzz.sh``)."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage import import_alliance_file, open_platform
from storage.blobs import BlobStore, FileBlobStore, S3BlobStore
from storage.db import create_db_engine, migrate, session_factory
from storage.settings import Settings
from tests.servers import PostgresServer, SeaweedS3, drain_outbox, postgres_cluster

REPO = Path(__file__).resolve().parents[1]
DEMO_ALLIANCE = REPO / "examples" / "jinhua-alliance.yaml"
_counter = itertools.count()

# The fuzz tests share a live server across examples: a function-scoped fixture is intended.
_FUZZ = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture,
                                                      HealthCheck.too_slow]}  # fmt: skip
settings.register_profile("suite", max_examples=300, derandomize=True, **_FUZZ)
settings.register_profile("long", max_examples=20_000, derandomize=False, **_FUZZ)
settings.load_profile(os.environ.get("YILIAN_FUZZ", "suite"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The suite's PostgreSQL cluster (a test may restart it: same port, same data)."""
    with postgres_cluster() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server(postgres: PostgresServer) -> str:
    return postgres.url


@pytest.fixture(scope="session")
def seaweed() -> Iterator[SeaweedS3]:
    with SeaweedS3() as server:
        yield server


def new_postgres_database(server_url: str) -> str:
    name = f"t{next(_counter)}_{uuid.uuid4().hex[:8]}"
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'yilian.db'}"
    return new_postgres_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture(params=["fs", "s3"])
def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "fs":
        yield FileBlobStore(tmp_path / "objects")
        return
    server: SeaweedS3 = request.getfixturevalue("seaweed")
    store = S3BlobStore(
        endpoint=server.endpoint,
        access_key="yilian",
        secret_key="yilian-secret",
        bucket=f"t{uuid.uuid4().hex[:12]}",
    )
    store.ensure_bucket()
    yield store
    server.drop_bucket(store.bucket)


@pytest.fixture(params=["fs", "s3"])
def blob_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An object store URL as a deployment would configure it (the bucket is made on open)."""
    if request.param == "fs":
        yield (tmp_path / "objects").as_uri()
        return
    server: SeaweedS3 = request.getfixturevalue("seaweed")
    bucket = f"t{uuid.uuid4().hex[:12]}"
    yield server.url(bucket)
    server.drop_bucket(bucket)


@pytest.fixture(scope="session")
def demo_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database with the demo alliance imported and what a gateway publishes
    at start (terminology, directory, service catalogue, indicators, exam slots) published,
    copied by each test (importing hashes every demo secret, publishing writes a few hundred
    resources: seconds per test otherwise; a gateway started on a copy finds them in place)."""
    from gateway.fhir.catalogue import publish_catalogue
    from gateway.fhir.directory import publish_directory
    from gateway.fhir.terminology import publish_terminology
    from gateway.indicators.measures import publish_measures
    from gateway.workflow.capacity import publish_capacity

    path = tmp_path_factory.mktemp("template") / "yilian.db"
    platform = open_platform(Settings(data_dir=path.parent, database_url=f"sqlite:///{path}"))
    import_alliance_file(platform.sessions, DEMO_ALLIANCE)
    published = (publish_terminology, publish_directory, publish_catalogue, publish_measures,
                 publish_capacity)  # fmt: skip
    for publish in published:
        publish(platform)
    drain_outbox(platform)
    platform.close()
    return path
