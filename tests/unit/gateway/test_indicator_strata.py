"""Indicator figures as an alliance's quality office computes them by hand: the median of an even
count is the mean of the middle two, P90 is the value ranked ⌊0.9·n⌋, minutes are rounded to a
tenth first, missing intervals are not counted; a large register's columns give the same strata
as its rows do."""

from __future__ import annotations

from collections import namedtuple

from gateway.indicators.model import By, Table, count, minutes, per, proportion
from storage.clinical.intervals import interval_figures

Order = namedtuple("Order", "requester_org_id rejected wait")
ORDERS = [
    Order("cd-sq", False, 30.04),
    Order("cd-sq", True, None),
    Order("cd-sq", False, 50.0),
    Order("wcrm", False, 12.0),
    Order(None, False, 99.0),
]
REQUESTER = By("Organization", "requester_org_id")


def test_median_and_p90_are_read_as_the_quality_office_does() -> None:
    found = interval_figures([10, 20, 30.04, None, 40, 50, 60, 70, 80, 90, 100])
    assert (found.count, found.median_minutes, found.p90_minutes) == (10, 55.0, 100.0)
    assert interval_figures([12.0, 30.04]).median_minutes == 21.0
    assert interval_figures([None]).median_minutes is None


def test_a_table_gives_the_strata_its_rows_give() -> None:
    table = Table.of(ORDERS, text=("requester_org_id",), flags=("rejected",), numbers=("wait",))

    def rejected(orders: object) -> object:
        if isinstance(orders, Table):
            return proportion(orders.total("rejected"), len(orders))
        return proportion(sum(o.rejected for o in orders), len(orders))

    def waited(orders: object) -> object:
        values = orders["wait"] if isinstance(orders, Table) else [o.wait for o in orders]
        return minutes(values, "median")

    for figure in (count, rejected, waited):
        assert per(table, figure, REQUESTER) == per(ORDERS, figure, REQUESTER)
    kept = table.where(~table["rejected"])
    accepted = [order for order in ORDERS if not order.rejected]
    assert per(kept, count, REQUESTER) == per(accepted, count, REQUESTER)
    by_member = per(table, waited, REQUESTER)
    assert sorted(by_member.strata) == ["Organization/cd-sq", "Organization/wcrm"]
    assert by_member.strata["Organization/cd-sq"].score == 40.0
    assert by_member.overall.score == 40.0


def test_an_empty_register_has_no_strata() -> None:
    table = Table.of([], text=("requester_org_id",), numbers=("wait",))
    result = per(table, lambda t: minutes(t["wait"], "p90"), REQUESTER)
    assert result.strata == {}
    assert result.overall.score is None
    assert len(table) == 0
