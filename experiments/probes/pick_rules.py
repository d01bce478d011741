"""Probe: other ways to pick among a ``choice`` head's hypotheses, without training.

    python experiments/probes/pick_rules.py checkpoints/paper 2000 decoder both:0.1

Arguments: a saved LTM with a ``choice`` head, the seed of the world scored (2000 to
choose a rule, 1000, the evaluation world, only to read the chosen one off), then rules:

- ``decoder``: the fewest nats per byte in the decoder's greedy reading
  (:meth:`ltm.model.LTM.pick`, the shipped rule);
- ``both:L``: nats per byte minus ``L`` times the cosine of each hypothesis and its
  greedy reading encoded again (``FieldConfig.choice_roundtrip = L``);
- ``prior:L``: nats per byte minus ``L`` times the log of the selector's probability
  of each hypothesis (the selector has read the context; the decoder has not);
- ``top:M``: the decoder's pick among the selector's ``M`` most probable hypotheses;
- ``critic:W``: nats per byte minus ``W`` times the legality critic's log-probability
  (``FieldConfig.critic_weight = W``; the model must have a critic, :mod:`ltm.critic`).

The last two are written here, in the probe, by replacing the loaded model's
``next_thought``; the library does not have them.

Each rule sets the loaded model's ``choice_roundtrip`` and ``critic_weight`` (both 0 for
``decoder``, so a model with a critic is scored without it) and scores
next thoughts with :func:`ltm.worldeval.prediction_metrics` on 200 episodes per side of
the meaning split; one line per rule is printed (the research log keeps them). The
first version of this probe (22aa916) also scored the cosine alone (``roundtrip``).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable

import torch

from ltm.model import LTM
from ltm.pvq import world
from ltm.worldeval import prediction_metrics

EPISODES = 200


def parse(spec: str) -> tuple[str, float]:
    """``"decoder"`` -> (decoder, 0), ``"both:0.1"`` -> (both, 0.1); a one-line error
    otherwise."""
    rule, _, value = spec.partition(":")
    try:
        if rule == "decoder" and not value:
            return rule, 0.0
        if rule in ("both", "prior", "top", "critic") and float(value) > 0:
            return rule, float(value)
    except ValueError:
        pass
    sys.exit(f"pick_rules: rule {spec!r}: expected decoder, both:L, prior:L, top:M or critic:W")


def with_selector(model: LTM, rule: str, value: float) -> Callable[..., torch.Tensor]:
    """A ``next_thought`` whose pick also reads the selector (``prior`` or ``top``)."""

    @torch.no_grad()
    def next_thought(context, current, *, lang=None, **_):
        hyps = model.head.hypotheses(context, current)  # (B, K, Z)
        logp = model.head.logits(context, current).float().log_softmax(-1)  # (B, K)
        B, K, _ = hyps.shape
        nats = model.pick_scores(hyps, lang)  # choice_roundtrip is 0 for these rules
        if rule == "prior":
            score = nats - value * logp
        else:  # top: only the M most probable hypotheses may be picked
            keep = logp.topk(min(int(value), K), dim=1).indices
            score = torch.full_like(nats, float("inf")).scatter(1, keep, nats.gather(1, keep))
        return hyps[torch.arange(B), score.argmin(1)]

    return next_thought


def main(argv: list[str]) -> None:
    if len(argv) < 3:
        sys.exit("pick_rules: usage: pick_rules.py MODEL WORLD_SEED RULE [RULE ...]")
    torch.set_num_threads(2)
    model = LTM.load(argv[0])
    field = model.config.field
    if field.head != "choice" or field.choice_pick != "decoder":
        sys.exit(f"pick_rules: {argv[0]} has no choice head whose decoder picks")
    rules = [parse(spec) for spec in argv[2:]]
    if model.critic is None and any(rule == "critic" for rule, _ in rules):
        sys.exit(f"pick_rules: {argv[0]} has no critic; the critic:W rule needs one")
    episodes = {s: list(world.generate(EPISODES, int(argv[1]), split=s)) for s in world.SPLITS}
    for spec, (rule, w) in zip(argv[2:], rules, strict=True):
        model.config = dataclasses.replace(model.config, field=dataclasses.replace(
            field, choice_roundtrip=w if rule == "both" else 0.0,
            critic_weight=w if rule == "critic" else 0.0))
        model.__dict__.pop("next_thought", None)
        if rule in ("prior", "top"):
            model.next_thought = with_selector(model, rule, w)
        start = time.perf_counter()
        p = {s: prediction_metrics(model, episodes[s], EPISODES, 0,
                                   split=None if s == "train" else s, progress=False)
             for s in episodes}
        print(spec, "  ".join(f"{s} parse {p[s]['parse']:.3f} legal {p[s]['legal']:.3f} "
                              f"det {p[s]['exact_determined']:.3f}" for s in p),
              f"({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
