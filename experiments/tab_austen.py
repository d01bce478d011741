"""E3 on real text: the LTM, the byte baseline and the hybrid on Jane Austen's novels.

    python experiments/tab_austen.py [--preset smoke|paper|gpu]

The three models of E3, trained the same way on another corpus: the six novels of the
``austen`` corpus cut into episodes of 8 sentences (``data/generated/austen-sentences
.pvq.jsonl``, :func:`ltm.pvq.finer`; English only, so the LTM's cross-language term has
nothing to pair and stays at zero), each model for the steps of :data:`STEPS` (about the same
training time each on one thread; Austen's sentences are three times as long as the
world's units, so fewer steps than E3's), the baseline matched to the LTM in parameters, the hybrid reading that
LTM's thoughts. Evaluated with the one harness (:func:`ltm.eval.evaluate`) on held-out
episodes (the validation windows, by the same id hash as training): bits per byte of
each next sentence given the true past (cut to the models' 128 bytes, as they read it),
ROUGE-L of the greedy next sentence, and diversity. There are no frames here, so no
parse or legal shares, and no pairs, so no retrieval.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import common  # noqa: E402

from ltm import paths  # noqa: E402

STEPS = {"smoke": {"codec": 30, "core": 20, "baseline": 50, "hybrid": 50},
         "paper": {"codec": 130, "core": 70, "baseline": 32, "hybrid": 22},
         "gpu": {"codec": 20_000, "core": 20_000, "baseline": 40_000, "hybrid": 40_000}}
"""Steps of each Austen model, one seed (at ``paper`` about 3.5 minutes each on one
thread; session 3 measured 1.0 s per LTM step, 6.3 s per baseline step, 9 s per hybrid
step on these windows)."""
EPISODES = {"smoke": 4, "paper": 100, "gpu": 300}
"""Held-out windows scored per model."""
MAX_BYTES = {"smoke": 40, "paper": None, "gpu": None}


def _steps(config, codec: int, core: int):
    return dataclasses.replace(config, train=dataclasses.replace(
        config.train, codec_steps=codec, core_steps=core))


def models(preset: str) -> dict[str, Path]:
    """The run directories of the three Austen models (trained or reused)."""
    data = paths.generated() / "austen-sentences.pvq.jsonl"
    if not data.is_file():
        raise SystemExit(f"{data} is missing: run experiments/run.py --only data/austen first")
    n = STEPS[preset]
    ltm = common.trained("austen-ltm", _steps(common.ltm_config(preset), n["codec"], n["core"]),
                         data, preset)
    base = common.baseline_config(preset)
    return {"LTM": ltm,
            "baseline": common.trained("austen-baseline", _steps(base, n["baseline"], 0),
                                       data, preset),
            "hybrid": common.trained("austen-hybrid", _steps(base, n["hybrid"], 0), data,
                                     preset, ltm=ltm)}


def main(preset: str = "paper") -> str:
    """Train or reuse the three models, evaluate each on held-out Austen, write the table."""
    from ltm.eval import evaluate, load_model

    data = paths.generated() / "austen-sentences.pvq.jsonl"
    numbers = {}
    for name, d in models(preset).items():
        print(f"  evaluating {name}", flush=True)
        numbers[name] = evaluate(load_model(d), data, episodes=EPISODES[preset], split="val",
                                 n_retrieval=0, seed=0, max_bytes=MAX_BYTES[preset])
    f = common.fmt
    header = ["model", "params", "bits/byte", "ROUGE-L", "distinct-2", "repeat"]
    rows = [[n, f(r["cost"]["params"]), f(r["bits_per_byte"]), f(r["next"]["rouge_l"]),
             f(r["diversity"]["distinct2"]), f(r["diversity"]["repeat"])]
            for n, r in numbers.items()]
    macros = {f"austenBpb{n.capitalize()}": f(r["bits_per_byte"]) for n, r in numbers.items()}
    n = STEPS[preset]
    macros.update({f"austenSteps{k.capitalize()}": common.fmt(v) for k, v in n.items()})
    common.write_result("tab_austen", preset, numbers, header, rows,
                        f"E3 on Austen: next-sentence prediction on held-out windows (LTM "
                        f"{n['codec']} codec + {n['core']} core steps, baseline {n['baseline']}"
                        f", hybrid {n['hybrid']}: about the same training time each; one "
                        f"seed).", macros)
    return ", ".join(f"{n} {r['bits_per_byte']:.3f} bits/byte" for n, r in numbers.items())


if __name__ == "__main__":
    common.command_line(main, __doc__)
