"""E4, tension heads: flow, flow-noise, mse and energy on one codec, side by side.

    python experiments/tab_heads.py [--preset smoke|paper|gpu]

Each head's core trains for :data:`common.CORE_STEPS` on the preset LTM's frozen codec
(:func:`common.core_variant`: the same codec, data, seed and budget; only the head
differs), and each is then measured on the evaluation world (seed 1000):

- **accuracy**, with the one harness (:func:`ltm.eval.evaluate`, the settings of E3):
  bits per byte of the next unit, and of greedy next units the share that parse, that
  are legal in the true state, and that hit the frame where the past determines it;
- **diversity**: distinct-2 of nucleus continuations and the share of sampled units
  that repeat the unit before them (the harness);
- **in the field**, from :data:`K` seeded draws of the next thought at every transition
  of the episodes (English, canonical quotes): the mean cosine of a draw with the true
  next thought; the *spread*, the mean distance between two draws for one context (0
  for a head that always says the same); and *collapse to the mean*, the mean cosine of
  a draw with the centroid of all true next thoughts, beside the same for the true
  next thoughts themselves (a head that predicts the mean of the possible next
  thoughts sits nearer the centroid than real thoughts do).
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import common  # noqa: E402

EPISODES = {"smoke": 4, "paper": 100, "gpu": 300}
"""Evaluation-world episodes of the harness (as E3)."""
FIELD_EPISODES = {"smoke": 10, "paper": 300, "gpu": 300}
"""Episodes whose transitions the field measures use."""
K = 8
"""Draws of the next thought per transition."""
MAX_BYTES = {"smoke": 40, "paper": None, "gpu": None}


def field_measures(model, records, generator) -> dict:
    """Cosine to the truth, spread between draws and collapse to the mean (docstring)."""
    import torch

    draws, truths = [], []
    with torch.no_grad():
        for r in records:
            z = model.encode([t.quotes["en"][0] for t in r.thoughts])  # (T, Z)
            context, _ = model.core(z[None])  # (1, T, C)
            c = context[0, :-1].repeat(K, 1)  # (K*(T-1), C)
            x = model.head.sample(c, z[:-1].repeat(K, 1), generator=generator)
            draws.append(x.view(K, len(z) - 1, -1))  # (K, T-1, Z)
            truths.append(z[1:])
    x, y = torch.cat(draws, dim=1), torch.cat(truths)  # (K, N, Z), (N, Z)
    centroid = y.mean(0)
    cos = torch.nn.functional.cosine_similarity
    i, j = torch.triu_indices(K, K, offset=1)
    return {"cos_true": cos(x, y[None], dim=-1).mean().item(),
            "spread": (x[i] - x[j]).norm(dim=-1).mean().item(),
            "cos_centroid": cos(x, centroid[None, None], dim=-1).mean().item(),
            "cos_centroid_true": cos(y, centroid[None], dim=-1).mean().item(),
            "transitions": y.shape[0]}


def main(preset: str = "paper") -> str:
    """Train or reuse one core per head, measure each, write the table and JSON."""
    import torch

    from ltm.eval import evaluate, load_model
    from ltm.pvq import iter_records

    test = common.eval_world()
    records = list(itertools.islice(iter_records(test), FIELD_EPISODES[preset]))
    numbers = {}
    for head in common.HEADS:
        run = common.core_variant(preset, f"core-{head}", head=head)
        print(f"  evaluating the {head} head", flush=True)
        model = load_model(run)
        r = evaluate(model, test, episodes=EPISODES[preset], split="all", n_retrieval=50,
                     seed=0, max_bytes=MAX_BYTES[preset])
        r.pop("retrieval")  # one codec for all heads: E2 reports it
        r["field"] = field_measures(model, records, torch.Generator().manual_seed(0))
        numbers[head] = r
    f = common.fmt
    header = ["head", "bits/byte", "parse", "legal", "exact (det.)", "distinct-2", "repeat",
              "cos(draw, true)", "spread", "cos(draw, centroid)"]
    rows = [[h, f(r["bits_per_byte"]), f(r["next"]["parse"]), f(r["next"]["legal"]),
             f(r["next"]["exact_determined"]), f(r["diversity"]["distinct2"]),
             f(r["diversity"]["repeat"]), f(r["field"]["cos_true"]), f(r["field"]["spread"]),
             f(r["field"]["cos_centroid"])] for h, r in numbers.items()]
    true_centroid = next(iter(numbers.values()))["field"]["cos_centroid_true"]
    caption = (f"E4: tension heads on one frozen codec ({common.CORE_STEPS[preset]} core steps "
               f"each, one seed). True next thoughts have cos(., centroid) = {f(true_centroid)}.")
    name = {"flow": "Flow", "flow-noise": "FlowNoise", "mse": "Mse", "energy": "Energy"}
    macros = {f"heads{key}{name[h]}": f(v) for h, r in numbers.items()
              for key, v in (("Legal", r["next"]["legal"]), ("Parse", r["next"]["parse"]),
                             ("Spread", r["field"]["spread"]),
                             ("Centroid", r["field"]["cos_centroid"]),
                             ("Cos", r["field"]["cos_true"]))}
    macros["headsCentroidTrue"] = f(true_centroid)
    macros["headsCoreSteps"] = f"{common.CORE_STEPS[preset]:,}"
    common.write_result("tab_heads", preset, numbers, header, rows, caption, macros)
    return ", ".join(f"{h} legal {r['next']['legal']:.3f} spread {r['field']['spread']:.3f}"
                     for h, r in numbers.items())


if __name__ == "__main__":
    common.command_line(main, __doc__)
