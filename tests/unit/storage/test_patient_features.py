"""What the patient index compares of a Patient, and how recordlinkage scores two of them."""

from __future__ import annotations

from storage.clinical.patient_features import features, readings
from storage.clinical.patient_scoring import CERTAIN, POSSIBLE, scores
from storage.identity_numbers import ID_CARD


def patient(name: str, birth: str | None = "1980-01-02", **more) -> dict:
    resource = {"resourceType": "Patient", "name": [{"text": name}], "gender": "female", **more}
    return {**resource, "birthDate": birth} if birth else resource


def test_every_reading_of_a_heteronym_surname_is_kept():
    assert set(readings("单丽")) == {"dan li", "shan li", "chan li"}
    assert set(readings("曾小贤")) == {"zeng xiao xian", "ceng xiao xian"}
    assert readings("Zhang Wei") == ("zhang wei",)


def test_birth_date_and_sex_come_from_the_id_card_when_the_record_lacks_them():
    found = features({"resourceType": "Patient", "name": [{"family": "张", "given": ["建国"]}],
                      "identifier": [{"system": ID_CARD, "value": "330702800102123"}]})  # fmt: skip
    assert (found.name, found.birth, found.sex) == ("张建国", "1980-01-02", "male")
    assert found.id_card == "330702198001021238"
    assert "id:330702198001021238" in found.blocking_keys()


def test_phone_and_address_are_compared_as_digits_and_text_without_spaces():
    found = features(patient("单丽", telecom=[{"system": "phone", "value": "+86 138-0579-1234"}],
                             address=[{"city": "金华市", "line": ["人民路 1 号"]}]))  # fmt: skip
    assert (found.phone, found.address) == ("13805791234", "金华市人民路1号")


def test_scores_separate_certain_possible_and_different_people():
    phone = [{"system": "phone", "value": "13805791234"}]
    query = features(patient("单丽", telecom=phone))
    same = features(patient("单丽", telecom=phone))
    homophone = features(patient("善丽", telecom=phone))  # 单 read shan
    relative = features(patient("王芳", telecom=phone))
    certain, possible, other = scores(query, [same, homophone, relative])
    assert certain >= CERTAIN
    assert POSSIBLE <= possible < CERTAIN
    assert other < POSSIBLE
