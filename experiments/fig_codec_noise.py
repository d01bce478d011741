"""E1 (part), the codec under noise: how much error on a thought can the decoder absorb?

    python experiments/fig_codec_noise.py [--preset smoke|paper|gpu]

The LTM of the preset (:func:`common.ltm_run`, reused) encodes distinct quotes of the
evaluation world (seed 1000, both languages, every phrasing), Gaussian noise of expected
norm ``sigma`` is added to each thought and the result put back on the field
(:func:`ltm.losses.noise_thoughts`, seeded), and the decoder writes the quote again,
greedily, in the quote's language. For each ``sigma``: byte accuracy
(:func:`ltm.metrics.byte_accuracy`), exact match, and the share that parses to the same
frame (the meaning survived even where the words did not). Thoughts have unit norm, so
``sigma = 1`` is noise as large as the thought. The training recipe decodes from
``sigma = 0.2`` noise (``TrainConfig.noise_sigma``).

Each noised thought is also said with :data:`READINGS` readings reranked by the encoder
(``LTM.decode(..., readings=N)``: the greedy reading and up to ``N - 1`` more, each
the nearest reading so far with another token at one of its least sure places, found
as ``ltm.readings.READING_SEARCH`` says, keeping the one whose encoding lies nearest the
noised thought): exact match and same
frame again, beside the greedy ones.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import common  # noqa: E402

SIGMAS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.8)
"""Expected noise norms, on thoughts of norm 1."""
N = {"smoke": 24, "paper": 300, "gpu": 1000}
"""Quotes per language."""
READINGS = common.READINGS
"""Readings per thought in the reranked columns (:data:`common.READINGS`)."""


def quotes(langs, n: int) -> dict[str, dict[str, dict]]:
    """``{lang: {quote: frame}}``: up to ``n`` distinct quotes per language of the
    evaluation world (every phrasing), drawn with a fixed seed."""
    from ltm.pvq import iter_records, walk

    pool = {lang: {} for lang in langs}
    for r in iter_records(common.eval_world()):
        for t in walk(r.thoughts):
            for lang in langs:
                for q in t.quotes.get(lang, ()):
                    pool[lang].setdefault(q, t.frame)
    out = {}
    for lang, frames in pool.items():
        picked = random.Random(f"noise:{lang}").sample(sorted(frames), min(n, len(frames)))
        out[lang] = {q: frames[q] for q in picked}
    return out


def reconstruction(model, picked: dict[str, dict], lang: str, sigma: float = 0.0,
                   readings: int = 1) -> dict:
    """Encode the quotes of ``picked`` (quote -> frame), add noise of norm ``sigma``
    (seeded), decode greedily in ``lang`` (``readings`` > 1: reranked by the encoder):
    byte accuracy, exact match, same frame."""
    import torch

    from ltm.losses import noise_thoughts
    from ltm.metrics import byte_accuracy
    from ltm.pvq import world

    codec, qs = model.config.codec, list(picked)
    with torch.no_grad():
        z = model.encode(qs)  # (N, Z)
        g = torch.Generator().manual_seed(0)
        zn = noise_thoughts(z, sigma, codec.meaning_dim, codec.surface_norm, g)
        said = model.decode(zn, lang, max_bytes=max(len(q.encode()) for q in qs) + 16,
                            readings=readings)
    same = [world.parse(s, lang) == picked[q] for s, q in zip(said, qs, strict=True)]
    return {"byte_acc": byte_accuracy(said, qs),
            "exact": sum(s == q for s, q in zip(said, qs, strict=True)) / len(qs),
            "same_frame": sum(same) / len(same), "n": len(qs)}


def models(preset: str) -> dict:
    """The one model measured: the reference LTM (:func:`common.ltm_run`)."""
    return {"LTM": common.ltm_run(preset)}


def main(preset: str = "paper") -> str:
    """Encode, noise, decode, score; write the figure, the table and the JSON."""
    from ltm.eval import load_model

    model = load_model(common.ltm_run(preset))
    codec = model.config.codec
    numbers: dict[str, dict] = {}
    for lang, picked in quotes(codec.langs, N[preset]).items():
        for sigma in SIGMAS:
            greedy = reconstruction(model, picked, lang, sigma)
            reranked = reconstruction(model, picked, lang, sigma, READINGS)
            numbers.setdefault(f"{sigma:g}", {})[lang] = greedy | {
                f"{k}_reranked": reranked[k] for k in ("byte_acc", "exact", "same_frame")}
        print(f"  {lang}: {len(picked)} quotes", flush=True)
    _figure(numbers, codec.langs, preset)
    f = common.fmt
    columns = ("byte_acc", "exact", "same_frame", "exact_reranked", "same_frame_reranked")
    names = ("byte acc.", "exact", "same frame", f"exact ({READINGS})",
             f"same frame ({READINGS})")
    header = ["noise norm σ"] + [f"{m} {lang}" for lang in codec.langs for m in names]
    rows = [[s] + [f(v[lang][k]) for lang in codec.langs for k in columns]
            for s, v in numbers.items()]
    macros = {f"noise{k.replace('_', '')}{lang.capitalize()}{name}": f(numbers[s][lang][k])
              for s, name in (("0", "Zero"), ("0.2", "Train"), ("0.5", "Half"),
                              ("0.8", "Large"))
              for lang in codec.langs for k in columns}
    macros["noiseReadings"] = str(READINGS)
    common.write_result("fig_codec_noise", preset, numbers, header, rows,
                        f"E1: reconstruction from noised thoughts, greedy and with {READINGS} "
                        "readings reranked by the encoder.", macros)
    zero, half = numbers["0"], numbers["0.5"]
    return ", ".join(f"{lang} same frame {zero[lang]['same_frame']:.2f} -> "
                     f"{half[lang]['same_frame']:.2f} at sigma 0.5 "
                     f"({half[lang]['same_frame_reranked']:.2f} with {READINGS} readings)"
                     for lang in codec.langs)


def _figure(numbers: dict, langs, preset: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sig = [float(s) for s in numbers]
    fig, ax = plt.subplots(figsize=(4.2, 3.0))
    styles = {"byte_acc": ("byte accuracy", "o"), "same_frame": ("same frame", "s"),
              "exact": ("exact match", "^"),
              "exact_reranked": (f"exact, {READINGS} readings", "v")}
    for k, (label, marker) in styles.items():
        for lang, ls in zip(langs, ("-", "--"), strict=False):
            ax.plot(sig, [numbers[s][lang][k] for s in numbers], ls, marker=marker, ms=4,
                    label=f"{label} ({lang})")
    ax.set_xlabel("noise norm σ on a unit-norm thought")
    ax.set_ylabel("share of quotes")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6.5, ncol=2, frameon=False)
    fig.tight_layout()
    common.save_figure(fig, "fig_codec_noise", preset)


if __name__ == "__main__":
    common.command_line(main, __doc__)
