"""Probe: do other readings of a ``choice`` head's hypotheses reach legal next thoughts?

    python experiments/probes/reading_reach.py MODEL WORLD_SEED [EPISODES] [BRANCHES]

On the world of ``WORLD_SEED`` (2000: validation; 1000: evaluation), ``EPISODES``
(default 200) episodes per side of the meaning split, read as
:func:`ltm.worldeval.prediction_metrics` reads them (phrasing 0, languages in turn; on
the held-out side only next thoughts of held-out meaning). At every transition each of
the head's ``K`` hypotheses is read greedily, and again at its ``BRANCHES`` (default 3)
least sure places (:meth:`ltm.codec.ThoughtDecoder.branch`, the reading search's
``min_logp``); the world judges every reading. Printed per side:

- ``any``: the share of transitions where some greedy reading is legal, and where some
  reading, branched ones included, is (how far a pick among them can reach);
- ``pick_greedy@w``, ``pick_all@w``: the share where the pick's score (nats per byte
  less ``w`` times the critic's log-probability of legal, as
  :meth:`ltm.model.LTM.pick_scores` weighs them; ``w`` 1 is the shipped weight) chooses
  a legal reading, among the greedy readings (the pick as shipped) and among all.

``SIDES=heldout`` in the environment runs one side only; ``DUMP=1`` prints each
transition the shipped pick gets wrong though a greedy reading is legal (the true
frame, the state, the four best-scored readings with their nats and critic
probability).

A branched reading's nats are the decoder's teacher-forced nats per byte of it, from
the hypothesis it branched from (:meth:`ltm.codec.ThoughtDecoder.nats`); the critic sees that hypothesis and the reading
encoded again.
"""

from __future__ import annotations

import os
import sys
import time

import torch
import torch.nn.functional as F

from ltm import novelty
from ltm.critic import recall
from ltm.model import LTM
from ltm.pvq import world
from ltm.readings import READING_SEARCH
from ltm.worldeval import judge_next, sample_ordered

DUMP = bool(os.environ.get("DUMP"))
SIDES = tuple(os.environ.get("SIDES", "train,heldout").split(","))
WEIGHTS = (1.0, 2.0, 4.0, 16.0, 1000.0)
"""Critic weights the pick is scored with (1: the shipped one)."""


@torch.no_grad()
def side(model: LTM, episodes: list, split: str, branches: int) -> str:
    episodes = [r for r in episodes if len(r.thoughts) > 1]
    episodes = sample_ordered(episodes, len(episodes), "prediction:0")
    langs = [("en", "ru")[i % 2] for i in range(len(episodes))]
    counts = {k: 0 for k in ("n", "any_greedy", "any_all")}
    for r, lang in zip(episodes, langs, strict=True):
        units = [t.quotes[lang][0] for t in r.thoughts]
        z = model.encode(units)  # (T, Z)
        context, _ = model.core(z[None], torch.ones(1, len(units), dtype=torch.bool))
        ts = [t for t in range(1, len(units))
              if split == "train" or world.meaning_split(r.thoughts[t].frame) == split]
        if not ts:
            continue
        cols = torch.tensor([t - 1 for t in ts])
        ctx, cur = context[0, cols], z[cols]  # (N, C), (N, Z)
        hyps = model.head.hypotheses(ctx, cur)  # (N, K, Z)
        N, K, Z = hyps.shape
        flat = hyps.reshape(N * K, Z)
        ids = model.lang_ids(lang, N * K)
        texts, nats = model.decoder.read(flat, ids)
        rows, more = model.decoder.branch(flat, ids, texts, branches, READING_SEARCH["min_logp"])
        rows_t = torch.tensor(rows, dtype=torch.long)
        src = torch.cat([torch.arange(N * K), rows_t])  # the hypothesis of every reading
        all_texts = texts + more
        all_nats = torch.cat([nats.float(), model.decoder.nats(flat[rows_t], ids[rows_t], more)
                              if more else nats.new_zeros(0)])
        again = model.encode(all_texts)
        n_of = src // K  # the transition of every reading
        recalled = None
        if model.critic.recall:  # each reading against the thoughts before its transition
            before = torch.arange(len(units))[None] < torch.tensor(ts)[n_of][:, None]
            recalled = recall(again[:, None], z[None].expand(len(n_of), -1, -1), before,
                              model.critic.recall)
        worded = None
        if model.critic.words:  # each reading's words against the past as the decoder says it
            told = novelty.said(model.decoder, z[None], torch.ones(1, len(units), dtype=torch.bool),
                                model.lang_ids(lang, 1))[0]
            worded = novelty.novelty([x.decode("utf-8", "replace") for x in all_texts],
                                     [told[: ts[int(n)]] for n in n_of], 1, model.critic.words)
        logit = model.critic(ctx[n_of], cur[n_of], flat[src][:, None], again[:, None],
                             recalled, worded)[:, 0]
        scores = {w: all_nats - w * F.logsigmoid(logit.float()) for w in WEIGHTS}
        legal = torch.tensor([judge_next(r, ts[int(n)], x.decode("utf-8", "replace"), lang)[1]
                              for n, x in zip(n_of.tolist(), all_texts, strict=True)])
        greedy = torch.arange(len(all_texts)) < N * K
        for n in range(N):
            mine = n_of == n
            g = mine & greedy
            counts["n"] += 1
            counts["any_greedy"] += bool(legal[g].any())
            counts["any_all"] += bool(legal[mine].any())
            if DUMP and not bool(legal[g][scores[1.0][g].argmin()]) and bool(legal[g].any()):
                idx = torch.nonzero(g)[:, 0]
                order = idx[scores[1.0][idx].argsort()][:4]
                print(f"-- {r.thoughts[ts[n]].frame} | state {r.thoughts[ts[n] - 1].state}")
                for j in order.tolist():
                    print(f"   {bool(legal[j])!s:5} nats {float(all_nats[j]):.3f} "
                          f"p {float(torch.sigmoid(logit[j])):.3f} {all_texts[j]!r}")
            for w, score in scores.items():
                for name, where in (("greedy", g), ("all", mine)):
                    idx = torch.nonzero(where)[:, 0]
                    key = f"pick_{name}@{w:g}"
                    counts[key] = counts.get(key, 0) + bool(legal[idx[score[idx].argmin()]])
    n = counts.pop("n")
    return f"transitions {n}  " + "  ".join(f"{k} {v / n:.3f}" for k, v in counts.items())


def main(argv: list[str]) -> None:
    if len(argv) not in (2, 3, 4):
        sys.exit("reading_reach: usage: reading_reach.py MODEL WORLD_SEED [EPISODES] [BRANCHES]")
    torch.set_num_threads(2)
    model = LTM.load(argv[0]).eval()
    if model.critic is None:
        sys.exit(f"reading_reach: {argv[0]} has no critic")
    n = int(argv[2]) if len(argv) > 2 else 200
    branches = int(argv[3]) if len(argv) > 3 else 3
    for split in SIDES:
        start = time.perf_counter()
        line = side(model, list(world.generate(n, int(argv[1]), split=split)), split, branches)
        print(f"{split}: {line}  ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
