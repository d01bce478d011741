"""Training: data batches, the two-stage LightningModule, ``ltm fit/generate/encode``.

The golden loss curve (``tests/golden/tiny_loss.json``) is the per-step ``train/loss``
of ``ltm fit --preset tiny --codec-steps 12 --core-steps 8`` on ``world.generate(40,
seed=0)``, with one torch thread. It checks determinism on one machine (to 1e-4
relative), not numerics across machines. After a deliberate change, regenerate it with

    LTM_REGEN_GOLDEN=1 /work/venv/bin/python -m pytest tests/test_train.py -k golden
"""

import csv
import dataclasses
import itertools
import json
import os
import platform
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltm import lit as lit_module
from ltm.cli import main
from ltm.codec import meaning_only
from ltm.config import TrainConfig
from ltm.data import (
    BUCKET,
    PVQDataModule,
    collate_episodes,
    collate_groups,
    is_validation,
    thought_groups,
)
from ltm.lit import LitLTM
from ltm.model import LTM
from ltm.presets import preset
from ltm.pvq import walk, world
from ltm.train import fit

torch.set_num_threads(1)  # deterministic, and 4x faster than 2 threads on a busy box
GOLDEN = Path(__file__).parent / "golden" / "tiny_loss.json"
STEPS = ["--codec-steps", "12", "--core-steps", "8"]


def short_tiny():
    cfg = preset("tiny")
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, codec_steps=12,
                                                              core_steps=8))


def losses(run: Path) -> dict[int, float]:
    """Per-step ``train/loss`` from every CSV log of a run directory."""
    out = {}
    for f in sorted(run.glob("logs/version_*/metrics.csv")):
        for row in csv.DictReader(f.open()):
            if row.get("train/loss"):
                out[int(row["step"])] = float(row["train/loss"])
    return out



@pytest.fixture(scope="module")
def run(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "tiny"
    assert main(["fit", "--preset", "tiny", "--data", str(data), "--out", str(out),
                 *STEPS]) == 0
    return out


def test_fit_end_to_end(run):
    model = LTM.load(run)
    assert model.config == short_tiny()
    summary = json.loads((run / "metrics.json").read_text())
    assert summary["steps"] == 20 and summary["switch_step"] == 12
    assert summary["threads"] == torch.get_num_threads()  # the model card reads them
    assert summary["machine"] == platform.machine()
    assert {"val/byte_acc", "val/exact", "val/recall1", "val/next_cos"} <= set(summary["val"])
    assert (run / "checkpoints" / "last.ckpt").is_file()
    rows = list(csv.DictReader(next(run.glob("logs/version_*/metrics.csv")).open()))
    stages = {float(r["train/stage"]) for r in rows if r.get("train/stage")}
    assert stages == {0.0, 1.0}  # both stages ran


def test_golden_loss_curve(run):
    got = losses(run)
    assert sorted(got) == list(range(20))
    curve = [got[k] for k in range(20)]
    if os.environ.get("LTM_REGEN_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps({"command": "LTM_REGEN_GOLDEN=1 python -m pytest "
                                                 "tests/test_train.py -k golden",
                                      "train/loss": curve}, indent=2) + "\n")
    want = json.loads(GOLDEN.read_text())["train/loss"]
    np.testing.assert_allclose(curve, want, rtol=1e-4)


def test_the_same_commands_twice_give_identical_result_json(run, data, tmp_path):
    """Issue 8: ``ltm fit`` then ``ltm eval --out`` run twice give the same weights,
    byte for byte, and the same result JSON, byte for byte (timings live apart)."""
    again = tmp_path / "again"
    assert main(["fit", "--preset", "tiny", "--data", str(data), "--out", str(again),
                 *STEPS]) == 0
    assert (again / "model.safetensors").read_bytes() == (run / "model.safetensors").read_bytes()
    drop = lambda d: {k: v for k, v in d.items() if k != "train_seconds"}  # noqa: E731
    assert drop(json.loads((again / "metrics.json").read_text())) == \
        drop(json.loads((run / "metrics.json").read_text()))
    texts = []
    for model in (run, again):
        link = tmp_path / "model"  # the same --model argument both times
        link.unlink(missing_ok=True)
        link.symlink_to(model)
        out = tmp_path / f"{model.name}.json"
        assert main(["eval", "--model", str(link), "--data", str(data), "--episodes", "2",
                     "--split", "all", "--n-retrieval", "20", "--samples", "2",
                     "--out", str(out)]) == 0
        assert "generated_bytes_per_s" in json.loads(out.with_suffix(".timing.json").read_text())
        texts.append(out.read_bytes())
    assert texts[0] == texts[1]
    assert "timing" not in json.loads(texts[0])


def test_resume_matches_an_uninterrupted_run(run, data, tmp_path):
    out = tmp_path / "cut"
    fit(short_tiny(), data, out, max_steps=10, progress=False)
    fit(short_tiny(), data, out, resume=True, progress=False)
    got, want = losses(out), losses(run)
    assert sorted(got) == list(range(20))
    np.testing.assert_allclose([got[k] for k in range(20)], [want[k] for k in range(20)],
                               rtol=1e-5)


KILLED_RUN = """
import dataclasses, sys, torch
torch.set_num_threads(1)
from ltm.presets import preset
from ltm.train import fit
cfg = preset("tiny")
cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, codec_steps=12,
                                                          core_steps=8, ckpt_every=3))
fit(cfg, sys.argv[1], sys.argv[2], resume=len(sys.argv) > 3, progress=False)
"""


def test_sigkill_then_resume_matches_an_uninterrupted_run(run, data, tmp_path):
    """Killed with SIGKILL mid-run (right after a checkpoint past step 10), then resumed:
    the per-step losses equal those of the uninterrupted run (ckpt_every does not change
    the computation)."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(data), str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = out / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if ckpt.exists() and _ckpt_step(ckpt) >= 9:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (out / "model.safetensors").exists()
    done = subprocess.run([sys.executable, "-c", KILLED_RUN, str(data), str(out), "resume"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    got, want = losses(out), losses(run)
    assert sorted(got) == list(range(20))
    np.testing.assert_allclose([got[k] for k in range(20)], [want[k] for k in range(20)],
                               rtol=1e-5)


def _ckpt_step(path: Path) -> int:
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True)["global_step"])
    except Exception:  # being replaced right now
        return -1


@given(cut=st.floats(0.0, 0.999), junk=st.binary(max_size=64))
@settings(max_examples=15, deadline=None)
def test_a_torn_or_tampered_checkpoint_is_refused_in_one_line(run, cut, junk, tmp_path_factory):
    from ltm.train import FitError, check_checkpoint

    good = (run / "checkpoints" / "last.ckpt").read_bytes()
    bad = tmp_path_factory.mktemp("ckpt") / "last.ckpt"
    bad.write_bytes(good[: int(len(good) * cut)] + junk)
    with pytest.raises(FitError) as e:
        check_checkpoint(bad)
    assert len(str(e.value).splitlines()) == 1 and str(bad) in str(e.value)
    check_checkpoint(run / "checkpoints" / "last.ckpt")  # the good one passes


def test_a_pickled_object_in_a_checkpoint_is_refused(tmp_path):
    from ltm.train import FitError, check_checkpoint

    path = tmp_path / "last.ckpt"
    torch.save({"state_dict": {}, "optimizer_states": [], "global_step": 1,
                "evil": __import__("fractions").Fraction(1, 3)}, path)
    with pytest.raises(FitError, match="cannot resume, not a readable checkpoint"):
        check_checkpoint(path)
    torch.save({"state_dict": {}}, path)
    with pytest.raises(FitError, match="lacks optimizer_states, global_step"):
        check_checkpoint(path)


def test_generate_and_encode(run, tmp_path, capsys):
    assert main(["generate", "--model", str(run), "Anna is in the garden. Ivan left.",
                 "--thoughts", "3", "--lang", "ru", "--seed", "1"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert main(["generate", "--model", str(run), "Anna is in the garden.", "--thoughts", "2",
                 "--readings", "4"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    text = tmp_path / "t.txt"
    text.write_text("Anna is in the garden. Ivan went home. The cat sleeps.")
    assert main(["encode", "--model", str(run), str(text), "--out", str(tmp_path / "z.npy"),
                 "--k", "2"]) == 0
    z = np.load(tmp_path / "z.npy")
    assert z.shape == (3, preset("tiny").codec.dim)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-5)
    assert len(capsys.readouterr().out.splitlines()) == 3 * (1 + 2)


@pytest.mark.parametrize("argv,message", [
    (["fit", "--preset", "tiny", "--data", "nope.pvq.jsonl", "--out", "{tmp}/o"], "no such"),
    (["fit", "--preset", "huge", "--data", "{data}", "--out", "{tmp}/o"], "unknown preset"),
    (["fit", "--preset", "tiny", "--data", "{data}", "--out", "{run}", "--seed", "5"],
     "different config"),
    (["fit", "--preset", "tiny", "--data", "{data}", "--out", "{tmp}/o", "--resume"],
     "nothing to resume"),
    (["fit", "--preset", "tiny", "--data", "{data}", "--out", "{tmp}/o", "--strategy",
      "bogus"], "invalid strategy"),
    (["fit", "--preset", "tiny", "--data", "{data}", "--out", "{tmp}/o", "--set",
      "bogus=1"], "expected FIELD=VALUE"),
    (["fit", "--preset", "tiny", "--data", "{data}", "--out", "{tmp}/o", "--set",
      "teacher_share=half"], "'half' is not a float"),
    (["fit", "--preset", "tiny", "--data", "{data}", "--out", "{tmp}/o", "--set",
      "field.bogus=1"], "expected field.FIELD=VALUE"),
    (["fit", "--preset", "tiny", "--data", "{data}", "--out", "{tmp}/o", "--set",
      "teacher_share=1"], "teacher_share must be in [0, 1)"),
    (["generate", "--model", "{tmp}", "Hi."], "no model"),
])
def test_errors_are_one_line(argv, message, run, data, tmp_path, capsys):
    argv = [a.format(tmp=tmp_path, data=data, run=run) for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("ltm: ") and message in err and "\n" not in err


def test_generate_and_encode_take_bad_text_in_one_line(run, tmp_path, capsys):
    for text in ("", "   \n\t "):
        assert main(["generate", "--model", str(run), text]) == 1
        err = capsys.readouterr().err.strip()
        assert err == "ltm: the prompt is empty (no sentence to think from)"
    huge = "Anna left. " * 5000  # 5,000 sentences: read the last 256, not all
    assert main(["generate", "--model", str(run), huge, "--thoughts", "1"]) == 0
    captured = capsys.readouterr()
    assert "reading the last 256" in captured.err and len(captured.out.splitlines()) == 1
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    for path, message in ((binary, "looks binary"), (empty, "no units to encode"),
                          (tmp_path / "missing.txt", "missing.txt")):
        assert main(["encode", "--model", str(run), str(path)]) == 1
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err, err
    odd = tmp_path / "odd.txt"  # invalid UTF-8 and control bytes, but no NUL: replaced
    odd.write_bytes(b"Anna \xff\xfe left.\x07 Ivan came.")
    assert main(["encode", "--model", str(run), str(odd), "--out", str(tmp_path / "o.npy")]) == 0


@pytest.mark.parametrize("flag", ["--thoughts", "--readings"])
def test_bad_thoughts_or_readings_is_a_usage_error(flag, run, capsys):
    with pytest.raises(SystemExit) as e:
        main(["generate", "--model", str(run), "Hi.", flag, "0"])
    assert e.value.code == 2 and flag in capsys.readouterr().err


def test_batches_are_a_function_of_the_step(data):
    dm = PVQDataModule(data, preset("tiny"))
    dm.setup()
    a, b = dm.train_batch(7), dm.train_batch(7)
    for part in ("codec", "core"):
        for key in a[part]:
            torch.testing.assert_close(a[part][key], b[part][key])
    assert not torch.equal(dm.train_batch(8)["codec"]["ids"], a["codec"]["ids"])


def test_codec_batches_are_length_buckets(tmp_path):
    path = tmp_path / "w.pvq.jsonl"
    world.write_world(path, 120, seed=0)
    dm = PVQDataModule(path, preset("tiny"))
    dm.setup()
    G = preset("tiny").train.codec_batch
    assert len(dm.groups) >= BUCKET * G
    block = [dm.codec_groups(k) for k in range(BUCKET)]
    keys = {tuple(sorted(g.items())) for batch in block for g in batch}
    assert len(keys) == BUCKET * G  # a block never repeats a group
    longest = [max(len(q) for g in b for qs in g.values() for q in qs) for b in block]
    shortest = [min(max(len(q) for qs in g.values() for q in qs) for g in b) for b in block]
    spans = sorted(zip(shortest, longest, strict=True))
    assert all(hi <= nxt_lo for (_, hi), (nxt_lo, _) in itertools.pairwise(spans))  # disjoint
    assert dm.codec_groups(BUCKET) != block[0]


def test_groups_and_episodes_collate():
    cfg = preset("tiny")
    recs = list(world.generate(3, seed=1))
    groups = thought_groups(recs, cfg.codec.langs)
    assert len({tuple(sorted(g.items())) for g in groups}) == len(groups)
    b = collate_groups(groups[:5], cfg, random.Random(0))
    assert b["ids"].shape[0] == 10 and b["group"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert len(b["cross_rows"]) == 10
    canon = groups[0]["ru"][0].encode()  # row 0 is English; its cross target is canonical ru
    assert bytes(b["cross_ids"][0, : b["cross_lengths"][0]].tolist()) == canon
    e = collate_episodes([[groups[0], groups[1]], [groups[2]]], cfg, random.Random(0))
    assert e["mask"].tolist() == [[True, True], [True, False]] and e["ids"].shape[0] == 3
    assert is_validation("x", 1.0 - 1e-12) and not is_validation("x", 0.0)


def test_meaning_only_is_unit_norm_without_surface():
    cfg = preset("tiny").codec
    z = LTM(preset("tiny")).encode(["Anna left.", "Иван ушёл."])
    m = meaning_only(z, cfg)
    torch.testing.assert_close(m.norm(dim=-1), torch.ones(2))
    assert m[:, cfg.meaning_dim:].abs().max() == 0


def test_overfits_one_batch(data):
    cfg = preset("tiny")
    dm = PVQDataModule(data, cfg)
    dm.setup()
    batch = collate_groups(dm.groups[:3], cfg, None)
    torch.manual_seed(0)
    lit = LitLTM(cfg)
    optim = lit.configure_optimizers()
    opt, sched = optim["optimizer"], optim["lr_scheduler"]["scheduler"]
    g = torch.Generator().manual_seed(0)
    for _ in range(120):
        terms = lit.codec_losses(batch, g)
        loss = terms["rec"] + terms["cross"] + 0.1 * terms["align"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    assert terms["rec"].item() < 0.05 and terms["cross"].item() < 0.05, terms


def test_train_config_validation():
    with pytest.raises(ValueError, match="lr_encoder"):
        TrainConfig(lr_encoder=-1.0)
    with pytest.raises(ValueError, match="codec_share"):
        TrainConfig(codec_share=2.0)
    with pytest.raises(ValueError, match="codec_steps"):
        TrainConfig(codec_steps=0, core_steps=0)
    with pytest.raises(ValueError, match=r"byte_dropout must be in \[0, 1\)"):
        TrainConfig(byte_dropout=1.0)


def test_byte_dropout_hides_decoder_input_bytes_in_the_codec_terms(data, monkeypatch):
    """With ``byte_dropout`` the codec's byte terms read hidden bytes (so their losses
    move) and score the whole targets, while alignment, which never meets the decoder,
    stays the same."""
    cfg = preset("tiny")
    dm = PVQDataModule(data, cfg)
    dm.setup()
    batch = collate_groups(dm.groups[:8], cfg, None)

    def terms(p):
        torch.manual_seed(0)
        lit = LitLTM(dataclasses.replace(cfg, train=dataclasses.replace(cfg.train,
                                                                         byte_dropout=p)))
        with torch.no_grad():
            return lit.codec_losses(batch, torch.Generator().manual_seed(0))

    whole, hidden = terms(0.0), terms(0.5)
    assert set(whole) == set(hidden) >= {"rec", "cross", "align"}
    for name in ("rec", "cross"):
        assert hidden[name].item() != whole[name].item(), name
    torch.testing.assert_close(hidden["align"], whole["align"])
    seen = []  # the targets each byte term is scored on
    monkeypatch.setattr(lit_module, "reconstruction_loss",
                        lambda logits, targets: seen.append(targets) or logits.sum() * 0)
    terms(0.5)
    with_hidden = list(seen)
    seen.clear()
    terms(0.0)
    assert len(seen) == len(with_hidden) >= 2
    for a, b in zip(seen, with_hidden, strict=True):
        assert torch.equal(a, b)  # the targets stay whole


class _Poison(__import__("lightning").Callback):
    """Turns one weight into NaN at the start of step ``at``."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.at:
            with torch.no_grad():
                next(pl_module.parameters()).fill_(float("nan"))


@pytest.mark.parametrize("kind", ["ltm", "baseline"])
def test_nan_loss_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(
        kind, data, tmp_path):
    from ltm.baseline import baseline_preset

    cfg = short_tiny() if kind == "ltm" else baseline_preset("tiny")
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(
        cfg.train, codec_steps=12, core_steps=8, ckpt_every=4))
    out = tmp_path / kind
    with pytest.raises(FloatingPointError, match=r"loss is nan at step 6.*last checkpoint"):
        fit(cfg, data, out, progress=False, callbacks=[_Poison(6)])
    ckpt = torch.load(out / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert ckpt["global_step"] == 4
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values()
               if v.is_floating_point())
    assert not (out / "model.safetensors").exists()


def test_a_core_trained_on_a_given_codec_keeps_it_and_can_drop_the_memory(run, data, tmp_path,
                                                                         capsys):
    """``fit(codec=DIR)`` with ``codec_steps=0`` trains only the core (E4, E5): the
    encoder and decoder come out exactly as they went in; ``memory_slots=0`` works."""
    cfg = short_tiny()
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, codec_steps=0,
                                                             core_steps=4),
                              field=dataclasses.replace(cfg.field, memory_slots=0, head="mse"))
    model, _ = fit(cfg, data, tmp_path / "core", codec=run, progress=False)
    base = LTM.load(run).state_dict()
    got = model.state_dict()
    shared = [k for k in base if k.startswith(("encoder.", "decoder."))]
    assert shared and all(torch.equal(got[k], base[k]) for k in shared)
    assert model.core.memory is None and not any("memory" in k for k in got)
    assert LTM.load(tmp_path / "core").generate_units(["Anna is here."], 1, max_bytes=8)
    assert main(["fit", "--preset", "tiny", "--data", str(data), "--out", str(tmp_path / "x"),
                 "--codec", str(run)]) == 1  # codec steps left at the preset's
    assert "set codec_steps to 0" in capsys.readouterr().err


def test_a_run_stored_before_a_new_config_field_still_matches(tmp_path):
    """A config.json written before a field existed (here the baseline's n-grams and
    the codec's) compares equal when the new field holds its default, and still differs
    when it does not."""
    from ltm.baseline_config import baseline_preset
    from ltm.train import FitError, _check_out

    for config in (short_tiny(), baseline_preset("tiny")):
        d = json.loads(json.dumps(config.to_dict()))
        part = "codec" if "codec" in d else "model"
        old = json.loads(json.dumps(d))
        del old[part]["ngram_max"], old[part]["ngram_buckets"]
        out = tmp_path / part
        out.mkdir()
        (out / "config.json").write_text(json.dumps(old))
        _check_out(d, out, resume=False)  # no error: the missing fields are defaults
        d[part]["ngram_max"] = 4
        with pytest.raises(FitError, match=f"differs in {part}.ngram_max"):
            _check_out(d, out, resume=False)


def test_a_compiled_run_follows_the_eager_golden_curve_and_saves_the_same_names(
        data, tmp_path):
    out = tmp_path / "compiled"
    assert main(["fit", "--preset", "tiny", "--data", str(data), "--out", str(out),
                 "--codec-steps", "12", "--core-steps", "0", "--set", "compile=true"]) == 0
    got = losses(out)
    want = json.loads(GOLDEN.read_text())["train/loss"]
    np.testing.assert_allclose([got[k] for k in range(12)], want[:12], rtol=1e-3)  # codec stage
    model = LTM.load(out)
    assert model.config.train.compile
    assert sorted(model.state_dict()) == sorted(LTM(short_tiny()).state_dict())


def test_codec_occurrence_draws_frequent_groups_more_and_keeps_groups_distinct(tmp_path):
    """With ``codec_occurrence`` the groups a reader meets often (the world's weather)
    are drawn in most blocks, a block still never repeats a group, and 0 leaves the
    uniform draw exactly as it was."""
    from ltm.data import bucketed_rows, occurrences

    path = tmp_path / "w.pvq.jsonl"
    world.write_world(path, 120, seed=0)
    cfg = preset("tiny")
    uniform = PVQDataModule(path, cfg)
    uniform.setup()
    assert uniform.counts is None
    weighted = PVQDataModule(path, dataclasses.replace(cfg, train=dataclasses.replace(
        cfg.train, codec_occurrence=0.5)))
    weighted.setup()
    counts = weighted.counts
    assert min(counts) >= 1 and len(counts) == len(weighted.groups)
    recs = list(world.generate(3, seed=1))
    groups = thought_groups(recs, cfg.codec.langs)
    assert occurrences(recs + recs, groups, cfg.codec.langs) == [
        2 * n for n in occurrences(recs, groups, cfg.codec.langs)]
    assert sum(occurrences(recs, groups, cfg.codec.langs)) == sum(
        1 for r in recs for _ in walk(r.thoughts))
    heavy = max(range(len(counts)), key=counts.__getitem__)
    G = cfg.train.codec_batch

    def blocks_with_heavy(dm):
        return sum(any(i == heavy for k in range(b * BUCKET, (b + 1) * BUCKET)
                       for i in dm.codec_rows(k)) for b in range(20))

    assert blocks_with_heavy(weighted) == 20 > blocks_with_heavy(uniform)
    block = [i for k in range(BUCKET) for i in weighted.codec_rows(k)]
    assert len(set(block)) == len(block) == BUCKET * G
    same = bucketed_rows(uniform.groups, G, "k", 3, counts, 0.0)
    assert same == bucketed_rows(uniform.groups, G, "k", 3)
    with pytest.raises(ValueError, match="2 weights for"):
        bucketed_rows(uniform.groups, G, "k", 3, [1, 2], 0.5)
    with pytest.raises(ValueError, match="codec_occurrence must be in"):
        dataclasses.replace(cfg.train, codec_occurrence=1.5)


def test_codec_twins_bring_each_chosen_groups_twin_into_its_batch(tmp_path):
    """With ``codec_twins`` a share of a codec batch's groups come with their world
    twins (train side only), the batch keeps its size with distinct groups, 0 leaves the
    batch as it was, and data without world frames get a one-line error."""
    from ltm.pvq import write_jsonl
    from ltm.worldaids import group_key, with_twins

    path = tmp_path / "w.pvq.jsonl"
    world.write_world(path, 120, seed=0)
    cfg = preset("tiny")
    G = cfg.train.codec_batch
    plain = PVQDataModule(path, cfg)
    plain.setup()
    assert plain.twins == []
    tw = PVQDataModule(path, dataclasses.replace(cfg, train=dataclasses.replace(
        cfg.train, codec_twins=1.0)))
    tw.setup()
    assert len(tw.twins) == len(tw.groups) and any(t is not None for t in tw.twins)
    for g, t in zip(tw.frames, tw.twins, strict=True):
        if t is not None:
            assert t[1] == world.twin(g) and world.meaning_split(t[1]) == "train"
            assert t[0]["en"] == tuple(world.phrasings(t[1], "en"))
    paired, halves = 0, 0
    for step in range(8):
        rows = tw.codec_rows(step)
        groups, frames = with_twins(rows, tw.groups, tw.twins, 1.0, tw.frames)
        assert len(groups) == len(frames) == G and len({group_key(g) for g in groups}) == G
        present = {group_key(g) for g in groups}
        pairs = [f for f in frames if world.twin(f) is not None
                 and group_key({x: tuple(world.phrasings(world.twin(f), x))
                                for x in cfg.codec.langs}) in present]
        paired += len(pairs)
        assert with_twins(rows, tw.groups, tw.twins, 0.0, tw.frames) == (
            [tw.groups[i] for i in rows], [tw.frames[i] for i in rows])
        half = with_twins(rows, tw.groups, tw.twins, 0.5, tw.frames)[0]
        added = sum(g not in tw.codec_groups(step) for g in half)
        assert len(half) == G and added <= round(G / 4)
        halves += added
    assert paired >= 8 and halves >= 1  # twins do meet their frames in a batch
    step = next(k for k in range(4 * BUCKET) if with_twins(
        tw.codec_rows(k), tw.groups, tw.twins, 1.0, tw.frames)[0] != tw.codec_groups(k))
    b = tw.train_batch(step)["codec"]
    assert int(b["group"].max()) == G - 1
    joined = with_twins(tw.codec_rows(step), tw.groups, tw.twins, 1.0, tw.frames)[0]
    twin_quotes = {q for g in joined if g not in tw.codec_groups(step)
                   for qs in g.values() for q in qs}
    said = [bytes(r[:n].tolist()).decode() for r, n in zip(b["ids"], b["lengths"], strict=True)]
    assert any(q in twin_quotes for q in said)  # train_batch takes the twins too
    bare = tmp_path / "bare.pvq.jsonl"
    write_jsonl(bare, [dataclasses.replace(r, thoughts=tuple(
        dataclasses.replace(t, frame=None, state=None, determined=False) for t in r.thoughts))
        for r in world.generate(20, seed=0)])
    with pytest.raises(ValueError, match="bare.pvq.jsonl: codec_twins .*none has a frame"):
        PVQDataModule(bare, tw.config).setup()
    with pytest.raises(ValueError, match="codec_twins must be in"):
        dataclasses.replace(cfg.train, codec_twins=1.5)
