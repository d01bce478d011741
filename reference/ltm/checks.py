"""Field checks shared by the config dataclasses (:mod:`ltm.config`,
:mod:`ltm.train_config`, :mod:`ltm.baseline_config`).

Each takes the dataclass instance and the names of its fields to check, and raises
``ValueError`` naming the class, the field and the bad value, so that every config
refuses bad input with the same one-line message.
"""

from __future__ import annotations

from typing import Any

__all__ = ["positive", "count", "non_negative", "fraction", "divides", "check_ngrams"]


def positive(obj: Any, *names: str) -> None:
    """Each field of ``names`` is an int >= 1 (a bool is not an int here)."""
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{type(obj).__name__}.{name} must be a positive int, got {value!r}")


def count(obj: Any, *names: str) -> None:
    """Each field of ``names`` is an int >= 0 (a bool is not an int here)."""
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{type(obj).__name__}.{name} must be an int >= 0, got {value!r}")


def non_negative(obj: Any, *names: str) -> None:
    """Each field of ``names`` is a finite int or float >= 0 (not NaN, not a bool)."""
    for name in names:
        value = getattr(obj, name)
        if (not isinstance(value, int | float) or isinstance(value, bool)
                or not value >= 0 or value == float("inf")):
            raise ValueError(f"{type(obj).__name__}.{name} must be a finite number >= 0, "
                             f"got {value!r}")


def divides(obj: Any, width: str, heads: str) -> None:
    """Field ``heads`` divides field ``width`` into an even head size (rotary positions
    rotate pairs of a head's entries)."""
    w, h = getattr(obj, width), getattr(obj, heads)
    if w % h or (w // h) % 2:
        raise ValueError(f"{type(obj).__name__}.{heads}={h} must divide {width}={w} into an "
                         f"even head size (rotary positions rotate pairs)")


def check_ngrams(obj: Any) -> None:
    """``ngram_max`` is 0 (none) or an int >= 2, and ``ngram_buckets`` is positive."""
    n = obj.ngram_max
    if not isinstance(n, int) or isinstance(n, bool) or n < 0 or n == 1:
        raise ValueError(f"{type(obj).__name__}.ngram_max must be 0 (none) or an int >= 2, "
                         f"got {n!r}")
    positive(obj, "ngram_buckets")


def fraction(obj: Any, *names: str, below_one: bool = False) -> None:
    """Each field of ``names`` is a number in [0, 1], or in [0, 1) with ``below_one``."""
    for name in names:
        value = getattr(obj, name)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not (0.0 <= value and (value < 1.0 if below_one else value <= 1.0)):
            raise ValueError(f"{type(obj).__name__}.{name} must be in "
                             f"[0, 1{')' if below_one else ']'}, got {value!r}")
