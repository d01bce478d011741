"""Probe: how far a legality critic reaches on meanings it never saw.

    python experiments/probes/critic_reach.py checkpoints/paper 2000 [TRANSITIONS]

For a saved LTM with a ``choice`` head and a critic (:mod:`ltm.critic`), on the world of
the given seed (2000: the validation world; 1000 is the evaluation world), both sides of
the meaning split, 300 episodes each: up to ``TRANSITIONS`` (default 600) transitions
are labelled as the
critic's training stage labels them (:func:`ltm.critic.label_transitions`: every
hypothesis read greedily, judged legal or not by the world), keeping on the held-out
side only those whose true next thought has a held-out meaning. Printed per side:

- ``any``: the share of transitions where some hypothesis is legal (the most a pick
  among the hypotheses can reach);
- ``mean``: legal hypotheses per transition, of ``K``;
- ``acc`` and ``auc``: the critic's accuracy (log-odds above 0 for legal) and the area
  under its ROC curve over every (transition, hypothesis) pair;
- ``top``: the share of transitions whose hypothesis most likely legal by the critic is
  legal (the critic's own pick, without the decoder's nats).

So a pick that falls short on held-out meanings is placed: too few legal hypotheses
(``any`` low) is the head's limit, a critic that cannot tell them apart (``auc`` low) is
the critic's. One line per side; the research log keeps them.
"""

from __future__ import annotations

import sys
import time

import torch

from ltm.critic import label_transitions
from ltm.model import LTM
from ltm.pvq import world

EPISODES = 300


def auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Area under the ROC curve: the chance a random legal pair outscores a random
    illegal one (ties count half); NaN when one class is missing."""
    pos, neg = scores[labels], scores[~labels]
    if not len(pos) or not len(neg):
        return float("nan")
    ranks = torch.cat([pos, neg]).argsort().argsort().float() + 1  # no ties in floats, nearly
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2)
                 / (len(pos) * len(neg)))


def side_labels(model: LTM, episodes: list, side: str, n: int) -> dict:
    """:func:`label_transitions` on one side's ``episodes``: up to ``n`` transitions, on
    the held-out side only those whose true next meaning is held out (every transition
    is labelled first: about a sixth have held-out meanings)."""
    data = label_transitions(model, episodes, n if side == "train" else 10**9, seed=0)
    keep = torch.tensor([side == "train" or world.meaning_split(
        episodes[e].thoughts[t].frame) == side for e, t in data["where"].tolist()])
    return {k: v[keep][:n] for k, v in data.items()}


def main(argv: list[str]) -> None:
    if len(argv) not in (2, 3):
        sys.exit("critic_reach: usage: critic_reach.py MODEL WORLD_SEED [TRANSITIONS]")
    torch.set_num_threads(2)
    model = LTM.load(argv[0]).eval()
    if model.critic is None:
        sys.exit(f"critic_reach: {argv[0]} has no critic")
    n = int(argv[2]) if len(argv) == 3 else 600
    for side in world.SPLITS:
        start = time.perf_counter()
        episodes = list(world.generate(EPISODES, int(argv[1]), split=side))
        with torch.no_grad():
            data = side_labels(model, episodes, side, n)
            logit = model.critic(data["context"], data["current"], data["hypotheses"],
                                 data["readings"], data["recall"], data["words"]).float()
        legal = data["legal"]
        rows = torch.arange(len(legal))
        print(f"{side}: transitions {len(legal)}  any {legal.any(1).float().mean():.3f}  "
              f"mean {legal.float().sum(1).mean():.2f} of {legal.shape[1]}  "
              f"acc {((logit > 0) == legal).float().mean():.3f}  "
              f"auc {auc(logit.reshape(-1), legal.reshape(-1)):.3f}  "
              f"top {legal[rows, logit.argmax(1)].float().mean():.3f}  "
              f"({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
