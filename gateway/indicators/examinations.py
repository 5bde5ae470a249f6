"""The share of examinations done at grassroots members (基层检查量占比): of the studies the
members the requester sees did on the days of the period, those done at township and community
health centres and village clinics.  Strata: the exam's modality."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from gateway.indicators.model import Indicator, Result, Scope, proportion
from storage.clinical.exam_volumes import volumes


def grassroots_share(session: Session, scope: Scope) -> Result:
    # The period is whole local days: [start, end) where end is the day after the last.
    found = volumes(session, scope.orgs, scope.start.date(), (scope.end - timedelta(days=1)).date())
    modalities = sorted({modality for modality, _ in found})
    strata = {
        f"Modality/{m}": proportion(found[(m, True)], found[(m, True)] + found[(m, False)])
        for m in modalities
    }
    grassroots = sum(n for (_, at_grassroots), n in found.items() if at_grassroots)
    return Result(proportion(grassroots, sum(found.values())), strata)


INDICATORS = (
    Indicator(
        id="grassroots-exam-share",
        title="基层检查量占比",
        title_en="Share of examinations done at grassroots members",
        scoring="proportion",
        unit="1",
        definition="分子：乡镇卫生院、社区卫生服务中心、村卫生室完成的检查数；分母：医联体成员单位完成的检查数"
        "（按检查日期计，以平台接收的影像与心电检查为准）。按检查类型（设备类型）分层。",
        definition_en="Numerator: examinations done at township and community health centres "
        "and village clinics; denominator: examinations done at all members (by exam date, "
        "the imaging and ECG studies the platform received). Stratified by modality.",
        stratifiers=("modality",),
        improvement="increase",
        evaluate=grassroots_share,
    ),
)
