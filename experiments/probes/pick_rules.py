"""Probe: other ways to pick among a ``choice`` head's hypotheses, without training.

    python experiments/probes/pick_rules.py checkpoints/paper 2000 decoder both:0.1

Arguments: a saved LTM with a ``choice`` head, the seed of the world scored (2000 to
choose a rule, 1000, the evaluation world, only to read the chosen one off), then rules:

- ``decoder``: the fewest nats per byte in the decoder's greedy reading
  (:meth:`ltm.model.LTM.pick`, the shipped rule);
- ``both:L``: nats per byte minus ``L`` times the cosine of each hypothesis and its
  greedy reading encoded again (``FieldConfig.choice_roundtrip = L``).

Each rule sets the loaded model's ``choice_roundtrip`` (0 for ``decoder``) and scores
next thoughts with :func:`ltm.worldeval.prediction_metrics` on 200 episodes per side of
the meaning split; one line per rule is printed (the research log keeps them). The
first version of this probe (22aa916) also scored the cosine alone (``roundtrip``).
"""

from __future__ import annotations

import dataclasses
import sys
import time

import torch

from ltm.model import LTM
from ltm.pvq import world
from ltm.worldeval import prediction_metrics

EPISODES = 200


def weight(spec: str) -> float:
    """``"decoder"`` -> 0, ``"both:0.1"`` -> 0.1; a one-line error otherwise."""
    rule, _, value = spec.partition(":")
    try:
        if rule == "decoder" and not value:
            return 0.0
        if rule == "both" and float(value) > 0:
            return float(value)
    except ValueError:
        pass
    sys.exit(f"pick_rules: rule {spec!r}: expected decoder or both:L (L > 0)")


def main(argv: list[str]) -> None:
    if len(argv) < 3:
        sys.exit("pick_rules: usage: pick_rules.py MODEL WORLD_SEED RULE [RULE ...]")
    torch.set_num_threads(2)
    model = LTM.load(argv[0])
    field = model.config.field
    if field.head != "choice" or field.choice_pick != "decoder":
        sys.exit(f"pick_rules: {argv[0]} has no choice head whose decoder picks")
    weights = [weight(spec) for spec in argv[2:]]
    episodes = {s: list(world.generate(EPISODES, int(argv[1]), split=s)) for s in world.SPLITS}
    for spec, w in zip(argv[2:], weights, strict=True):
        model.config = dataclasses.replace(model.config, field=dataclasses.replace(
            field, choice_roundtrip=w))
        start = time.perf_counter()
        p = {s: prediction_metrics(model, episodes[s], EPISODES, 0,
                                   split=None if s == "train" else s, progress=False)
             for s in episodes}
        print(spec, "  ".join(f"{s} parse {p[s]['parse']:.3f} legal {p[s]['legal']:.3f} "
                              f"det {p[s]['exact_determined']:.3f}" for s in p),
              f"({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
