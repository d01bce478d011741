"""State supervision (``TrainConfig.w_state``): the world state after each thought as
targets of the core stage, read from the core's context by one linear classifier per
state key (:class:`ltm.roles.RoleProbe`); a training aid only, never shipped."""

import dataclasses
import random

import pytest
import torch

from ltm.data import PVQDataModule, collate_episodes, kept_episodes
from ltm.lit import LitLTM
from ltm.presets import preset
from ltm.pvq import world
from ltm.pvq.io import write_jsonl
from ltm.roles import ABSENT, role_targets
from ltm.train import FitError, fit

torch.set_num_threads(1)



def state_tiny(w_state: float):
    cfg = preset("tiny")
    return dataclasses.replace(cfg, train=dataclasses.replace(
        cfg.train, codec_steps=4, core_steps=4, w_state=w_state))


def test_core_batches_carry_the_state_after_each_of_their_thoughts(data):
    """Each unit row of a core batch has the targets of its own thought's state, in the
    order of the units, and the batch is otherwise the one drawn without the states."""
    dm = PVQDataModule(data, state_tiny(1.0))
    dm.setup()
    assert len(dm.states) == len(dm.episodes) and "anna.at" in dm.state_vocab
    assert [len(s) for s in dm.states] == [len(ep) for ep in dm.episodes]
    tc = dm.config.train
    rng = random.Random(f"ltm-batch:{tc.seed}:3")  # the draw of train_batch(3)
    picked = [rng.randrange(len(dm.episodes)) for _ in range(tc.core_batch)]
    core = dm.train_batch(3)["core"]
    want = role_targets([s for i in picked for s in dm.states[i]], dm.state_vocab)
    assert core["state"].shape == (len(core["ids"]), len(dm.state_vocab))
    assert torch.equal(core["state"], want)
    assert (core["state"] > 0).any()  # some key has a value, not only ABSENT
    off = PVQDataModule(data, state_tiny(0.0))
    off.setup()
    plain = off.train_batch(3)["core"]
    assert "state" not in plain and off.states == [] and off.state_vocab == {}
    for key in plain:
        assert torch.equal(plain[key], core[key])
    assert "state" in dm.val_batch["core"] and "state" not in off.val_batch["core"]


def test_collate_episodes_orders_state_targets_as_the_units():
    cfg = preset("tiny")
    recs = list(world.generate(2, seed=4))
    kept = kept_episodes(recs, cfg.codec.langs, cfg.train.max_thoughts)
    eps = [ep for _, ep in kept]
    states = [[t.state for t in r.thoughts[:len(ep)]] for r, ep in kept]
    vocab = {"x.at": (ABSENT, "park")}
    states[0][0] = {"x.at": "park"}
    b = collate_episodes(eps, cfg, None, states, vocab)
    assert b["state"].shape == (sum(len(ep) for ep in eps), 1)
    assert b["state"][0, 0] == 1 and int(b["state"][1:, 0].sum()) == 0  # ABSENT elsewhere
    assert "state" not in collate_episodes(eps, cfg, None)


def test_fit_with_state_logs_the_term_and_ships_no_probe(data, tmp_path,
                                                         trains_but_ships_no_aid):
    model, metrics = fit(state_tiny(1.0), data, tmp_path / "run", progress=False)
    trains_but_ships_no_aid(tmp_path / "run", metrics, "state", "w_state", "state")
    assert LitLTM(state_tiny(0.0), states={"a.at": (ABSENT, "x")}).state_probe is None
    lit = LitLTM(state_tiny(1.0), states={"a.at": (ABSENT, "x")})
    core = next(g for g in lit.configure_optimizers()["optimizer"].param_groups
                if g["name"] == "core")  # the probe learns at the core's rate
    assert any(p is lit.state_probe.linear.weight for p in core["params"])


def test_w_state_on_data_without_states_is_a_fit_error(tmp_path):
    recs = [dataclasses.replace(r, thoughts=tuple(dataclasses.replace(t, state=None)
                                                  for t in r.thoughts))
            for r in world.generate(40, seed=0)]
    path = tmp_path / "nostate.pvq.jsonl"
    write_jsonl(path, recs)
    with pytest.raises(FitError, match="w_state needs thoughts with a state"):
        fit(state_tiny(1.0), path, tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match="w_state"):
        dataclasses.replace(preset("tiny").train, w_state=-1.0)
