"""Probe: other ways to pick among a ``choice`` head's hypotheses, without training.

    python experiments/probes/pick_rules.py checkpoints/paper 2000 decoder roundtrip both:0.1

Arguments: a saved LTM with a ``choice`` head, the seed of the world scored (2000 to
choose a rule, 1000, the evaluation world, only to read the chosen one off), then rules:

- ``decoder``: the fewest nats per byte in the decoder's greedy reading
  (:meth:`ltm.model.LTM.pick`, the shipped rule);
- ``roundtrip``: the hypothesis whose greedy reading, encoded again, lands nearest it
  (cosine);
- ``both:L``: nats per byte minus ``L`` times that cosine.

Each rule replaces ``LTM.pick`` on the loaded model and scores next thoughts with
:func:`ltm.worldeval.prediction_metrics` on 200 episodes per side of the meaning split;
one line per rule is printed (the research log keeps them).
"""

from __future__ import annotations

import sys
import time
import types

import torch

from ltm.model import LTM
from ltm.pvq import world
from ltm.worldeval import prediction_metrics

EPISODES = 200


def make_pick(rule: str, weight: float):
    """A replacement for :meth:`ltm.model.LTM.pick` that scores by ``rule``."""
    @torch.no_grad()
    def pick(self, candidates, lang=None):
        B, K, Z = candidates.shape
        langs = [lang] * B if lang is None or isinstance(lang, str) else list(lang)
        flat = candidates.reshape(B * K, Z).to(self.device)
        texts, nats = self.decoder.read(flat, self.lang_ids([x for x in langs for _ in range(K)],
                                                            B * K))
        cos = (self.encode(texts) * flat).sum(-1)  # (B*K,): both on the unit sphere
        score = {"decoder": nats, "roundtrip": -cos}.get(rule, nats - weight * cos)
        best = score.view(B, K).argmin(1).to(candidates.device)
        return candidates[torch.arange(B, device=candidates.device), best]
    return pick


def main(argv: list[str]) -> None:
    if len(argv) < 3:
        sys.exit("pick_rules: usage: pick_rules.py MODEL WORLD_SEED RULE [RULE ...]")
    torch.set_num_threads(2)
    model = LTM.load(argv[0])
    if model.config.field.head != "choice":
        sys.exit(f"pick_rules: {argv[0]} has a {model.config.field.head!r} head, not 'choice'")
    episodes = {s: list(world.generate(EPISODES, int(argv[1]), split=s)) for s in world.SPLITS}
    for spec in argv[2:]:
        rule, _, weight = spec.partition(":")
        if rule not in ("decoder", "roundtrip", "both") or (rule == "both") != bool(weight):
            sys.exit(f"pick_rules: rule {spec!r}: expected decoder, roundtrip or both:L")
        model.pick = types.MethodType(make_pick(rule, float(weight or 0)), model)
        start = time.perf_counter()
        p = {s: prediction_metrics(model, episodes[s], EPISODES, 0,
                                   split=None if s == "train" else s, progress=False)
             for s in episodes}
        print(spec, "  ".join(f"{s} parse {p[s]['parse']:.3f} legal {p[s]['legal']:.3f} "
                              f"det {p[s]['exact_determined']:.3f}" for s in p),
              f"({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
