"""Speed and size of the PVQ world: episodes per second on one core, parse cost, counts.

Run ``PYTHONPATH=reference python bench/world_speed.py [--episodes N]``. It prints a
JSON summary and writes it to ``bench/world_speed.json`` (not committed):

- ``generate_eps``: episodes/s of ``generate`` with both languages and all phrasings,
  first pass from a fresh process (render caches cold) and best of three warm passes;
- ``write_eps``: episodes/s of ``write_world`` (the same, plus JSON and the disk);
- ``parse_us``: mean microseconds of ``parse`` over a sample of every act's quotes;
- ``frames`` and ``quotes``: distinct frames of the world and distinct quotes (all
  languages and phrasings), and whether every quote parses back to its frame
  (``--exhaustive``, about 10 s).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reference"))

from ltm.pvq import world  # noqa: E402


def _eps(n: int, seed: int) -> float:
    t = time.perf_counter()
    for _ in world.generate(n, seed):
        pass
    return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=20000)
    ap.add_argument("--exhaustive", action="store_true",
                    help="parse every quote of every frame back (about 10 s)")
    ap.add_argument("--out", default=str(Path(__file__).with_name("world_speed.json")))
    args = ap.parse_args()
    n = args.episodes

    cold = _eps(n, 0)
    warm = max(_eps(n, s) for s in (1, 2, 3))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "w.pvq.jsonl")
        t = time.perf_counter()
        world.write_world(path, n, 4)
        write_eps = n / (time.perf_counter() - t)
        size = os.path.getsize(path)

    frames = list(world.all_frames())
    rng = random.Random(0)
    sample = rng.sample(frames, 2000)
    pairs = [(q, lang) for f in sample for lang in world.LANGS for q in world.phrasings(f, lang)]
    t = time.perf_counter()
    for q, lang in pairs:
        world.parse(q, lang)
    parse_us = (time.perf_counter() - t) / len(pairs) * 1e6

    quotes = {lang: set() for lang in world.LANGS}
    roundtrip = None
    for f in frames:
        for lang in world.LANGS:
            quotes[lang].update(world.phrasings(f, lang))
    if args.exhaustive:
        roundtrip = all(world.parse(q, lang) == f for f in frames for lang in world.LANGS
                        for q in world.phrasings(f, lang))

    result = {
        "episodes": n,
        "generate_eps": {"cold": round(cold), "warm_best_of_3": round(warm)},
        "write_eps": round(write_eps),
        "bytes_per_record": round(size / n),
        "parse_us": round(parse_us, 1),
        "frames": len(frames),
        "acts": len(world.ACTS),
        "entities": {k: len(v) for k, v in world.KINDS.items()},
        "quotes": {lang: len(qs) for lang, qs in quotes.items()},
        "quotes_total": sum(len(qs) for qs in quotes.values()),
        "exhaustive_roundtrip": roundtrip,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    text = json.dumps(result, indent=2)
    print(text)
    Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
