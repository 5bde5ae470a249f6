"""The alliance bootstrap file (``yilian.yaml``): its schema and its validation.

Every problem is reported as ``FILE: section[i] (id X): field 'f': reason`` so an administrator
can find it at once; all problems are collected before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from storage.errors import ConfigError
from storage.models.registry import (
    AEKind,
    AllianceKind,
    CentreKind,
    HL7Encoding,
    OrderMessage,
    OrgKind,
    Role,
)
from storage.registry.assertions import public_key_set
from storage.registry.centre_rules import BookingRule, DueRule, ReportTemplate, WorkingCalendar
from storage.registry.entries import Code, _Entry, _enum
from storage.registry.recognition_catalogue import (
    QualificationEntry,
    RecognitionItemEntry,
    recognition_problems,
)
from storage.registry.service_catalogue import ServiceEntry, catalogue_problems
from storage.registry.values import ae_title_value, national_id_value


class OrganizationEntry(_Entry):
    id: Code
    name: str = Field(min_length=1, max_length=200)
    kind: Annotated[OrgKind, _enum(OrgKind)]
    national_id: Annotated[str, BeforeValidator(national_id_value)]


class AllianceEntry(_Entry):
    id: Code
    name: str = Field(min_length=1, max_length=200)
    kind: Annotated[AllianceKind, _enum(AllianceKind)]
    lead: Code
    members: list[Code] = Field(min_length=1)
    green_channel_minutes: int | None = Field(
        None,
        gt=0,
        le=24 * 60,
        description="minutes to accept an urgent upward referral (绿色通道); 30 if absent",
    )
    calendar: WorkingCalendar | None = Field(
        None,
        description="days off and weekend days worked (法定节假日, 调休); Monday to Friday if "
        "absent — turnaround counted in working days (pathology) follows it",
    )


class CentreEntry(_Entry):
    id: Code
    name: str = Field(min_length=1, max_length=200)
    kind: Annotated[CentreKind, _enum(CentreKind)]
    alliance: Code
    organization: Code
    serves: list[Code] | None = Field(None, description="members served; all members if absent")
    single_sign_off: bool = Field(
        False,
        description="single sign-off (单人签发): a reader's submitted report is final at once, "
        "a senior reader may sign their own; two-level sign-off if false",
    )
    due: list[DueRule] | None = Field(
        None, description="due times, first matching rule wins; the centre's defaults if absent"
    )
    report_templates: list[ReportTemplate] = Field(default_factory=list)
    booking: list[BookingRule] = Field(
        default_factory=list, description="slots published for booking (预约检查)"
    )


class AETitleEntry(_Entry):
    ae_title: Annotated[str, BeforeValidator(ae_title_value)]
    organization: Code
    kind: Annotated[AEKind, _enum(AEKind)]
    description: str = Field("", max_length=200)
    host: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    # An outbound LIS: lab orders go to it as OML^O21 (2.5) or ORM^O01 (2.3.1).
    order_message: Annotated[OrderMessage, _enum(OrderMessage)] = OrderMessage.OML_O21

    @model_validator(mode="after")
    def _host_port_together(self) -> AETitleEntry:
        if (self.host is None) != (self.port is None):
            raise ValueError(
                "host and port must be given together (C-MOVE destination) or not at all"
            )
        return self


class DicomRouteEntry(_Entry):
    """Forward every stable study matching the filter to a registered peer (C-STORE)."""

    id: Code
    destination: Annotated[str, BeforeValidator(ae_title_value)]
    source_organization: Code | None = None
    modalities: list[Annotated[str, Field(pattern=r"^[A-Z]{2,16}$")]] = Field(default_factory=list)


class MllpPeerEntry(_Entry):
    id: Code
    organization: Code
    sending_application: str = Field(min_length=1, max_length=180)
    sending_facility: str = Field(min_length=1, max_length=180)
    encoding: Annotated[HL7Encoding, _enum(HL7Encoding)] = HL7Encoding.UTF8
    host: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    # An outbound LIS: lab orders go to it as OML^O21 (2.5) or ORM^O01 (2.3.1).
    order_message: Annotated[OrderMessage, _enum(OrderMessage)] = OrderMessage.OML_O21

    @model_validator(mode="after")
    def _host_port_together(self) -> MllpPeerEntry:
        if (self.host is None) != (self.port is None):
            raise ValueError("host and port must be given together (outbound peer) or not at all")
        return self


class LabItemEntry(_Entry):
    """A lab's test item: local code (as its LIS sends it in OBX-3), LOINC, critical limits."""

    organization: Code
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    loinc: str | None = Field(None, pattern=r"^\d{1,7}-\d$")
    loinc_display: str | None = Field(None, max_length=200)
    unit: str | None = Field(None, max_length=32)
    critical_low: float | None = None
    critical_high: float | None = None

    @model_validator(mode="after")
    def _limits_in_order(self) -> LabItemEntry:
        low, high = self.critical_low, self.critical_high
        if low is not None and high is not None and low >= high:
            raise ValueError("critical_low must be below critical_high")
        return self


class _HasSecret(_Entry):
    """Exactly one of a plaintext secret (hashed on import) or its Argon2 hash."""

    @model_validator(mode="after")
    def _one_secret(self) -> _HasSecret:
        plain, hashed = self._secret_fields()
        if not self._needs_secret() and getattr(self, plain) is getattr(self, hashed) is None:
            return self
        if (getattr(self, plain) is None) == (getattr(self, hashed) is None):
            raise ValueError(f"give exactly one of '{plain}' or '{hashed}'")
        value = getattr(self, hashed)
        if value is not None and not value.startswith("$argon2"):
            raise ValueError(f"'{hashed}' must be an Argon2 hash ($argon2id$...)")
        return self

    def _secret_fields(self) -> tuple[str, str]:
        raise NotImplementedError

    def _needs_secret(self) -> bool:
        return True


class ApiClientEntry(_HasSecret):
    client_id: Code
    name: str = Field(min_length=1, max_length=200)
    organization: Code
    scopes: list[str] = Field(min_length=1)
    secret: str | None = Field(None, min_length=12)
    secret_hash: str | None = None
    # Public keys (a JWK Set) for SMART Backend Services (private_key_jwt): with them, a
    # client may do without a secret.
    jwks: dict[str, Any] | None = None

    def _secret_fields(self) -> tuple[str, str]:
        return ("secret", "secret_hash")

    def _needs_secret(self) -> bool:
        return self.jwks is None

    @field_validator("jwks")
    @classmethod
    def _public_keys(cls, jwks: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if jwks is None else public_key_set(jwks)


class UserEntry(_HasSecret):
    username: Code
    name: str = Field(min_length=1, max_length=100)
    organization: Code
    practitioner_id: str | None = Field(None, max_length=64)
    roles: list[Annotated[Role, _enum(Role)]] = Field(min_length=1)
    password: str | None = Field(None, min_length=8)
    password_hash: str | None = None

    def _secret_fields(self) -> tuple[str, str]:
        return ("password", "password_hash")


class AllianceFile(_Entry):
    organizations: list[OrganizationEntry] = Field(min_length=1)
    alliances: list[AllianceEntry] = Field(min_length=1)
    centres: list[CentreEntry] = Field(default_factory=list)
    ae_titles: list[AETitleEntry] = Field(default_factory=list)
    dicom_routes: list[DicomRouteEntry] = Field(default_factory=list)
    mllp_peers: list[MllpPeerEntry] = Field(default_factory=list)
    lab_items: list[LabItemEntry] = Field(default_factory=list)
    api_clients: list[ApiClientEntry] = Field(default_factory=list)
    users: list[UserEntry] = Field(default_factory=list)
    services: list[ServiceEntry] = Field(
        default_factory=list, description="the remote-service catalogue (远程服务目录)"
    )
    recognition_items: list[RecognitionItemEntry] = Field(
        default_factory=list, description="the recognition catalogue (互认项目目录)"
    )
    qualifications: list[QualificationEntry] = Field(
        default_factory=list, description="members' QC / EQA passes (质控 / 室间质评)"
    )


_ENTRY_KEYS = ("id", "ae_title", "client_id", "username", "code")


def _entry_label(raw: Any, loc: tuple[int | str, ...]) -> str:
    """``organizations[3] (id wc-cd)`` for a location inside the file."""
    if len(loc) < 2 or not isinstance(loc[1], int):
        return str(loc[0]) if loc else "file"
    label = f"{loc[0]}[{loc[1]}]"
    try:
        entry = raw[loc[0]][loc[1]]
    except (KeyError, IndexError, TypeError):
        return label
    if isinstance(entry, dict):
        for key in _ENTRY_KEYS:
            if isinstance(entry.get(key), str):
                return f"{label} ({key} {entry[key]})"
    return label


def _field_label(loc: tuple[int | str, ...]) -> str:
    rest = [str(p) for p in loc[2:] if not str(p).startswith("function-")]
    return f"field '{'.'.join(rest)}'" if rest else "entry"


class AllianceProblems(ConfigError):
    """The problems of an alliance document, each ``section[i] (key X): field 'f': reason``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def check_alliance(raw: dict[str, Any]) -> AllianceFile:
    """Validate an alliance document (the file's mapping, or the registry as an admin would have
    it after a change): raise :class:`AllianceProblems` listing every problem found."""
    try:
        parsed = AllianceFile.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown field"
            problems.append(f"{_entry_label(raw, loc)}: {_field_label(loc)}: {message}")
        raise AllianceProblems(problems) from exc
    problems = _cross_check(parsed)
    if problems:
        raise AllianceProblems(problems)
    return parsed


def parse_alliance_file(path: Path) -> AllianceFile:
    """Read and validate the file; raise ConfigError listing every problem found."""
    name = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{name}: file not found") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{name}: not UTF-8 text") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{name}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{name}: the top level must be a mapping of sections")
    try:
        return check_alliance(raw)
    except AllianceProblems as exc:
        raise ConfigError("\n".join(f"{name}: {p}" for p in exc.problems)) from exc


def _duplicates(section: str, keys: list[str], field: str) -> list[str]:
    seen: set[str] = set()
    problems = []
    for index, key in enumerate(keys):
        if key in seen:
            problems.append(f"{section}[{index}] ({field} {key}): field '{field}': duplicate")
        seen.add(key)
    return problems


def _cross_check(f: AllianceFile) -> list[str]:
    """References between entries, uniqueness, and the alliance's shape."""
    problems: list[str] = []
    problems += _duplicates("organizations", [o.id for o in f.organizations], "id")
    problems += _duplicates(
        "organizations", [o.national_id for o in f.organizations], "national_id"
    )
    problems += _duplicates("alliances", [a.id for a in f.alliances], "id")
    problems += _duplicates("centres", [c.id for c in f.centres], "id")
    problems += _duplicates("ae_titles", [a.ae_title for a in f.ae_titles], "ae_title")
    problems += _duplicates("dicom_routes", [r.id for r in f.dicom_routes], "id")
    problems += _duplicates("mllp_peers", [p.id for p in f.mllp_peers], "id")
    problems += _duplicates(
        "mllp_peers",
        [f"{p.sending_application}^{p.sending_facility}" for p in f.mllp_peers],
        "sending_application",
    )
    problems += _duplicates(
        "lab_items", [f"{i.organization}^{i.code}" for i in f.lab_items], "code"
    )
    problems += _duplicates("api_clients", [c.client_id for c in f.api_clients], "client_id")
    problems += _duplicates("users", [u.username for u in f.users], "username")

    orgs = {o.id: o for o in f.organizations}
    alliances = {a.id: a for a in f.alliances}

    def ref(section: str, index: int, key: str, field: str, value: str, known: dict) -> None:
        if value not in known:
            problems.append(
                f"{section}[{index}] ({key}): field '{field}': unknown {field} {value!r}"
            )

    for i, a in enumerate(f.alliances):
        ref("alliances", i, f"id {a.id}", "lead", a.lead, orgs)
        for m in a.members:
            ref("alliances", i, f"id {a.id}", "members", m, orgs)
        if a.lead not in a.members:
            problems.append(f"alliances[{i}] (id {a.id}): field 'members': must include the lead")
    for i, c in enumerate(f.centres):
        key = f"id {c.id}"
        ref("centres", i, key, "alliance", c.alliance, alliances)
        ref("centres", i, key, "organization", c.organization, orgs)
        alliance = alliances.get(c.alliance)
        if alliance is None:
            continue
        if c.organization != alliance.lead:
            problems.append(
                f"centres[{i}] ({key}): field 'organization': a shared centre belongs to the "
                f"alliance's lead hospital {alliance.lead!r}"
            )
        for s in c.serves or []:
            if s not in alliance.members:
                problems.append(
                    f"centres[{i}] ({key}): field 'serves': {s!r} is not a member of {c.alliance!r}"
                )
    ae_titles = {a.ae_title: a for a in f.ae_titles}
    for i, r in enumerate(f.dicom_routes):
        ref("dicom_routes", i, f"id {r.id}", "destination", r.destination, ae_titles)
        if r.source_organization is not None:
            ref("dicom_routes", i, f"id {r.id}", "source_organization", r.source_organization, orgs)
        peer = ae_titles.get(r.destination)
        if peer is not None and peer.host is None:
            problems.append(
                f"dicom_routes[{i}] (id {r.id}): field 'destination': {r.destination!r} "
                "has no host/port to send to"
            )
    for section, entries, key_field in (
        ("ae_titles", f.ae_titles, "ae_title"),
        ("mllp_peers", f.mllp_peers, "id"),
        ("lab_items", f.lab_items, "code"),
        ("api_clients", f.api_clients, "client_id"),
        ("users", f.users, "username"),
    ):
        for i, entry in enumerate(entries):
            key = f"{key_field} {getattr(entry, key_field)}"
            ref(section, i, key, "organization", entry.organization, orgs)  # type: ignore[attr-defined]
    return problems + catalogue_problems(f) + recognition_problems(f)
