"""The ``ltm`` command line.

The data subcommands live in :mod:`ltm.cli_data`, the model subcommands in
:mod:`ltm.cli_model`; every subcommand loads its heavy imports lazily, so ``ltm data ...``
never imports torch.
Errors the user can fix (a bad file, a bad argument) print one line ``ltm: ...`` and exit
with status 1 or 2; they never show a traceback.

    ltm data validate FILE...          exit 0 when every file is valid, 1 otherwise
    ltm data stats FILE                records, thoughts, languages, phases, quote sizes
    ltm data world --episodes N --seed S --out F.pvq.jsonl [--langs en,ru]
    ltm data corpus NAME --out F.pvq.jsonl
    ltm fit [--model ltm|baseline|hybrid] [--ltm DIR] [--match params|flops]
            --preset tiny|paper|gpu --data F.pvq.jsonl --out DIR [--max-minutes M]
            [--resume] [--seed S] [--head flow|flow-noise|mse|energy]
            [--codec-steps N] [--core-steps N] [--codec DIR (with --codec-steps 0)]
    ltm eval --model DIR --data F.pvq.jsonl [--out F.json] [--episodes N] [--split val|all]
             [--n-retrieval N] [--samples N] [--seed S]
    ltm generate --model DIR "Anna is in the garden." [--thoughts 4] [--lang ru] [--seed S]
                 [--readings N]
    ltm encode --model DIR FILE [--out F.npy] [--k 5]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ltm.errors import UserError  # noqa: F401 (re-exported: ltm.cli.UserError)


def positive(text: str) -> int:
    """An argparse type: a whole number >= 0."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {n}")
    return n


def at_least_one(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    n = positive(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``ltm`` command (also used to render the docs)."""
    from ltm import cli_data, cli_model

    ap = argparse.ArgumentParser(prog="ltm", description="LTM, the Large Thought Model.")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cli_data.add_commands(sub)
    cli_model.add_commands(sub)
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
