"""Section 4, the data: the PVQ world's size and the counts of every PVQ file the experiments read.

    python experiments/tab_data.py [--preset smoke|paper|gpu]

Nothing is trained. The world's size is read from its lexicon and act table
(:mod:`ltm.pvq.world`): entities of each kind, acts, every well-formed frame and the
frames on the held-out side of the compositional split
(:func:`ltm.pvq.world.meaning_split`). The files are the ones ``experiments/run.py``
writes into ``data/generated/`` (the world of the preset, the three corpora and Austen
cut into sentence windows), each counted with :func:`ltm.pvq.stats`: records, thoughts
at every depth, quotes, the quotes of each language and the mean UTF-8 bytes of a quote;
for the world also the episodes on each side of the split
(:func:`ltm.pvq.world.record_split`).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import common  # noqa: E402

FILES = ("world", "austen", "austen-sentences", "bible", "libreoffice")
"""The PVQ files counted, ``data/generated/<name>.pvq.jsonl``."""


def world_size() -> dict[str, int]:
    """Entities of each kind, acts, well-formed frames and held-out frames."""
    from ltm.pvq import world

    frames = list(world.all_frames())
    size = {f"{kind}s": len(ents) for kind, ents in world.KINDS.items()}
    size.update(acts=len(world.ACTS), frames=len(frames),
                heldout_frames=sum(world.meaning_split(f) == "heldout" for f in frames))
    return size


def main(preset: str = "paper") -> str:
    """Count, write the table, JSON and macros."""
    from ltm import paths, pvq
    from ltm.pvq import world

    numbers: dict = {"world_size": world_size(), "files": {}}
    for name in FILES:
        f = paths.generated() / f"{name}.pvq.jsonl"
        if not f.is_file():
            raise SystemExit(f"{f} is missing: run experiments/run.py --only data first")
        records = list(pvq.iter_records(f))
        s = pvq.stats(records)
        numbers["files"][name] = {
            "records": s["records"], "thoughts": s["thoughts"], "quotes": s["quotes"],
            "languages": s["languages"], "bytes_per_quote": s["bytes_per_quote"]["mean"]}
        if name == "world":
            split = [world.record_split(r) for r in records]
            numbers["files"][name]["split"] = {k: split.count(k) for k in world.SPLITS}
    f = common.fmt
    header = ["file", "records", "thoughts", "quotes", "quotes per language",
              "bytes per quote"]
    rows = [[name, f(v["records"]), f(v["thoughts"]), f(v["quotes"]),
             ", ".join(f"{k} {f(n)}" for k, n in sorted(v["languages"].items())),
             f(v["bytes_per_quote"], 1)] for name, v in numbers["files"].items()]
    macros = {f"data{common.macro_part(k)}": f(v) for k, v in numbers["world_size"].items()}
    for name, v in numbers["files"].items():
        macros.update({f"data{common.macro_part(name)}{c.capitalize()}": f(v[c])
                       for c in ("records", "thoughts", "quotes")})
    w = numbers["files"]["world"]
    macros.update({f"dataWorldSplit{k.capitalize()}": f(n) for k, n in w["split"].items()})
    common.write_result("tab_data", preset, numbers, header, rows,
                        "The PVQ files of the experiments: records (episodes, verses, "
                        "paragraphs or windows), thoughts at every depth, quotes, and the "
                        "mean UTF-8 bytes of a quote.", macros)
    size = numbers["world_size"]
    return (f"world {size['frames']:,} frames ({size['heldout_frames']:,} held out), "
            + ", ".join(f"{n} {v['records']:,} records" for n, v in numbers["files"].items()))


if __name__ == "__main__":
    common.command_line(main, __doc__)
