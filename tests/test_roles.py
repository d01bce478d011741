"""Role supervision (:mod:`ltm.roles`): vocabulary, targets, the probe, and its place in
training (a training aid only: never in the shipped weights)."""

import dataclasses

import pytest
import torch

from ltm.data import PVQDataModule
from ltm.lit import LitLTM
from ltm.presets import preset
from ltm.roles import ABSENT, IGNORE, RoleProbe, build_vocab, role_targets
from ltm.train import fit

torch.set_num_threads(1)

FRAMES = [{"act": "give", "agent": "anna", "recipient": "oleg", "object": "map"},
          {"act": "be_at", "agent": "oleg", "place": "park"},
          None]


def test_vocab_lists_every_role_with_absent_first():
    vocab = build_vocab(FRAMES)
    assert list(vocab) == ["act", "agent", "object", "place", "recipient"]
    assert vocab["agent"] == (ABSENT, "anna", "oleg")
    assert vocab["place"] == (ABSENT, "park")
    assert build_vocab([None, None]) == {}


def test_targets_mark_absent_roles_frameless_rows_and_unseen_fillers():
    vocab = build_vocab(FRAMES)
    t = role_targets(FRAMES + [{"act": "give", "agent": "vera"}], vocab)
    assert t[0].tolist() == [2, 1, 1, 0, 1]  # give, anna, map, absent, oleg
    assert t[1].tolist() == [1, 2, 0, 1, 0]
    assert t[2].tolist() == [IGNORE] * 5  # no frame
    assert t[3, 1].item() == IGNORE  # vera was never seen
    assert t[3, 4].item() == 0  # no recipient


def test_probe_learns_separable_roles_and_ignores_frameless_rows():
    torch.manual_seed(0)
    vocab = build_vocab(FRAMES)
    probe = RoleProbe(8, vocab)
    meaning = torch.nn.functional.normalize(torch.randn(3, 8), dim=-1)
    targets = role_targets(FRAMES, vocab)
    before = probe.loss(meaning, targets).item()
    opt = torch.optim.Adam(probe.parameters(), lr=0.05)
    for _ in range(100):
        opt.zero_grad()
        probe.loss(meaning, targets).backward()
        opt.step()
    assert probe.loss(meaning, targets).item() < before / 10
    assert probe.accuracy(meaning, targets).item() == 1.0
    none = torch.full_like(targets, IGNORE)
    assert probe.loss(meaning, none).item() == 0.0
    assert torch.isnan(probe.accuracy(meaning, none))
    with pytest.raises(ValueError, match="at least one role"):
        RoleProbe(8, {})



def roles_tiny(w_roles: float):
    cfg = preset("tiny")
    return dataclasses.replace(cfg, train=dataclasses.replace(
        cfg.train, codec_steps=6, core_steps=2, w_roles=w_roles))


def test_world_batches_carry_role_targets_of_their_own_groups(data):
    dm = PVQDataModule(data, roles_tiny(1.0))
    dm.setup()
    assert "agent" in dm.roles and len(dm.frames) == len(dm.groups)
    rows = dm.codec_rows(3)
    assert [dm.groups[i] for i in rows] == dm.codec_groups(3)
    b = dm.train_batch(3)["codec"]
    assert b["roles"].shape == (len(b["ids"]), len(dm.roles))
    act = list(dm.roles).index("act")
    for row, gi in enumerate(b["group"].tolist()):  # every row's act is its group's act
        frame = dm.frames[rows[gi]]
        assert dm.roles["act"][b["roles"][row, act]] == frame["act"]
    off = PVQDataModule(data, roles_tiny(0.0))
    off.setup()
    assert "roles" not in off.train_batch(3)["codec"]


def test_fit_with_roles_logs_the_term_and_ships_no_probe(data, tmp_path,
                                                         trains_but_ships_no_aid):
    model, metrics = fit(roles_tiny(1.0), data, tmp_path / "run", progress=False)
    trains_but_ships_no_aid(tmp_path / "run", metrics, "roles", "w_roles", "role")
    # without w_roles no probe exists and no term is logged
    assert LitLTM(roles_tiny(0.0), {"act": (ABSENT, "x")}).role_probe is None
