"""ltm.flops against torch's FLOP counter, and the FLOP-matched presets.

Every analytic training-step count is compared with ``FlopCounterMode`` on one forward
and backward step of the tiny model, with the math attention kernel (the CPU's fused
kernel is not counted by the flop counter). Only matmuls are counted on both sides; the
counts agree exactly today, the test allows 2%.
"""

import math
import random

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from ltm import flops
from ltm.baseline import ByteLM, baseline_preset
from ltm.data import collate_episodes, collate_groups, episodes, thought_groups
from ltm.hybrid import HybridLM
from ltm.lit import LitLTM
from ltm.presets import preset
from ltm.pvq import world

torch.set_num_threads(1)
TOL = 0.02
EPISODES = [["Anna left the house.", "Ivan came.", ""], ["Hi there.", "Yes."]]


def counted(fn, backward: bool = True) -> int:
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as fc:
        out = fn()
        if backward:
            out.backward()
    return fc.get_total_flops()


def test_baseline_and_hybrid_steps():
    c = baseline_preset("tiny")
    m = ByteLM(c)
    b = m.batch(EPISODES, ["en", "ru"])
    want = flops.baseline_train_step(c, *b["tokens"].shape)
    assert counted(lambda: m.loss(b)) == pytest.approx(want, rel=TOL)
    codec = preset("tiny").codec
    h = HybridLM(c, codec)
    b = h.batch(EPISODES, ["en", "ru"])
    want = flops.hybrid_train_step(c, codec, *b["tokens"].shape, *b["unit_ids"].shape)
    assert counted(lambda: h.loss(b)) == pytest.approx(want, rel=TOL)


@pytest.mark.parametrize("head", ["flow", "flow-noise", "mse", "energy", "choice"])
def test_ltm_steps(head):
    import dataclasses

    cfg = preset("tiny")
    cfg = dataclasses.replace(cfg, field=dataclasses.replace(cfg.field, head=head))
    lit, g = LitLTM(cfg), torch.Generator().manual_seed(0)
    recs = list(world.generate(3, seed=1))
    cb = collate_groups(thought_groups(recs, cfg.codec.langs)[:6], cfg, random.Random(0))
    want = flops.ltm_codec_step(cfg, *cb["ids"].shape, *cb["cross_ids"].shape)
    got = counted(lambda: sum(lit.codec_losses(cb, g).values()))
    assert got == pytest.approx(want, rel=TOL)
    lit._freeze_codec()
    eb = collate_episodes(episodes(recs, cfg.codec.langs, 32), cfg, random.Random(0))
    mask = eb["mask"]
    pairs = int((mask[:, :-1] & mask[:, 1:]).sum())
    want = flops.ltm_core_step(cfg, *mask.shape, *eb["ids"].shape, pairs)
    got = counted(lambda: sum(lit.core_losses(eb, g).values()))
    assert got == pytest.approx(want, rel=TOL)


def test_baseline_generation_step():
    c = baseline_preset("tiny")
    m = ByteLM(c).eval()
    prefix = m.batch([["Anna left the house.", "Ivan"]], ["en"])
    caches = m.stack.new_caches()
    with torch.no_grad():
        m.stack(m.inputs(prefix), causal=True, caches=caches)
        context = caches[0].length
        got = counted(lambda: m.out(m.stack(m.embed(torch.tensor([[65]])), causal=True,
                                            caches=caches)), backward=False)
    assert got == pytest.approx(flops.baseline_generate_per_byte(c, context), rel=TOL)


@pytest.mark.parametrize("name", ["tiny", "paper", "gpu"])
def test_flops_presets_match_the_ltm(name):
    ltm = flops.ltm_train_per_byte(preset(name))
    base = flops.baseline_train_per_byte(baseline_preset(name, match="flops"))
    assert base == pytest.approx(ltm["run"], rel=0.10)
    s = preset(name).train.codec_share  # the run's rate is the harmonic mean of the stages'
    assert 1 / ltm["run"] == pytest.approx(s / ltm["codec"] + (1 - s) / ltm["core"])
    assert min(ltm["codec"], ltm["core"]) <= ltm["run"] <= max(ltm["codec"], ltm["core"])


def test_generation_costs_grow_with_context():
    cfg, c = preset("tiny"), baseline_preset("tiny")
    a, b = flops.baseline_generate_per_byte(c, 10), flops.baseline_generate_per_byte(c, 110)
    assert b - a == 4 * c.layers * 100 * c.width  # 4 L D per extra cached key
    assert flops.hybrid_generate_per_byte(c, cfg.codec, 10) > a
    g = flops.ltm_generate_per_byte(cfg, 8)
    assert math.isclose(g["total"], g["core"] + g["codec"])
    assert flops.ltm_generate_per_byte(cfg, 16)["core"] > g["core"]


def test_choice_generation_decodes_every_hypothesis():
    import dataclasses

    cfg = preset("tiny")
    pick = {p: dataclasses.replace(cfg, field=dataclasses.replace(
        cfg.field, head="choice", choice_pick=p)) for p in ("decoder", "selector")}
    dec, sel = (flops.ltm_generate_per_byte(pick[p], 8) for p in ("decoder", "selector"))
    assert dec["codec"] == pytest.approx((cfg.field.choices + 1) * sel["codec"])
    assert sel["codec"] == pytest.approx(flops.ltm_generate_per_byte(cfg, 8)["codec"])
    assert dec["core"] < sel["core"]  # no selector when the decoder picks
    rt = flops.ltm_generate_per_byte(dataclasses.replace(pick["decoder"], field=dataclasses.replace(
        pick["decoder"].field, choice_roundtrip=0.1)), 8)
    assert rt["codec"] > dec["codec"] and rt["core"] == dec["core"]
    judged = flops.ltm_generate_per_byte(dataclasses.replace(pick["decoder"], field=dataclasses.replace(
        pick["decoder"].field, critic_width=32)), 8)
    assert judged["codec"] == pytest.approx(rt["codec"])  # the same K readings encoded again
    f, c = cfg.field, cfg.codec  # plus the critic's three layers, once per hypothesis
    mlp = 2 * f.choices * ((f.width + 3 * c.dim) * 32 + 32 * 32 + 32) / flops.UNIT_BYTES
    assert judged["core"] - dec["core"] == pytest.approx(mlp)


def test_members_recall_and_branches_add_to_the_pick():
    import dataclasses

    cfg = preset("tiny")
    field = dataclasses.replace(cfg.field, head="choice", critic_width=32)
    at = lambda **kw: flops.ltm_generate_per_byte(  # noqa: E731
        dataclasses.replace(cfg, field=dataclasses.replace(field, **kw)), 8)
    one, f, c = at(), field, cfg.codec
    mlp = lambda extra: 2 * f.choices * ((f.width + 3 * c.dim + extra) * 32 + 32 * 32 + 32)  # noqa: E731
    three = at(critic_members=3, critic_recall=4)
    cosines = 2 * f.choices * 8 * c.dim  # each reading against each of the 8 past thoughts
    assert three["core"] - one["core"] == pytest.approx((3 * mlp(5) - mlp(0) + cosines)
                                                        / flops.UNIT_BYTES)
    assert three["codec"] == pytest.approx(one["codec"])
    plain = flops.ltm_generate_per_byte(dataclasses.replace(cfg, field=dataclasses.replace(
        cfg.field, head="choice")), 8)  # the decoder's pick, no critic: K + 1 decodes
    branched = at(choice_branches=2)  # each of K read once more to find its 2 branches,
    # and each branch decoded and scored again
    per_decode = plain["codec"] / (f.choices + 1)
    encode = (one["codec"] - plain["codec"]) / f.choices  # one reading encoded again
    assert branched["codec"] == pytest.approx(one["codec"] + f.choices * per_decode
                                              + 2 * f.choices * (2 * per_decode + encode))
    assert branched["core"] - one["core"] == pytest.approx(2 * mlp(0) / flops.UNIT_BYTES)


def test_a_critic_that_reads_words_says_every_past_thought_and_reads_more_inputs():
    import dataclasses

    cfg = preset("tiny")
    field = dataclasses.replace(cfg.field, head="choice", critic_width=32)
    at = lambda **kw: flops.ltm_generate_per_byte(  # noqa: E731
        dataclasses.replace(cfg, field=dataclasses.replace(field, **kw)), 8)
    one, f = at(), field
    plain = flops.ltm_generate_per_byte(dataclasses.replace(cfg, field=dataclasses.replace(
        cfg.field, head="choice")), 8)
    per_decode = plain["codec"] / (f.choices + 1)
    worded = at(critic_words=3)  # 8 past thoughts read again, and 7 more inputs per member
    assert worded["codec"] == pytest.approx(one["codec"] + 8 * per_decode)
    assert worded["core"] - one["core"] == pytest.approx(
        2 * f.choices * 7 * 32 / flops.UNIT_BYTES)
