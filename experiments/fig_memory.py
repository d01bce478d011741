"""E5, scene memory: state tracking against position in the episode, past the training length.

    python experiments/fig_memory.py [--preset smoke|paper|gpu]

Two cores train on the preset LTM's frozen codec (:func:`common.core_variant`, same
head, data and budget, once per seed of :data:`common.SEEDS`) reading only the first :data:`TRAIN_THOUGHTS` thoughts of
each episode: one with the scene memory, one without (``memory_slots = 0``). Both then
predict every next thought of whole evaluation-world episodes (seed 1000, English,
canonical quotes), which run longer than that, from the true past; the decoder says
each prediction greedily. A prediction *tracks the state* when its text parses to a
frame that is legal in the true state of the scene (:func:`ltm.worldeval.judge_next`):
who is where, what is open, what each agent holds and wants. The share is reported per
position of the predicted thought, so positions past :data:`TRAIN_THOUGHTS` show what
each model does beyond what it was trained on. The byte baseline matched to the LTM in
parameters (E3's, trained on whole episodes, so not past its training length) is drawn
beside them as a reference, predicting the same units from the same past.

The legal share also depends on which acts a model likes to say: a placement ("the cup
is in the attic") is legal in most states, a handover only where the giver holds the
thing. So each position also gets the bits per byte of the *true* next unit given the
true past (``score_units``, as E3; the LTM with 4 head draws), which no choice of act
can game.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import common  # noqa: E402

TRAIN_THOUGHTS = 8
"""Thoughts per episode the two cores train on (``TrainConfig.max_thoughts``)."""
EPISODES = {"smoke": 6, "paper": 60, "gpu": 300}
"""Evaluation-world episodes read per model."""
MAX_BYTES = {"smoke": 40, "paper": 64, "gpu": 64}
"""Longest generated unit (world units are shorter)."""
LAST = 16
"""Positions from this one on are pooled into one bin (few episodes are that long)."""


def ltm_predictions(model, units: list[str], generator, max_bytes: int) -> list[str]:
    """Every next unit of an episode from its true past, in one pass: the core reads
    the true thoughts, the head predicts each next one, the decoder says them."""
    import torch

    from ltm.model import prefixes

    with torch.no_grad():
        z = model.encode(units)  # (T, Z)
        context, _ = model.core(z[None])  # (1, T, C)
        past, past_mask = prefixes(z[:-1])
        nxt = model.next_thought(context[0, :-1], z[:-1], generator=generator, lang="en",
                                 past=past, past_mask=past_mask)  # (T-1, Z)
        return model.decode(nxt, "en", max_bytes=max_bytes)


def baseline_predictions(model, units: list[str], generator, max_bytes: int) -> list[str]:
    """Every next unit of an episode, each generated greedily after the true past."""
    import torch

    prefixes = [units[:t] for t in range(1, len(units))]  # decoded together, one row each
    with torch.no_grad():
        said = model.generate_batch(prefixes, 1, langs=["en"] * len(prefixes),
                                    max_bytes=max_bytes, generator=generator)
    return [unit.decode("utf-8", "replace") for (unit,) in said]


def main(preset: str = "paper") -> str:
    """Train or reuse the two cores, predict, judge, write the figure, table and JSON."""
    import torch

    from ltm.codec import to_bytes
    from ltm.eval import codec_of, load_model
    from ltm.pvq import iter_records
    from ltm.worldeval import judge_next

    runs = models(preset)
    records = list(itertools.islice(iter_records(common.eval_world()), EPISODES[preset]))
    numbers: dict = {"train_thoughts": TRAIN_THOUGHTS, "episodes": len(records),
                     "seeds": list(common.SEEDS[preset]), "per_seed": {}, "models": {}}
    for name, seeds in runs.items():
        for seed, run in seeds.items():
            print(f"  {name}, seed {seed}", flush=True)
            model = load_model(run)
            predict = baseline_predictions if name == "baseline" else ltm_predictions
            g = torch.Generator().manual_seed(0)
            kw = {} if name == "baseline" else {"samples": 4, "generator": g}
            bins: dict[int, list[tuple[bool, bool, float, int]]] = {}
            for r in records:
                units = [t.quotes["en"][0] for t in r.thoughts]
                said = predict(model, units, g, MAX_BYTES[preset])
                with torch.no_grad():
                    nats = model.score_units(units, "en", **kw)
                for t, text in enumerate(said, start=1):  # thought t (0-based) is predicted
                    parse, legal, _ = judge_next(r, t, text, "en")
                    size = len(to_bytes(units[t], codec_of(model).max_bytes))
                    bins.setdefault(min(t + 1, LAST), []).append((parse, legal, nats[t], size))
            numbers["per_seed"].setdefault(name, {})[f"seed{seed}"] = _positions(bins)
        pooled: dict[int, list] = {}  # every seed's predictions together, for the figure
        for per in numbers["per_seed"][name].values():
            for p, v in per.items():
                pooled.setdefault(int(p), []).append(v)
        numbers["models"][name] = {str(p): _merge(vs) for p, vs in sorted(pooled.items())}
    _figure(numbers, preset)
    f = common.fmt
    positions = sorted({int(p) for m in numbers["models"].values() for p in m})
    header = (["position"] + [f"legal: {m}" for m in runs] + [f"bits/byte: {m}" for m in runs]
              + ["n"])
    rows = [[f"{p}" + ("+" if p == LAST else "")]
            + [f(numbers["models"][m].get(str(p), {}).get(k)) for k in ("legal", "bpb")
               for m in runs]
            + [f"{numbers['models']['baseline'].get(str(p), {}).get('n', 0)}"] for p in positions]
    # within and beyond the training length: pooled per seed, then mean and std over seeds
    split = {where: {m: [_pooled(v, keep) for v in numbers["per_seed"][m].values()]
                     for m in runs}
             for where, keep in (("In", lambda p: p <= TRAIN_THOUGHTS),
                                 ("Out", lambda p: p > TRAIN_THOUGHTS))}
    key = {"LTM, memory": "Mem", "LTM, no memory": "NoMem", "baseline": "Base"}
    macros, summary = {}, {}
    for where, per in split.items():
        for m, seeds in per.items():
            for k, name in (("legal", "Legal"), ("bpb", "Bpb")):
                xs = [s[k] for s in seeds]
                summary.setdefault(f"{k}_{where}", {})[m] = {"mean": common.mean(xs),
                                                             "std": common.std(xs)}
                macros[f"mem{name}{where}{key[m]}"] = f(common.mean(xs))
                macros[f"mem{name}{where}{key[m]}Sd"] = f(common.std(xs))
    numbers["within_beyond"] = summary
    within = {m: v["mean"] for m, v in summary["legal_In"].items()}
    beyond = {m: v["mean"] for m, v in summary["legal_Out"].items()}
    macros["memTrainThoughts"] = str(TRAIN_THOUGHTS)
    caption = (f"E5: share of next units legal in the true state, by position of the "
               f"predicted thought; the LTM cores trained on the first {TRAIN_THOUGHTS} "
               f"thoughts of each episode ({len(common.SEEDS[preset])} seeds pooled).")
    common.write_result("fig_memory", preset, numbers, header, rows, caption, macros)
    return ", ".join(f"{m} legal {within[m]:.3f} within / {beyond[m]:.3f} beyond"
                     for m in runs)


def models(preset: str) -> dict[str, dict[int, Path]]:
    """``{model: {seed: run directory}}``: the cores with and without memory, and E3's
    baseline (trained or reused)."""
    seeds = common.SEEDS[preset]
    return {"LTM, memory": {s: common.core_variant(preset, "core-mem-short", s, head="flow",
                                                   max_thoughts=TRAIN_THOUGHTS) for s in seeds},
            "LTM, no memory": {s: common.core_variant(preset, "core-nomem-short", s,
                                                      head="flow", memory_slots=0,
                                                      max_thoughts=TRAIN_THOUGHTS)
                               for s in seeds},
            "baseline": {s: common.world_baseline(preset, s) for s in seeds}}


def _positions(bins: dict) -> dict[str, dict]:
    """Per position: the parse and legal shares, bits per byte, nats, bytes and count."""
    from ltm.metrics import bits_per_byte

    return {str(p): {"parse": sum(v[0] for v in vs) / len(vs),
                     "legal": sum(v[1] for v in vs) / len(vs),
                     "bpb": bits_per_byte(sum(v[2] for v in vs), sum(v[3] for v in vs)),
                     "nats": sum(v[2] for v in vs), "bytes": sum(v[3] for v in vs),
                     "n": len(vs)} for p, vs in sorted(bins.items())}


def _merge(stats: list[dict]) -> dict:
    """Several statistics as one, shares weighted by count (``nan`` where there is
    nothing to count): one position over seeds, or one seed over positions."""
    from ltm.metrics import bits_per_byte

    n, size, nats = (sum(s[k] for s in stats) for k in ("n", "bytes", "nats"))
    share = lambda k: sum(s[k] * s["n"] for s in stats) / n if n else float("nan")  # noqa: E731
    return {"parse": share("parse"), "legal": share("legal"),
            "bpb": bits_per_byte(nats, size) if size else float("nan"), "nats": nats,
            "bytes": size, "n": n}


def _pooled(per: dict, keep) -> dict:
    """A seed's statistics pooled over the positions ``keep`` accepts (:func:`_merge`)."""
    return _merge([v for p, v in per.items() if keep(int(p))])


def _figure(numbers: dict, preset: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(7.2, 3.0))
    for (name, per), marker in zip(numbers["models"].items(), "os^", strict=False):
        ps = [int(p) for p in per]
        ax.plot(ps, [per[str(p)]["legal"] for p in ps], marker=marker, ms=4, label=name)
        bx.plot(ps, [per[str(p)]["bpb"] for p in ps], marker=marker, ms=4, label=name)
    for a, label in ((ax, "share legal in the true state"),
                     (bx, "bits per byte of the true next unit")):
        a.axvline(numbers["train_thoughts"] + 0.5, color="grey", ls=":", lw=1)
        a.set_xlabel(f"position of the predicted thought ({LAST} = {LAST} and later)", fontsize=8)
        a.set_ylabel(label, fontsize=8)
        a.grid(alpha=0.3)
    ax.text(numbers["train_thoughts"] + 0.7, 0.02, "past the training length", fontsize=7,
            color="grey")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    common.save_figure(fig, "fig_memory", preset)


if __name__ == "__main__":
    common.command_line(main, __doc__)
