"""Worklist keys matched as PS3.4 K.6 / C.2.2.2 say, and Chinese names as Chinese modalities
show them (pinyin=characters)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from pydicom.dataset import Dataset

from dicom_node.worklist_items import Item, modality_of
from dicom_node.worklist_query import (
    NotWorklist,
    UnreadableValue,
    answer,
    matches,
    narrowing,
    parse_query,
)
from storage.dicom.person_names import from_human_name, from_text

ITEM = Item(
    {"PatientName": "Zhang^SanFeng=张^三丰", "PatientID": "TX000777", "AccessionNumber": "YL1"},
    {
        "ScheduledProcedureStepStartDate": "20261202",
        "ScheduledProcedureStepStartTime": "093000",
        "Modality": "CT",
        "ScheduledStationAETitle": "TX_CT1",
    },
)


def _query(step: dict[str, str] | None = None, **keys: str) -> Dataset:
    query = Dataset()
    query.PatientName = ""
    for keyword, value in keys.items():
        setattr(query, keyword, value)
    sps = Dataset()
    for keyword, value in (step or {}).items():
        setattr(sps, keyword, value)
    query.ScheduledProcedureStepSequence = [sps]
    return query


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ([{"family": "张", "given": ["三丰"]}], "Zhang^SanFeng=张^三丰"),
        ([{"text": "欧阳娜娜"}], "Ouyang^NaNa=欧阳^娜娜"),
        ([{"text": "单雄信"}], "Shan^XiongXin=单^雄信"),  # 单 read as a surname
        ([{"family": "Smith", "given": ["John", "Q"]}], "Smith^John Q"),
        ([{"use": "old", "text": "李四"}, {"use": "official", "text": "李思"}], "Li^Si=李^思"),
        ([], ""),
    ],
)
def test_chinese_names_are_pinyin_then_characters(names, expected):
    assert from_human_name(names) == expected


def test_a_display_becomes_a_person_name():
    assert from_text("王医生") == "Wang^YiSheng=王^医生"
    assert from_text("") == ""


@pytest.mark.parametrize(
    ("name", "hit"),
    [
        ("Zhang^SanFeng", True), ("zhang*", True), ("张*", True), ("张三丰", True),
        ("*=张^三丰", True), ("ZHANG^SANFENG", True), ("Zh?ng*", True), ("王*", False),
        ("Zhang^San", False), ("=王*", False),
    ],
)  # fmt: skip
def test_person_names_match_either_group_case_aside(name, hit):
    assert matches(parse_query(_query(PatientName=name)), ITEM) is hit


@pytest.mark.parametrize(
    ("step", "hit"),
    [
        ({"ScheduledProcedureStepStartDate": "20261202"}, True),
        ({"ScheduledProcedureStepStartDate": "20261201-20261203"}, True),
        ({"ScheduledProcedureStepStartDate": "-20261201"}, False),
        ({"ScheduledProcedureStepStartDate": "20261202-"}, True),
        ({"ScheduledProcedureStepStartTime": "0900-1000"}, True),
        ({"ScheduledProcedureStepStartTime": "1000-"}, False),
        ({"Modality": "CT"}, True),
        ({"Modality": "MR"}, False),
        ({"ScheduledStationAETitle": "TX_*"}, True),
        ({"Modality": ""}, True),  # universal
    ],
)
def test_step_keys_match_single_values_wildcards_and_ranges(step, hit):
    assert matches(parse_query(_query(step)), ITEM) is hit


def test_a_day_without_a_time_matches_any_time():
    undated = Item(ITEM.values, {**ITEM.step, "ScheduledProcedureStepStartTime": ""})
    query = parse_query(_query({"ScheduledProcedureStepStartTime": "0800-0900"}))
    assert matches(query, undated)


def test_the_index_is_narrowed_by_day_in_local_time_accession_and_patient():
    query = parse_query(
        _query({"ScheduledProcedureStepStartDate": "20261202"}, AccessionNumber="YL1",
               PatientID="TX*")
    )  # fmt: skip
    narrow = narrowing(query, ZoneInfo("Asia/Shanghai"))
    assert (narrow.start.isoformat(), narrow.end.isoformat()) == (
        "2026-12-01T16:00:00",
        "2026-12-02T15:59:59",
    )
    assert (narrow.accessions, narrow.patient_ids) == (("YL1",), ())  # a wildcard: not indexed


def test_bad_queries_are_told_apart():
    for value in ("2026-12-02", "20261332"):
        with pytest.warns(UserWarning, match="VR DA"):  # pydicom says so too
            query = _query({"ScheduledProcedureStepStartDate": value})
        with pytest.raises(UnreadableValue):
            parse_query(query)
    two = _query()
    two.ScheduledProcedureStepSequence.append(Dataset())
    with pytest.raises(NotWorklist):
        parse_query(two)


def test_answers_carry_exactly_the_keys_asked():
    query = parse_query(_query({"Modality": "CT", "ScheduledProcedureStepID": ""}, PatientID=""))
    found = answer(query, ITEM)
    assert found.SpecificCharacterSet == "ISO_IR 192"
    assert [e.keyword for e in found] == [
        "SpecificCharacterSet", "PatientName", "PatientID", "ScheduledProcedureStepSequence",
    ]  # fmt: skip
    [step] = found.ScheduledProcedureStepSequence
    assert [e.keyword for e in step] == ["Modality", "ScheduledProcedureStepID"]
    assert step.Modality == "CT"


def test_the_modality_is_the_dicom_coding_of_the_code_then_of_the_category():
    dcm = "http://dicom.nema.org/resources/ontology/DCM"
    assert modality_of({"code": {"coding": [{"system": dcm, "code": "MR"}]}}) == "MR"
    assert modality_of({"category": [{"coding": [{"system": dcm, "code": "DX"}]}]}) == "DX"
    assert modality_of({"code": {"coding": [{"system": "urn:his", "code": "CT-HEAD"}]}}) == ""
