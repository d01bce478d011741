"""E8, tension: does the predicted tension rise at perturbations? Its norm per phase of the arc.

    python experiments/fig_tension.py [--preset smoke|paper|gpu]

The LTM of the preset (:func:`common.ltm_run`, reused) reads the first episodes of the
evaluation world (seed 1000, both sides of the meaning split), each in one language at
a time, every thought by its canonical quote (``t.quotes[lang][0]``), as training reads
an episode: thoughts ``z_1..z_T`` (:meth:`ltm.model.LTM.encode`), contexts ``c_1..c_T``
from the field core. For every transition ``t -> t+1``:

- **predicted tension** ``||v_t||``: for the ``flow`` head, the velocity at path time 0
  at the current thought, ``v(z_t, 0 | c_t, z_t)``, the head's estimate of the mean move
  ``E[z_{t+1} - z_t]`` (its training target on the straight path; with ``source_noise``
  the path starts near, not at, ``z_t``); for ``choice``, the same estimate of the mean
  move from its hypotheses weighted by its selector's probabilities, ``sum_k p_k y_k -
  z_t`` (:meth:`ltm.heads.ChoiceHead.mean`); for ``flow-noise``, ``mse`` and ``energy``,
  which have no velocity at ``z_t``, the sampled move;
- **sampled move** ``||z_hat_{t+1} - z_t||``, the model's next thought
  (:meth:`ltm.model.LTM.next_thought`: on the field, default ODE steps, one seeded
  generator; a ``choice`` head's pick in the language read) minus the current one;
- **true step** ``||z_{t+1} - z_t||`` and the **cosine** between predicted and true moves.

Transitions are grouped by the phase of the *next* thought (the one predicted): mean,
standard error (transitions taken as independent) and n. The test statistic is the ratio
of the mean at perturbation targets to the mean at all other targets, for the predicted
tension and for the true step, with a 95% percentile interval from 1000 bootstrap
resamples of whole episodes (seeded numpy; each episode has exactly one perturbation).
Thoughts have unit norm, so a move is at most 2. A mean move shrinks where the next
thought is uncertain, so a flow velocity may rise less than the true step.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import common  # noqa: E402

N = {"smoke": 20, "paper": 300, "gpu": 300}
"""Episodes of the evaluation world read (it has 300)."""
BOOT, SEED = 1000, 0
"""Bootstrap resamples and the seed of every random draw."""
KINDS = ("flow", "flow-noise", "mse", "energy", "choice")
QUANTITIES = {"pred": "predicted ‖v‖", "sampled": "sampled move", "true": "true step",
              "cos": "cos(v, Δz)"}


def moves(model, thoughts, generator, lang: str | None = None) -> dict:
    """Per transition of one episode's thoughts (T, Z): the norms of the predicted
    tension, the sampled move and the true step, and the cosine of predicted and true
    move (see the module docstring), each a numpy array (T-1,)."""
    import torch

    from ltm.model import prefixes

    context, _ = model.core(thoughts[None])  # (1, T, C)
    c, cur, nxt = context[0, :-1], thoughts[:-1], thoughts[1:]
    past, past_mask = prefixes(cur)
    sampled = model.next_thought(c, cur, generator=generator, lang=lang, past=past,
                                 past_mask=past_mask) - cur  # (T-1, Z)
    if model.config.field.head == "flow":
        pred = model.head.velocity(c, cur, cur, cur.new_zeros(len(cur), 1))
    elif model.config.field.head == "choice":
        pred = model.head.mean(c, cur) - cur
    else:
        pred = sampled
    true = nxt - cur
    out = {"pred": pred.norm(dim=-1), "sampled": sampled.norm(dim=-1),
           "true": true.norm(dim=-1), "cos": torch.cosine_similarity(pred, true, dim=-1)}
    return {k: v.double().numpy() for k, v in out.items()}


def ratio(values, perturb, episode, n_episodes: int) -> dict:
    """Mean of ``values`` at perturbation targets over the mean at the others, with a
    95% interval from :data:`BOOT` resamples of whole episodes."""
    import numpy as np

    sums = [np.bincount(episode, weights=values * m, minlength=n_episodes)
            for m in (perturb, ~perturb)]
    counts = [np.bincount(episode, weights=m.astype(float), minlength=n_episodes)
              for m in (perturb, ~perturb)]
    idx = np.random.default_rng(SEED).integers(0, n_episodes, (BOOT, n_episodes))
    boot = ((sums[0][idx].sum(1) / counts[0][idx].sum(1))
            / (sums[1][idx].sum(1) / counts[1][idx].sum(1)))
    lo, hi = np.percentile(boot, [2.5, 97.5])
    point = (sums[0].sum() / counts[0].sum()) / (sums[1].sum() / counts[1].sum())
    return {"ratio": round(float(point), 6), "lo": round(float(lo), 6), "hi": round(float(hi), 6)}


def _stats(v) -> dict:
    """Mean, standard error (``nan`` for one value) and n of an array."""
    se = v.std(ddof=1) / len(v) ** 0.5 if len(v) > 1 else float("nan")
    return {"mean": round(float(v.mean()), 6), "se": round(float(se), 6), "n": len(v)}


def models(preset: str) -> dict:
    """The one model measured: the reference LTM (:func:`common.ltm_run`)."""
    return {"LTM": common.ltm_run(preset)}


def main(preset: str = "paper") -> str:
    """Read the episodes, measure every transition, write the figure, table and JSON."""
    import numpy as np
    import torch

    from ltm.eval import load_model
    from ltm.pvq import PHASES, iter_records

    run = common.ltm_run(preset)
    model = load_model(run)
    kind = model.config.field.head
    if kind not in KINDS:
        raise SystemExit(f"fig_tension: no tension defined for head {kind!r} "
                         f"(one of {', '.join(KINDS)})")
    records = list(itertools.islice(iter_records(common.eval_world()), N[preset]))
    numbers: dict = {"head": kind, "run": run.name, "episodes": len(records)}
    for lang in model.config.codec.langs:
        g = torch.Generator().manual_seed(SEED)
        rows, phases, episode = [], [], []
        with torch.no_grad():
            for i, r in enumerate(records):
                rows.append(moves(model, model.encode([t.quotes[lang][0] for t in r.thoughts]), g,
                                  lang))
                phases += [t.phase for t in r.thoughts[1:]]
                episode += [i] * (len(r.thoughts) - 1)
        data = {k: np.concatenate([m[k] for m in rows]) for k in QUANTITIES}
        phases, episode = np.array(phases), np.array(episode)
        per = {p: {k: _stats(v[phases == p]) for k, v in data.items()}
               for p in PHASES if (phases == p).any()}
        perturb = phases == "perturbation"
        numbers[lang] = {"phases": per, **{f"ratio_{k}": ratio(data[k], perturb, episode,
                                                                len(records))
                                           for k in ("pred", "sampled", "true")}}
        print(f"  {lang}: {len(phases)} transitions", flush=True)
    _figure(numbers, model.config.codec.langs, preset)
    f = common.fmt
    header = ["lang", "next phase", "n"] + list(QUANTITIES.values())
    rows = [[lang, p, str(q["pred"]["n"])] + [f"{f(q[k]['mean'])} ± {f(q[k]['se'])}"
                                             for k in QUANTITIES]
            for lang in model.config.codec.langs for p, q in numbers[lang]["phases"].items()]
    macros = {f"tensionRatio{name}{end}{'' if i == 0 else lang.capitalize()}":
              f(numbers[lang][f"ratio_{k}"][part], 2)
              for i, lang in enumerate(model.config.codec.langs)
              for k, name in (("pred", "Pred"), ("true", "True"))
              for part, end in (("ratio", ""), ("lo", "Lo"), ("hi", "Hi"))}
    en = numbers[model.config.codec.langs[0]]
    macros |= {f"tension{name}{p.capitalize()}": f(q[k]["mean"], 2)
               for p, q in en["phases"].items()
               for k, name in (("pred", "Pred"), ("true", "True"), ("cos", "Cos"))}
    macros["tensionEpisodes"] = str(len(records))
    common.write_result("fig_tension", preset, numbers, header, rows,
                        f"E8: move norms by phase of the predicted thought ({kind} head; "
                        "mean ± s.e.).", macros)
    return ", ".join(f"{lang} perturbation/other: predicted {numbers[lang]['ratio_pred']['ratio']:.2f}"
                     f", true {numbers[lang]['ratio_true']['ratio']:.2f}"
                     for lang in model.config.codec.langs)


def _figure(numbers: dict, langs, preset: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(7.0, 3.2))
    styles = {"pred": ("C0", "o"), "sampled": ("C2", "^"), "true": ("C3", "s")}
    for j, lang in enumerate(langs):
        per = numbers[lang]["phases"]
        for i, (k, (color, marker)) in enumerate(styles.items()):
            x = [n + 0.1 * (i - 1) + 0.04 * j for n in range(len(per))]
            for a, key in ((ax, k), (bx, "cos"))[: 2 if k == "pred" else 1]:
                a.errorbar(x, [q[key]["mean"] for q in per.values()],
                           yerr=[q[key]["se"] for q in per.values()], color=color,
                           marker=marker, ms=4, ls="-" if j == 0 else "--", capsize=2,
                           mfc=color if j == 0 else "none",
                           label=f"{QUANTITIES[key]} ({lang})")
    for a, label in ((ax, "norm of the move (unit-norm thoughts)"),
                     (bx, "cos(predicted move, true move)")):
        per = numbers[langs[0]]["phases"]
        a.set_xticks(range(len(per)), list(per), rotation=20, fontsize=7)
        a.set_xlabel("phase of the predicted (next) thought")
        a.set_ylabel(label, fontsize=8)
        a.grid(alpha=0.3)
        a.legend(fontsize=6.5, frameon=False)
    fig.tight_layout()
    common.save_figure(fig, "fig_tension", preset)


if __name__ == "__main__":
    common.command_line(main, __doc__)
