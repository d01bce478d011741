"""E7, scaling: held-out bits per byte against training compute, LTM and baseline.

    python experiments/fig_scaling.py [--preset smoke|paper|gpu]

A size family for each model (:data:`WIDTHS`; 2 sizes at smoke, 4 otherwise), each size
trained with :data:`SEEDS` (``TrainConfig.seed``) for a fixed number of steps
(:data:`STEPS`, ``minutes = 0``) on the generated world (seed 0) into
``runs/<preset>/scaling-<ltm|baseline>-w<width>-s<seed>`` (:func:`common.trained`,
reused). LTM sizes scale the ``tiny`` preset's widths: codec and field width ``w``,
head width ``2w``, 4 attention heads, layers and the thought size (48 + 16) kept. The
baseline scales ``baseline_preset("tiny", "params")`` (width 128 at the tiny LTM's 64)
by the same factor: width ``2w``, 4 heads, 2 layers. Both train with the tiny
TrainConfig; the baseline takes ``codec_steps + core_steps`` steps.

Compute: analytic training FLOPs (:mod:`ltm.flops`) = steps x FLOPs of one step, on
batches of the PVQ world's mean shape (units of ``UNIT_BYTES`` = 33 bytes, episodes of
``THOUGHTS`` = 9 units): an LTM codec step has ``2 codec_batch`` quote rows (one per
language), each with a cross-language row; a core step ``core_batch`` episodes
(``9 core_batch`` units, ``8 core_batch`` next-unit pairs); a baseline step
``core_batch`` sequences of ``9 x 34`` positions (bytes and separators).

Loss: bits per byte of each next unit given the true past (nats of its bytes and end
symbol over its bytes, :func:`ltm.metrics.bits_per_byte`; first unit not scored) on the
first :data:`EPISODES` episodes of the evaluation world (seed 1000) in English canonical
quotes, via ``score_units`` (the LTM with 4 head draws, generator seeded 0).

Fit per model: ``log2 bpb = a + b log2 C`` by least squares over every run; the exponent
``b`` with its standard error and a 95% interval from a bootstrap over runs (1000
resamples, ``numpy.random.default_rng(0)``; a resample with one compute value only is
skipped and counted).
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import common  # noqa: E402

WIDTHS = {"smoke": (32, 64), "paper": (32, 48, 64, 96), "gpu": (32, 48, 64, 96)}
"""LTM codec and field widths (the baseline's width is twice this)."""
SEEDS = {"smoke": (0,), "paper": (0, 1, 2), "gpu": (0, 1, 2)}
STEPS = {"smoke": (12, 8), "paper": (60, 40), "gpu": (150, 100)}
"""LTM ``(codec_steps, core_steps)``; the baseline trains their sum."""
EPISODES = {"smoke": 5, "paper": 60, "gpu": 100}
"""Evaluation-world episodes scored per run."""
MODELS = ("ltm", "baseline")


def configs(preset: str, width: int, seed: int) -> dict:
    """``{"ltm": LTMConfig, "baseline": BaselineConfig}`` of one size and seed."""
    from ltm.baseline_config import baseline_preset
    from ltm.presets import tiny

    base = tiny()
    codec_steps, core_steps = STEPS[preset]
    train = dataclasses.replace(base.train, codec_steps=codec_steps, core_steps=core_steps,
                                minutes=0.0, seed=seed)
    ltm = dataclasses.replace(
        base, train=train, codec=dataclasses.replace(base.codec, width=width, heads=4),
        field=dataclasses.replace(base.field, width=width, heads=4, head_width=2 * width))
    baseline = dataclasses.replace(baseline_preset("tiny", "params"), width=2 * width,
                                   heads=4, train=train)
    return {"ltm": ltm, "baseline": baseline}


def train(preset: str, model: str, width: int, seed: int) -> Path:
    """The run directory of one model of LTM width ``width`` and one seed, named by the
    model's own width (trained or reused)."""
    cfg = configs(preset, width, seed)[model]
    return common.trained(f"scaling-{model}-w{common.width_of(cfg)}-s{seed}", cfg,
                          common._world_data(), preset)


def train_flops(cfg) -> dict[str, float]:
    """Analytic training FLOPs of a run at the mean batch shapes (module docstring)."""
    from ltm import flops
    from ltm.config import LTMConfig

    tc, L, T = cfg.train, flops.UNIT_BYTES, flops.THOUGHTS
    if isinstance(cfg, LTMConfig):
        rows = 2 * tc.codec_batch
        codec = tc.codec_steps * flops.ltm_codec_step(cfg, rows, L, rows, L)
        core = tc.core_steps * flops.ltm_core_step(cfg, tc.core_batch, T, tc.core_batch * T, L,
                                                   tc.core_batch * (T - 1))
        return {"codec": codec, "core": core, "total": codec + core}
    return {"total": tc.total_steps * flops.baseline_train_step(cfg, tc.core_batch, T * (L + 1))}


def bits_per_byte(run: Path, n: int) -> tuple[float, int]:
    """Bits per byte of the run's model on the first ``n`` English evaluation episodes."""
    import torch

    from ltm.codec import to_bytes
    from ltm.eval import kind_of, load_model
    from ltm.metrics import bits_per_byte as bpb
    from ltm.pvq import iter_records

    model = load_model(run)
    ltm = kind_of(model) == "ltm"
    max_bytes = model.config.codec.max_bytes if ltm else model.config.max_bytes
    kw = {"samples": 4, "generator": torch.Generator().manual_seed(0)} if ltm else {}
    nats = nbytes = 0.0
    eps = (r for r in iter_records(common.eval_world())
           if len(r.thoughts) > 1 and all(t.quotes.get("en") for t in r.thoughts))
    with torch.no_grad():
        for _, r in zip(range(n), eps, strict=False):
            units = [t.quotes["en"][0] for t in r.thoughts]
            scores = model.score_units(units, "en", **kw)
            nats += sum(scores[1:])
            nbytes += sum(len(to_bytes(u, max_bytes)) for u in units[1:])
    return bpb(nats, int(nbytes)), sum(p.numel() for p in model.parameters())


def fit(runs: list[dict]) -> dict:
    """Least squares ``log2 bpb = a + b log2 C`` with the exponent's standard error and
    its seeded bootstrap 95% interval."""
    import numpy as np

    x = np.log2([r["flops"] for r in runs])
    y = np.log2([r["bpb"] for r in runs])
    b, a = np.polyfit(x, y, 1)
    n, sxx = len(x), float(((x - x.mean()) ** 2).sum())
    rss = float(((y - a - b * x) ** 2).sum())
    se = math.sqrt(rss / (n - 2) / sxx) if n > 2 else math.nan
    rng, boot, skipped = np.random.default_rng(0), [], 0
    for _ in range(1000):
        i = rng.integers(0, n, n)
        if np.ptp(x[i]) == 0:
            skipped += 1
            continue
        boot.append(np.polyfit(x[i], y[i], 1)[0])
    lo, hi = np.percentile(boot, [2.5, 97.5]) if boot else (math.nan, math.nan)
    return {"a": float(a), "b": float(b), "se": se, "ci95": [float(lo), float(hi)],
            "bootstrap": {"resamples": 1000, "skipped": skipped, "seed": 0}}


def models(preset: str) -> dict[str, Path]:
    """Every run, ``{"<model>-w<width>-s<seed>": run directory}`` (trained or reused)."""
    return {f"{m}-w{w}-s{s}": train(preset, m, w, s) for w in WIDTHS[preset]
            for s in SEEDS[preset] for m in MODELS}


def main(preset: str = "paper") -> str:
    """Train or reuse every run, score it, fit; write the figure, the table and the JSON."""
    import numpy as np

    start = time.perf_counter()
    runs: dict[str, list[dict]] = {m: [] for m in MODELS}
    for width in WIDTHS[preset]:
        for seed in SEEDS[preset]:
            for model, cfg in configs(preset, width, seed).items():
                d = train(preset, model, width, seed)
                bpb, params = bits_per_byte(d, EPISODES[preset])
                c = train_flops(cfg)
                runs[model].append({"width": common.width_of(cfg), "seed": seed, "params": params,
                                    "bpb": bpb, "flops": c["total"], "flops_detail": c})
                print(f"  {model} w{common.width_of(cfg)} s{seed}: {bpb:.4f} bits/byte", flush=True)
    per_size = {m: [] for m in MODELS}
    for m, rs in runs.items():
        for w in sorted({r["width"] for r in rs}):
            v = np.array([r["bpb"] for r in rs if r["width"] == w])
            one = next(r for r in rs if r["width"] == w)
            per_size[m].append({"width": w, "params": one["params"], "flops": one["flops"],
                                "bpb_mean": float(v.mean()), "n": len(v),
                                "bpb_std": float(v.std(ddof=1)) if len(v) > 1 else math.nan})
    fits = {m: fit(rs) for m, rs in runs.items()}
    numbers = {"runs": runs, "per_size": per_size, "fit": fits,
               "protocol": {"widths": WIDTHS[preset], "seeds": SEEDS[preset],
                            "steps": STEPS[preset], "eval_episodes": EPISODES[preset],
                            "std": "over seeds, ddof=1"},
               "timing": {"seconds": time.perf_counter() - start}}
    _figure(runs, per_size, fits, preset)
    f = common.fmt
    header = ["model", "width", "params", "training FLOPs", "bits/byte (mean ± std)"]
    rows = [[m, str(s["width"]), f(s["params"]), f"{s['flops']:.2e}",
             f"{f(s['bpb_mean'])} ± {f(s['bpb_std'])}"] for m in MODELS for s in per_size[m]]
    macros = {"scalingExpLtm": f(fits["ltm"]["b"]), "scalingExpLtmSe": f(fits["ltm"]["se"]),
              "scalingExpBase": f(fits["baseline"]["b"]),
              "scalingExpBaseSe": f(fits["baseline"]["se"]),
              "scalingSizes": str(len(WIDTHS[preset])), "scalingSeeds": str(len(SEEDS[preset]))}
    common.write_result("fig_scaling", preset, numbers, header, rows,
                        f"E7: held-out bits per byte against training compute "
                        f"(seeds per size: {len(SEEDS[preset])}).", macros)
    return ", ".join(f"{m} exponent {v['b']:.3f} ± {v['se']:.3f} (95% {v['ci95'][0]:.3f} to "
                     f"{v['ci95'][1]:.3f})" for m, v in fits.items())


def _figure(runs: dict, per_size: dict, fits: dict, preset: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    import numpy as np

    fig, ax = plt.subplots(figsize=(4.6, 3.4))
    for (m, rs), color in zip(runs.items(), ("C0", "C1"), strict=True):
        label = {"ltm": "LTM", "baseline": "baseline"}[m]
        ax.scatter([r["flops"] for r in rs], [r["bpb"] for r in rs], s=10, color=color,
                   alpha=0.4, lw=0)
        s = per_size[m]
        ax.errorbar([p["flops"] for p in s], [p["bpb_mean"] for p in s],
                    yerr=[0 if math.isnan(p["bpb_std"]) else p["bpb_std"] for p in s],
                    fmt="o", ms=4, color=color, capsize=2, label=f"{label} (mean ± std)")
        c = np.geomspace(min(r["flops"] for r in rs), max(r["flops"] for r in rs), 50)
        fm = fits[m]
        ax.plot(c, 2 ** (fm["a"] + fm["b"] * np.log2(c)), "--", color=color, lw=1,
                label=f"{label} fit: exponent {fm['b']:.3f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.yaxis.set_minor_formatter(matplotlib.ticker.ScalarFormatter())
    ax.set_xlabel("training compute (FLOPs, analytic)")
    ax.set_ylabel("held-out bits per byte")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    common.save_figure(fig, "fig_scaling", preset)


if __name__ == "__main__":
    common.command_line(main, __doc__)
