"""The charges register on SQLite and PostgreSQL: a piece of work is charged once per service,
whatever repeats it; a settlement adds up exact decimals (no float drift: 3 × 0.10 is 0.30,
3 × 33.33 is 99.99) for the pairs an organization is one of, in the period asked."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from storage.clinical import charges
from storage.db import transaction

DECEMBER = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 1 December 00:00 in Beijing
JANUARY = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)


def charge(n: int, code: str, fee: str, requesting: str = "tx-wsy", at: datetime = DECEMBER):
    return charges.NewCharge(
        id=f"c{n}", source=f"ServiceRequest/o{n}", alliance_id="jhzx-ylt", service_code=code,
        service_name=code, basis="exam", requesting_org_id=requesting, performing_org_id="jhzx",
        occurred_at=at, quantity=1, unit_fee=Decimal(fee),
    )  # fmt: skip


def test_work_is_charged_once_and_settled_in_exact_decimals(sessions):
    with transaction(sessions) as session:
        for n in range(3):
            assert charges.record(session, charge(n, "tiny", "0.10"))
            assert charges.record(session, charge(10 + n, "third", "33.33"))
        again = dataclasses.replace(charge(0, "tiny", "0.10"), id="again")
        assert not charges.record(session, again)  # the same work, the same service
        assert charges.record(session, charge(20, "tiny", "0.10", at=JANUARY))  # next month
        assert charges.record(session, charge(21, "tiny", "0.10", requesting="cz-sq"))
        assert charges.charged(session, "ServiceRequest/o0", "tiny") == "c0"

    with transaction(sessions) as session:
        lines = charges.settlement_lines(session, "tx-wsy", DECEMBER, JANUARY)
        assert [(x.service_code, x.count, x.unit_fee, x.amount) for x in lines] == [
            ("third", 3, Decimal("33.33"), Decimal("99.99")),
            ("tiny", 3, Decimal("0.10"), Decimal("0.30")),
        ]
        assert charges.total(lines) == Decimal("100.29")
        lead = charges.settlement_lines(session, "jhzx", DECEMBER, JANUARY)
        assert {(x.requesting_org_id, x.service_code, x.count) for x in lead} == {
            ("tx-wsy", "third", 3), ("tx-wsy", "tiny", 3), ("cz-sq", "tiny", 1)}  # fmt: skip
        assert charges.settlement_lines(session, "fc-wsy", DECEMBER, JANUARY) == []
        later = charges.settlement_lines(session, "tx-wsy", JANUARY, JANUARY + timedelta(days=31))
        assert [(x.service_code, x.count) for x in later] == [("tiny", 1)]
