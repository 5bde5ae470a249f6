"""Indicators of the chest-pain fast track (胸痛中心): how long from the first ECG's arrival at
the ECG centre to its signed report (首份心电图至诊断时间), and how many were signed within
their due time (10 minutes by default), as a chest-pain centre reports them — per referring
clinic and period (a month when evaluated for one).  Counted over the stat readings of the ECG
centres (a chest-pain or suspected-STEMI order is read stat: :mod:`gateway.workflow.ecg_reading`)
ordered in the period by the members the requester sees or read by its centres; strata: the
ordering organization."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sqlalchemy.orm import Session

from gateway.indicators import reading
from gateway.indicators.model import (
    By,
    Figure,
    Indicator,
    Result,
    Scope,
    Table,
    minutes,
    per,
    proportion,
)
from storage.registry import centres_of_kind

_CLINIC = By("Organization", "requester_org_id")
_STRATA = ("按开单机构（基层医疗机构）分层。", "Stratified by the ordering clinic.")


def _ecgs(session: Session, scope: Scope) -> Table:
    """The stat readings of the ECG centres, of the reading family's Tasks."""
    readings = reading.tasks(session, scope)
    ecg = np.isin(readings["centre_id"], sorted(centres_of_kind(session, "ecg")))
    return readings.where(ecg & (readings["priority"] == "stat"))


def _evaluated(figure: Callable[[Table], Figure]) -> Callable[[Session, Scope], Result]:
    def evaluate(session: Session, scope: Scope) -> Result:
        return per(scope.shared("chest-pain", lambda: _ecgs(session, scope)), figure, _CLINIC)

    return evaluate


def _to_diagnosis(ecgs: Table) -> Figure:
    return minutes(ecgs["imagesToReport"], "median")


def _in_time(ecgs: Table) -> Figure:
    return proportion(ecgs.total("on_time"), ecgs.total("verified"))


INDICATORS = (
    Indicator(
        id="chest-pain-ecg-to-diagnosis",
        title="首份心电图至诊断时间（中位数）",
        title_en="First ECG to diagnosis (median)",
        scoring="continuous-variable",
        unit="min",
        definition="胸痛（疑似STEMI）患者首份心电图自到达心电诊断中心至报告签发的分钟数的中位数。"
        + _STRATA[0],
        definition_en="Median minutes from the arrival of a chest-pain (suspected STEMI) "
        "patient's first ECG at the ECG centre to its signed report. " + _STRATA[1],
        stratifiers=("organization",),
        improvement="decrease",
        evaluate=_evaluated(_to_diagnosis),
    ),
    Indicator(
        id="chest-pain-ecg-in-time-rate",
        title="胸痛心电图10分钟内诊断率",
        title_en="Chest-pain ECGs diagnosed in time",
        scoring="proportion",
        unit="1",
        definition="分子：到达后在时限内（默认10分钟）签发报告的胸痛心电图数；分母：已签发的胸痛心电图数。"
        + _STRATA[0],
        definition_en="Numerator: chest-pain ECGs whose report was signed within their due time "
        "from arrival (10 minutes by default); denominator: chest-pain ECGs signed. " + _STRATA[1],
        stratifiers=("organization",),
        improvement="increase",
        evaluate=_evaluated(_in_time),
    ),
)
