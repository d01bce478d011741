"""The world harness: it runs on an untrained model, and an oracle reaches 1.0 on
every metric (so a low score is the model's, not the harness's)."""

import math
from types import SimpleNamespace

import pytest
import torch

from ltm.model import LTM
from ltm.presets import preset
from ltm.pvq import Record, world
from ltm.worldeval import (
    codec_metrics,
    cross_language_metrics,
    distinct_frames,
    evaluate_world,
    frame_records,
    prediction_metrics,
    retrieval_metrics,
    sample_ordered,
    unit_metrics,
)

torch.set_num_threads(1)
SURFACE = [(lang, p) for lang in world.LANGS for p in range(3)]


def _key(frame):
    return tuple(sorted(frame.items()))


class Oracle:
    """Encodes a quote as one-hot(frame) plus a small one-hot(language, phrasing),
    decodes back by rendering, and predicts the next frame of the episodes it saw."""

    def __init__(self, records):
        frames = list(dict.fromkeys(_key(t.frame) for r in records for t in r.thoughts))
        self.frames, self.index = frames, {f: i for i, f in enumerate(frames)}
        self.config = SimpleNamespace(codec=SimpleNamespace(meaning_dim=len(frames),
                                                            surface_dim=len(SURFACE)))
        self.next = {}
        for r in records:
            ids = [self.index[_key(t.frame)] for t in r.thoughts]
            for t in range(1, len(ids)):
                self.next[tuple(ids[:t])] = ids[t]

    def _vec(self, i, surface=None):
        v = torch.zeros(len(self.frames) + len(SURFACE))
        v[i] = 0.95
        if surface is not None:
            v[len(self.frames) + SURFACE.index(surface)] = math.sqrt(1 - 0.95**2)
        return v / v.norm()

    def encode(self, texts):
        out = []
        for text in texts:
            lang, frame = next((x, f) for x in world.LANGS if (f := world.parse(text, x)))
            p = world.phrasings(frame, lang).index(text)
            out.append(self._vec(self.index[_key(frame)], (lang, p)))
        return torch.stack(out)

    def decode(self, vectors, lang, max_bytes=None):
        out = []
        for v, tag in zip(vectors, lang, strict=True):
            frame = dict(self.frames[int(v[: len(self.frames)].argmax())])
            s = v[len(self.frames):]
            p = SURFACE[int(s.argmax())][1] if s.abs().sum() > 0 else 0
            out.append(world.render(frame, tag, p))
        return out

    def predict_next(self, thoughts, mask, generator=None, lang=None):
        F = len(self.frames)
        return torch.stack([self._vec(self.next[tuple(row[m][:, :F].argmax(-1).tolist())])
                            for row, m in zip(thoughts, mask, strict=True)])


def _unambiguous(records):
    """Records whose every past has one next frame across the kept records (so that the
    oracle's lookup is right even off the determined thoughts)."""
    seen, kept = {}, []
    for r in records:
        keys = [_key(t.frame) for t in r.thoughts]
        pairs = [(tuple(keys[:t]), keys[t]) for t in range(1, len(keys))]
        if all(seen.get(past, nxt) == nxt for past, nxt in pairs):
            seen.update(pairs)
            kept.append(r)
    return kept


@pytest.fixture(scope="module")
def data():
    kept = _unambiguous([*world.generate(16, seed=1000, split="train"),
                         *world.generate(30, seed=1000, split="heldout")])
    return ([r for r in kept if world.record_split(r) == "train"],
            [r for r in kept if world.record_split(r) == "heldout"])


def _rates(d):
    return {k: v for k, v in d.items() if not k.startswith("n")}


def test_oracle_scores_one_everywhere(data):
    train, heldout = data
    oracle = Oracle(train + heldout)
    res = evaluate_world(oracle, train, heldout, n=40, n_episodes=30, progress=False)
    for side in ("train", "heldout"):
        for group, d in res[side].items():
            assert _rates(d) and all(v == 1.0 for v in _rates(d).values()), (side, group, d)
    assert res["heldout"]["prediction"]["n"] > 0
    assert res["train"]["prediction"]["n_determined"] > 0
    assert res["train"]["retrieval"]["n_candidates"] == 40


def test_untrained_tiny_runs_with_expected_keys(data):
    train, _ = data
    torch.manual_seed(0)
    model = LTM(preset("tiny"))
    kw = dict(max_bytes=4, progress=False, batch_size=8)
    codec = codec_metrics(model, train, n=6, **kw)
    assert set(codec) == {f"{m}_{lang}" for m in ("exact", "byte_acc", "n")
                          for lang in ("en", "ru")}
    ret = retrieval_metrics(model, train, n=8, progress=False)
    assert {"recall1_en_ru", "recall5_ru_en", "paraphrase_recall1_ru"} <= set(ret)
    cross = cross_language_metrics(model, train, n=6, **kw)
    assert {"en_to_ru", "ru_to_en", "en_to_ru_parses"} <= set(cross)
    units = unit_metrics(model, train, n=6, **kw)
    assert set(units) == {"exact_en", "exact_ru", "en_to_ru", "ru_to_en", "n", "n_distinct"}
    pred = prediction_metrics(model, train, n_episodes=2, **kw)
    assert {"parse_en", "legal_ru", "exact_determined", "rouge_l_en"} <= set(pred)
    assert model.training  # the training flag is restored
    for d in (codec, ret, cross, units, pred):
        for k, v in _rates(d).items():
            assert math.isnan(v) or 0.0 <= v <= 1.0, (k, v)


def test_picks_are_deterministic(data):
    train, heldout = data
    oracle = Oracle(train + heldout)
    a = prediction_metrics(oracle, heldout, n_episodes=5, seed=3, progress=False)
    b = prediction_metrics(oracle, heldout, n_episodes=5, seed=3, progress=False)
    assert a == b and a["n"] > 0


def test_frame_records_sample_one_side_of_the_split():
    recs = frame_records("heldout", 30, seed=1)
    assert len(recs) == 30 and recs == frame_records("heldout", 30, seed=1)
    assert all(world.meaning_split(r.thoughts[0].frame) == "heldout" for r in recs)
    assert all(len(r.thoughts[0].quotes["ru"]) == 3 for r in recs)


def test_frame_records_keep_filters_before_the_draw():
    recaps = frame_records("train", 40, keep=lambda f: f["act"] != "recap")
    assert len(recaps) == 40
    assert all(r.thoughts[0].frame["act"] != "recap" for r in recaps)
    # the filter comes before the draw: a rare act still gets its turn
    acts = {r.thoughts[0].frame["act"] for r in recaps}
    assert len(acts) > 10
    assert frame_records("train", 40) != recaps


def test_eval_world_script_writes_json(tmp_path, capsys):
    import importlib.util
    import json

    from ltm import paths

    spec = importlib.util.spec_from_file_location(
        "eval_world", paths.root() / "experiments" / "eval_world.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    LTM(preset("tiny")).save(tmp_path / "m")
    out = tmp_path / "r.json"
    script.main(["--model", str(tmp_path / "m"), "--episodes", "2", "--n", "4",
                 "--unit-episodes", "10", "--max-bytes", "3", "--threads", "1", "--quiet",
                 "--out", str(out)])
    report = json.loads(out.read_text())
    assert set(report["results"]) == {"train", "heldout"}
    assert report["seeds"]["world"] == 1000 and report["versions"]["torch"]
    assert "codec.exact_en" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="config.json"):
        script.main(["--model", str(tmp_path)])


def test_distinct_frames_and_sample_ordered():
    records = list(world.generate(30, seed=5))
    thoughts = distinct_frames(records, None, ("en", "ru"))
    keys = [_key(t.frame) for t in thoughts]
    assert len(set(keys)) == len(keys) > 20  # one thought per frame
    assert all("en" in t.quotes and "ru" in t.quotes for t in thoughts)
    split = [_key(t.frame) for t in distinct_frames(records, "heldout", ("en",))]
    assert split and all(world.meaning_split(dict(k)) == "heldout" for k in split)
    items = list(range(50))
    a = sample_ordered(items, 10, "s")
    assert a == sorted(a) and len(set(a)) == 10 and a == sample_ordered(items, 10, "s")
    assert a != sample_ordered(items, 10, "t")
    assert sample_ordered(items[:5], 10, "s") == items[:5]  # all of them when fewer


def test_unit_metrics_count_occurrences_not_frames(data):
    """Units are drawn as they occur: a frame thought twice can be drawn twice, so the
    draw holds repeats where the distinct-frame metrics hold none; the oracle says every
    drawn quote back and across languages, and the same seed draws the same units."""
    train, heldout = data
    oracle = Oracle(train + heldout)
    res = unit_metrics(oracle, train, n=10_000, seed=1, progress=False)
    occurrences = sum(len(r.thoughts) for r in train)
    assert res["n"] == occurrences > res["n_distinct"]  # all of them, repeats included
    assert res["n_distinct"] == len(distinct_frames(train, None, ("en", "ru")))
    assert all(res[k] == 1.0 for k in ("exact_en", "exact_ru", "en_to_ru", "ru_to_en"))
    everything = unit_metrics(oracle, heldout, n=10_000, split="heldout", progress=False)
    kept = [t for r in heldout for t in r.thoughts if world.meaning_split(t.frame) == "heldout"]
    assert everything["n"] == len(kept) < sum(len(r.thoughts) for r in heldout)  # the split's
    held = unit_metrics(oracle, heldout, n=5, seed=2, split="heldout", progress=False)
    assert held["n"] == 5 and held == unit_metrics(oracle, heldout, n=5, seed=2,
                                                   split="heldout", progress=False)
    assert unit_metrics(oracle, [], n=5, progress=False) == {"n": 0, "n_distinct": 0}


class FirstPhrasing(Oracle):
    """The oracle, but it always says phrasing 0: the frame is right, the wording is not."""

    def decode(self, vectors, lang, max_bytes=None):
        F = len(self.frames)
        return [world.render(dict(self.frames[int(v[:F].argmax())]), tag, 0)
                for v, tag in zip(vectors, lang, strict=True)]


def test_unit_metrics_draw_phrasings_and_weigh_by_occurrence(data):
    """Quotes are drawn among the phrasings, not phrasing 0 alone, so a model that says
    every meaning in one wording fails ``exact`` but not the cross-language rows; and a
    frame thought many times is drawn many times."""
    train, _ = data
    res = unit_metrics(FirstPhrasing(train), train, n=10_000, seed=1, progress=False)
    assert all(0.0 < res[f"exact_{lang}"] < 1.0 for lang in ("en", "ru")), res
    assert res["en_to_ru"] == res["ru_to_en"] == 1.0
    often = Record(id="often", source="world", thoughts=(train[0].thoughts[0],) * 50)
    once = [t for t in distinct_frames(train, None, ("en", "ru"))
            if t.frame != often.thoughts[0].frame][:50]
    records = [often, Record(id="once", source="world", thoughts=tuple(once))]
    res = unit_metrics(Oracle(train), records, n=20, seed=0, progress=False)
    assert res["n"] == 20 and res["n_distinct"] <= 15  # about half the draws are one frame
    assert res["exact_en"] == res["en_to_ru"] == 1.0


def test_readings_add_reranked_decoding_groups(data):
    train, heldout = data
    torch.manual_seed(0)
    model = LTM(preset("tiny"))
    kw = dict(n=6, n_episodes=2, max_bytes=4, batch_size=8, progress=False)
    plain = evaluate_world(model, train, heldout, **kw)
    res = evaluate_world(model, train, heldout, readings=2, **kw)
    for side in ("train", "heldout"):
        assert "codec_reranked" not in plain[side]
        for group in ("codec", "cross_language", "units"):
            assert set(res[side][f"{group}_reranked"]) == set(res[side][group])
            assert res[side][group] == plain[side][group]  # the greedy rows stay
