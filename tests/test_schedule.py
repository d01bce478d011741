"""The rate factors of ltm.schedule, and the baseline's use of them."""

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ltm import schedule
from ltm.baseline import BaselineConfig, ByteLM
from ltm.config import TrainConfig
from ltm.lit_baseline import LitByteLM


def test_warmup_rises_linearly_from_the_stage_start():
    assert [schedule.warmup(s, 10, 4) for s in (8, 10, 11, 13, 50)] == [0, 0.25, 0.5, 1, 1]
    assert schedule.warmup(0, 5, 0) == 1.0  # no warm-up


def test_progress_takes_the_nearer_budget():
    assert schedule.progress(15, (10, 30)) == 0.25
    assert schedule.progress(5, (10, 30)) == 0.0 and schedule.progress(99, (10, 30)) == 1.0
    # a minute's budget, this stage from 50% to 100% of it, 45 s in: half the stage's time
    assert schedule.progress(11, (10, 30), 45.0, 1.0, (0.5, 1.0)) == pytest.approx(0.5)
    assert schedule.progress(11, (10, 30), 45.0, 0.0, (0.5, 1.0)) == pytest.approx(0.05)


@given(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1))
def test_cosine_falls_from_one_to_the_floor(floor, a, b):
    lo, hi = sorted((a, b))
    assert schedule.cosine(floor, 0.0) == pytest.approx(1.0)
    assert schedule.cosine(floor, 1.0) == pytest.approx(floor)
    assert schedule.cosine(floor, lo) >= schedule.cosine(floor, hi) - 1e-12
    assert floor - 1e-12 <= schedule.cosine(floor, lo) <= 1.0 + 1e-12


def _lit(**train) -> LitByteLM:
    cfg = dataclasses.replace(BaselineConfig(width=32, heads=2, layers=2),
                              train=TrainConfig(codec_steps=10, core_steps=10, **train))
    return LitByteLM(ByteLM(cfg))


def test_baseline_rate_decays_over_the_whole_run():
    m = _lit(warmup_steps=4, lr_final=0.1)
    at3 = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 3 / 20))  # 3 of 20 steps done
    assert [m._factor(s) for s in (0, 3, 10, 20)] == pytest.approx([0.25, at3, 0.55, 0.1])
    timed = _lit(warmup_steps=0, lr_final=0.0, minutes=1.0)
    timed.elapsed = 30.0  # half the minute, far fewer than half the steps
    assert timed._factor(1) == pytest.approx(0.5)
    constant = _lit(warmup_steps=4)  # lr_final 1: the warm-up alone, as before
    assert [constant._factor(s) for s in (0, 3, 19)] == [0.25, 1.0, 1.0]
