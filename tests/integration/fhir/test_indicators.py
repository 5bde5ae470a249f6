"""The alliance's indicators as FHIR Measures, evaluated over a period: exam-slot utilisation,
the members' reserved share used and the members' share of bookings count exactly the slots
published and booked that day, per device and per booking member; the referral indicators
count each way, the downward share, booked referrals, the green channel and the acceptance
time per member; remote reading, lab turnaround, critical values and the grassroots share of
exams count exactly the clocks given, per centre, priority, member and modality — as
MeasureReports (valid R4) and as the CSV the alliance hands in."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from fhir.resources.R4B.measure import Measure
from fhir.resources.R4B.measurereport import MeasureReport

from storage.db import transaction
from storage.models import (
    CriticalAlert,
    DicomPatient,
    DicomStudy,
    LabTurnaround,
    ReadingMilestones,
    ReferralSteps,
)
from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.booking import CLINIC, LEAD, book, order, publish
from tests.integration.fhir.test_rest import call

OTHER_CLINIC = "his-cd-sq"


def populations(group: dict) -> dict[str, int]:
    return {p["code"]["coding"][0]["code"]: p["count"] for p in group["population"]}


def stratum(report: dict, key: str) -> dict:
    [found] = [s for stratifier in report["group"][0]["stratifier"] for s in stratifier["stratum"]
               if s["value"]["coding"][0]["code"] == key]  # fmt: skip
    return found


def test_the_indicators_are_measures_every_member_reads(gateway: Gateway):
    found = call(gateway, "GET", "/Measure?_count=100", LEAD).json()
    measures = {e["resource"]["id"]: e["resource"] for e in found["entry"]}
    assert {"slot-utilisation", "members-reserve-utilisation", "members-booking-share"} <= set(
        measures
    )
    for resource in measures.values():
        Measure.model_validate(resource)
    assert measures["slot-utilisation"]["title"] == "检查号源利用率"
    # Each in its family, as the quality office reads them (Measure.topic).
    [topic] = measures["lab-specimen-rejection-rate"]["topic"]
    assert (topic["coding"][0]["code"], topic["text"]) == ("lab", "检验")
    assert all(len(resource.get("topic", [])) == 1 for resource in measures.values())
    written = call(
        gateway, "PUT", "/Measure/slot-utilisation", LEAD, body=measures["slot-utilisation"]
    )
    assert written.status_code == 405, written.text  # the server's own definitions


def test_booking_indicators_count_the_days_slots_per_device_and_member(gateway: Gateway):
    members = publish(gateway, 4, day=3)  # the members' share of one device …
    own = publish(gateway, 2, members=False, day=3)  # … and the hospital's own of another
    for slot, who in ((members[0], CLINIC), (members[1], OTHER_CLINIC), (own[0], LEAD)):
        answer = book(gateway, slot, order(gateway, who), who)
        assert answer.status_code == 201, answer.text
    day = members[0]["start"][:10]
    member_schedule = members[0]["schedule"]["reference"]
    own_schedule = own[0]["schedule"]["reference"]
    that_day = f"start=ge{day}T00:00:00%2B08:00&start=lt{day}T23:59:59%2B08:00"
    published = call(gateway, "GET", f"/Slot?{that_day}&_summary=count", LEAD).json()["total"]
    period = f"periodStart={day}&periodEnd={day}"

    answer = call(gateway, "GET", f"/Measure/$evaluate-measure?{period}", LEAD)

    assert answer.status_code == 200, answer.text
    reports = {e["resource"]["measure"].rsplit("/", 1)[1]: e["resource"]
               for e in answer.json()["entry"]}  # fmt: skip
    for report in reports.values():
        MeasureReport.model_validate(report)
    used = reports["slot-utilisation"]
    assert populations(used["group"][0]) == {"numerator": 3, "denominator": published}
    assert populations(stratum(used, member_schedule)) == {"numerator": 2, "denominator": 4}
    assert stratum(used, member_schedule)["measureScore"]["value"] == 0.5
    assert populations(stratum(used, own_schedule)) == {"numerator": 1, "denominator": 2}
    assert stratum(used, own_schedule)["value"]["text"] == "影像中心 CT1 号机"
    reserve = reports["members-reserve-utilisation"]
    assert populations(stratum(reserve, member_schedule)) == {"numerator": 2, "denominator": 4}
    share = reports["members-booking-share"]
    assert populations(share["group"][0]) == {"numerator": 2, "denominator": 3}
    tangxi = stratum(share, "Organization/tx-wsy")
    assert tangxi["value"]["text"] == "婺城区汤溪镇中心卫生院"
    assert populations(tangxi) == {"numerator": 1, "denominator": 3}

    one = call(gateway, "GET", f"/Measure/members-booking-share/$evaluate-measure"
               f"?periodStart={day}&periodEnd={day}", LEAD).json()  # fmt: skip
    assert populations(one["group"][0]) == {"numerator": 2, "denominator": 3}
    sheet = call(gateway, "GET", f"/Measure/$evaluate-measure?periodStart={day}&periodEnd={day}"
                 "&measure=members-booking-share&_format=csv", LEAD)  # fmt: skip
    assert sheet.headers["content-type"].startswith("text/csv")
    assert sheet.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    [total] = [r for r in rows if r["stratum"] == ""]
    assert (total["指标"], total["numerator"], total["denominator"], total["score"]) == (
        "成员单位预约占比", "2", "3", "66.7")  # fmt: skip

    # The day before has none of it.
    before = call(gateway, "GET", "/Measure/members-booking-share/$evaluate-measure"
                  "?periodStart=2020-01-01&periodEnd=2020-01-31", LEAD).json()  # fmt: skip
    assert populations(before["group"][0]) == {"numerator": 0, "denominator": 0}
    assert "measureScore" not in before["group"][0]


def test_a_bad_period_or_an_unknown_indicator_is_refused(gateway: Gateway):
    for query, status in (
        ("periodStart=2026-12&periodEnd=2026-12-31", 400),
        ("periodStart=2026-12-31&periodEnd=2026-12-01", 400),
        ("periodStart=2026-12-01&periodEnd=2026-12-31&measure=nope", 404),
    ):
        answer = call(gateway, "GET", f"/Measure/$evaluate-measure?{query}", LEAD)
        assert answer.status_code == status, answer.text
        assert answer.json()["resourceType"] == "OperationOutcome"


def test_referral_indicators_count_each_way_per_member_and_the_acceptance_time(
    gateway: Gateway,
):
    """Over referrals of a known clock in November 2026: three up from 三江社区 (one booked, one
    declined, all three urgent: one accepted in time), one down to it, one up from 汤溪 and one
    汤溪 revoked (not counted)."""
    start = datetime(2026, 11, 3, 9, tzinfo=UTC)
    rows = [  # (direction, clinic, minutes to accept, booked, green channel, declined, revoked)
        ("up", "sj-sq", 10, True, True, False, False),
        ("up", "sj-sq", 20, False, True, False, False),
        ("up", "sj-sq", None, False, True, True, False),
        ("down", "sj-sq", 40, False, False, False, False),
        ("up", "tx-wsy", 60, False, False, False, False),
        ("up", "tx-wsy", None, False, False, False, True),
    ]
    with transaction(gateway.node.platform.sessions) as session:
        for n, (direction, clinic, accepted, booked, urgent, declined, revoked) in enumerate(rows):
            at = start + timedelta(hours=n)
            up = direction == "up"
            session.add(ReferralSteps(
                task_id=f"indicator-{n}", referral_id=f"indicator-sr-{n}", direction=direction,
                priority="urgent" if urgent else "routine",
                referrer_org_id=clinic if up else "jhzx", receiver_org_id="jhzx" if up else clinic,
                booked=booked, referred_at=at,
                accept_due_at=at + timedelta(minutes=15) if urgent else None,
                accepted_at=None if accepted is None else at + timedelta(minutes=accepted),
                declined_at=at + timedelta(minutes=5) if declined else None,
                cancelled_at=at + timedelta(minutes=1) if revoked else None,
            ))  # fmt: skip

    answer = call(gateway, "GET", "/Measure/$evaluate-measure?periodStart=2026-11-01"
                  "&periodEnd=2026-11-30", LEAD)  # fmt: skip

    assert answer.status_code == 200, answer.text
    reports = {e["resource"]["measure"].rsplit("/", 1)[1]: e["resource"]
               for e in answer.json()["entry"]}  # fmt: skip

    def counts(measure: str, key: str = "") -> tuple[dict[str, int], float | None]:
        report = reports[measure]
        group = stratum(report, key) if key else report["group"][0]
        return populations(group), group.get("measureScore", {}).get("value")

    sanjiang, tangxi, lead = "Organization/sj-sq", "Organization/tx-wsy", "Organization/jhzx"
    assert counts("referrals-two-way") == ({"initial-population": 5}, 5)
    assert counts("referrals-two-way", sanjiang) == ({"initial-population": 4}, 4)
    assert counts("referrals-up", tangxi) == ({"initial-population": 1}, 1)
    assert counts("referrals-up")[1] == 4
    assert counts("referrals-down")[1] == 1
    assert counts("referrals-down-rate") == ({"numerator": 1, "denominator": 5}, 0.2)
    assert counts("referrals-down-rate", sanjiang) == ({"numerator": 1, "denominator": 4}, 0.25)
    assert counts("referrals-down-to-up") == ({"numerator": 1, "denominator": 4}, 0.25)
    assert counts("referrals-booked-rate") == ({"numerator": 1, "denominator": 4}, 0.25)
    assert counts("referrals-green-channel-on-time", lead) == (
        {"numerator": 1, "denominator": 3}, 0.3333)  # fmt: skip
    assert counts("referrals-acceptance-median") == ({"measure-population": 4}, 30.0)
    assert counts("referrals-acceptance-median", lead) == ({"measure-population": 3}, 20.0)
    assert counts("referrals-acceptance-p90") == ({"measure-population": 4}, 60.0)
    assert reports["referrals-acceptance-median"]["group"][0]["measureScore"]["unit"] == "min"


def evaluated(gateway: Gateway, period: str) -> dict[str, dict]:
    answer = call(gateway, "GET", f"/Measure/$evaluate-measure?{period}", LEAD)
    assert answer.status_code == 200, answer.text
    reports = {e["resource"]["measure"].rsplit("/", 1)[1]: e["resource"]
               for e in answer.json()["entry"]}  # fmt: skip
    for report in reports.values():
        MeasureReport.model_validate(report)
    return reports


def figure(report: dict, key: str = "") -> tuple[dict[str, int], float | None]:
    group = stratum(report, key) if key else report["group"][0]
    return populations(group), group.get("measureScore", {}).get("value")


def test_reading_lab_critical_and_grassroots_indicators_count_the_clocks_given(gateway: Gateway):
    """On 3 October 2025 (Beijing): four reading tasks, four lab orders, three critical values
    and four studies, each with a known clock."""
    nine = datetime(2025, 10, 3, 1, tzinfo=UTC)  # 09:00 Beijing

    def at(minutes: int | None) -> datetime | None:
        return None if minutes is None else nine + timedelta(minutes=minutes)

    readings = [  # (centre, priority, images → verified minutes, due after images)
        ("jhzx-imaging", "routine", 30, 60),
        ("jhzx-imaging", "stat", 20, 15),
        ("jhzx-imaging", "routine", None, 60),
        ("jhzx-ecg", "routine", 10, 60),
    ]
    labs = [  # (requester, collected → received, → rejected, → reported) in minutes from 09:00
        ("sj-sq", (0, 40, None, 100)),
        ("sj-sq", (0, 30, 35, None)),
        ("tx-wsy", (60, 80, None, 170)),
        ("tx-wsy", (None, None, None, None)),
    ]
    alerts = [  # (recipient, acknowledged after, level reached)
        ("sj-sq", 5, 0),
        ("sj-sq", 25, 1),
        ("tx-wsy", None, 0),
    ]
    studies = [("sj-sq", "CT"), ("tx-wsy", "DX"), ("jhzx", "CT"), ("jhzx", "CT\\SR")]
    with transaction(gateway.node.platform.sessions) as session:
        for n, (centre, priority, verified, due) in enumerate(readings):
            session.add(ReadingMilestones(
                task_id=f"indicator-reading-{n}", order_id=f"indicator-reading-sr-{n}",
                centre_id=centre, requester_org_id="sj-sq", modality="CT", priority=priority,
                ordered_at=at(-30), images_at=nine, due_at=at(due), verified_at=at(verified),
            ))  # fmt: skip
        for n, (requester, (collected, received, rejected, reported)) in enumerate(labs):
            session.add(LabTurnaround(
                order_id=f"indicator-lab-{n}", requester_org_id=requester,
                performer_org_id="jhzx", ordered_at=at(-10), collected_at=at(collected),
                received_at=at(received), rejected_at=at(rejected), reported_at=at(reported),
            ))  # fmt: skip
        for n, (recipient, acknowledged, level) in enumerate(alerts):
            session.add(CriticalAlert(
                id=f"indicator-alert-{n}", kind="lab", source_org_id="jhzx",
                recipient_org_id=recipient, about="Observation/x", summary="钾 6.8 mmol/L",
                raised_at=at(60 * n), deadline_at=at(60 * n + 15), level=level,
                state="open" if acknowledged is None else "acknowledged",
                acknowledged_at=at(None if acknowledged is None else 60 * n + acknowledged),
            ))  # fmt: skip
        for n, (org, modalities) in enumerate(studies):
            patient = DicomPatient(org_id=org, patient_id=f"indicator-{n}")
            session.add(patient)
            session.flush()
            session.add(DicomStudy(
                study_uid=f"2.25.{9_000_000 + n}", patient_pk=patient.id, org_id=org,
                study_date="20251003", modalities=modalities,
            ))  # fmt: skip

    reports = evaluated(gateway, "periodStart=2025-10-03&periodEnd=2025-10-03")

    imaging, ecg = "HealthcareService/jhzx-imaging", "HealthcareService/jhzx-ecg"
    volume = reports["reading-volume"]
    assert figure(volume) == ({"initial-population": 4}, 4)
    assert figure(volume, imaging) == ({"initial-population": 3}, 3)
    assert stratum(volume, imaging)["value"]["text"] == "金华市中心医院医学影像中心"
    assert figure(volume, "Priority/stat") == ({"initial-population": 1}, 1)
    assert stratum(volume, "Priority/stat")["value"]["text"] == "急诊"
    assert [s["code"][0]["text"] for s in volume["group"][0]["stratifier"]] == [
        "centre", "priority"]  # fmt: skip
    assert figure(reports["reading-turnaround-median"]) == ({"measure-population": 3}, 20.0)
    assert figure(reports["reading-turnaround-median"], ecg)[1] == 10.0
    assert figure(reports["reading-turnaround-p90"])[1] == 30.0
    on_time = reports["reading-on-time-rate"]
    assert figure(on_time) == ({"numerator": 2, "denominator": 3}, 0.6667)
    assert figure(on_time, imaging) == ({"numerator": 1, "denominator": 2}, 0.5)
    assert figure(on_time, "Priority/stat") == ({"numerator": 0, "denominator": 1}, 0.0)

    sanjiang, tangxi, lead = "Organization/sj-sq", "Organization/tx-wsy", "Organization/jhzx"
    assert figure(reports["lab-pre-analytical-median"]) == ({"measure-population": 3}, 30.0)
    assert figure(reports["lab-pre-analytical-median"], sanjiang)[1] == 35.0
    assert figure(reports["lab-intra-laboratory-median"], lead) == (
        {"measure-population": 2}, 75.0)  # fmt: skip
    assert figure(reports["lab-intra-laboratory-p90"])[1] == 90.0
    rejected = reports["lab-specimen-rejection-rate"]
    assert figure(rejected) == ({"numerator": 1, "denominator": 3}, 0.3333)
    assert figure(rejected, sanjiang) == ({"numerator": 1, "denominator": 2}, 0.5)
    assert figure(rejected, tangxi) == ({"numerator": 0, "denominator": 1}, 0.0)

    notified = reports["critical-notification-rate"]
    assert figure(notified) == ({"numerator": 2, "denominator": 3}, 0.6667)
    assert figure(notified, tangxi) == ({"numerator": 0, "denominator": 1}, 0.0)
    assert figure(reports["critical-notification-timeliness"]) == (
        {"numerator": 1, "denominator": 3}, 0.3333)  # fmt: skip
    assert figure(reports["critical-acknowledgement-median"]) == ({"measure-population": 2}, 15.0)

    share = reports["grassroots-exam-share"]
    assert figure(share) == ({"numerator": 2, "denominator": 4}, 0.5)
    assert figure(share, "Modality/CT") == ({"numerator": 1, "denominator": 3}, 0.3333)
    assert figure(share, "Modality/DX") == ({"numerator": 1, "denominator": 1}, 1.0)

    # The day after has none of it.
    after = evaluated(gateway, "periodStart=2025-10-04&periodEnd=2025-10-04")
    assert figure(after["reading-volume"]) == ({"initial-population": 0}, 0)
    assert figure(after["grassroots-exam-share"]) == ({"numerator": 0, "denominator": 0}, None)
