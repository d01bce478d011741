"""The harness (:mod:`ltm.eval`, ``ltm eval``): known answers, the same calls on all
three kinds of model, and one-line errors for wrong models and data."""

import json
import math

import pytest
import torch

from ltm import eval as harness
from ltm.baseline import ByteLM, baseline_preset
from ltm.cli import main
from ltm.codec import to_bytes
from ltm.hybrid import HybridLM
from ltm.model import LTM
from ltm.presets import preset
from ltm.pvq import Record, Thought, iter_records, world
from ltm.pvq.io import write_jsonl

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("world") / "w.pvq.jsonl"
    world.write_world(path, 12, seed=3)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """An untrained model of each kind, saved (the harness loads from directories)."""
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("models")
    ltm = LTM(preset("tiny"))
    ltm.save(root / "ltm")
    ByteLM(baseline_preset("tiny")).save(root / "baseline")
    HybridLM.from_ltm(baseline_preset("tiny"), root / "ltm").save(root / "hybrid")
    return root


KW = dict(episodes=3, split="all", n_retrieval=20, samples=2, continuations=2, max_bytes=12,
          progress=False)


@pytest.mark.parametrize("kind", harness.KINDS)
def test_every_kind_answers_the_same_calls(kind, models, data):
    model = harness.load_model(models / kind)
    assert harness.kind_of(model) == kind and not model.training
    r = harness.evaluate(model, data, **KW)
    assert r["kind"] == kind and r["n_episodes"] == 3
    assert r["bits_per_byte"] > 0 and r["n_bytes"] > 0
    assert 0 <= r["next"]["rouge_l"] <= 1 and 0 <= r["next"]["parse"] <= 1
    assert set(r["retrieval"]) == {"en_ru", "paraphrase_en", "paraphrase_ru"}
    assert r["cost"]["params"] == sum(p.numel() for p in model.parameters())
    assert r["cost"]["generate_flops_per_byte"] > 0
    assert "| bits per byte |" in harness.format_table(r)
    again = harness.evaluate(harness.load_model(models / kind), data, **KW)
    for k in ("bits_per_byte", "next", "diversity", "retrieval"):  # seeded: same numbers
        assert again[k] == r[k]


def test_uniform_baseline_scores_exactly_log_vocab(models, data):
    model = harness.load_model(models / "baseline")
    torch.nn.init.zeros_(model.out.weight)
    r = harness.evaluate(model, data, **KW)
    eps = harness.eval_episodes(list(iter_records(data)), ["en", "ru"], split="all", n=3)
    units = [to_bytes(t.quotes[lang][0], 128) for rec, lang in eps for t in rec.thoughts[1:]]
    n, V = sum(map(len, units)), model.config.vocab
    want = (n + len(units)) * math.log(V) / (n * math.log(2))
    assert r["n_bytes"] == n
    assert r["bits_per_byte"] == pytest.approx(want, rel=1e-5)


class Oracle(torch.nn.Module):
    """Knows every episode: says the true next unit and embeds a unit by its meaning."""

    kind = "baseline"

    def __init__(self, records, cfg):
        super().__init__()
        self.config, self.w = cfg, torch.nn.Parameter(torch.zeros(1))
        self.next, self.meaning, ids = {}, {}, {}
        for r in records:
            for lang in ("en", "ru"):
                units = [t.quotes[lang][0] for t in r.thoughts]
                for t in range(1, len(units)):
                    self.next[tuple(units[:t])] = units[t]
            for t in r.thoughts:  # every quote of a meaning gets that meaning's id
                mid = ids.setdefault(t.quotes["en"][0], len(ids))
                self.meaning.update({q: mid for quotes in t.quotes.values() for q in quotes})

    def score_units(self, units, lang=None):
        return [float(len(to_bytes(u, 128)) * math.log(256)) for u in units]

    def generate_units(self, units, n, **kw):
        return [self.next.get(tuple(units), "").encode()][:n]

    def generate_batch(self, episodes, n, **kw):
        return [self.generate_units(units, n) for units in episodes]

    def embed_units(self, units):
        ids = torch.tensor([self.meaning[u] for u in units])
        return torch.nn.functional.one_hot(ids, max(self.meaning.values()) + 1).float()


def test_an_oracle_gets_every_rate_right(models, data):
    records = list(iter_records(data))
    cfg = harness.load_model(models / "baseline").config
    r = harness.evaluate(Oracle(records, cfg), data, **KW)
    assert r["bits_per_byte"] == pytest.approx(8.0)
    assert r["next"]["rouge_l"] == 1.0 and r["next"]["parse"] == 1.0
    assert r["next"]["legal"] == 1.0 and r["next"]["exact_determined"] == 1.0
    for name, got in r["retrieval"].items():
        assert got["recall1"] == 1.0, name
    only = harness.evaluate(Oracle(records, cfg), data, **{**KW, "retrieval_tasks": ["en_ru"]})
    assert set(only["retrieval"]) == {"en_ru"}
    assert only["retrieval"]["en_ru"] == r["retrieval"]["en_ru"]
    assert only["bits_per_byte"] == r["bits_per_byte"]


def test_retrieval_pairs_of_real_corpora_shapes():
    recs = [Record(id=f"r{i}", source="x", thoughts=(
        Thought(quotes={"en": (f"a{i}", f"b{i}"), "ru": (f"в{i}",)}),)) for i in range(30)]
    pairs = harness.retrieval_pairs(recs, n=10, seed=0)
    assert set(pairs) == {"paraphrase_en", "en_ru"}
    q, k = pairs["paraphrase_en"]
    assert len(q) == 10 and all(a[1:] == b[1:] for a, b in zip(q, k, strict=True))


def test_errors_are_one_line(models, data, tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text(json.dumps({"kind": "gpt"}))
    (bad / "model.safetensors").write_bytes(b"x")
    torn = tmp_path / "torn"
    torn.mkdir()
    (torn / "config.json").write_text((models / "ltm" / "config.json").read_text())
    (torn / "model.safetensors").write_bytes((models / "ltm" / "model.safetensors")
                                             .read_bytes()[:1000])
    german = tmp_path / "de.pvq.jsonl"
    write_jsonl(german, [Record(id=f"d{i}", source="hand", thoughts=(
        Thought(quotes={"de": ("Anna ist hier.",)}), Thought(quotes={"de": ("Sie geht.",)})))
        for i in range(3)])
    cases = [(["--model", str(tmp_path)], "not a model directory"),
             (["--model", str(bad)], "unknown model kind 'gpt'"),
             (["--model", str(torn)], "not a readable safetensors file"),
             (["--model", str(models / "ltm"), "--data", str(tmp_path / "nope.jsonl")],
              "no such data file")]
    for argv, message in cases:
        argv = ["eval", *argv] + ([] if "--data" in argv else ["--data", str(data)])
        assert main(argv) == 1
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
    ltm = harness.load_model(models / "ltm")
    with pytest.raises(harness.EvalError, match="no episode"):  # an LTM of en+ru, data in de
        harness.evaluate(ltm, german, **KW)


def test_cli_writes_json_and_prints_a_table(models, data, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["eval", "--model", str(models / "ltm"), "--data", str(data), "--episodes", "2",
                 "--split", "all", "--n-retrieval", "10", "--samples", "1",
                 "--out", str(out)]) == 0
    assert "| bits per byte |" in capsys.readouterr().out
    r = json.loads(out.read_text())
    assert r["kind"] == "ltm" and r["n_episodes"] == 2
