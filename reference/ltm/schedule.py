"""Learning-rate factors: a linear warm-up and a half-cosine decay, by steps or by time.

Both trainers (:mod:`ltm.lit` for the LTM's stages, :mod:`ltm.lit_baseline` for the
byte baseline and the hybrid) multiply each parameter group's peak rate by

    warmup(step) * decay(progress)

where ``progress`` in [0, 1] is how much of a stage is done. A run budgeted in steps
ends a stage at its last step; a run budgeted in minutes may end it sooner, so progress
is the larger of the two shares (:func:`progress`), and the rate reaches its floor
whichever budget runs out first. Plain functions of numbers, so a test can check every
value and a resumed run recomputes the same factors.
"""

from __future__ import annotations

import math

__all__ = ["warmup", "progress", "cosine"]


def warmup(step: int, start: int, steps: int) -> float:
    """Linear warm-up over ``steps`` steps from the stage's first step ``start``: 0 before
    it, ``(step - start + 1) / steps`` during it, then 1 (always 1 when ``steps`` is 0)."""
    if steps == 0:
        return 1.0
    return max(0.0, min(1.0, (step - start + 1) / steps))


def progress(step: int, steps: tuple[int, int], elapsed: float = 0.0, minutes: float = 0.0,
             shares: tuple[float, float] = (0.0, 0.0)) -> float:
    """How much of a stage is done at ``step``, clipped to [0, 1]: its share of the stage's
    steps ``steps = (first, end)`` and, in a timed run (``minutes > 0``), of its share of
    the budget ``shares = (from, to)`` (fractions of ``minutes``) after ``elapsed``
    seconds, whichever is larger."""
    s0, s1 = steps
    done = (step - s0) / max(1, s1 - s0)
    t0, t1 = shares
    if minutes > 0 and t1 > t0:
        done = max(done, (elapsed / (60 * minutes) - t0) / (t1 - t0))
    return min(1.0, max(0.0, done))


def cosine(floor: float, done: float) -> float:
    """Half a cosine from 1 at ``done`` 0 to ``floor`` at ``done`` 1 (``floor`` 1: constant)."""
    if floor == 1.0:
        return 1.0
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * done))
