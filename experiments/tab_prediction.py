"""E3, prediction: the LTM, the byte baseline and the hybrid on the PVQ world.

    python experiments/tab_prediction.py [--preset smoke|paper|gpu]

Trains (or reuses, :func:`common.trained`) the LTM, the baseline matched to it in
parameters, the hybrid (the baseline reading the LTM's thoughts), the baseline
matched to the LTM in training FLOPs per byte instead (:func:`common.flops_baseline`),
and, as ablations, the parameter-matched baseline given the hashed byte n-grams the
LTM's encoder reads (:func:`common.ngram_baseline`) and the LTM whose decoder reads them
too (:func:`common.ngram_ltm`; neither at ``smoke``, whose LTM has no n-grams),
each for the steps of :data:`common.STEPS` (about the same training time each) and with
each of :data:`common.SEEDS`, on the generated world (``data/generated/world.pvq.jsonl``,
seed 0, held-out meanings left out), and evaluates each with the one harness
(:func:`ltm.eval.evaluate`) on the shared evaluation world (:func:`common.eval_world`:
seed 1000, both sides of the meaning split): bits per byte of the next unit given the
true past, and of greedy next units the share that parse, are legal in the true state
and hit the frame where the past determines it, plus EN→RU retrieval and cost. The table
shows the mean ± standard deviation over seeds.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import common  # noqa: E402

EVAL_EPISODES = {"smoke": 4, "paper": 30, "gpu": 300}
"""Episodes of the evaluation world scored per model."""
EVAL_MAX_BYTES = {"smoke": 40, "paper": None, "gpu": None}
"""Longest generated unit (``None``: the model's ``max_bytes``); smoke models are barely
trained and would otherwise write to the limit."""
METRICS = {"bits/byte": ("bits_per_byte",), "parse": ("next", "parse"),
           "legal": ("next", "legal"), "exact (determined)": ("next", "exact_determined"),
           "ROUGE-L": ("next", "rouge_l"), "EN→RU recall@1": ("retrieval", "en_ru", "recall1")}
"""Table columns and where each lives in :func:`ltm.eval.evaluate`'s result."""
MACROS = {"Bpb": "bits/byte", "Parse": "parse", "Legal": "legal",
          "Exact": "exact (determined)"}


def models(preset: str) -> dict[str, dict[int, Path]]:
    """``{model: {seed: run directory}}`` of the four models (trained or reused)."""
    out: dict[str, dict[int, Path]] = {}
    for seed in common.SEEDS[preset]:
        runs = {**common.three_models(preset, seed),
                "baseline (FLOPs)": common.flops_baseline(preset, seed),
                "baseline + n-grams": common.ngram_baseline(preset, seed),
                "LTM + decoder n-grams": common.ngram_ltm(preset, seed)}
        for name, d in runs.items():
            if d is None:  # no n-gram row where the LTM has no n-grams
                continue
            out.setdefault(name, {})[seed] = d
    return out


def main(preset: str = "paper") -> str:
    """Train or reuse the four models with every seed, evaluate them, write the table."""
    from ltm.eval import evaluate, load_model

    test = common.eval_world()
    numbers: dict = {}
    for name, seeds in models(preset).items():
        for seed, d in seeds.items():
            print(f"  evaluating {name}, seed {seed}", flush=True)
            numbers.setdefault(name, {})[f"seed{seed}"] = evaluate(
                load_model(d), test, episodes=EVAL_EPISODES[preset], split="all",
                n_retrieval=common.CANDIDATES, retrieval_tasks=["en_ru"], seed=0,
                max_bytes=EVAL_MAX_BYTES[preset])
    values, rows, spread = common.by_seed(numbers, METRICS)
    header = ["model", "params", *METRICS]
    macros = common.seed_macros("pred", values, MACROS, common.model_tag)
    macros["predEpisodes"] = f"{EVAL_EPISODES[preset]:,}"
    numbers = {"seeds": list(common.SEEDS[preset]), "steps": common.STEPS[preset],
               "models": numbers, **spread}
    n = common.STEPS[preset]
    common.write_result(
        "tab_prediction", preset, numbers, header, rows,
        f"E3: next-unit prediction on the PVQ world, mean ± std over "
        f"{len(common.SEEDS[preset])} seeds (LTM {n['codec']} codec + {n['core']} core steps, "
        f"baseline {n['baseline']}, hybrid {n['hybrid']}, baseline (FLOPs) {n['flops']}: "
        f"about the same training time each; baseline (FLOPs): matched in training FLOPs per "
        f"byte, the others in parameters; baseline + n-grams: the baseline given the LTM "
        f"encoder's hashed byte n-grams, for the baseline's steps; LTM + decoder n-grams: "
        f"the LTM whose decoder reads them too).", macros)
    return ", ".join(f"{name} {common.fmt(common.mean(v['bits/byte']))} bits/byte"
                     for name, v in values.items())


if __name__ == "__main__":
    common.command_line(main, __doc__)
