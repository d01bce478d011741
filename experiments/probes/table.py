"""Print every probe of ``results.jsonl`` as Markdown tables: codec probes, the
oracle-decoder probes of ``oracle_decoder.py``, the encoder probes of
``encoder_probe.py``, the recipe probes of ``recipe_ab.py``, then the teacher-decoder,
seen/unseen and integration-step (``sample_steps.py``) probes.

    python experiments/probes/table.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _f3(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def section(rows: list[dict], kind: str, columns: list[str]) -> list[dict]:
    """The rows of one ``kind``, after printing their table's header when there are any."""
    picked = [r for r in rows if r.get("kind") == kind]
    if picked:
        print("\n| " + " | ".join(columns) + " |")
        print("|" + "---|" * len(columns))
    return picked


def main() -> None:
    print("| probe | min | steps | bytes/s | exact en/ru | recall@1 en>ru/ru>en | "
          "cross en>ru/ru>en | held-out exact en/ru | held-out recall | held-out cross |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = [json.loads(line) for line in
            (HERE / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    for r in rows:
        if "kind" in r:  # the codec probes carry none; the rest have tables of their own
            continue
        tr = r.get("train", r.get("in", {}))
        ho = r["heldout"]
        # the first probe was scored by an earlier eval: 500 episode units (frequency-
        # weighted), world seed 777/778, not the distinct quotes of the issue-3 harness
        name = r["name"] + (" (eval v0: episode units)" if "in" in r else "")
        row = [name, f"{r['train_minutes']:.1f}", str(r["steps"]), str(r["bytes_per_s"]),
               f"{_f(tr.get('exact_en'))}/{_f(tr.get('exact_ru'))}",
               f"{_f(tr.get('recall_en_ru'))}/{_f(tr.get('recall_ru_en'))}",
               f"{_f(tr.get('cross_en_ru'))}/{_f(tr.get('cross_ru_en'))}",
               f"{_f(ho.get('exact_en'))}/{_f(ho.get('exact_ru'))}",
               f"{_f(ho.get('recall_en_ru'))}/{_f(ho.get('recall_ru_en'))}",
               f"{_f(ho.get('cross_en_ru'))}/{_f(ho.get('cross_ru_en'))}"]
        print("| " + " | ".join(row) + " |")
    for r in section(rows, "oracle_decoder", [
            "probe", "decoder steps (min)", "exact en/ru from the oracle code, train",
            "held-out", "encoder steps (min)", "exact en>en/ru>ru/en>ru/ru>en, train",
            "held-out"]):
        ev, de = r["eval"], r.get("distill_eval")
        pair = lambda e: f"{_f(e['exact_en'])}/{_f(e['exact_ru'])}"  # noqa: E731
        four = lambda e: "/".join(_f(e[f"exact_{k}"]) for k in  # noqa: E731
                                  ("en>en", "ru>ru", "en>ru", "ru>en"))
        print(f"| {r['probe']} | {r['steps']} ({r['minutes']:.1f}) | {pair(ev['train'])} | "
              f"{pair(ev['heldout'])} | "
              + (f"{r['distill_steps']} ({r['distill_minutes']:.1f}) | {four(de['train'])} | "
                 f"{four(de['heldout'])} |" if de else "- | - | - |"))

    for r in section(rows, "encoder_probe", [
            "probe", "byte layers", "word layers", "n-grams (buckets)", "params",
            "steps (min)", "cos / roles / frames, train", "held-out"]):
        ngrams = (f"2..{r['ngram_max']} ({r.get('ngram_buckets', 4096)})"
                  if r.get("ngram_max") else "-")
        three = lambda e: f"{e['cos']:.3f} / {e['roles']:.3f} / {e['frames']:.3f}"  # noqa: E731
        print(f"| {r['probe']} | {r['enc_layers']} | {r['word_layers']} | {ngrams} | "
              f"{r['params']:,} | {r['steps']} ({r['minutes']:.1f}) | {three(r['eval']['train'])} | "
              f"{three(r['eval']['heldout'])} |")

    for r in section(rows, "recipe_ab", [
            "probe", "changed", "codec + core steps (min)", "exact en/ru, train", "held-out",
            "recall@1 en>ru/ru>en, train", "held-out", "same frame en>ru/ru>en, train",
            "held-out", "next parse/legal/exact det., train", "held-out"]):
        cells = []
        for group, keys in (("codec", ("exact_en", "exact_ru")),
                            ("retrieval", ("recall1_en_ru", "recall1_ru_en")),
                            ("cross_language", ("en_to_ru", "ru_to_en")),
                            ("prediction", ("parse", "legal", "exact_determined"))):
            for side in ("train", "heldout"):
                e = r["eval"][side].get(group)
                cells.append(" / ".join(f"{e[k]:.3f}" for k in keys) if e else "-")
        steps = f"{r['codec_steps']} + {r['core_steps']}"
        steps += " (codec frozen)" if r["codec"] else ""
        changed = ", ".join(r["set"] + [f"field {f}" for f in r.get("field", [])]) or "-"
        print(f"| {r['probe']} | {changed} | {steps} ({r['minutes']:.1f}) | "
              + " | ".join(cells) + " |")

    for r in section(rows, "teacher_decoder", [
            "probe", "frames", "own phrasing en/ru from the teacher code, train", "held-out",
            "canonical en/ru from its meaning part, train", "held-out",
            "encoder cos to it, train", "held-out"]):
        ev = r["eval"]
        two = lambda e, k: f"{_f(e[f'{k}_en'])}/{_f(e[f'{k}_ru'])}"  # noqa: E731
        print(f"| {r['probe']} | {r['n']} | {two(ev['train'], 'own')} | "
              f"{two(ev['heldout'], 'own')} | {two(ev['train'], 'canon')} | "
              f"{two(ev['heldout'], 'canon')} | {ev['train']['distill_cos']:.3f} | "
              f"{ev['heldout']['distill_cos']:.3f} |")

    for r in section(rows, "seen_unseen", [
            "probe", "frames per side", "exact / same frame, seen", "unseen", "held-out",
            "recaps exact, seen / unseen / held-out"]):
        ev = r["eval"]
        pair = lambda e: f"{e['exact']:.3f} / {e['frame']:.3f}"  # noqa: E731
        recap = " / ".join(_f(ev[s]["by_act"].get("recap", {}).get("exact"))
                           for s in ("seen", "unseen", "heldout"))
        print(f"| {r['probe']} | {r['n']} | {pair(ev['seen'])} | {pair(ev['unseen'])} | "
              f"{pair(ev['heldout'])} | {recap} |")

    for r in section(rows, "sample_steps", [
            "probe", "world seed", "episodes (min)", "next parse/legal/exact det., train",
            "held-out"]):
        three = lambda e: " / ".join(  # noqa: E731
            _f3(e["prediction"].get(k)) for k in ("parse", "legal", "exact_determined"))
        print(f"| {r['probe']} | {r.get('world_seed', 1000)} | {r['episodes']} "
              f"({r['minutes']:.1f}) | {three(r['eval']['train'])} | "
              f"{three(r['eval']['heldout'])} |")


if __name__ == "__main__":
    main()
