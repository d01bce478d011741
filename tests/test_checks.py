"""The shared field checks of the config dataclasses (ltm.checks): each refuses a bad
value with one line naming the class, the field and the value, and lets a good one by."""

import re
from dataclasses import dataclass

import pytest

from ltm.checks import check_ngrams, count, divides, fraction, non_negative, positive


@dataclass
class Box:
    x: object = 1
    ngram_max: object = 0
    ngram_buckets: object = 8
    heads: object = 2
    width: object = 8


@pytest.mark.parametrize(("check", "good", "bad", "says"), [
    (positive, [1, 7], [0, -1, 1.0, True, "2", None], "must be a positive int"),
    (count, [0, 3], [-1, 0.0, False, "0", None], "must be an int >= 0"),
    (non_negative, [0, 0.5, 3], [-0.1, float("nan"), float("inf"), True, "1"],
     "must be a finite number >= 0"),
    (fraction, [0, 0.5, 1.0], [-0.1, 1.01, float("nan"), True, "0.5"], r"must be in \[0, 1\]"),
])
def test_checks_refuse_bad_values_naming_class_field_and_value(check, good, bad, says):
    for value in good:
        check(Box(x=value), "x")
    for value in bad:
        with pytest.raises(ValueError, match=rf"^Box\.x {says}, got {re.escape(repr(value))}$"):
            check(Box(x=value), "x")


def test_fraction_below_one_refuses_one():
    fraction(Box(x=0.99), "x", below_one=True)
    with pytest.raises(ValueError, match=r"Box\.x must be in \[0, 1\), got 1\.0"):
        fraction(Box(x=1.0), "x", below_one=True)


def test_divides_and_ngrams():
    divides(Box(width=8, heads=2), "width", "heads")
    for width, heads in ((8, 3), (6, 2)):  # 3 does not divide 8; 6 / 2 = 3 is odd
        with pytest.raises(ValueError, match=r"Box\.heads=.* even head size"):
            divides(Box(width=width, heads=heads), "width", "heads")
    check_ngrams(Box(ngram_max=0))
    check_ngrams(Box(ngram_max=3))
    for n in (1, -1, True, 2.0):
        with pytest.raises(ValueError, match=r"Box\.ngram_max must be 0 \(none\) or an int >= 2"):
            check_ngrams(Box(ngram_max=n))
    with pytest.raises(ValueError, match=r"Box\.ngram_buckets must be a positive int"):
        check_ngrams(Box(ngram_max=2, ngram_buckets=0))
