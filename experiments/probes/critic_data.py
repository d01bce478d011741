"""Probe: does the legality critic want more labels or a longer fit?

    python experiments/probes/critic_data.py checkpoints/paper DATA 2000 T:E [T:E ...]

For a saved LTM with a critic (:mod:`ltm.critic`), the critic is fitted again from its
initial weights on the frozen model, as the last stage of ``ltm fit`` fits it (the
training split of ``DATA`` with held-out meanings left out, seeded by the model's
``train.seed``), once per ``T:E`` (``T`` labelled transitions, ``E`` epochs; no time
limit), and each refit critic's pick is scored on the world of the given seed (2000:
the validation world) with :func:`ltm.worldeval.prediction_metrics`, 200 episodes per
side of the meaning split, beside the shipped critic's. One line per critic; the
research log keeps them.
"""

from __future__ import annotations

import copy
import sys
import time

import torch

from ltm.critic import Critic, fit_critic
from ltm.data import split_records
from ltm.model import LTM
from ltm.pvq import iter_records, world
from ltm.worldeval import prediction_metrics

EPISODES = 200


def score(model: LTM, episodes: dict) -> str:
    """Parse and legal of the model's next thoughts on both sides, in one line."""
    p = {s: prediction_metrics(model, episodes[s], EPISODES, 0,
                               split=None if s == "train" else s, progress=False)
         for s in episodes}
    return "  ".join(f"{s} parse {p[s]['parse']:.3f} legal {p[s]['legal']:.3f}" for s in p)


def main(argv: list[str]) -> None:
    if len(argv) < 4:
        sys.exit("critic_data: usage: critic_data.py MODEL DATA WORLD_SEED T:E [T:E ...]")
    torch.set_num_threads(2)
    shipped = LTM.load(argv[0]).eval()
    if shipped.critic is None:
        sys.exit(f"critic_data: {argv[0]} has no critic")
    tc, field = shipped.config.train, shipped.config.field
    records, _ = split_records(list(iter_records(argv[1])), tc.val_fraction, tc.exclude_heldout)
    episodes = {s: list(world.generate(EPISODES, int(argv[2]), split=s)) for s in world.SPLITS}
    print("shipped", score(shipped, episodes), flush=True)
    for spec in argv[3:]:
        transitions, epochs = (int(x) for x in spec.split(":"))
        model = copy.deepcopy(shipped)
        torch.manual_seed(tc.seed)
        model.critic = Critic(field.width, shipped.config.codec.dim, field.critic_width)
        start = time.perf_counter()
        fit = fit_critic(model, records, transitions=transitions, epochs=epochs, seed=tc.seed)
        print(f"{spec} (fit {time.perf_counter() - start:.0f} s, accuracy {fit['accuracy']:.3f})",
              score(model, episodes), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
