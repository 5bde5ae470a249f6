"""The probabilistic score of two patient records: recordlinkage's comparisons (``Compare``)
and its logistic-regression classifier with set weights, not a scorer of our own.

Each field compared gives 1 (agrees) or 0 (differs or is missing on either side): the name as
written, the name's pinyin (agrees when a reading of one is a reading of the other, heteronyms
included), birth date, sex, phone, and the address (Jaro–Winkler ≥ 0.85).  The weights are
log-odds, chosen so that:

- every field agreeing, or all but the address, is certain (≥ :data:`CERTAIN`);
- a name that differs as written but reads the same (善丽 / 单丽) with the same birth date,
  sex and phone is only possible: a person reviews it;
- the same name, birth date and sex alone is possible; a different name with the same birth
  date, sex, phone and address (a relative) is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from storage.clinical.patient_features import Features

if TYPE_CHECKING:
    import recordlinkage

# recordlinkage (with pandas and scikit-learn) takes over a second to import: it is imported
# when the first score is asked, not by every process that imports the operations.

FIELDS = ("name", "pinyin", "birth", "sex", "phone", "address")
WEIGHTS = (4.0, 3.0, 4.0, 1.0, 4.0, 2.0)  # per field, in the order of FIELDS
INTERCEPT = -12.0
CERTAIN = 0.98  # at least: a MATCH
POSSIBLE = 0.5  # at least: a POSSIBLE_MATCH, for review


@cache
def _comparison() -> recordlinkage.Compare:
    import recordlinkage

    compare = recordlinkage.Compare()
    for field in FIELDS[:-1]:
        compare.exact(field, field, missing_value=0, label=field)
    compare.string(
        "address", "address", method="jarowinkler", threshold=0.85, missing_value=0,
        label="address",
    )  # fmt: skip
    return compare


@cache
def _classifier() -> recordlinkage.LogisticRegressionClassifier:
    import numpy
    import recordlinkage

    classifier = recordlinkage.LogisticRegressionClassifier(
        coefficients=list(WEIGHTS), intercept=INTERCEPT
    )
    # Set weights leave scikit-learn's model without its classes; recordlinkage's own predict
    # sets them the same way before it predicts, its prob does not.
    classifier.kernel.classes_ = numpy.array([0, 1])
    return classifier


def scores(query: Features, others: Sequence[Features]) -> list[float]:
    """The match probability of ``query`` with each of ``others``, in their order."""
    return pair_scores([(query, other) for other in others])


def pair_scores(pairs: Sequence[tuple[Features, Features]]) -> list[float]:
    """The match probability of each pair of records, in their order."""
    if not pairs:
        return []
    import pandas

    left, right = [], []
    for one, other in pairs:
        shared = [r for r in other.readings if r in one.readings]
        left.append(_row(one, shared[0] if shared else _first(one.readings)))
        right.append(_row(other, shared[0] if shared else _first(other.readings)))
    index = pandas.MultiIndex.from_arrays([range(len(pairs)), range(len(pairs))])
    compared = _comparison().compute(
        index, pandas.DataFrame(left, columns=FIELDS), pandas.DataFrame(right, columns=FIELDS)
    )
    return [float(p) for p in _classifier().prob(compared[list(FIELDS)])]


def _first(readings: tuple[str, ...]) -> str | None:
    return readings[0] if readings else None


def _row(features: Features, reading: str | None) -> tuple[str | None, ...]:
    f = features
    return (f.name, reading, f.birth, f.sex, f.phone, f.address)
