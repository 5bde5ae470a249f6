"""Platform settings, read once (from ``YILIAN_*`` environment variables and CLI options)
into one object that the CLI builds and hands to every service."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ServiceName = Literal["http", "dicom", "mllp", "worker"]
ALL_SERVICES: tuple[ServiceName, ...] = ("http", "dicom", "mllp", "worker")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YILIAN_", extra="ignore")

    host: str = Field("127.0.0.1", description="address every listener binds to")
    http_port: int = Field(8080, ge=0, le=65535)
    dicom_port: int = Field(11112, ge=0, le=65535)
    mllp_port: int = Field(2575, ge=0, le=65535)
    ae_title: str = Field("YILIAN", min_length=1, max_length=16, description="the node's own AE")
    data_dir: Path = Field(Path("var"), description="database and objects, unless URLs are set")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in data_dir")
    database_lock_wait_seconds: float = Field(
        30.0, gt=0, description="how long an SQLite write waits for a lock before failing"
    )
    object_store_url: str | None = Field(None, description="file:///path or s3://...")
    config_file: Path | None = Field(None, description="alliance file imported at startup")
    demo: bool = Field(False, description="load the demo alliance from examples/")
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    shutdown_grace_seconds: float = Field(30.0, ge=0)
    worker_poll_seconds: float = Field(1.0, gt=0)
    worker_lease_seconds: float = Field(
        300.0,
        gt=0,
        description="how long a worker holds the events it claimed: those of a worker that died "
        "are taken up by another once this has passed (longer than any handler runs)",
    )
    http_processes: int = Field(
        default_factory=lambda: min(os.cpu_count() or 1, 4),
        ge=1,
        description="processes that answer HTTP on the one port (the first runs the other "
        "services too); one Python process uses one core for requests",
    )
    dicom_max_associations: int = Field(
        64,
        ge=1,
        description="associations the DICOM node serves at once; one more is rejected as "
        "transient (local limit exceeded) and the modality retries",
    )
    dicom_ingest_processes: int = Field(
        default_factory=lambda: min(os.cpu_count() or 1, 4),
        ge=0,
        description="worker processes that parse, store and index received instances "
        "(0: in the receiving threads)",
    )
    fhir_validation_processes: int = Field(
        default_factory=lambda: min(max((os.cpu_count() or 1) - 1, 0), 3),
        ge=0,
        description="worker processes that validate the resources of large FHIR Bundles "
        "beside the request's own thread (0: all in that thread)",
    )
    hl7_prepare_processes: int = Field(
        default_factory=lambda: min(os.cpu_count() or 1, 4),
        ge=0,
        description="worker processes that parse, map and validate received HL7 messages "
        "beside the one that commits them (0: in the listener's threads)",
    )
    fhir_required_profiles: dict[str, list[str]] = Field(
        default_factory=dict,
        description="resource type -> Yilian profile URLs every write of that type must "
        "conform to (besides those a resource claims in meta.profile)",
    )
    critical_ack_minutes: float = Field(
        15.0,
        gt=0,
        description="a critical value (危急值) must be acknowledged within this; "
        "unacknowledged, it escalates (the organization's head, then the centre that raised it)",
    )
    study_stable_seconds: float = Field(
        60.0, gt=0, description="a study with no new instance for this long emits study.stable"
    )

    public_url: str | None = Field(
        None,
        description="the gateway's address as clients see it (behind a proxy); "
        "default: taken from each request",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="origins of web apps (e.g. a viewer) allowed to call the API from a browser",
    )
    fhir_check_references: bool = Field(
        True,
        description="refuse a FHIR resource whose relative references (Type/id) point at "
        "nothing the writer may see (referential integrity, as HAPI enforces it)",
    )
    local_timezone: str = Field(
        "Asia/Shanghai", description="time zone of DICOM dates and times (they carry none)"
    )
    token_lifetime_seconds: int = Field(3600, gt=0, description="access tokens of systems")
    user_token_lifetime_seconds: int = Field(
        8 * 3600,
        gt=0,
        description="access tokens of people (one reading shift); a login at /auth/authorize "
        "lasts this long (its refresh token)",
    )
    app_token_lifetime_seconds: int = Field(
        600, gt=0, description="access tokens of a login at /auth/authorize, then refreshed"
    )

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'yilian.db').resolve()}"

    @property
    def effective_object_store_url(self) -> str:
        if self.object_store_url:
            return self.object_store_url
        return (self.data_dir / "objects").resolve().as_uri()
