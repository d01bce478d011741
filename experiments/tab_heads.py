"""E4, tension heads: flow, flow-noise, mse, energy and choice on one codec, side by side.

    python experiments/tab_heads.py [--preset smoke|paper|gpu]

Each head's core trains for :data:`common.CORE_STEPS` on the reference LTM's frozen
codec (:func:`common.core_variant`: the same codec, data and budget; only the head
differs), once per seed of :data:`common.SEEDS`, and each is then measured on the evaluation world (seed 1000):

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

The table shows the mean ± standard deviation over seeds.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import common  # noqa: E402

EPISODES = {"smoke": 4, "paper": 50, "gpu": 300}
"""Evaluation-world episodes of the harness."""
FIELD_EPISODES = {"smoke": 10, "paper": 100, "gpu": 300}
"""Episodes whose transitions the field measures use."""
K = 8
"""Draws of the next thought per transition."""
MAX_BYTES = {"smoke": 40, "paper": None, "gpu": None}


def field_measures(model, records, generator) -> dict:
    """Cosine to the truth, spread between draws and collapse to the mean (docstring)."""
    import torch

    from ltm.model import prefixes

    draws, truths = [], []
    with torch.no_grad():
        for r in records:
            z = model.encode([t.quotes["en"][0] for t in r.thoughts])  # (T, Z)
            context, _ = model.core(z[None])  # (1, T, C)
            k = 1 if model.decoder_picks else K  # a pick is the same every draw
            c = context[0, :-1].repeat(k, 1)  # (k*(T-1), C)
            past, past_mask = prefixes(z[:-1])
            x = model.next_thought(c, z[:-1].repeat(k, 1), generator=generator, lang="en",
                                   past=past.repeat(k, 1, 1), past_mask=past_mask.repeat(k, 1))
            x = x.repeat(K // k, 1)
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


def models(preset: str) -> dict[str, dict[int, Path]]:
    """``{head: {seed: run directory}}`` (trained or reused)."""
    return {head: {seed: common.core_variant(preset, f"core-{head}", seed, head=head)
                   for seed in common.SEEDS[preset]} for head in common.HEADS}


COLUMNS = {"bits/byte": ("bits_per_byte",), "parse": ("next", "parse"),
           "legal": ("next", "legal"), "exact (det.)": ("next", "exact_determined"),
           "distinct-2": ("diversity", "distinct2"), "repeat": ("diversity", "repeat"),
           "cos(draw, true)": ("field", "cos_true"), "spread": ("field", "spread"),
           "cos(draw, centroid)": ("field", "cos_centroid")}
"""Table columns and where each lives in one head's result."""


def main(preset: str = "paper") -> str:
    """Train or reuse one core per head and seed, measure each, write the table and JSON."""
    import torch

    from ltm.eval import evaluate, load_model
    from ltm.pvq import iter_records

    test = common.eval_world()
    records = list(itertools.islice(iter_records(test), FIELD_EPISODES[preset]))
    per: dict = {}
    for head, seeds in models(preset).items():
        for seed, run in seeds.items():
            print(f"  evaluating the {head} head, seed {seed}", flush=True)
            model = load_model(run)
            r = evaluate(model, test, episodes=EPISODES[preset], split="all", n_retrieval=50,
                         seed=0, max_bytes=MAX_BYTES[preset])
            r.pop("retrieval")  # one codec for all heads: E2 reports it
            r["field"] = field_measures(model, records, torch.Generator().manual_seed(0))
            per.setdefault(head, {})[f"seed{seed}"] = r
    values, _, spread = common.by_seed(per, COLUMNS)  # its own rows: no params column
    header = ["head", *COLUMNS]
    rows = [[h, *(common.pm(v[c]) for c in COLUMNS)] for h, v in values.items()]
    true_centroid = common.mean([r["field"]["cos_centroid_true"]
                                 for r in next(iter(per.values())).values()])
    f = common.fmt
    caption = (f"E4: tension heads on one frozen codec ({common.CORE_STEPS[preset]} core steps "
               f"each; mean ± std over {len(common.SEEDS[preset])} seeds). True next thoughts "
               f"have cos(., centroid) = {f(true_centroid)}.")
    name = {"flow": "Flow", "flow-noise": "FlowNoise", "mse": "Mse", "energy": "Energy",
            "choice": "Choice"}
    keys = {"Legal": "legal", "Parse": "parse", "Spread": "spread",
            "Centroid": "cos(draw, centroid)", "Cos": "cos(draw, true)"}
    macros = common.seed_macros("heads", values, keys, name.get)
    macros["headsCentroidTrue"] = f(true_centroid)
    macros["headsCoreSteps"] = f"{common.CORE_STEPS[preset]:,}"
    numbers = {"seeds": list(common.SEEDS[preset]), "core_steps": common.CORE_STEPS[preset],
               "heads": per, **spread}
    common.write_result("tab_heads", preset, numbers, header, rows, caption, macros)
    return ", ".join(f"{h} legal {f(common.mean(v['legal']))} spread {f(common.mean(v['spread']))}"
                     for h, v in values.items())


if __name__ == "__main__":
    common.command_line(main, __doc__)
