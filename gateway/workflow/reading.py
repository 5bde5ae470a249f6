"""Remote reading as a state machine the server enforces (报告两级审核): whoever asks — an
operation (``$claim`` …), a plain FHIR write of the Task or of its report, a UPS-RS workitem —
the change is one of the steps below, checked here and nowhere else.

``businessStatus`` (code system ``reading-status``) and ``Task.status``:

========================  ===========  ============================================
待检查 awaiting-exam       requested    the order is in; no complete images yet
待阅片 awaiting-reading    ready        images complete; any reader of the centre may claim
阅片中 reading             in-progress  one reader owns it (``owner`` Practitioner)
待审核 awaiting-verification in-progress the preliminary report waits for a senior reader
已发布 released            completed    verified (``final``); only amendments follow
已退回 returned            rejected     sent back to the clinic with a reason
已取消 cancelled           cancelled    the order was revoked
========================  ===========  ============================================

Who: readers and senior readers of the centre's organization, as people (a token of a user).
A report is verified by a senior reader other than its author, unless the centre allows
single sign-off (``single_sign_off``, e.g. the ECG centre): then the reader's submission is the
signed report (final at once), and a senior reader may sign their own report from 阅片中.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from gateway.auth.tokens import Requester
from gateway.errors import Conflict, Forbidden, NotFound, Unprocessable
from gateway.fhir.storing import store, store_valid
from gateway.workflow import ecg_reading, reading_report, recognition, report_sheet
from gateway.workflow.orders import STATUS, status_of
from storage.clinical import reading_milestones
from storage.clinical.critical_alerts import alert_message, raise_alert
from storage.fhir import StoredResource, instant, new_id
from storage.fhir import store as fhir_store
from storage.models import Centre, User

READERS = {"reader", "senior_reader"}
# What a released report may become, and what the requester is told.
AMENDMENTS = {"amended": "报告已更正", "corrected": "报告已更正", "appended": "报告已补充"}
RETURN_REASON = reading_report.RETURN_REASON

# businessStatus code -> (Task.status, display)
STATES = {
    "awaiting-exam": ("requested", "待检查"),
    "awaiting-reading": ("ready", "待阅片"),
    "reading": ("in-progress", "阅片中"),
    "awaiting-verification": ("in-progress", "待审核"),
    "released": ("completed", "已发布"),
    "returned": ("rejected", "已退回"),
    "cancelled": ("cancelled", "已取消"),
}


@dataclass
class Work:
    """A reading Task with what its rules look at."""

    task: StoredResource
    content: dict[str, Any]
    centre: Centre
    order: dict[str, Any]
    report: StoredResource | None
    order_org: str | None = None  # the organization that placed the order
    changes: list[str] = field(default_factory=list)  # steps done, for the audit
    # Time to acknowledge a critical finding raised by a step (the settings' critical_ack_minutes)
    critical_ack: timedelta = timedelta(minutes=15)

    @property
    def state(self) -> str:
        for coding in (self.content.get("businessStatus") or {}).get("coding", []):
            if coding.get("system") == STATUS:
                return str(coding.get("code"))
        return "awaiting-exam"

    @property
    def owner_user(self) -> str | None:
        reference = str((self.content.get("owner") or {}).get("reference", ""))
        prefix = "Practitioner/"
        return reference.removeprefix(prefix) if reference.startswith(prefix) else None

    @property
    def author(self) -> str | None:
        return reading_report.author_of(self.report)


def is_reading_task(content: dict[str, Any] | None) -> bool:
    codings = ((content or {}).get("code") or {}).get("coding", [])
    return any(c.get("code") == "remote-reading" for c in codings)


def load(session: Session, task_id: str) -> Work:
    task = fhir_store.read(session, "Task", task_id)
    if task is None or task.deleted or not is_reading_task(task.content):
        raise NotFound(f"Task/{task_id} is not a reading task known here")
    content = {k: v for k, v in (task.content or {}).items() if k != "meta"}
    centre_id = str(content["owner"].get("reference", "")).removeprefix("HealthcareService/")
    row = reading_milestones.milestones(session, task_id)
    centre = session.get(Centre, row.centre_id if row is not None else centre_id)
    order = fhir_store.read(session, "ServiceRequest", _order_id(content))
    if centre is None or order is None or order.content is None:
        raise NotFound(f"Task/{task_id} has lost its centre or its order")
    report = reading_report.current_report(session, content)
    return Work(task, content, centre, order.content, report, order.owner_org_id)


def task_of_report(session: Session, report_id: str) -> str:
    """The reading Task a report answers (404 when it answers none)."""
    report = fhir_store.read(session, "DiagnosticReport", report_id)
    task_id = reading_report.task_answered(session, report.content if report else None)
    if task_id is None:
        raise NotFound(f"DiagnosticReport/{report_id} is not a report of a reading task")
    return task_id


def _order_id(content: dict[str, Any]) -> str:
    return str(content["basedOn"][0]["reference"]).removeprefix("ServiceRequest/")


# --- who may act --------------------------------------------------------------------------


def _person(session: Session, requester: Requester) -> User:
    user = session.get(User, requester.subject) if requester.kind == "user" else None
    if user is None:
        raise Forbidden("reading is done by people: log in as a reader of the centre")
    return user


def _of_centre(session: Session, requester: Requester, work: Work, roles: set[str]) -> User:
    user = _person(session, requester)
    if requester.org_id != work.centre.org_id:
        raise Forbidden(f"only {work.centre.name} reads this examination")
    if not roles & set(requester.roles):
        names = "、".join(sorted(roles))
        raise Forbidden(f"this step needs the role {names} at {work.centre.name}")
    return user


def _in(work: Work, *states: str) -> None:
    if work.state not in states:
        shown = STATES.get(work.state, ("", work.state))[1]
        raise Conflict(f"the task is {shown} ({work.state}); this step needs {' or '.join(states)}")


def _owned_by(work: Work, user: User) -> None:
    if work.owner_user != user.username:
        taken = "another reader has this task"
        raise Conflict(taken if work.owner_user else "claim the task first")


# --- the steps ----------------------------------------------------------------------------


def claim(session: Session, requester: Requester, work: Work) -> None:
    user = _of_centre(session, requester, work, READERS)
    if work.state == "reading" and work.owner_user not in (None, user.username):
        raise Conflict("another reader has claimed this task")
    _in(work, "awaiting-reading")
    move(work, "reading", owner=_practitioner(user))
    _step(session, work, "claimed", user)


def release(session: Session, requester: Requester, work: Work) -> None:
    user = _of_centre(session, requester, work, READERS | {"head"})
    _in(work, "reading")
    if "head" not in requester.roles:
        _owned_by(work, user)
    move(work, "awaiting-reading", owner=_centre_owner(work))
    _step(session, work, "released-claim", user)


def submit(
    session: Session, requester: Requester, work: Work, report: dict[str, Any] | None
) -> None:
    """The owner's preliminary report goes to a senior reader (待审核)."""
    user = _of_centre(session, requester, work, READERS)
    _in(work, "reading")
    _owned_by(work, user)
    drafted = reading_report.draft(session, work, user, report)
    work.report = store(session, drafted, work.centre.org_id)
    reading_report.provenance(session, work, user, "preliminary")
    move(work, "awaiting-verification", output=work.report)
    _step(session, work, "preliminary", user)
    if work.centre.single_sign_off:
        _sign(session, work, user, None)  # single sign-off: the submission is the signed report


def verify(
    session: Session, requester: Requester, work: Work, report: dict[str, Any] | None
) -> None:
    """A senior reader signs the report: ``final``, the Task done (已发布)."""
    user = _of_centre(session, requester, work, {"senior_reader"})
    single = work.centre.single_sign_off
    if work.state == "reading" and single:
        submit(session, requester, work, report)  # the senior's own report, signed at once
        return
    _in(work, "awaiting-verification")
    if work.author == user.username and not single:
        raise Forbidden("two-level sign-off: a different senior reader verifies this report")
    _sign(session, work, user, report)


def _sign(session: Session, work: Work, user: User, report: dict[str, Any] | None) -> None:
    """The report signed by ``user``: ``final``, its PDF, the Task done (已发布); an ECG's
    critical conclusions raised at once (心电危急值)."""
    final = reading_report.final(session, work, user, report)
    final = recognition.marked(session, final, work.centre.org_id)
    final["presentedForm"] = [report_sheet.presented_form(session, work, final)]
    work.report = store(session, final, work.centre.org_id)
    reading_report.provenance(session, work, user, "verified")
    move(work, "released", output=work.report)
    _step(session, work, "verified", user)
    for finding in ecg_reading.critical_findings(final):
        _alert(session, work, user, finding)


def send_back(session: Session, requester: Requester, work: Work, comment: str) -> None:
    """The senior returns the preliminary report to its author with comments (审核退回)."""
    user = _of_centre(session, requester, work, {"senior_reader"})
    _in(work, "awaiting-verification")
    if not comment.strip():
        raise Unprocessable("say what the author should change (comment)", [])
    author = session.get(User, work.author) if work.author else None
    owner = _practitioner(author) if author is not None else _centre_owner(work)
    move(work, "reading" if author else "awaiting-reading", owner=owner)
    _note(work, user, f"审核退回：{comment.strip()}")
    _step(session, work, "sent-back", user)


def return_to_clinic(
    session: Session, requester: Requester, work: Work, reason: str, text: str
) -> None:
    """The centre cannot read this examination: back to the clinic with the reason (已退回)."""
    user = _of_centre(session, requester, work, READERS)
    _in(work, "awaiting-exam", "awaiting-reading", "reading")
    if work.state == "reading":
        _owned_by(work, user)
    display = reading_report.RETURN_REASONS.get(reason)
    if display is None:
        known = ", ".join(reading_report.RETURN_REASONS)
        raise Unprocessable(f"reason must be one of {known}", [])
    move(work, "returned", owner=_centre_owner(work))
    detail = f"{display}：{text.strip()}" if text.strip() else display
    work.content["statusReason"] = {
        "coding": [{"system": RETURN_REASON, "code": reason, "display": display}],
        "text": detail,
    }
    _note(work, user, f"退回：{detail}")
    _step(session, work, "returned", user)


def amend(
    session: Session,
    requester: Requester,
    work: Work,
    report: dict[str, Any],
    reason: str,
    kind: str = "amended",
) -> None:
    """After release only a new version with its reason: changed (更正, ``amended`` or
    ``corrected``) or supplemented (补充报告, ``appended``); the requester is told again."""
    user = _of_centre(session, requester, work, {"senior_reader"})
    _in(work, "released")
    if not reason.strip():
        raise Unprocessable("an amendment needs its reason", [])
    if kind not in AMENDMENTS:
        raise Unprocessable(f"kind is {', '.join(AMENDMENTS)}", [])
    appended = kind == "appended"
    known = set(ecg_reading.critical_findings(work.report.content or {}) if work.report else ())
    changed = reading_report.amended(session, work, user, report, kind)
    changed = recognition.marked(session, changed, work.centre.org_id)
    said = "" if appended else reason  # a supplement is printed as a section of its own
    changed["presentedForm"] = [report_sheet.presented_form(session, work, changed, said)]
    work.report = store(session, changed, work.centre.org_id)
    step = "appended" if appended else "amended"
    reading_report.provenance(session, work, user, step, reason=reason.strip())
    reading_report.tell_requester(session, work, f"{AMENDMENTS[kind]}：{reason.strip()}")
    _note(work, user, f"{reading_report.STEPS[step]}：{reason.strip()}")
    _step(session, work, "amended", user)
    for finding in ecg_reading.critical_findings(changed):
        if finding not in known:  # a critical finding the amendment adds is raised at once
            _alert(session, work, user, finding)


def mark_critical(session: Session, requester: Requester, work: Work, finding: str) -> None:
    """A critical finding (影像危急值): the ordering organization is alerted at once, with
    read-back acknowledgement and escalation — the critical-value chain of lab results."""
    user = _of_centre(session, requester, work, READERS)
    _in(work, "reading", "awaiting-verification", "released")
    if user.username not in (work.owner_user, work.author) and "senior_reader" not in (
        requester.roles
    ):
        raise Conflict("the task's reader or a senior reader reports its critical finding")
    if not finding.strip():
        raise Unprocessable("say the critical finding (finding)", [])
    _alert(session, work, user, finding)


def _alert(session: Session, work: Work, user: User, finding: str) -> None:
    order = f"ServiceRequest/{work.order['id']}"
    about = [order, *([f"DiagnosticReport/{work.report.id}"] if work.report else [])]
    recipient = work.order_org or work.centre.org_id
    message = alert_message(
        alert_id=new_id(), subject=work.order["subject"], about=about,
        recipient_org_id=recipient, source_org_id=work.centre.org_id, text=finding.strip(),
        based_on=[{"reference": order}],
    )  # fmt: skip
    store_valid(session, message, work.centre.org_id)
    raise_alert(
        session, alert_id=message["id"], kind=work.centre.kind,
        source_org_id=work.centre.org_id, recipient_org_id=recipient,
        subject=work.order["subject"].get("reference"), about=order, summary=finding.strip(),
        deadline=work.critical_ack, raised_by=user.username,
    )  # fmt: skip
    _note(work, user, f"危急值已通知申请机构：{finding.strip()}")
    work.changes.append("critical")


# --- shared pieces ------------------------------------------------------------------------


def save(session: Session, work: Work) -> StoredResource:
    """Keep the Task as the steps left it (one new version)."""
    work.task = store(session, work.content, work.task.owner_org_id)
    return work.task


def move(
    work: Work,
    state: str,
    *,
    owner: dict[str, Any] | None = None,
    output: StoredResource | None = None,
) -> None:
    status, display = STATES[state]
    work.content |= {"status": status, "businessStatus": status_of(state, display)}
    work.content["lastModified"] = instant(datetime.now(UTC))
    if owner is not None:
        work.content["owner"] = owner
    if output is not None:
        work.content["output"] = [{
            "type": {"text": "报告"},
            "valueReference": {"reference": f"DiagnosticReport/{output.id}"},
        }]  # fmt: skip


def _note(work: Work, user: User, text: str) -> None:
    note = {"authorString": user.display_name, "time": instant(datetime.now(UTC)), "text": text}
    work.content["note"] = [*work.content.get("note", []), note]


def _step(session: Session, work: Work, step: str, user: User) -> None:
    reading_milestones.stamp(session, work.task.id, step, datetime.now(UTC), user.username)
    work.changes.append(step)


def _practitioner(user: User) -> dict[str, Any]:
    return {"reference": f"Practitioner/{user.username}", "display": user.display_name}


def _centre_owner(work: Work) -> dict[str, Any]:
    return {"reference": f"HealthcareService/{work.centre.id}", "display": work.centre.name}
