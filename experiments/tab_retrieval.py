"""E2, meaning: retrieval among 1,000 units of distinct meaning, every model and anchor.

    python experiments/tab_retrieval.py [--preset smoke|paper|gpu]

For each task (:func:`ltm.eval.retrieval_pairs`): the PVQ world's paraphrases (English,
Russian) and English-Russian pairs (the evaluation world, seed 1000), the Bible's
KJV-WEB pairs (paraphrases of one verse) and LibreOffice's English-Russian pairs, the
recall@1 and @5 of each query's key among all keys by cosine. Models: the reference LTM
(:func:`common.ltm_run`, at ``paper`` the shipped checkpoint; meaning part of the
thought), E3's byte baseline and hybrid of seed 0 (mean-pooled last hidden states), and
the frozen anchors
MiniLM and multilingual-e5 (:mod:`ltm.anchors`; a ``-`` where the ``anchors`` extra is
not installed). Deterministic given the models: the pairs are drawn with seed 0.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import common  # noqa: E402

from ltm import paths  # noqa: E402

N = {"smoke": 100, "paper": common.CANDIDATES, "gpu": common.CANDIDATES}
"""Candidates per task."""
TASKS = (("world", "paraphrase_en"), ("world", "paraphrase_ru"), ("world", "en_ru"),
         ("bible", "paraphrase_en"), ("libreoffice", "en_ru"))
"""(data set, task) columns of the table."""


def models(preset: str) -> dict[str, Path]:
    """The reference LTM, and E3's baseline and hybrid of seed 0 (trained or reused)."""
    return {"LTM": common.ltm_run(preset), "baseline": common.world_baseline(preset),
            "hybrid": common.three_models(preset)["hybrid"]}


def main(preset: str = "paper") -> str:
    """Embed, rank and write the table."""
    from ltm.anchors import AnchorMissing, load_anchor
    from ltm.eval import load_model, retrieval
    from ltm.pvq import iter_records

    runs = models(preset)
    sets = {"world": common.eval_world()}
    for name in ("bible", "libreoffice"):
        sets[name] = paths.generated() / f"{name}.pvq.jsonl"
        if not sets[name].is_file():
            raise SystemExit(f"{sets[name]} is missing: run experiments/run.py --only data")
    records = {k: list(iter_records(v)) for k, v in sets.items()}
    numbers: dict[str, dict] = {}
    encoders = [(name, lambda d=d: load_model(d)) for name, d in runs.items()]
    encoders += [("MiniLM", lambda: load_anchor("minilm")), ("e5-small", lambda: load_anchor("e5"))]
    for name, make in encoders:
        print(f"  embedding with {name}", flush=True)
        try:
            model = make()
        except AnchorMissing as e:
            print(f"  skipped: {e}", flush=True)
            numbers[name] = None
            continue
        numbers[name] = {k: retrieval(model, recs, N[preset], seed=0)
                         for k, recs in records.items()}
    f = common.fmt
    header = ["model"] + [f"{d} {t.replace('_', ' ')} R@1" for d, t in TASKS]
    rows = [[name] + [f(None if r is None else r[d].get(t, {}).get("recall1")) for d, t in TASKS]
            for name, r in numbers.items()]
    macros = {}
    for name, r in numbers.items():
        if r is not None:
            key = "".join(c for c in name.capitalize() if c.isalpha())
            macros[f"retWorldEnRu{key}"] = f(r["world"].get("en_ru", {}).get("recall1"))
            macros[f"retBible{key}"] = f(r["bible"].get("paraphrase_en", {}).get("recall1"))
            macros[f"retLibre{key}"] = f(r["libreoffice"].get("en_ru", {}).get("recall1"))
    common.write_result("tab_retrieval", preset, numbers, header, rows,
                        f"E2: retrieval recall@1 among {N[preset]:,} units of distinct meaning.",
                        macros)
    ltm = numbers["LTM"]
    return (f"LTM world EN->RU R@1 {ltm['world']['en_ru']['recall1']:.3f}, "
            f"bible {ltm['bible']['paraphrase_en']['recall1']:.3f}")


if __name__ == "__main__":
    common.command_line(main, __doc__)
