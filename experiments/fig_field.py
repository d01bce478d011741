"""E2 (picture), the thought field in two dimensions, coloured by act and by language.

    python experiments/fig_field.py [--preset smoke|paper|gpu]

The LTM of the preset (:func:`common.ltm_run`, reused) encodes :data:`N` distinct
meanings of the evaluation world (seed 1000), each said in English and in Russian
(canonical quotes). The meaning parts of the thoughts (the vectors retrieval compares)
are centred and projected on their first two principal components (an exact SVD, so
the picture is deterministic up to the sign, fixed here so the largest loading is
positive). Left: coloured by the frame's act; right: by language, with a thin line
joining the two quotes of one meaning. The numbers beside the picture say what it
shows: the variance the two components explain, the mean distance between the two
languages' points of one meaning against the mean distance between points of two
different meanings (in the full meaning space), the share of quotes whose nearest other
point (full space, cosine) has the same act, and, since that nearest point is most often
the quote's own translation, the same share with both quotes of the quote's own meaning
left out, against its chance level (two other points drawn at random share an act).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import common  # noqa: E402

N = {"smoke": 60, "paper": 600, "gpu": 1000}
"""Distinct meanings drawn (each gives two points, English and Russian)."""


def meanings(n: int) -> list[tuple[str, str, str]]:
    """``n`` distinct meanings of the evaluation world as ``(act, en, ru)``, seeded."""
    from ltm.pvq import iter_records, walk

    pool = {}
    for r in iter_records(common.eval_world()):
        for t in walk(r.thoughts):
            if t.frame and t.quotes.get("en") and t.quotes.get("ru"):
                pool.setdefault(t.quotes["en"][0], (t.frame["act"], t.quotes["en"][0],
                                                    t.quotes["ru"][0]))
    keys = sorted(pool)
    return [pool[k] for k in random.Random("field").sample(keys, min(n, len(keys)))]


def models(preset: str) -> dict:
    """The one model measured: the reference LTM (:func:`common.ltm_run`)."""
    return {"LTM": common.ltm_run(preset)}


def main(preset: str = "paper") -> str:
    """Encode, project, measure; write the figure, the numbers and the table."""
    import torch

    from ltm.eval import load_model

    model = load_model(common.ltm_run(preset))
    rows = meanings(N[preset])
    acts = [a for a, _, _ in rows]
    with torch.no_grad():
        en = model.embed_units([e for _, e, _ in rows]).double()  # (n, M), unit norm
        ru = model.embed_units([r for _, _, r in rows]).double()
    x = torch.cat([en, ru])  # (2n, M)
    xc = x - x.mean(0)
    _, s, vt = torch.linalg.svd(xc, full_matrices=False)
    comps = vt[:2] * torch.sign(vt[:2].gather(1, vt[:2].abs().argmax(1, keepdim=True)))
    xy = (xc @ comps.T).numpy()  # (2n, 2)
    n = len(rows)
    same = (en - ru).norm(dim=1).mean().item()
    perm = torch.roll(torch.arange(n), 1)  # each meaning against another one
    other = (en - ru[perm]).norm(dim=1).mean().item()
    sim = x @ x.T
    sim.fill_diagonal_(-2)
    nearest = sim.argmax(1).tolist()
    partner = torch.arange(2 * n).roll(n)  # the other language's quote of one meaning
    sim[torch.arange(2 * n), partner] = -2
    nearest_other = sim.argmax(1).tolist()  # nearest point of another meaning
    labels = acts + acts
    counts = [labels.count(a) for a in set(labels)]
    numbers = {"meanings": n, "explained_2d": (s[:2] ** 2).sum().item() / (s ** 2).sum().item(),
               "dist_same_meaning": same, "dist_other_meaning": other,
               "nearest_same_act": sum(labels[i] == labels[j] for i, j in
                                       enumerate(nearest)) / len(nearest),
               "nearest_is_translation": sum(j == p for j, p in
                                             zip(nearest, partner.tolist(), strict=True))
               / len(nearest),
               "nearest_other_same_act": sum(labels[i] == labels[j] for i, j in
                                             enumerate(nearest_other)) / len(nearest_other),
               "nearest_other_same_act_chance": sum(c * (c - 2) for c in counts)
               / (2 * n * (2 * n - 2)),
               "acts": sorted(set(acts))}
    _figure(xy, acts, n, preset)
    f = common.fmt
    header = ["meanings", "variance in 2-D", "EN–RU distance, same meaning",
              "EN–RU distance, other meaning", "nearest has the same act",
              "nearest is the translation", "nearest other meaning has the same act",
              "chance"]
    table = [[str(n), f(numbers["explained_2d"]), f(same), f(other),
              f(numbers["nearest_same_act"]), f(numbers["nearest_is_translation"]),
              f(numbers["nearest_other_same_act"]),
              f(numbers["nearest_other_same_act_chance"])]]
    macros = {"fieldExplained": f(numbers["explained_2d"]), "fieldDistSame": f(same),
              "fieldDistOther": f(other), "fieldNearestAct": f(numbers["nearest_same_act"]),
              "fieldMeanings": f"{n:,}".replace(",", "{,}"),
              "fieldNearestTranslation": f(numbers["nearest_is_translation"]),
              "fieldNearestOtherAct": f(numbers["nearest_other_same_act"]),
              "fieldNearestOtherActChance": f(numbers["nearest_other_same_act_chance"])}
    common.write_result("fig_field", preset, numbers, header, table,
                        "E2: the thought field (meaning parts) in two principal components.",
                        macros)
    return (f"EN-RU distance {same:.3f} same meaning vs {other:.3f} other; nearest same act "
            f"{numbers['nearest_same_act']:.3f}")


def _figure(xy, acts: list[str], n: int, preset: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(7.2, 4.3), sharex=True, sharey=True)
    kinds = sorted(set(acts))
    cmap = plt.get_cmap("tab20", len(kinds))
    for i, act in enumerate(kinds):
        idx = [j for j, a in enumerate(acts) if a == act]
        pts = xy[idx + [j + n for j in idx]]
        ax.scatter(pts[:, 0], pts[:, 1], s=5, color=cmap(i), label=act)
    for j in range(n):
        bx.plot(xy[[j, j + n], 0], xy[[j, j + n], 1], color="0.8", lw=0.4, zorder=0)
    bx.scatter(xy[:n, 0], xy[:n, 1], s=5, color="C0", label="English")
    bx.scatter(xy[n:, 0], xy[n:, 1], s=5, color="C3", marker="x", lw=0.6, label="Russian")
    ax.set_title("coloured by act", fontsize=9)
    bx.set_title("coloured by language (lines join one meaning)", fontsize=9)
    for a in (ax, bx):
        a.set_xlabel("principal component 1 (meaning part)")
        a.grid(alpha=0.3)
    ax.set_ylabel("principal component 2")
    handles, names = ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=9, fontsize=6, frameon=False,
               markerscale=2, columnspacing=0.8, handletextpad=0.2)
    bx.legend(fontsize=7, frameon=False, markerscale=2)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    common.save_figure(fig, "fig_field", preset)


if __name__ == "__main__":
    common.command_line(main, __doc__)
