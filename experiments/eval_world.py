"""Evaluate a trained LTM on the PVQ world: the targets of issue 3, in one table.

    python experiments/eval_world.py --model checkpoints/paper [--episodes 200]
                                     [--n 1000] [--out results.json]

The evaluation world is generated afresh with a seed other than training's (default
1000; training uses 0), on both sides of the compositional meaning split:

- unit metrics (codec, retrieval, cross-language) draw distinct frames from
  ``--unit-episodes`` episodes of each split (the held-out side keeps only held-out
  meanings, so it may hold fewer than ``--n``; the JSON gives the counts); ``units``
  asks reconstruction and cross-language again of ``--n`` units drawn as they occur
  in those episodes, repeats included;
- prediction runs on ``--episodes`` episodes of each split (on the held-out side, only
  next thoughts of held-out meaning are scored).

Prints one table (train beside held-out) and writes a JSON with every number, the
arguments, seeds, git commit and package versions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import common  # noqa: E402
import torch  # noqa: E402

from ltm.model import LTM  # noqa: E402


def table(results: dict) -> str:
    """Rows ``group.metric``, columns train and held-out."""
    lines = [f"{'metric':<40} {'train':>10} {'heldout':>10}"]
    for group, metrics in results["train"].items():
        for key, value in metrics.items():
            other = results["heldout"][group].get(key, float("nan"))
            cells = [f"{v:>10d}" if isinstance(v, int) else f"{v:>10.4f}" for v in (value, other)]
            lines.append(f"{group + '.' + key:<40} {cells[0]} {cells[1]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, evaluate, print the table and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, type=Path, help="directory of LTM.save")
    ap.add_argument("--episodes", type=int, default=200,
                    help="episodes per split for next-thought prediction")
    ap.add_argument("--n", type=int, default=1000,
                    help="distinct frames per unit metric (retrieval candidates); "
                         "occurrences for units")
    ap.add_argument("--unit-episodes", type=int, default=10_000,
                    help="episodes per split whose frames feed the unit metrics")
    ap.add_argument("--world-seed", type=int, default=1000,
                    help="seed of the evaluation world (training uses 0)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the picks and sampling")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--max-bytes", type=int, default=None,
                    help="decoding budget (default: longest reference + 16)")
    ap.add_argument("--readings", type=int, default=1,
                    help="also measure the decoding metrics with this many readings per "
                         "thought, reranked by the encoder (LTM.decode_bytes; default 1: "
                         "greedy only)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch CPU threads (default: torch's choice; 1 when another run "
                         "shares the CPU, or oversubscription slows it many times)")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    ap.add_argument("--out", type=Path, default=None, help="JSON file to write")
    args = ap.parse_args(argv)
    if not (args.model / "config.json").exists():
        sys.exit(f"eval_world: {args.model} holds no config.json (not a saved LTM)")

    if args.readings < 1:
        sys.exit(f"eval_world: --readings must be at least 1, got {args.readings}")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = LTM.load(args.model, device=args.device)
    start = time.perf_counter()
    results = common.evaluate_fresh_world(
        model, args.world_seed, args.episodes, args.unit_episodes, n=args.n, seed=args.seed,
        batch_size=args.batch_size, max_bytes=args.max_bytes, progress=not args.quiet,
        readings=args.readings)
    seconds = time.perf_counter() - start
    print(table(results))
    print(f"evaluated in {seconds:.0f} s")
    if args.out is not None:
        report = {
            "results": results,
            "config": model.config.to_dict(),
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "seeds": {"world": args.world_seed, "picks": args.seed, "torch": args.seed},
            **common.provenance(None),
            "seconds": round(seconds, 1),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(common.clean(report), indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
