"""Probe: E3's byte baseline given the LTM encoder's hashed n-gram inputs.

    python experiments/probes/baseline_ngrams.py [--seeds 0 1 2]

The LTM of the ``paper`` preset adds hashed byte n-grams (n = 2..5, 1,024 buckets) to
its encoder's byte embeddings; E3's baseline, matched to it in parameters without those
lookup tables, has none. This probe trains that baseline with the same tables
(:attr:`ltm.baseline_config.BaselineConfig.ngram_max`) on E3's data, for E3's steps and
seeds (:func:`common.baseline_config`), on one thread, and scores it with E3's harness
call (``tab_prediction.main``'s arguments) on the same evaluation world. Beside it, the
per-seed bits per byte of E3's models from ``experiments/results/paper/tab_prediction.json``.
One JSON line goes to ``experiments/probes/results.jsonl``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import common  # noqa: E402
import tab_prediction  # noqa: E402

PRESET = "paper"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(common.SEEDS[PRESET]))
    ap.add_argument("--ngram-max", type=int, default=5)
    ap.add_argument("--ngram-buckets", type=int, default=1024)
    args = ap.parse_args()
    common.one_thread()
    from ltm.eval import evaluate, load_model

    test = common.eval_world()
    results = {}
    for seed in args.seeds:
        cfg = dataclasses.replace(common.baseline_config(PRESET, seed=seed),
                                  ngram_max=args.ngram_max, ngram_buckets=args.ngram_buckets)
        run = common.trained(f"baseline-params-ng{args.ngram_max}-s{seed}", cfg,
                             common._world_data(), PRESET)
        results[f"seed{seed}"] = evaluate(
            load_model(run), test, episodes=tab_prediction.EVAL_EPISODES[PRESET], split="all",
            n_retrieval=common.CANDIDATES, retrieval_tasks=["en_ru"], seed=0,
            max_bytes=tab_prediction.EVAL_MAX_BYTES[PRESET])
    bpb = [r["bits_per_byte"] for r in results.values()]
    e3 = HERE.parent / "results" / PRESET / "tab_prediction.json"
    others = {}
    if e3.is_file():
        models = json.loads(e3.read_text())["numbers"]["models"]
        others = {name: [models[name][f"seed{s}"]["bits_per_byte"] for s in args.seeds
                         if f"seed{s}" in models[name]] for name in models}
    print(f"baseline + n-grams 2..{args.ngram_max}: bits/byte "
          + ", ".join(f"{b:.3f}" for b in bpb)
          + (f" (mean {statistics.mean(bpb):.3f})" if bpb else ""))
    for name, values in others.items():
        if values:
            print(f"E3 {name}: " + ", ".join(f"{b:.3f}" for b in values)
                  + f" (mean {statistics.mean(values):.3f})")
    row = {"probe": f"baseline-params-ng{args.ngram_max}", "kind": "baseline_ngrams",
           "ngram_max": args.ngram_max, "ngram_buckets": args.ngram_buckets,
           "seeds": args.seeds, "steps": common.STEPS[PRESET]["baseline"],
           "bits_per_byte": bpb, "e3_bits_per_byte": others,
           "next": {k: [r["next"][k] for r in results.values()]
                    for k in ("parse", "legal", "exact_determined")},
           "commit": common.commit()}
    with open(HERE / "results.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
