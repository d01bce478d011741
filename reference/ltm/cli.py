"""The ``ltm`` command line.

Every subcommand loads its heavy imports lazily, so ``ltm data ...`` never imports torch.
Errors the user can fix (a bad file, a bad argument) print one line ``ltm: ...`` and exit
with status 1 or 2; they never show a traceback.

    ltm data validate FILE...          exit 0 when every file is valid, 1 otherwise
    ltm data stats FILE                records, thoughts, languages, phases, quote sizes
    ltm data world --episodes N --seed S --out F.pvq.jsonl [--langs en,ru]
    ltm data corpus NAME --out F.pvq.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence


class UserError(Exception):
    """An error the user can fix; printed as one line, exit status 1."""


def _cmd_validate(args: argparse.Namespace) -> int:
    from ltm import pvq

    bad = 0
    for f in args.files:
        problems = pvq.validate(f)
        for p in problems:
            print(p)
        if problems:
            bad += 1
            print(f"{f}: refused ({len(problems)} problem{'s' * (len(problems) > 1)})",
                  file=sys.stderr)
        else:
            print(f"{f}: ok", file=sys.stderr)
    return 1 if bad else 0


def _cmd_stats(args: argparse.Namespace) -> int:
    from ltm import pvq

    try:
        records = pvq.iter_records(args.file, skip_bad=args.skip_bad)
        s = pvq.stats(records)
    except pvq.PVQError as e:
        for p in e.problems:
            print(p)
        print(f"{args.file}: refused ({len(e.problems)} problems); --skip-bad reads the rest",
              file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(s, indent=2, ensure_ascii=False))
        return 0
    print(f"file                {args.file}")
    for key in ("records", "thoughts", "quotes"):
        print(f"{key:<20}{s[key]:,}")
    for key in ("sources", "languages", "phases"):
        print(f"{key:<20}" + ", ".join(f"{k}={v:,}" for k, v in sorted(s[key].items())))
    for key in ("quotes_per_thought", "bytes_per_quote"):
        d = s[key]
        print(f"{key:<20}mean {d['mean']:.2f}  min {d['min']}  max {d['max']}")
    return 0


def _cmd_world(args: argparse.Namespace) -> int:
    from ltm.pvq import world

    langs = tuple(x.strip() for x in args.langs.split(",") if x.strip())
    try:
        n = world.write_world(args.out, args.episodes, args.seed, langs)
    except ValueError as e:
        raise UserError(str(e)) from None
    print(f"wrote {n:,} episodes to {args.out}", file=sys.stderr)
    return 0


def _cmd_corpus(args: argparse.Namespace) -> int:
    from ltm.pvq import corpora

    try:
        n = corpora.convert(args.name, args.out)
    except (ValueError, OSError) as e:
        raise UserError(str(e)) from None
    print(f"wrote {n:,} records of corpus {args.name!r} to {args.out}", file=sys.stderr)
    return 0


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``ltm`` command (also used to render the docs)."""
    ap = argparse.ArgumentParser(prog="ltm", description="LTM, the Large Thought Model.")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = sub.add_parser("data", help="make, convert, validate and count PVQ data")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="DATA_COMMAND")

    p = dsub.add_parser("validate", help="check PVQ files against the spec")
    p.add_argument("files", nargs="+", metavar="FILE", help="*.pvq.jsonl or *.thoughtset.yaml")
    p.set_defaults(func=_cmd_validate)

    p = dsub.add_parser("stats", help="count records, thoughts, languages, phases, quotes")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--skip-bad", action="store_true",
                   help="skip bad records (each still reported) instead of refusing the file")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    p.set_defaults(func=_cmd_stats)

    p = dsub.add_parser("world", help="generate PVQ world episodes (same arguments, same bytes)")
    p.add_argument("--episodes", type=_positive, required=True, help="number of episodes")
    p.add_argument("--seed", type=_positive, default=0, help="random seed (default 0)")
    p.add_argument("--out", required=True, help="output *.pvq.jsonl")
    p.add_argument("--langs", default="en,ru", help="comma-separated languages (default en,ru)")
    p.set_defaults(func=_cmd_world)

    p = dsub.add_parser("corpus", help="convert a committed real corpus to PVQ")
    p.add_argument("name", help="austen, bible or libreoffice")
    p.add_argument("--out", required=True, help="output *.pvq.jsonl")
    p.set_defaults(func=_cmd_corpus)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ltm`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as e:
        print(f"ltm: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"ltm: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ltm: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
