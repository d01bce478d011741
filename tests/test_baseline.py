"""The byte baseline and the hybrid: presets, causality, exact uniform scores, files, fit."""

import dataclasses
import json
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltm.baseline import SEP, BaselineConfig, ByteLM, baseline_preset, make_batch
from ltm.cli import main
from ltm.config import BOS, CodecConfig
from ltm.hybrid import HybridLM
from ltm.model import LTM
from ltm.presets import preset

torch.set_num_threads(1)
SMALL = BaselineConfig(width=32, heads=2, layers=2)
CODEC = CodecConfig(width=32, heads=2, meaning_dim=16, surface_dim=8)
torch.manual_seed(0)
BASE, HYBRID = ByteLM(SMALL).eval(), HybridLM(SMALL, CODEC).eval()
SMALL_NG = dataclasses.replace(SMALL, ngram_max=3, ngram_buckets=64)  # the n-gram ablation
BASE_NG, HYBRID_NG = ByteLM(SMALL_NG).eval(), HybridLM(SMALL_NG, CODEC).eval()
MODELS = pytest.mark.parametrize("model", [BASE, HYBRID, BASE_NG, HYBRID_NG],
                                 ids=["baseline", "hybrid", "baseline-ngrams", "hybrid-ngrams"])
units_st = st.lists(st.binary(max_size=12), min_size=1, max_size=4)


def n_params(model) -> int:
    """Parameters, without the hashed n-gram tables (lookups, no FLOPs)."""
    return sum(p.numel() for name, p in model.named_parameters() if "ngrams." not in name)


@pytest.mark.parametrize("name", ["tiny", "paper", "gpu"])
def test_params_presets_match_the_ltm(name):
    with torch.device("meta"):
        ltm, base = n_params(LTM(preset(name))), n_params(ByteLM(baseline_preset(name)))
    assert abs(base / ltm - 1) <= 0.10
    cfg = baseline_preset(name, match="flops")
    assert cfg.train == preset(name).train and cfg.langs == preset(name).codec.langs


@pytest.mark.parametrize("model", [BASE, BASE_NG], ids=["plain", "ngrams"])
@settings(max_examples=25, deadline=None)
@given(units=units_st, cut=st.integers(0, 60), seed=st.integers(0, 2**16))
def test_baseline_is_causal(model, units, cut, seed):
    """Changing the tokens after position t never changes the logits at or before t (the
    n-grams look left only)."""
    b = make_batch([units], [SMALL.lang_id("en")])
    tokens = b["tokens"]
    t = min(cut, tokens.shape[1] - 1)
    other = tokens.clone()
    g = torch.Generator().manual_seed(seed)
    other[0, t + 1:] = torch.randint(0, 256, (tokens.shape[1] - t - 1,), generator=g)
    with torch.no_grad():
        a, c = model({"tokens": tokens}), model({"tokens": other})
    torch.testing.assert_close(a[:, : t + 1], c[:, : t + 1], atol=1e-5, rtol=0)


@pytest.mark.parametrize("config", [SMALL, SMALL_NG], ids=["plain", "ngrams"])
@settings(max_examples=25, deadline=None)
@given(units=st.lists(st.binary(max_size=10), min_size=2, max_size=5), t=st.integers(0, 4),
       seed=st.integers(0, 2**16))
def test_hybrid_is_causal_in_thoughts(config, units, t, seed):
    """Changing unit t's thought never changes the scores of units <= t."""
    t = min(t, len(units) - 1)
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(len(units), CODEC.dim, generator=g)
    z2 = z.clone()
    z2[t] = torch.randn(CODEC.dim, generator=g)
    b = make_batch([units], [SMALL.lang_id(None)], thoughts=True)
    model = HybridLM(config, CODEC).eval()
    with torch.no_grad():
        model.thoughts = lambda ids, lengths: z
        a = model.unit_nats(b)
        model.thoughts = lambda ids, lengths: z2
        c = model.unit_nats(b)
    torch.testing.assert_close(a[: t + 1], c[: t + 1], atol=1e-5, rtol=0)
    if t + 1 < len(units):
        # the next unit does read it (at init by as little as ~1e-5 relative, so: at all)
        assert not torch.equal(a[t + 1], c[t + 1])


@settings(max_examples=25, deadline=None)
@given(history=st.lists(st.integers(-1, 260), min_size=1, max_size=12))
def test_embed_next_is_the_last_input_of_the_whole_sequence(history):
    """What generation feeds for one new token (its n-grams from the last tokens only)
    is what teacher forcing gives that position (THOUGHT placeholders included)."""
    with torch.no_grad():
        whole = BASE_NG.embed_tokens(torch.tensor([history]))[:, -1:]
        torch.testing.assert_close(BASE_NG.embed_next(history), whole, atol=0, rtol=0)


def test_ngrams_make_a_tokens_input_depend_on_the_tokens_before_it():
    a, b = [SMALL.lang_id("en"), 65, 66], [SMALL.lang_id("en"), 67, 66]
    with torch.no_grad():
        assert torch.equal(BASE.embed_next(a), BASE.embed_next(b))
        assert not torch.equal(BASE_NG.embed_next(a), BASE_NG.embed_next(b))


@MODELS
@pytest.mark.parametrize("prompt", [["Anna left.", "Ivan came."], [""]], ids=["two", "empty"])
def test_cached_generation_sees_what_teacher_forcing_sees(model, prompt):
    """Every logit row greedy generation used (key/value cache, each new token's inputs
    from :meth:`ByteLM.embed_next`, the SEP and thought after a unit) equals the row
    of teacher forcing over the prompt and the generated units; ``[""]`` is a prompt
    shorter than the n-grams."""
    rows = []
    hook = model.out.register_forward_hook(lambda module, args, logits: rows.append(logits))
    try:
        said = model.generate_units(prompt, 3, lang="en", max_bytes=5)
    finally:
        hook.remove()
    b = model.batch([[*prompt, *said]], ["en"])
    with torch.no_grad():
        forced = model(b)[0]  # (S, V)
    used = iter(torch.cat(rows))
    for k, unit in enumerate(said):
        pos = (b["owner"][0] == len(prompt) + k).nonzero()[:, 0]  # its bytes, then SEP
        for p in pos[: len(unit) + (len(unit) < 5)]:  # the SEP row only if it was read
            torch.testing.assert_close(next(used), forced[p], atol=1e-4, rtol=1e-4)


@MODELS
def test_zero_output_scores_exactly_uniform(model):
    """Zero output weights: every symbol costs ln V, so a unit of n bytes costs (n+1) ln V."""
    m = type(model).from_config_dict(model.config_dict())
    with torch.no_grad():
        m.out.weight.zero_()
    V = SMALL.vocab
    assert V == 261
    for past, nxt in [([], "Anna left."), (["Anna left.", ""], "Иван ушёл."), (["x"], "")]:
        want = (len(nxt.encode()) + 1) * math.log(V)
        assert m.score_next_unit(past, nxt, "ru") == pytest.approx(want, rel=1e-6)


@MODELS
def test_scores_embeddings_and_generation(model):
    units = ["Anna left.", "Ivan came.", "The cat sleeps."]
    each = model.score_units(units, "en")
    assert model.score_next_unit(units[:2], units[2], "en") == pytest.approx(each[2], rel=1e-5)
    e = model.embed_units(units + [""])
    assert e.shape == (4, SMALL.width)
    torch.testing.assert_close(model.embed_units(units[1:2])[0], e[1], atol=1e-5, rtol=0)
    bos = model.stack(model.embed_tokens(torch.tensor([[BOS]])), causal=True)[0, 0]
    torch.testing.assert_close(e[3], bos, atol=1e-5, rtol=0)  # an empty unit is BOS alone
    said = model.generate_units(units[:2], 2, lang="en", max_bytes=6)
    # greedy generation with the cache equals the argmax of teacher forcing
    b = model.batch([[*units[:2], *said]], ["en"])
    with torch.no_grad():
        logits = model(b).masked_fill(~model.writable, float("-inf"))[0]  # (S, V)
    for k, unit in enumerate(said):
        rows = (b["owner"][0] == 2 + k).nonzero()[:, 0][: len(unit)]
        assert logits[rows].argmax(-1).tolist() == list(unit)
    assert isinstance(model.continue_text("Anna left. Ivan came.", 1, max_bytes=4), str)


def test_save_load_round_trip_and_kind(tmp_path):
    for model in (BASE, HYBRID, HYBRID_NG):
        d = tmp_path / f"{model.kind}-{model.config.ngram_max}"
        model.save(d)
        back = type(model).load(d).eval()
        assert back.config == model.config and back.config_dict() == model.config_dict()
        for k, v in model.state_dict().items():
            torch.testing.assert_close(back.state_dict()[k], v)
    with pytest.raises(ValueError, match="kind 'hybrid'"):
        ByteLM.load(tmp_path / "hybrid-0")
    with pytest.raises(ValueError, match="kind 'baseline'"):
        HybridLM.load(tmp_path / "baseline-0")


def test_config_validation():
    with pytest.raises(ValueError, match="width"):
        BaselineConfig(width=0)
    with pytest.raises(ValueError, match="heads"):
        BaselineConfig(width=30, heads=4)
    with pytest.raises(ValueError, match="langs"):
        BaselineConfig(langs=("xx",))
    with pytest.raises(ValueError, match="BaselineConfig.ngram_max"):
        BaselineConfig(ngram_max=1)
    with pytest.raises(ValueError, match="ngram_buckets"):
        BaselineConfig(ngram_max=3, ngram_buckets=0)
    with pytest.raises(ValueError, match="unknown"):
        BaselineConfig.from_dict({"model": {"depth": 3}})
    with pytest.raises(ValueError, match="match"):
        baseline_preset("tiny", match="time")
    assert BaselineConfig.from_dict(SMALL.to_dict()) == SMALL


def test_layout_puts_each_thought_after_its_separator():
    b = make_batch([[b"ab", b"c"]], [7], thoughts=True)
    assert b["tokens"][0].tolist() == [7, 97, 98, SEP, -1, 99]
    assert b["slot"][0].tolist() == [-1, -1, -1, -1, 0, -1]  # unit 0's thought
    assert b["owner"][0].tolist() == [0, 0, 0, -1, 1, 1]



STEPS = ["--preset", "tiny", "--codec-steps", "2", "--core-steps", "1"]


def test_fit_baseline_and_hybrid(data, tmp_path):
    out = tmp_path / "base"
    assert main(["fit", "--model", "baseline", "--data", str(data), "--out", str(out),
                 "--match", "flops", *STEPS]) == 0
    assert ByteLM.load(out).config == dataclasses.replace(
        baseline_preset("tiny", "flops"),
        train=dataclasses.replace(preset("tiny").train, codec_steps=2, core_steps=1))
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["steps"] == 3 and {"val/bpb", "val/loss"} <= set(summary["val"])
    ltm_dir = tmp_path / "ltm"
    LTM(preset("tiny")).save(ltm_dir)
    out = tmp_path / "hyb"
    assert main(["fit", "--model", "hybrid", "--ltm", str(ltm_dir), "--data", str(data),
                 "--out", str(out), *STEPS]) == 0
    hybrid, ltm = HybridLM.load(out), LTM.load(ltm_dir)
    for k, v in ltm.encoder.state_dict().items():  # the encoder stayed frozen
        torch.testing.assert_close(hybrid.encoder.state_dict()[k], v)


@pytest.mark.parametrize("argv,message", [
    (["--model", "gpt"], "choose one of ltm, baseline, hybrid"),
    (["--model", "hybrid"], "needs --ltm"),
    (["--model", "baseline", "--ltm", "{tmp}"], "applies to --model hybrid"),
    (["--model", "hybrid", "--ltm", "{tmp}"], "no LTM here"),
    (["--model", "baseline", "--head", "mse"], "--head applies"),
    (["--match", "flops"], "--match applies"),
    (["--model", "baseline", "--match", "time"], "match must be"),
])
def test_fit_errors_are_one_line(argv, message, data, tmp_path, capsys):
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert main(["fit", *argv, "--preset", "tiny", "--data", str(data),
                 "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("ltm: ") and message in err and "\n" not in err


@MODELS
def test_batched_generation_equals_each_episode_alone(model):
    """Episodes of different lengths decoded together (left-padded, padding masked) give
    the greedy units each gives alone, in two languages, prompts shorter than the
    n-grams included; the units of several rows end at different steps."""
    episodes = [["Anna left.", "Ivan came.", "The cat sleeps."], [""], ["Кот спит."]]
    langs = ["en", "en", "ru"]
    together = model.generate_batch(episodes, 2, langs=langs, max_bytes=7)
    alone = [model.generate_units(ep, 2, lang=lang, max_bytes=7)
             for ep, lang in zip(episodes, langs, strict=True)]
    assert together == alone
    assert all(len(units) == 2 and all(len(u) <= 7 for u in units) for units in together)
    assert model.generate_batch(episodes, 0, langs=langs) == [[], [], []]


@MODELS
def test_batched_sampling_is_seeded(model):
    episodes, langs = [["Anna left."], ["Ivan came.", "x"]], ["en", "ru"]
    draw = [model.generate_batch(episodes, 2, langs=langs, method="nucleus", max_bytes=6,
                                 generator=torch.Generator().manual_seed(3)) for _ in range(2)]
    assert draw[0] == draw[1]


def test_batched_generation_in_chunks_equals_one_batch(monkeypatch):
    """Prompts over the prefill budget are decoded in chunks, with the same units."""
    import ltm.baseline as baseline

    episodes = [["Anna left.", "Ivan came."], ["x"], ["The cat sleeps.", "y", "z"]]
    whole = BASE_NG.generate_batch(episodes, 2, max_bytes=5)
    monkeypatch.setattr(baseline, "PREFILL_BUDGET", 1)  # every row its own chunk
    assert BASE_NG.generate_batch(episodes, 2, max_bytes=5) == whole


def test_batched_generation_refuses_bad_input():
    with pytest.raises(ValueError, match="every episode"):
        BASE.generate_batch([["a"], []], 1)
    with pytest.raises(ValueError, match="2 language tags for 1"):
        BASE.generate_batch([["a"]], 1, langs=["en", "ru"])
    with pytest.raises(ValueError, match="method"):
        BASE.generate_batch([["a"]], 1, method="beam")
    with pytest.raises(ValueError, match="max_bytes must be at least 1, got 0"):
        BASE.generate_batch([["a"]], 1, max_bytes=0)
    with pytest.raises(ValueError, match="n_units must be at least 0"):
        BASE.generate_batch([["a"]], -1)
    with pytest.raises(TypeError, match="list of episodes"):
        BASE.generate_batch(["Anna left.", "Ivan came."], 1)
    with pytest.raises(TypeError, match="one tag per episode"):
        BASE.generate_batch([["a"], ["b"]], 1, langs="en")
