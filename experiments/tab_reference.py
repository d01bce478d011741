"""The reference LTM against its targets: one table, both sides of the meaning split.

    python experiments/tab_reference.py [--preset smoke|paper|gpu]

Runs :func:`ltm.worldeval.evaluate_world` on the reference LTM (:func:`common.ltm_run`,
at ``paper`` the shipped checkpoint) over a world generated afresh with the evaluation
seed (:data:`common.EVAL_SEED`; training used 0), once with only train meanings and once
with only held-out ones (the compositional split): exact reconstruction per language, of
distinct quotes and of units as they occur; English-Russian recall@1 among
:data:`common.CANDIDATES` thoughts of distinct meaning; a thought said in the other
language parsing to the same frame; and next thoughts predicted from the true past and
said greedily that parse, are legal in the true state and hit the frame where the past
determines it, with the legality critic (:mod:`ltm.critic`) and, when the model has
one, without it. Each decoding row is measured twice: greedily, one reading per
thought, and with :data:`common.READINGS` readings of which the encoder keeps the
nearest (``LTM.decode(..., readings=N)``); next thoughts are said greedily either way.
Deterministic: the worlds, draws and picks are seeded.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import common  # noqa: E402

UNIT_EPISODES = {"smoke": 200, "paper": 10_000, "gpu": 10_000}
"""Episodes per split whose frames feed the unit metrics."""
PREDICT_EPISODES = {"smoke": 4, "paper": 200, "gpu": 200}
"""Episodes per split whose next thoughts are predicted."""
N = {"smoke": 50, "paper": common.CANDIDATES, "gpu": common.CANDIDATES}
"""Distinct frames per unit metric (retrieval candidates); occurrences for ``units``."""
MAX_BYTES = {"smoke": 40, "paper": None, "gpu": None}
"""Longest decoded unit (``None``: the longest reference + 16); smoke models are barely
trained and would otherwise write to the limit."""
ROWS = (("exact reconstruction, English (distinct quotes)", "codec", "exact_en", "0.95",
         "ExactEn"),
        ("exact reconstruction, Russian (distinct quotes)", "codec", "exact_ru", "0.95",
         "ExactRu"),
        ("exact reconstruction, English (as they occur)", "units", "exact_en", "0.95",
         "OccurEn"),
        ("exact reconstruction, Russian (as they occur)", "units", "exact_ru", "0.95",
         "OccurRu"),
        ("EN→RU recall@1", "retrieval", "recall1_en_ru", "0.95", "RecallEnRu"),
        ("RU→EN recall@1", "retrieval", "recall1_ru_en", "0.95", "RecallRuEn"),
        ("English thought said in Russian, same frame", "cross_language", "en_to_ru", "0.90",
         "CrossEnRu"),
        ("Russian thought said in English, same frame", "cross_language", "ru_to_en", "0.90",
         "CrossRuEn"),
        ("next thoughts that parse", "prediction", "parse", "0.90", "Parse"),
        ("... and are legal in the true state", "prediction", "legal", "0.90", "Legal"),
        ("exact frame on determined thoughts", "prediction", "exact_determined", "", "Exact"),
        ("next thoughts that parse, no critic", "prediction_no_critic", "parse", "",
         "ParseAlone"),
        ("... legal, no critic", "prediction_no_critic", "legal", "", "LegalAlone"),
        ("exact frame on determined, no critic", "prediction_no_critic",
         "exact_determined", "", "ExactAlone"))
"""Table rows: label, group and key of :func:`ltm.worldeval.evaluate_world`'s result,
the issue's target (at least this much; empty: reported, no target), and the paper
macros' name: ``\\ref<Name>`` (train meanings) and ``\\ref<Name>Held`` (held out), and
for the decoding rows ``\\ref<Name>Read`` and ``\\ref<Name>HeldRead`` (with readings)."""
PROSE = {"ExactEn": "exact reconstruction of distinct English quotes",
         "ExactRu": "exact reconstruction of distinct Russian quotes",
         "OccurEn": "exact reconstruction of English units as they occur",
         "OccurRu": "exact reconstruction of Russian units as they occur",
         "RecallEnRu": "English-to-Russian recall@1", "RecallRuEn": "Russian-to-English recall@1",
         "CrossEnRu": "the same frame when an English thought is said in Russian",
         "CrossRuEn": "the same frame when a Russian thought is said in English",
         "Parse": "next thoughts that parse", "Legal": "legal next thoughts"}
"""How the paper's prose names each row with a target (:func:`missed`)."""


def missed(side: dict) -> str:
    """The targets one side of the split misses, as prose with the measured value, for
    the paper's ``\\refMissed`` macros: ``none`` when all are met. A value counts as
    met when, shown to three decimals as in the table, it reaches the target."""
    out = []
    for _, g, k, target, name in ROWS:
        value = side.get(g, {}).get(k)
        if target and value is not None and round(value, 3) < float(target):
            out.append(f"{PROSE[name]} ({common.fmt(value)})")
    if len(out) < 2:
        return out[0] if out else "none"
    return ", ".join(out[:-1]) + " and " + out[-1]


def read(side: dict) -> dict:
    """One side's results with each decoding group said with readings
    (``<group>_reranked``) in place of its greedy one; the other groups as they are."""
    return {g: side.get(f"{g}_reranked", v) for g, v in side.items()
            if not g.endswith("_reranked")}


def models(preset: str) -> dict[str, Path]:
    """The reference LTM (the shipped checkpoint at ``paper``)."""
    return {"LTM": common.ltm_run(preset)}


def main(preset: str = "paper") -> str:
    """Evaluate the reference LTM and write the table."""
    import torch

    from ltm.model import LTM
    from ltm.pvq import world

    torch.manual_seed(0)
    model = LTM.load(models(preset)["LTM"])
    seed = common.EVAL_SEED
    res = common.evaluate_fresh_world(model, seed, PREDICT_EPISODES[preset],
                                      UNIT_EPISODES[preset], n=N[preset], seed=0,
                                      max_bytes=MAX_BYTES[preset], progress=False,
                                      readings=common.READINGS)
    f = common.fmt
    get = lambda side, group, key: res[side].get(group, {}).get(key)  # noqa: E731
    n = common.READINGS
    header = ["metric", "train meanings", "held-out meanings", f"train, {n} readings",
              f"held-out, {n} readings", "target"]
    rows = [[label, f(get("train", g, k)), f(get("heldout", g, k)),
             f(get("train", f"{g}_reranked", k)), f(get("heldout", f"{g}_reranked", k)),
             f"≥ {t}" if t else ""]
            for label, g, k, t, _ in ROWS if g in res["train"]]
    macros = {}
    for _, g, k, _, name in ROWS:  # every row's macros, "-" where the model has no critic
        macros[f"ref{name}"] = f(get("train", g, k))
        macros[f"ref{name}Held"] = f(get("heldout", g, k))
        if f"{g}_reranked" in res["train"]:
            macros[f"ref{name}Read"] = f(get("train", f"{g}_reranked", k))
            macros[f"ref{name}HeldRead"] = f(get("heldout", f"{g}_reranked", k))
    macros["refMissed"], macros["refMissedHeld"] = missed(res["train"]), missed(res["heldout"])
    macros["refMissedRead"] = missed(read(res["train"]))
    macros["refMissedHeldRead"] = missed(read(res["heldout"]))
    counts = {s: res[s]["prediction"]["n"] for s in world.SPLITS}
    numbers = {"results": res, "critic": model.critic is not None,
               "episodes": PREDICT_EPISODES[preset], "unit_episodes": UNIT_EPISODES[preset]}
    common.write_result(
        "tab_reference", preset, numbers, header, rows,
        f"The reference LTM against its targets on the evaluation world (seed {seed}); "
        f"train or held-out meanings, greedy decoding and {n} readings kept by the "
        f"encoder (next thoughts greedy either way); next thoughts: "
        f"{counts['train']:,} / {counts['heldout']:,}.", macros)
    return (f"next thoughts legal {f(get('train', 'prediction', 'legal'))} / "
            f"{f(get('heldout', 'prediction', 'legal'))}, exact EN "
            f"{f(get('train', 'codec', 'exact_en'))} / {f(get('heldout', 'codec', 'exact_en'))}")


if __name__ == "__main__":
    common.command_line(main, __doc__)
