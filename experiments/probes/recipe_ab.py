"""Probe: the shipped recipe with training fields changed, step-matched, side by side.

    python experiments/probes/recipe_ab.py --name roles1 --codec-steps 1000 --set w_roles=1
    python experiments/probes/recipe_ab.py --name control --codec-steps 1000
    python experiments/probes/recipe_ab.py --name next1 --codec checkpoints/paper \
        --core-steps 1000 --set w_next=1
    python experiments/probes/recipe_ab.py --name noise05 --codec checkpoints/paper \
        --core-steps 500 --field source_noise=0.5

Trains the ``paper`` preset through :func:`ltm.train.fit` for ``--codec-steps`` codec
steps and ``--core-steps`` core steps (or, with ``--codec DIR``, only the core, on that
model's frozen codec), on one thread, with the :class:`ltm.train_config.TrainConfig` fields
given by ``--set`` and the :class:`ltm.config.FieldConfig` fields given by ``--field``
changed, on the world the experiments train on
(``data/generated/world.pvq.jsonl``: ``ltm data world --episodes 10000 --seed 0``).
Then the rows of ``experiments/eval_world.py`` on a fresh world (seed 1000), both sides
of the meaning split: with codec steps, exact reconstruction per language, recall@1
among ``--n`` distinct meanings and the other language's quote parsing to the same
frame; with core steps, next thoughts that parse, are legal and are exact where
determined, on ``--episodes`` episodes. Step-matched, so two probes run side by side
compare fairly. One JSON line per run goes to ``experiments/probes/results.jsonl``
(``python experiments/probes/table.py`` prints it).
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
from ltm.config import config_overrides, train_overrides
from ltm.presets import preset
from ltm.pvq import world
from ltm.train import FitError, fit
from ltm.worldeval import (
    codec_metrics,
    cross_language_metrics,
    prediction_metrics,
    retrieval_metrics,
)

HERE = Path(__file__).resolve().parent


def overrides(pairs: list[str]) -> dict[str, float | int]:
    """``["w_roles=1", "codec_batch=32"]`` -> TrainConfig fields, typed as the field is
    (:func:`ltm.config.train_overrides`); the step counts and the budget are refused."""
    flags = {"codec_steps": "--codec-steps", "core_steps": "--core-steps", "minutes": "none"}
    for pair in pairs:
        name = pair.partition("=")[0].strip()
        if name in flags:
            sys.exit(f"recipe_ab: --set {pair!r}: {name} is set by {flags[name]} "
                     f"(probes are step-matched)")
    try:
        return train_overrides(preset("paper").train, pairs)
    except ValueError as e:
        sys.exit(f"recipe_ab: {e}")


def field_overrides(pairs: list[str]) -> dict[str, bool | float | int | str]:
    """``["source_noise=0.5", "head=mse"]`` -> FieldConfig fields, typed as the field is
    (:func:`ltm.config.config_overrides`; a str as given, for the config's own check;
    spaces around the value are dropped); exits with a one-line error on an unknown
    field or a value of the wrong type."""
    stripped = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        stripped.append(f"{name}={value.strip()}" if sep else pair)
    try:
        return config_overrides(preset("paper").field, stripped, "--field")
    except ValueError as e:
        sys.exit(f"recipe_ab: {e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--codec-steps", type=int, default=0)
    ap.add_argument("--core-steps", type=int, default=0)
    ap.add_argument("--codec", type=Path, default=None,
                    help="train only the core, on this saved LTM's frozen codec")
    ap.add_argument("--episodes", type=int, default=200,
                    help="episodes per split for next-thought prediction")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="a TrainConfig field to change (repeatable)")
    ap.add_argument("--field", action="append", default=[], metavar="FIELD=VALUE",
                    help="a FieldConfig field to change, e.g. source_noise=0.5 (repeatable)")
    ap.add_argument("--data", type=Path, default=paths.generated() / "world.pvq.jsonl")
    ap.add_argument("--n", type=int, default=1000, help="distinct frames per unit metric")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if not args.data.is_file():
        sys.exit(f"recipe_ab: {args.data}: no such file (ltm data world --episodes 10000 "
                 f"--seed 0 --out {args.data})")
    if args.codec is not None and args.codec_steps:
        sys.exit("recipe_ab: --codec trains the core alone; leave --codec-steps at 0")
    if args.codec_steps + args.core_steps == 0:
        sys.exit("recipe_ab: give --codec-steps, --core-steps or both")
    torch.set_num_threads(args.threads)
    base = preset("paper")
    try:  # the configs' own checks (a step count below 0, a rate out of range)
        train = dataclasses.replace(base.train, codec_steps=args.codec_steps,
                                    core_steps=args.core_steps, minutes=0.0,
                                    **overrides(args.set))
    except ValueError as e:
        sys.exit(f"recipe_ab: {e}")
    try:
        field = dataclasses.replace(base.field, **field_overrides(args.field))
    except ValueError as e:
        sys.exit(f"recipe_ab: --field: {e}")
    cfg = dataclasses.replace(base, train=train, field=field)
    out = paths.root() / "runs" / "probes" / args.name
    if out.exists():
        sys.exit(f"recipe_ab: {out} exists; pick another --name or delete it")
    start = time.perf_counter()
    try:
        model, val = fit(cfg, args.data, out, progress=False, codec=args.codec)
    except FitError as e:  # e.g. --codec DIR holds no LTM, or another codec config
        sys.exit(f"recipe_ab: {e}")
    minutes = (time.perf_counter() - start) / 60
    model.eval()
    evals = {}
    for split in world.SPLITS:
        evals[split] = {}
        if args.codec_steps:
            units = list(world.generate(10_000, 1000, split=split))
            kw = dict(n=args.n, seed=0, split=split, progress=False)
            evals[split] = {"codec": codec_metrics(model, units, **kw),
                            "retrieval": retrieval_metrics(model, units, **kw),
                            "cross_language": cross_language_metrics(model, units, **kw)}
        if args.core_steps:
            episodes = list(world.generate(args.episodes, 1000, split=split))
            evals[split]["prediction"] = prediction_metrics(
                model, episodes, args.episodes, 0, split=None if split == "train" else split,
                progress=False)
    row = {"probe": args.name, "kind": "recipe_ab", "codec_steps": args.codec_steps,
           "core_steps": args.core_steps, "codec": str(args.codec) if args.codec else None,
           "set": args.set, "field": args.field, "data": args.data.name,
           "threads": args.threads, "minutes": round(minutes, 2), "val": val, "eval": evals}
    print(json.dumps(evals, indent=1))
    with open(HERE / "results.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
