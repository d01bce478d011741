"""Run the whole reproduction: the data first, then every ``fig_*.py`` and ``tab_*.py``.

    python experiments/run.py [--preset smoke|paper|gpu] [--only NAME]

Called by ``nox -s reproduce``. Prints each step as it starts, shows progress inside
long steps, and ends with a table of the time every step took.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ltm import paths, pvq

PRESETS = ("smoke", "paper", "gpu")
WORLD_EPISODES = {"smoke": 500, "paper": 10_000, "gpu": 100_000}
"""Episodes of the generated PVQ world per preset (seed 0)."""
AUSTEN_WINDOW = 8
"""Sentences per Austen episode (:func:`ltm.pvq.finer`): 8 of about 126 bytes fit the
baseline's 1,024-byte context."""


def _validate(path: Path) -> dict:
    """Stats of a PVQ file; exits naming the problems if the reader refuses it (the
    reader validates the whole file before it yields a record)."""
    try:
        return pvq.stats(pvq.iter_records(path))
    except pvq.PVQError as e:
        for p in e.problems[:20]:
            print(p)
        sys.exit(f"reproduce: {path} is not valid PVQ ({len(e.problems)} problems)")


def data_steps(preset: str) -> list[tuple[str, Callable[[], str]]]:
    """The data steps: the PVQ world (train and held-out meanings) and every corpus."""
    from ltm.pvq import corpora, world

    out = paths.generated()
    out.mkdir(parents=True, exist_ok=True)
    steps = []

    def world_step() -> str:
        f = out / "world.pvq.jsonl"
        world.write_world(f, WORLD_EPISODES[preset], 0, ("en", "ru"))
        s = _validate(f)
        return f"{f.name}: {s['records']:,} episodes, {s['thoughts']:,} thoughts, valid"

    steps.append(("data/world", world_step))
    for name in corpora.NAMES:
        def corpus_step(name: str = name) -> str:
            f = out / f"{name}.pvq.jsonl"
            corpora.convert(name, f)
            s = _validate(f)
            return f"{f.name}: {s['records']:,} records, {s['thoughts']:,} thoughts, valid"

        steps.append((f"data/{name}", corpus_step))

    def austen_sentences() -> str:
        f = out / "austen-sentences.pvq.jsonl"
        pvq.write(f, pvq.finer(pvq.iter_records(out / "austen.pvq.jsonl"), AUSTEN_WINDOW))
        s = _validate(f)
        return f"{f.name}: {s['records']:,} windows, {s['thoughts']:,} sentences, valid"

    steps.append(("data/austen-sentences", austen_sentences))
    return steps


def experiment_tag(script: Path) -> str | None:
    """The experiment a script belongs to (``"E3"``), from the first words of its
    docstring ("E3, prediction: ..."), so ``--only E3`` runs every script of E3."""
    m = re.match(r'[\s"]*(E\d+)\b', script.read_text(encoding="utf-8")[:200])
    return m.group(1) if m else None


def experiment_steps(preset: str) -> list[tuple[str, Callable[[], str]]]:
    """One step per ``experiments/fig_*.py`` and ``tab_*.py``, each exposing ``main(preset)``."""
    here = Path(__file__).parent
    steps = []
    for script in sorted([*here.glob("fig_*.py"), *here.glob("tab_*.py")]):
        def run(script: Path = script) -> str:
            spec = importlib.util.spec_from_file_location(script.stem, script)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            return str(mod.main(preset) or "done")

        steps.append((script.stem, run))
    return steps


def main(argv: list[str] | None = None) -> int:
    """Run the selected steps and print their times."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", choices=PRESETS, default="paper")
    ap.add_argument("--only", default=None,
                    help="run only the steps whose name contains this (a script, data, or "
                         "an experiment: E3)")
    args = ap.parse_args(argv)
    steps = data_steps(args.preset) + experiment_steps(args.preset)
    if args.only:
        here = Path(__file__).parent
        tags = {p.stem: experiment_tag(p) for p in here.glob("*.py")}
        steps = [s for s in steps if args.only.lower() in s[0].lower()
                 or tags.get(s[0]) == args.only.upper()]
        if not steps:
            sys.exit(f"reproduce: no step matches --only {args.only!r}")
    times = []
    t_all = time.perf_counter()
    for i, (name, fn) in enumerate(steps, 1):
        print(f"[{i}/{len(steps)}] {name} ...", flush=True)
        t0 = time.perf_counter()
        summary = fn()
        dt = time.perf_counter() - t0
        times.append((name, dt, summary))
        print(f"[{i}/{len(steps)}] {name}: {summary} ({dt:.1f} s)", flush=True)
    print(f"\n{'step':<28}{'seconds':>10}")
    for name, dt, _ in times:
        print(f"{name:<28}{dt:>10.1f}")
    print(f"{'total':<28}{time.perf_counter() - t_all:>10.1f}")
    write_times(args.preset, times)
    return 0


def write_times(preset: str, times: list[tuple[str, float, str]]) -> None:
    """Merge this run's step times into ``experiments/results/<preset>/times.{json,md}``
    (a step not run this time keeps its last time), so the Reproduce page shows measured
    times, never typed ones."""
    import json
    import platform

    out = paths.results() / preset
    out.mkdir(parents=True, exist_ok=True)
    f = out / "times.json"
    old = json.loads(f.read_text())["steps"] if f.is_file() else {}
    for name, dt, summary in times:
        old[name] = {"seconds": round(dt, 1), "summary": summary}
    order = [k for k in old if k.startswith("data/")] + sorted(k for k in old if "/" not in k)
    steps = {k: old[k] for k in order}
    f.write_text(json.dumps({"preset": preset, "machine": {"cpus": os.cpu_count(),
                                                           "processor": platform.machine()},
                             "steps": steps}, indent=2) + "\n")
    rows = [f"| `{k}` | {v['summary']} | {v['seconds']:,.1f} |" for k, v in steps.items()]
    total = sum(v["seconds"] for v in steps.values())
    (out / "times.md").write_text(
        "| step | what it made (last run) | seconds |\n|---|---|---:|\n" + "\n".join(rows)
        + f"\n| **total** | | **{total:,.1f}** |\n")
    if preset == "paper":  # the paper's reproducibility section quotes these
        name = lambda k: "".join(p.capitalize() for p in re.split(r"[^a-zA-Z]+", k))  # noqa: E731
        lines = ["% written by experiments/run.py; do not edit",
                 rf"\newcommand{{\timeTotalMin}}{{{total / 60:.0f}}}"]
        lines += [rf"\newcommand{{\time{name(k)}Min}}{{{v['seconds'] / 60:.1f}}}"
                  for k, v in steps.items()]
        gen = paths.root() / "paper" / "generated"
        gen.mkdir(parents=True, exist_ok=True)
        (gen / "times.tex").write_text("\n".join(lines) + "\n")
        sys.path.insert(0, str(Path(__file__).parent))
        import common

        common.write_macro_index()


if __name__ == "__main__":
    sys.exit(main())
