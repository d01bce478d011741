"""E3, prediction: the LTM, the byte baseline and the hybrid on the PVQ world.

    python experiments/tab_prediction.py [--preset smoke|paper|gpu]

Trains (or reuses, :func:`common.trained`) the LTM, the baseline matched to it in
parameters, the hybrid (the baseline reading the LTM's thoughts), and the baseline
matched to the LTM in training FLOPs per byte instead (:func:`common.flops_baseline`),
each for the same minutes, on the generated
world (``data/generated/world.pvq.jsonl``, seed 0, held-out meanings left out), and
evaluates each with the one harness (:func:`ltm.eval.evaluate`) on the shared
evaluation world (:func:`common.eval_world`: seed 1000, both sides of the meaning split): bits per byte of the next unit given the true
past, and of greedy next units the share that parse, are legal in the true state and
hit the frame where the past determines it, plus retrieval and cost. One seed so far
(issue 5 asks for three where a comparison is claimed).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import common  # noqa: E402

EVAL_EPISODES = {"smoke": 4, "paper": 100, "gpu": 300}
"""Episodes of the evaluation world scored per model."""
EVAL_MAX_BYTES = {"smoke": 40, "paper": None, "gpu": None}
"""Longest generated unit (``None``: the model's ``max_bytes``); smoke models are barely
trained and would otherwise write to the limit."""


def main(preset: str = "paper") -> str:
    """Train or reuse the three models, evaluate them, write the table."""
    from ltm.eval import evaluate, load_model

    dirs = {**common.three_models(preset), "baseline (FLOPs)": common.flops_baseline(preset)}
    test = common.eval_world()
    numbers = {}
    for name, d in dirs.items():
        print(f"  evaluating {name}", flush=True)
        numbers[name] = evaluate(load_model(d), test, episodes=EVAL_EPISODES[preset],
                                 split="all", n_retrieval=common.CANDIDATES, seed=0,
                                 max_bytes=EVAL_MAX_BYTES[preset])
    f = common.fmt
    header = ["model", "params", "bits/byte", "parse", "legal", "exact (determined)",
              "ROUGE-L", "EN→RU recall@1"]
    rows = [[name, f(r["cost"]["params"]), f(r["bits_per_byte"]), f(r["next"]["parse"]),
             f(r["next"]["legal"]), f(r["next"]["exact_determined"]), f(r["next"]["rouge_l"]),
             f(r["retrieval"].get("en_ru", {}).get("recall1"))] for name, r in numbers.items()]
    tag = lambda name: {"baseline (FLOPs)": "Flops"}.get(name, name.capitalize())  # noqa: E731
    macros = {f"pred{key}{tag(name)}": f(value) for name, r in numbers.items()
              for key, value in (("Bpb", r["bits_per_byte"]), ("Parse", r["next"]["parse"]),
                                 ("Legal", r["next"]["legal"]),
                                 ("Exact", r["next"]["exact_determined"]))}
    macros["predEpisodes"] = f"{EVAL_EPISODES[preset]:,}"
    common.write_result("tab_prediction", preset, numbers, header, rows,
                        "E3: next-unit prediction on the PVQ world (one seed; baseline (FLOPs): matched in training FLOPs per byte, the others in parameters).", macros)
    return ", ".join(f"{n} {r['bits_per_byte']:.3f} bits/byte" for n, r in numbers.items())


if __name__ == "__main__":
    common.command_line(main, __doc__)
