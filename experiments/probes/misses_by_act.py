"""Probe: which units the codec fails to say back, by act, as a reader meets them.

    python experiments/probes/misses_by_act.py MODEL WORLD_SEED [UNITS]

On the train side of the world of ``WORLD_SEED`` (300 episodes), ``UNITS`` units (default
2,000) are drawn as they occur in the episodes, repeats included, each in a random
language and phrasing; each is encoded and said back greedily in its language. Printed:
the share said back exactly, then per act of the unit's frame the units drawn and the
misses. Then the same over distinct quotes (every phrasing met in those episodes once, at
most ``UNITS`` of them; unlike ``experiments/tab_reference.py``'s distinct rows, which
take every frame of the world once and so are mostly recaps). A codec whose misses sit
in a few acts was starved of them in training, not short of capacity.
"""

from __future__ import annotations

import random
import sys
from collections import Counter

import torch

from ltm.model import LTM
from ltm.pvq import world

EPISODES = 300


def misses(model: LTM, items: list[tuple[str, str, str]]) -> tuple[Counter, Counter]:
    """Units drawn and units not said back exactly, per act, of ``(quote, lang, act)``."""
    drawn, missed = Counter(), Counter()
    for i in range(0, len(items), 256):
        chunk = items[i: i + 256]
        with torch.no_grad():
            z = model.encode([q for q, _, _ in chunk])
            said, _ = model.decoder.read(z, model.lang_ids([x for _, x, _ in chunk],
                                                           len(chunk)))
        for s, (q, _, act) in zip(said, chunk, strict=True):
            drawn[act] += 1
            missed[act] += s != q.encode("utf-8")
    return drawn, missed


def report(name: str, drawn: Counter, missed: Counter) -> None:
    """One line of the exact share, then one per act, most frequent first."""
    total = sum(drawn.values())
    print(f"{name}: exact {1 - sum(missed.values()) / total:.3f} of {total}")
    for act, n in drawn.most_common():
        print(f"  {act:10s} {n:5d} units, {missed[act]:4d} missed ({missed[act] / n:.2f})")


def main(argv: list[str]) -> None:
    if len(argv) not in (2, 3):
        sys.exit("misses_by_act: usage: misses_by_act.py MODEL WORLD_SEED [UNITS]")
    torch.set_num_threads(2)
    model = LTM.load(argv[0]).eval()
    n = int(argv[2]) if len(argv) == 3 else 2000
    rng = random.Random(0)
    langs = list(model.config.codec.langs)
    occurring, distinct = [], {}
    for record in world.generate(EPISODES, int(argv[1]), split="train"):
        for t in record.thoughts:
            lang = rng.choice(langs)
            occurring.append((rng.choice(t.quotes[lang]), lang, t.frame["act"]))
            for x in langs:
                for q in t.quotes[x]:
                    distinct.setdefault(q, (q, x, t.frame["act"]))
    report("as they occur", *misses(model, rng.sample(occurring, min(n, len(occurring)))))
    items = list(distinct.values())
    report("distinct quotes", *misses(model, rng.sample(items, min(n, len(items)))))


if __name__ == "__main__":
    main(sys.argv[1:])
