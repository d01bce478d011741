"""Probe: do the head's sampling settings limit next-thought prediction?

    python experiments/probes/sample_steps.py --model checkpoints/paper \
        --setting euler:1 --setting heun:8 --setting heun:32
    python experiments/probes/sample_steps.py --model runs/core-choice \
        --setting pick:selector --setting pick:decoder --world-seed 2000

No training: the saved model's next thoughts (``ltm.worldeval.prediction_metrics`` on
``--episodes`` episodes of a fresh world, both sides of the meaning split) are sampled
with each setting in place of the config's: ``METHOD:STEPS`` integrates a flow head,
``pick:RULE`` picks a ``choice`` head's hypothesis (``FieldConfig.choice_pick``). The evaluation world is seed 1000;
choose a setting on another (``--world-seed 2000``) before reading it off seed 1000,
or the choice is tuned on the test. One JSON line per
setting goes to ``experiments/probes/results.jsonl``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

from ltm.model import LTM
from ltm.pvq import world
from ltm.worldeval import prediction_metrics

HERE = Path(__file__).resolve().parent


def setting(text: str) -> tuple[str, int | str]:
    """``"heun:8"`` -> ``("heun", 8)``, ``"pick:decoder"`` -> ``("pick", "decoder")``; a
    one-line error otherwise."""
    method, _, value = text.partition(":")
    if method == "pick" and value in ("decoder", "selector"):
        return method, value
    if method not in ("euler", "heun") or not value.isdigit() or int(value) < 1:
        sys.exit(f"sample_steps: --setting {text!r}: expected euler:N or heun:N (N >= 1), "
                 "or pick:decoder or pick:selector")
    return method, int(value)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True, help="directory of LTM.save")
    ap.add_argument("--setting", action="append", required=True, metavar="METHOD:STEPS")
    ap.add_argument("--episodes", type=int, default=200)
    ap.add_argument("--world-seed", type=int, default=1000,
                    help="seed of the world scored (1000: the evaluation world)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    settings = [setting(s) for s in args.setting]
    if not (args.model / "config.json").is_file():
        sys.exit(f"sample_steps: {args.model} holds no config.json (not a saved LTM)")
    if args.episodes < 1:
        sys.exit(f"sample_steps: --episodes {args.episodes}: expected at least 1")
    torch.set_num_threads(args.threads)
    model = LTM.load(args.model)
    head = model.config.field.head
    for method, _ in settings:
        if (method == "pick") != (head == "choice") or head not in ("flow", "flow-noise",
                                                                   "choice"):
            sys.exit(f"sample_steps: {args.model} has a {head!r} head, which takes no "
                     f"{'pick' if method == 'pick' else 'integration steps'}")
    episodes = {s: list(world.generate(args.episodes, args.world_seed, split=s))
                for s in world.SPLITS}
    for method, steps in settings:
        if method == "pick":
            field = dataclasses.replace(model.config.field, choice_pick=steps)
            model.config = dataclasses.replace(model.config, field=field)
        else:
            model.head.cfg = dataclasses.replace(model.head.cfg, sample_method=method,
                                                 sample_steps=steps)
        start = time.perf_counter()
        ev = {s: {"prediction": prediction_metrics(
            model, episodes[s], args.episodes, 0, split=None if s == "train" else s,
            progress=False)} for s in world.SPLITS}
        row = {"probe": f"sample-{method}{steps}:{args.model.name}", "kind": "sample_steps",
               "method": method, "steps": steps, "episodes": args.episodes,
               "world_seed": args.world_seed,
               "minutes": round((time.perf_counter() - start) / 60, 2), "eval": ev}
        p = {s: ev[s]["prediction"] for s in ev}
        print(f"{method}:{steps}  " + "  ".join(
            f"{s} parse {p[s]['parse']:.3f} legal {p[s]['legal']:.3f} "
            f"exact_det {p[s]['exact_determined']:.3f}" for s in p))
        with open(HERE / "results.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
