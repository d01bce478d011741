"""The teacher code (:mod:`ltm.teacher`) and its stage in training: the code binds roles
by construction, the batches carry each row's phrasing, and ``fit`` runs teacher ->
codec (decoder frozen) -> core, resumably, shipping no teacher weights."""

import csv
import dataclasses
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from ltm.codec import meaning_part
from ltm.config import TrainConfig
from ltm.data import PVQDataModule
from ltm.lit import LitLTM
from ltm.presets import preset
from ltm.pvq import world
from ltm.pvq.io import write_jsonl
from ltm.roles import build_vocab, role_targets
from ltm.teacher import TeacherCode, distill_loss, framed
from ltm.train import LAST, FitError, fit

torch.set_num_threads(1)

FRAMES = [{"act": "give", "agent": "anna", "recipient": "oleg", "object": "map"},
          {"act": "give", "agent": "oleg", "recipient": "anna", "object": "map"},
          {"act": "be_at", "agent": "oleg", "place": "park"}]


def teacher_tiny(share: float = 0.5, codec_steps: int = 8, core_steps: int = 2):
    cfg = preset("tiny")
    return dataclasses.replace(cfg, train=dataclasses.replace(
        cfg.train, codec_steps=codec_steps, core_steps=core_steps, teacher_share=share,
        warmup_steps=2, ckpt_every=2))



def test_the_code_is_on_the_field_and_binds_who_did_what_to_whom():
    cfg = preset("tiny").codec
    vocab = build_vocab(FRAMES)
    code = TeacherCode(cfg, vocab, phrasings=3)
    roles = role_targets(FRAMES, vocab)
    z = code(roles, torch.tensor([0, 0, 0]))  # (3, Z)
    assert torch.allclose(z.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert torch.allclose(z[:, cfg.meaning_dim:].norm(dim=-1),
                          torch.full((3,), cfg.surface_norm), atol=1e-5)
    # the same fillers in swapped roles give another thought
    assert (meaning_part(z[0], cfg.meaning_dim) - meaning_part(z[1], cfg.meaning_dim)
            ).norm() > 0.1
    # the phrasing moves only the surface part; past the last one it takes the last
    w = code(roles, torch.tensor([2, 1, 7]))
    assert torch.equal(w[:, :cfg.meaning_dim], z[:, :cfg.meaning_dim])
    assert not torch.allclose(w[:, cfg.meaning_dim:], z[:, cfg.meaning_dim:])
    assert torch.equal(w[2], code(roles[2:], torch.tensor([2]))[0])
    # an absent role adds nothing: class 0 is the zero vector
    assert all(int(torch.count_nonzero(e.weight[0].detach())) == 0 for e in code.roles)
    with pytest.raises(ValueError, match="no frames"):
        TeacherCode(cfg, {}, 3)


def test_framed_rows_and_the_distill_loss():
    vocab = build_vocab(FRAMES[:1])
    roles = role_targets([FRAMES[0], None, FRAMES[2]], vocab)  # a frameless row, unseen fillers
    assert framed(roles).tolist() == [True, False, False]
    cfg = preset("tiny").codec
    code = TeacherCode(cfg, build_vocab(FRAMES), 2)
    t = code(role_targets(FRAMES, build_vocab(FRAMES)), torch.tensor([0, 1, 0]))
    assert float(distill_loss(t, t, cfg)) == pytest.approx(0.0, abs=1e-6)
    z = torch.randn_like(t, requires_grad=True)
    loss = distill_loss(z, t.detach(), cfg)
    loss.backward()
    assert float(loss) > 0.1 and z.grad.abs().sum() > 0


def test_batches_name_the_phrasing_of_every_row(data):
    dm = PVQDataModule(data, teacher_tiny())
    dm.setup()
    assert dm.phrasings == 3 and "agent" in dm.roles
    b = dm.train_batch(5)["codec"]
    groups = dm.codec_groups(5)
    langs = {dm.config.codec.lang_id(x): x for x in dm.config.codec.langs}
    for row in range(len(b["ids"])):
        g, lang = groups[b["group"][row]], langs[int(b["lang"][row])]
        text = bytes(b["ids"][row, : b["lengths"][row]].tolist()).decode()
        assert g[lang][b["phrasing"][row]] == text
    assert framed(b["roles"]).all()  # the world frames every thought


def _log(run) -> list[dict]:
    rows = []
    for f in sorted(run.glob("logs/version_*/metrics.csv")):
        rows += [r for r in csv.DictReader(f.open()) if r.get("train/loss")]
    return sorted(rows, key=lambda r: int(r["step"]))


def _part(state: dict, prefix: str) -> dict:
    return {k: v for k, v in state.items() if k.startswith(prefix)}


def test_fit_runs_teacher_then_codec_with_the_decoder_frozen_then_core(data, tmp_path):
    cfg = teacher_tiny()
    cut = tmp_path / "cut"
    fit(cfg, data, cut, max_steps=3, progress=False)  # inside the teacher stage
    early = torch.load(cut / LAST, weights_only=True)["state_dict"]
    fit(cfg, data, cut, resume=True, max_steps=6, progress=False)  # inside the codec stage
    mid = torch.load(cut / LAST, weights_only=True)["state_dict"]
    fit(cfg, data, cut, resume=True, progress=False)
    done = json.loads((cut / "metrics.json").read_text())
    assert done["teacher_step"] == 4 and done["switch_step"] == 8 and done["steps"] == 10
    whole = tmp_path / "whole"
    fit(cfg, data, whole, progress=False)
    final = load_file(whole / "model.safetensors")
    assert not any("teacher" in k for k in final)  # a training aid only
    enc0 = _part(early, "model.encoder.")
    enc_mid = _part(mid, "model.encoder.")
    assert any(not torch.equal(enc0[k], enc_mid[k]) for k in enc0)  # it trains after
    dec_mid, dec_early = _part(mid, "model.decoder."), _part(early, "model.decoder.")
    assert any(not torch.equal(dec_mid[k], dec_early[k]) for k in dec_mid)
    for k, v in dec_mid.items():  # frozen from the end of the teacher stage
        assert torch.equal(final[k.removeprefix("model.")].float(), v), k
    # the teacher stage logs no distill term, the codec stage does; resumed = whole
    got, want = _log(cut), _log(whole)
    assert [r["train/distill"] for r in want[:4]] == ["nan"] * 4
    assert all(r["train/distill"] not in ("nan", "") for r in want[4:8])
    assert [float(r["train/stage"]) for r in want[:8]] == [-1.0] * 4 + [0.0] * 4
    np.testing.assert_allclose([float(r["train/loss"]) for r in got],
                               [float(r["train/loss"]) for r in want], rtol=1e-5)


def test_the_encoder_does_not_move_in_the_teacher_stage(data, tmp_path):
    cfg = teacher_tiny()
    out = tmp_path / "run"
    fit(cfg, data, out, max_steps=1, progress=False)
    one = _part(torch.load(out / LAST, weights_only=True)["state_dict"], "model.encoder.")
    fit(cfg, data, out, resume=True, max_steps=4, progress=False)
    four = _part(torch.load(out / LAST, weights_only=True)["state_dict"], "model.encoder.")
    assert all(torch.equal(one[k], four[k]) for k in one)


def test_a_teacher_needs_frames_and_a_share_below_one(data, tmp_path):
    bare = tmp_path / "bare.pvq.jsonl"
    records = list(world.generate(20, seed=0))
    write_jsonl(bare, [dataclasses.replace(r, thoughts=tuple(
        dataclasses.replace(t, frame=None, state=None, determined=False) for t in r.thoughts))
        for r in records])
    with pytest.raises(FitError, match="teacher_share needs thoughts with frames"):
        fit(teacher_tiny(), bare, tmp_path / "run", progress=False)
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match="teacher_share must be in"):
            TrainConfig(teacher_share=bad)
    assert LitLTM(teacher_tiny(0.0), build_vocab(FRAMES)).teacher is None
    # a core trained on a given codec has no codec stage, so no teacher stage either
    assert LitLTM(teacher_tiny(0.5, codec_steps=0)).teacher is None


def test_teacher_meanings_draw_train_side_meanings_of_the_whole_world(data):
    cfg = teacher_tiny()
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, teacher_meanings=0.5))
    dm = PVQDataModule(data, cfg)
    dm.setup()
    assert len(dm.meanings) == sum(world.meaning_split(f) == "train"
                                   for f in world.all_frames())
    assert {f["act"] for _, f in dm.meanings} >= {"put_in", "recap"}
    assert "put_in" in dm.roles["act"]  # the vocabulary covers what the teacher sees
    drawn, own = dm.teacher_rows(1)
    G = cfg.train.codec_batch
    assert len(drawn) == round(G * 0.5) and len(own) == G - len(drawn)
    assert len(set(drawn)) == len(drawn) and own == dm.codec_rows(1)[: len(own)]
    b = dm.train_batch(1)
    t = b["teacher"]
    assert framed(t["roles"]).all() and int(t["group"].max()) == G - 1
    first = dm.meanings[drawn[0]][0]
    row = int((t["group"] == 0).nonzero()[0])
    lang = [x for x in cfg.codec.langs if cfg.codec.lang_id(x) == int(t["lang"][row])][0]
    assert bytes(t["ids"][row, : t["lengths"][row]].tolist()).decode() in first[lang]
    assert torch.equal(dm.train_batch(1)["teacher"]["ids"], t["ids"])  # seeded
    assert "teacher" not in dm.train_batch(4)  # the teacher stage is steps 0..3


def test_teacher_meanings_speak_only_the_languages_of_the_data(tmp_path):
    """English-only world data: the world's meanings join training in English only,
    though the codec knows Russian too."""
    path = tmp_path / "en.pvq.jsonl"
    world.write_world(path, 40, seed=0, langs="en")
    cfg = teacher_tiny()
    assert "ru" in cfg.codec.langs
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, teacher_meanings=0.5))
    dm = PVQDataModule(path, cfg)
    dm.setup()
    assert dm.meanings and {x for g, _ in dm.meanings for x in g} == {"en"}


def test_a_fixed_teacher_stays_put_while_the_encoder_learns_it(data, tmp_path):
    cfg = teacher_tiny()
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, teacher_fixed=True))
    out = tmp_path / "run"
    fit(cfg, data, out, max_steps=1, progress=False)
    one = torch.load(out / LAST, weights_only=True)["state_dict"]
    fit(cfg, data, out, resume=True, max_steps=3, progress=False)  # still the teacher stage
    three = torch.load(out / LAST, weights_only=True)["state_dict"]
    for prefix, moves in (("model.encoder.", True), ("model.decoder.", True),
                          ("teacher.", False)):
        a, b = _part(one, prefix), _part(three, prefix)
        assert a and any(not torch.equal(a[k], b[k]) for k in a) == moves, prefix
    rows = _log(out)
    assert all(r["train/distill"] not in ("nan", "") for r in rows[:3])


def test_teacher_meanings_need_world_frames_and_a_share_in_range(tmp_path):
    bare = tmp_path / "bare.pvq.jsonl"
    write_jsonl(bare, [dataclasses.replace(r, thoughts=tuple(
        dataclasses.replace(t, frame=None, state=None, determined=False) for t in r.thoughts))
        for r in world.generate(20, seed=0)])
    cfg = teacher_tiny()
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, teacher_meanings=1.0))
    with pytest.raises(FitError, match="bare.pvq.jsonl: teacher_meanings .*none has a frame"):
        fit(cfg, bare, tmp_path / "run", progress=False)
    for bad in (1.5, -0.1):
        with pytest.raises(ValueError, match="teacher_meanings must be in"):
            TrainConfig(teacher_meanings=bad)


def test_ltm_fit_set_changes_training_fields(data, tmp_path):
    from ltm.cli import main

    out = tmp_path / "cli"
    assert main(["fit", "--preset", "tiny", "--data", str(data), "--out", str(out),
                 "--codec-steps", "4", "--core-steps", "1", "--set", "teacher_share=0.5",
                 "--set", "exclude_heldout=false"]) == 0
    train = json.loads((out / "config.json").read_text())["train"]
    assert train["teacher_share"] == 0.5 and train["exclude_heldout"] is False
    assert json.loads((out / "metrics.json").read_text())["teacher_step"] == 2


def test_lr_final_lowers_each_stage_by_half_a_cosine():
    def lit(**train):
        cfg = preset("tiny")
        return LitLTM(dataclasses.replace(cfg, train=dataclasses.replace(
            cfg.train, codec_steps=10, core_steps=10, **train)), build_vocab(FRAMES), 3)

    m = lit(lr_final=0.1)
    assert [m._decay("codec", s) for s in (0, 5, 10, 20)] == pytest.approx([1, 0.55, 0.1, 0.1])
    m.switch_step = 12  # the core stage decays from where it began
    assert m._decay("core", 12) == pytest.approx(1.0) and m._decay("core", 22) == pytest.approx(0.1)
    t = lit(lr_final=0.1, teacher_share=0.4)  # teacher: steps 0..4, then the codec 4..10
    assert t._decay("teacher", 2) == pytest.approx(0.55) and t._decay("codec", 4) == 1.0
    t.teacher_step = 4
    assert t._decay("codec", 7) == pytest.approx(0.55)
    timed = lit(lr_final=0.0, minutes=1.0, codec_share=0.5)  # time nearer than steps
    timed.elapsed = 15.0  # half of the codec stage's 30 s
    assert timed._decay("codec", 1) == pytest.approx(0.5)
    assert lit()._decay("codec", 5) == 1.0  # lr_final 1: constant
    with pytest.raises(ValueError, match="lr_final must be in"):
        TrainConfig(lr_final=1.5)
