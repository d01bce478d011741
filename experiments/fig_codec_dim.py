"""E1, the codec against the thought dimension: how much does a wider thought keep?

    python experiments/fig_codec_dim.py [--preset smoke|paper|gpu]

Codecs that differ only in the size of the meaning part of the thought
(``CodecConfig.meaning_dim`` in :data:`DIMS`; the surface part and everything else as
the ``tiny`` preset) train the codec stage alone (``core_steps = 0``) for
:data:`STEPS` steps with each of :data:`SEEDS`, on the generated world. Each is then
measured on 300 distinct quotes per language of the evaluation world (the quotes of
:mod:`fig_codec_noise`, decoded greedily from the noiseless thought): byte accuracy,
exact match and the share that parse to the same frame; and English-to-Russian
retrieval (recall@1 among up to 1,000 meanings, :func:`ltm.eval.retrieval`). The small
``tiny`` codec keeps each run to minutes on one CPU thread, so these are trends of a
small model, not the shipped ``paper`` codec's numbers (E1's noise figure has those).
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import common  # noqa: E402
import fig_codec_noise  # noqa: E402

DIMS = {"smoke": (8, 32), "paper": (8, 16, 32, 64, 128), "gpu": (16, 64, 256, 1024)}
"""Meaning dimensions compared."""
SEEDS = {"smoke": (0,), "paper": (0, 1, 2), "gpu": (0, 1, 2)}
STEPS = {"smoke": 20, "paper": 150, "gpu": 4000}
"""Codec steps of every run."""
N = {"smoke": 24, "paper": 150, "gpu": 1000}
"""Quotes per language."""
METRICS = ("byte_acc", "exact", "same_frame")


def codec_run(preset: str, dim: int, seed: int) -> Path:
    """The run of the ``tiny`` codec with a ``dim``-dimensional meaning part (trained or
    reused): ``runs/<preset>/codec-dim<dim>-s<seed>``."""
    from ltm.presets import preset as model_preset

    cfg = model_preset("tiny")
    cfg = dataclasses.replace(
        cfg, codec=dataclasses.replace(cfg.codec, meaning_dim=dim),
        train=dataclasses.replace(cfg.train, codec_steps=STEPS[preset], core_steps=0,
                                  seed=seed, minutes=0.0))
    return common.trained(f"codec-dim{dim}-s{seed}", cfg, common._world_data(), preset)


def models(preset: str) -> dict[str, Path]:
    """Every run of the sweep, ``{"<dim>/<seed>": run directory}`` (trained or reused)."""
    return {f"{d}/{s}": codec_run(preset, d, s) for d in DIMS[preset] for s in SEEDS[preset]}


def main(preset: str = "paper") -> str:
    """Train or reuse every codec, measure each, write the figure, the table and the JSON."""
    from ltm.eval import load_model, retrieval
    from ltm.pvq import iter_records

    langs = ("en", "ru")
    picked = fig_codec_noise.quotes(langs, N[preset])
    records = list(iter_records(common.eval_world()))
    runs: dict[str, dict] = {}
    for dim in DIMS[preset]:
        for seed in SEEDS[preset]:
            model = load_model(codec_run(preset, dim, seed))
            r = {lang: fig_codec_noise.reconstruction(model, picked[lang], lang)
                 for lang in langs}
            r["en_ru_recall1"] = retrieval(model, records, common.CANDIDATES)["en_ru"]["recall1"]
            runs[f"{dim}/{seed}"] = r
            print(f"  meaning dim {dim}, seed {seed}: EN->RU recall@1 "
                  f"{r['en_ru_recall1']:.3f}", flush=True)
    summary = {str(d): _summary([runs[f"{d}/{s}"] for s in SEEDS[preset]], langs)
               for d in DIMS[preset]}
    numbers = {"steps": STEPS[preset], "seeds": list(SEEDS[preset]), "runs": runs,
               "summary": summary}
    _figure(summary, langs, preset)
    f = common.fmt
    pm = lambda m: f"{f(m['mean'])} ± {f(m['std'])}"  # noqa: E731
    header = ["meaning dim"] + [f"{k} {lang}" for lang in langs for k in
                                ("byte acc.", "same frame")] + ["EN→RU recall@1"]
    rows = [[d] + [pm(v[lang][k]) for lang in langs for k in ("byte_acc", "same_frame")]
            + [pm(v["en_ru_recall1"])] for d, v in summary.items()]
    lo, hi = str(DIMS[preset][0]), str(DIMS[preset][-1])
    macros = {"dimLo": lo, "dimHi": hi, "dimSteps": f"{STEPS[preset]:,}",
              "dimByteAccLo": f(summary[lo]["en"]["byte_acc"]["mean"]),
              "dimByteAccHi": f(summary[hi]["en"]["byte_acc"]["mean"]),
              "dimRecallLo": f(summary[lo]["en_ru_recall1"]["mean"]),
              "dimRecallHi": f(summary[hi]["en_ru_recall1"]["mean"])}
    common.write_result("fig_codec_dim", preset, numbers, header, rows,
                        f"E1: the tiny codec against its meaning dimension ({STEPS[preset]} "
                        f"codec steps, mean ± std over {len(SEEDS[preset])} seeds).", macros)
    return ", ".join(f"dim {d} byte acc {v['en']['byte_acc']['mean']:.3f} recall "
                     f"{v['en_ru_recall1']['mean']:.3f}" for d, v in summary.items())


def _mean_std(xs: list[float]) -> dict:
    return {"mean": statistics.fmean(xs), "std": statistics.stdev(xs) if len(xs) > 1 else 0.0}


def _summary(rs: list[dict], langs) -> dict:
    """Mean and standard deviation over seeds of every metric."""
    out = {lang: {k: _mean_std([r[lang][k] for r in rs]) for k in METRICS} for lang in langs}
    out["en_ru_recall1"] = _mean_std([r["en_ru_recall1"] for r in rs])
    return out


def _figure(summary: dict, langs, preset: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dims = [int(d) for d in summary]
    fig, ax = plt.subplots(figsize=(4.4, 3.1))
    lines = [(f"byte accuracy ({lang})", lambda v, lang=lang: v[lang]["byte_acc"]) for lang in langs]
    lines += [(f"same frame ({lang})", lambda v, lang=lang: v[lang]["same_frame"]) for lang in langs]
    lines += [("EN→RU recall@1", lambda v: v["en_ru_recall1"])]
    for (label, get), marker in zip(lines, "oosD^", strict=False):
        ms = [get(summary[str(d)]) for d in dims]
        ax.errorbar(dims, [m["mean"] for m in ms], yerr=[m["std"] for m in ms], marker=marker,
                    ms=4, capsize=2, ls="--" if "(ru)" in label else "-", label=label)
    ax.set_xscale("log", base=2)
    ax.set_xticks(dims, [str(d) for d in dims])
    ax.set_xlabel("meaning dimensions of a thought")
    ax.set_ylabel("share (mean ± std over seeds)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6.5, frameon=False)
    fig.tight_layout()
    common.save_figure(fig, "fig_codec_dim", preset)


if __name__ == "__main__":
    common.command_line(main, __doc__)
