"""E3 on real text: the LTM, the byte baseline and the hybrid on Jane Austen's novels.

    python experiments/tab_austen.py [--preset smoke|paper|gpu]

The three models of E3, trained the same way on another corpus (and, as in E3, the
baseline given the LTM encoder's n-grams, :func:`common.with_ltm_ngrams`): the six novels of the
``austen`` corpus cut into episodes of 8 sentences (``data/generated/austen-sentences
.pvq.jsonl``, :func:`ltm.pvq.finer`; English only, so the LTM's cross-language term has
nothing to pair and stays at zero), each model with each of :data:`common.SEEDS` for the
steps of :data:`STEPS` (about the same training time each on one thread; Austen's
sentences are three times as long as the world's units, so fewer steps than E3's), the
baseline matched to the LTM in parameters, the hybrid reading that seed's LTM's thoughts.
Evaluated with the one harness (:func:`ltm.eval.evaluate`) on the same held-out windows
(the validation windows, by the same id hash as training): bits per byte of each next
sentence given the true past (cut to the models' 128 bytes, as they read it), ROUGE-L of
the greedy next sentence, and diversity. There are no frames here, so no parse or legal
shares, and no pairs, so no retrieval. The table shows the mean ± std over seeds.
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
"""Steps of each Austen model, per seed (at ``paper`` about 3.5 minutes each on one
thread; session 3 measured 1.0 s per LTM step, 6.3 s per baseline step, 9 s per hybrid
step on these windows)."""
EPISODES = {"smoke": 4, "paper": 40, "gpu": 300}
"""Held-out windows scored per model (the same windows for every model and seed)."""
MAX_BYTES = {"smoke": 40, "paper": None, "gpu": None}
COLUMNS = {"bits/byte": ("bits_per_byte",), "ROUGE-L": ("next", "rouge_l"),
           "distinct-2": ("diversity", "distinct2"), "repeat": ("diversity", "repeat")}
"""Table columns and where each lives in :func:`ltm.eval.evaluate`'s result."""


def _steps(config, codec: int, core: int):
    return dataclasses.replace(config, train=dataclasses.replace(
        config.train, codec_steps=codec, core_steps=core))


def _data() -> Path:
    data = paths.generated() / "austen-sentences.pvq.jsonl"
    if not data.is_file():
        raise SystemExit(f"{data} is missing: run experiments/run.py --only data/austen first")
    return data


def models(preset: str) -> dict[str, dict[int, Path]]:
    """``{model: {seed: run directory}}`` of the Austen models (trained or reused): the LTM,
    the baseline, the hybrid and, where the LTM has n-grams, the baseline given them."""
    data, n = _data(), STEPS[preset]
    out: dict[str, dict[int, Path]] = {}
    for seed in common.SEEDS[preset]:
        ltm = common.trained(f"austen-ltm-s{seed}", _steps(
            common.ltm_config(preset, seed), n["codec"], n["core"]), data, preset)
        base = common.baseline_config(preset, seed=seed)
        runs = {"LTM": ltm,
                "baseline": common.trained(f"austen-baseline-s{seed}",
                                           _steps(base, n["baseline"], 0), data, preset),
                "hybrid": common.trained(f"austen-hybrid-s{seed}",
                                         _steps(base, n["hybrid"], 0), data, preset, ltm=ltm)}
        ngrams = common.with_ltm_ngrams(base, preset)
        if ngrams is not None:  # E3's ablation: the baseline with the encoder's n-grams
            runs["baseline + n-grams"] = common.trained(
                f"austen-baseline-ngrams-s{seed}", _steps(ngrams, n["baseline"], 0), data,
                preset)
        for name, d in runs.items():
            out.setdefault(name, {})[seed] = d
    return out


def main(preset: str = "paper") -> str:
    """Train or reuse the three models with every seed, evaluate each on held-out Austen,
    write the table (mean ± std over seeds)."""
    from ltm.eval import evaluate, load_model

    data = _data()
    per: dict = {}
    for name, seeds in models(preset).items():
        for seed, d in seeds.items():
            print(f"  evaluating {name}, seed {seed}", flush=True)
            per.setdefault(name, {})[f"seed{seed}"] = evaluate(
                load_model(d), data, episodes=EPISODES[preset], split="val", n_retrieval=0,
                seed=0, max_bytes=MAX_BYTES[preset])
    values, rows, spread = common.by_seed(per, COLUMNS)
    f = common.fmt
    header = ["model", "params", *COLUMNS]
    macros = common.seed_macros("austen", values, {"Bpb": "bits/byte"}, common.model_tag)
    n = STEPS[preset]
    macros.update({f"austenSteps{k.capitalize()}": f(v) for k, v in n.items()})
    macros["austenEpisodes"] = f(EPISODES[preset])
    macros["austenBytes"] = f(next(iter(per["LTM"].values()))["n_bytes"])
    seeds = list(common.SEEDS[preset])
    numbers = {"seeds": seeds, "steps": n, "episodes": EPISODES[preset], "models": per,
               **spread}
    common.write_result("tab_austen", preset, numbers, header, rows,
                        f"E3 on Austen: next-sentence prediction on {EPISODES[preset]} held-out "
                        f"windows, mean ± std over {len(seeds)} seed{'s' * (len(seeds) > 1)} "
                        f"(LTM {n['codec']} codec + {n['core']} core steps, baseline "
                        f"{n['baseline']}, hybrid "
                        f"{n['hybrid']}: about the same training time each; baseline + "
                        f"n-grams: the baseline given the LTM encoder's hashed byte "
                        f"n-grams, for the baseline's steps).", macros)
    return ", ".join(f"{name} {f(common.mean(v['bits/byte']))} bits/byte"
                     for name, v in values.items())


if __name__ == "__main__":
    common.command_line(main, __doc__)
