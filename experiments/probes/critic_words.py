"""Probe: a critic that also reads which words of a reading the episode has not said.

    python experiments/probes/critic_words.py MODEL DATA CACHE [SECONDS]

The pick's misses on held-out meanings (``reading_reach.py DUMP=1``, session 33) are
mostly sure readings that name something the episode never set up: "Ivan wanted the
candle." with no candle in the scene, "Maria wanted the book." with no Maria there. A
whole-thought cosine with the past (``critic_recall``) cannot say whether one filler
is new. This probe gives the critic parameter-free word-level inputs instead: each
reading's first ``WORDS`` words against the units said before
(:func:`ltm.novelty.word_inputs`: whether each is new and how recently it was said,
then the share of new words; here the true units, where the library's critic reads the
decoder's readings of the past thoughts). The
comparison does not depend on which fillers were seen together in training, and uses
nothing of the world but its text.

Labels are drawn as in ``critic_past.py`` (the critic stage's draw for ``SECONDS``,
default the run's labelling budget; every hypothesis read greedily and judged by the
world) with every reading's text and the episode's units kept, cached in ``CACHE``
with 200 episodes a side of the evaluation (1000) and validation (2000) worlds, read
as ``prediction_metrics`` reads them. Variants (``VARIANTS``; ``x3``: three of a kind,
seeds in turn, log-odds averaged): ``mlp`` (the shipped inputs), ``cos`` (with
``ltm.critic.recall`` over the past, as ``critic_recall`` 32), ``words`` (the shipped
inputs and the word inputs), ``cosw`` (both), ``wordsonly`` (the word inputs, the
reading's nats and its recall only: no vectors, so nothing to memorise fillers by).
Scored by the legality of the pick among greedy readings (nats per byte less the
log-probability of legal) and the AUC.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from critic_past import readings_of, training_labels, world_labels
from torch import nn

from ltm.critic import recall
from ltm.model import LTM
from ltm.novelty import novelty
from ltm.pvq import world
from ltm.train import critic_records

VARIANTS = tuple(os.environ.get("VARIANTS", "mlp,cos,words,cosw,wordsonly").split(","))
SEED = int(os.environ.get("SEED", "0"))
WORDS, SPAN = 12, 32
WORLDS = (1000, 2000)
EPISODES = int(os.environ.get("EPISODES", "200"))


@torch.no_grad()
def transitions(model: LTM, episodes: list, langs: list[str], units: list[list[str]],
                keep) -> dict:
    """Every transition ``t-1 -> t`` that ``keep(episode, t)`` admits: the critic's
    inputs, the readings' nats, recall and word inputs, and the world's labels."""
    out = {k: [] for k in ("context", "current", "hyps", "reads", "nats", "legal",
                           "recall", "words")}
    for e in readings_of(model, episodes, langs, units, keep):
        z, ts, (N, K, _) = e["z"], e["ts"], e["hyps"].shape
        mask = torch.arange(len(z))[None] < torch.tensor(ts)[:, None]  # (N, T)
        e["recall"] = recall(e["reads"], z[None].expand(N, -1, -1), mask, SPAN)
        e["words"] = novelty(e["texts"], [e["units"][:t] for t in ts], K, WORDS)
        for key, value in out.items():
            value.append(e[key].float() if e[key].dtype.is_floating_point else e[key])
    return {k: torch.cat(v) for k, v in out.items()}


class WordCritic(nn.Module):
    """A two-hidden-layer MLP over a chosen set of inputs (see the module docstring)."""

    def __init__(self, C: int, Z: int, width: int, vectors: bool, cos: bool, words: bool) -> None:
        super().__init__()
        self.vectors, self.cos, self.words = vectors, cos, words
        n = (C + 3 * Z if vectors else 1) + (SPAN + 1 if cos else 0) + \
            (2 * WORDS + 1 if words else 0)
        self.net = nn.Sequential(nn.Linear(n, width), nn.GELU(), nn.Linear(width, width),
                                 nn.GELU(), nn.Linear(width, 1))

    def forward(self, d: dict) -> torch.Tensor:
        N, K, _ = d["hyps"].shape
        parts = ([d["context"][:, None].expand(N, K, -1), d["current"][:, None].expand(N, K, -1),
                  d["hyps"], d["reads"]] if self.vectors else [d["nats"][..., None]])
        if self.cos:
            parts.append(d["recall"])
        if self.words:
            parts.append(d["words"])
        return self.net(torch.cat(parts, -1))[..., 0]


SHAPES = {"mlp": (True, False, False), "cos": (True, True, False),
          "words": (True, False, True), "cosw": (True, True, True),
          "wordsonly": (False, True, True)}


def rows(d: dict, n, k=None) -> dict:
    keys = ("context", "current", "hyps", "reads", "nats", "recall", "words")
    out = {key: d[key][n] for key in keys}
    if k is not None:
        for key in ("hyps", "reads", "nats", "recall", "words"):
            out[key] = d[key][n, k][:, None]
    return out


def train(critic: nn.Module, d: dict, epochs: int, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(critic.parameters(), lr=1e-3, weight_decay=0.01)
    N, K = d["legal"].shape
    target = d["legal"].float()
    for _ in range(epochs):
        for idx in torch.randperm(N * K, generator=g).split(512):
            n, k = idx // K, idx % K
            loss = F.binary_cross_entropy_with_logits(critic(rows(d, n, k))[:, 0], target[n, k])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return critic.eval()


@torch.no_grad()
def score(critics: list[nn.Module], d: dict) -> str:
    logit = torch.stack([torch.cat([c(rows(d, slice(i, i + 256)))
                                    for i in range(0, len(d["legal"]), 256)])
                         for c in critics]).mean(0)
    pick = (d["nats"] - F.logsigmoid(logit)).argmin(1)
    legal = d["legal"]
    lab, s = legal.reshape(-1), logit.reshape(-1)
    pos, neg = s[lab], s[~lab]
    ranks = torch.cat([pos, neg]).argsort().argsort().float() + 1
    auc = float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))
    return f"pick {legal[torch.arange(len(legal)), pick].float().mean():.3f} auc {auc:.3f}"


def main(argv: list[str]) -> None:
    if len(argv) not in (3, 4):
        sys.exit("critic_words: usage: critic_words.py MODEL DATA CACHE [SECONDS]")
    torch.set_num_threads(2)
    model = LTM.load(argv[0]).eval()
    tc = model.config.train
    cache = Path(argv[2])
    if cache.exists():
        data = torch.load(cache)
    else:
        seconds = float(argv[3]) if len(argv) > 3 else 0.85 * 60 * tc.minutes * tc.critic_share
        data = {"fit": training_labels(model, critic_records(model.config, Path(argv[1])),
                                       seconds, tc.seed, transitions)}
        for seed in WORLDS:
            for side in world.SPLITS:
                data[f"{seed}/{side}"] = world_labels(model, seed, side, EPISODES,
                                                         transitions)
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save(data, cache)
    d = data["fit"]
    tests = [k for k in data if k != "fit"]
    print(f"labelled {len(d['legal'])} transitions in {d['seconds']:.0f} s; "
          + ", ".join(f"{k} {len(data[k]['legal'])}" for k in tests), flush=True)
    C, Z, W = d["context"].shape[1], d["current"].shape[1], model.config.field.critic_width
    for name in VARIANTS:
        base, _, count = name.partition("x")
        start = time.perf_counter()
        members = []
        for j in range(int(count or 1)):
            torch.manual_seed(tc.seed + SEED + j)
            members.append(train(WordCritic(C, Z, W, *SHAPES[base]), d, tc.critic_epochs,
                                 tc.seed + SEED + j))
        print(f"{name:<10} ({time.perf_counter() - start:.0f} s): "
              + "  |  ".join(f"{k} {score(members, data[k])}" for k in tests), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
