"""The ``ltm data`` subcommands: validate, count, generate and convert PVQ files.

Imports nothing heavy: ``ltm data ...`` never loads torch. Wired into the ``ltm``
command by :func:`ltm.cli.build_parser`.
"""

from __future__ import annotations

import argparse
import json
import sys

from ltm.cli import positive
from ltm.errors import UserError


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


def add_commands(sub) -> None:
    """Add ``ltm data`` and its subcommands to the ``ltm`` parser's subparsers ``sub``."""
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
    p.add_argument("--episodes", type=positive, required=True, help="number of episodes")
    p.add_argument("--seed", type=positive, default=0, help="random seed (default 0)")
    p.add_argument("--out", required=True, help="output *.pvq.jsonl")
    p.add_argument("--langs", default="en,ru", help="comma-separated languages (default en,ru)")
    p.set_defaults(func=_cmd_world)

    p = dsub.add_parser("corpus", help="convert a committed real corpus to PVQ")
    p.add_argument("name", help="austen, bible or libreoffice")
    p.add_argument("--out", required=True, help="output *.pvq.jsonl")
    p.set_defaults(func=_cmd_corpus)
