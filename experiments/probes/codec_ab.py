"""Probe: the shipped recipe's codec stage alone, with training fields changed, side by side.

    python experiments/probes/codec_ab.py --name roles1 --steps 1000 --set w_roles=1
    python experiments/probes/codec_ab.py --name control --steps 1000

Trains the ``paper`` preset's codec (encoder and decoder, every codec loss) through
:func:`ltm.train.fit` for ``--steps`` codec steps and no core steps, on one thread, with
the :class:`ltm.config.TrainConfig` fields given by ``--set`` changed, on the world the
experiments train on (``data/generated/world.pvq.jsonl``: ``ltm data world --episodes
10000 --seed 0``). Then the codec rows of ``experiments/eval_world.py`` on a fresh world
(seed 1000), both sides of the meaning split: exact reconstruction per language,
recall@1 among ``--n`` distinct meanings, and the other language's quote parsing to the
same frame. Step-matched, so two probes run side by side compare fairly. One JSON line
per run goes to ``experiments/probes/results.jsonl`` (``python
experiments/probes/table.py`` prints it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

from ltm import paths
from ltm.presets import preset
from ltm.pvq import world
from ltm.train import fit
from ltm.worldeval import codec_metrics, cross_language_metrics, retrieval_metrics

HERE = Path(__file__).resolve().parent


def overrides(pairs: list[str]) -> dict[str, float | int]:
    """``["w_roles=1", "codec_batch=32"]`` -> TrainConfig fields, typed as the field is."""
    fields = {f.name: f for f in dataclasses.fields(preset("paper").train)}
    out: dict[str, float | int] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in fields:
            sys.exit(f"codec_ab: --set {pair!r}: expected FIELD=VALUE with a TrainConfig "
                     f"field, one of {', '.join(sorted(fields))}")
        kind = type(getattr(preset("paper").train, name))
        try:
            out[name] = kind(value)
        except ValueError:
            sys.exit(f"codec_ab: --set {pair!r}: {value!r} is not a {kind.__name__}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--steps", type=int, default=1000, help="codec steps")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="a TrainConfig field to change (repeatable)")
    ap.add_argument("--data", type=Path, default=paths.generated() / "world.pvq.jsonl")
    ap.add_argument("--n", type=int, default=1000, help="distinct frames per unit metric")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if not args.data.is_file():
        sys.exit(f"codec_ab: {args.data}: no such file (ltm data world --episodes 10000 "
                 f"--seed 0 --out {args.data})")
    torch.set_num_threads(args.threads)
    base = preset("paper")
    train = dataclasses.replace(base.train, codec_steps=args.steps, core_steps=0, minutes=0.0,
                                **overrides(args.set))
    cfg = dataclasses.replace(base, train=train)
    out = paths.root() / "runs" / "probes" / args.name
    start = time.perf_counter()
    model, val = fit(cfg, args.data, out, progress=False)
    minutes = (time.perf_counter() - start) / 60
    model.eval()
    evals = {}
    for split in world.SPLITS:
        units = list(world.generate(10_000, 1000, split=split))
        kw = dict(n=args.n, seed=0, split=split, progress=False)
        evals[split] = {"codec": codec_metrics(model, units, **kw),
                        "retrieval": retrieval_metrics(model, units, **kw),
                        "cross_language": cross_language_metrics(model, units, **kw)}
    row = {"probe": args.name, "kind": "codec_ab", "steps": args.steps, "set": args.set,
           "threads": args.threads, "minutes": round(minutes, 2), "val": val, "eval": evals}
    print(json.dumps(evals, indent=1))
    with open(HERE / "results.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
