"""Run the whole reproduction: the data, then every model, then every ``fig_*.py`` and ``tab_*.py``.

    python experiments/run.py [--preset smoke|paper|gpu] [--only NAME] [--jobs N]

Called by ``nox -s reproduce``. Three phases:

1. **data**: the PVQ world and corpora, written and validated, one after another;
2. **plan**: every script's ``models(preset)`` is called under
   :class:`common.planning`, which collects the training runs it asks for without
   training;
3. **train and measure**: the runs train ``--jobs`` at a time (default 2, one per
   core), each on one thread, a run that needs another (the hybrid needs its LTM) after
   it, finished runs reused; each script runs, also on one thread, as soon as the runs
   it needs are trained; a script with ``ALONE = True`` (``fig_cost``, which times
   generation) runs by itself at the end.

Each run and script is printed as it ends, with the time since the start; at the end a
table gives the time of every step and the wall-clock time of the whole.
"""

from __future__ import annotations

import argparse
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


def plan(scripts: list[Path], preset: str) -> tuple[list, dict[Path, set[Path]]]:
    """The training runs the scripts' ``models(preset)`` ask for, each once, and for
    each script the run directories it needs; exits if two scripts ask for one run
    directory with different configs."""
    import common

    jobs: dict[Path, common.Job] = {}
    needs: dict[Path, set[Path]] = {}
    for script in scripts:
        mod = common.load_script(script)
        asked: list = []
        if hasattr(mod, "models"):
            with common.planning() as asked:
                mod.models(preset)
        for job in asked:
            if job.out in jobs and jobs[job.out] != job:
                sys.exit(f"reproduce: {script.name} and another script ask for {job.out} "
                         f"with different configs")
            jobs[job.out] = job
        needs[script] = {job.out for job in asked}
    return list(jobs.values()), needs


def _cost(job) -> float:
    """A rough relative cost of a training run, to start the longest first."""
    import common

    return job.config.train.total_steps * common.width_of(job.config) ** 2


def _pool(jobs: int):
    """Worker processes on one thread each (started fresh, so that nothing of this
    process's state leaks into them)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import common

    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=common.one_thread)


def run_all(scripts: list[Path], preset: str, workers: int, t_all: float) -> list:
    """Train every planned run and run every script, ``workers`` at a time: a run after
    the runs it needs (the hybrid after its LTM), runs that others wait on first, then the
    longest first (by steps times width squared, a rough proxy); a script as soon as
    its runs are trained, before any further training; scripts with ``ALONE = True``
    (``fig_cost``, which times generation) at the end, by themselves.
    ``[(name, seconds, summary)]`` of the scripts, plus one ``train`` entry."""
    from concurrent.futures import FIRST_COMPLETED, wait

    import common

    jobs, needs = plan(scripts, preset)
    alone = [s for s in scripts if re.search(r"^ALONE = True", s.read_text(), re.M)]
    waited_on = {p for j in jobs for p in j.needs}  # a run others wait on goes first
    todo_jobs = sorted(jobs, key=lambda j: (j.out in waited_on, _cost(j)), reverse=True)
    todo_scripts = [s for s in scripts if s not in alone]
    planned, done = {j.out for j in jobs}, set()
    print(f"[train] {len(jobs)} models and {len(scripts)} scripts, {workers} at a time, "
          f"one thread each (finished runs are reused)", flush=True)
    times, train_seconds, k = [], 0.0, 0
    elapsed = lambda: f"{(time.perf_counter() - t_all) / 60:.1f} min in all"  # noqa: E731
    ready = lambda paths: all(p not in planned or p in done for p in paths)  # noqa: E731
    with _pool(workers) as pool:
        running: dict = {}
        while todo_jobs or todo_scripts or running:
            for script in [s for s in todo_scripts if ready(needs[s])]:
                if len(running) < workers:
                    todo_scripts.remove(script)
                    running[pool.submit(common.run_script, script, preset)] = script
            for job in [j for j in todo_jobs if ready(j.needs)]:
                if len(running) < workers:
                    todo_jobs.remove(job)
                    running[pool.submit(common.train_job, job)] = job
            if not running:
                sys.exit("reproduce: a planned run waits on one that is never trained")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                task = running.pop(future)
                if isinstance(task, Path):
                    seconds, summary = future.result()
                    times.append((task.stem, seconds, summary))
                    print(f"[{len(times)}/{len(scripts)}] {task.stem}: {summary} "
                          f"({seconds:.1f} s; {elapsed()})", flush=True)
                else:
                    seconds = future.result()
                    train_seconds += seconds
                    done.add(task.out)
                    k += 1
                    print(f"  [train {k}/{len(jobs)}] {task.name} ({seconds:,.0f} s; "
                          f"{elapsed()})", flush=True)
    common.one_thread()
    for script in alone:
        seconds, summary = common.run_script(script, preset)
        times.append((script.stem, seconds, summary))
        print(f"[{len(times)}/{len(scripts)}] {script.stem}: {summary} ({seconds:.1f} s; "
              f"{elapsed()})", flush=True)
    times.insert(0, ("train", train_seconds, f"{len(jobs)} models (seconds summed over "
                                             f"{workers} workers)"))
    return times


def main(argv: list[str] | None = None) -> int:
    """Run the selected steps and print their times."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", choices=PRESETS, default="paper")
    ap.add_argument("--only", default=None,
                    help="run only the steps whose name contains this (a script, data, or "
                         "an experiment: E3)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="models trained and scripts run at once, each on one thread "
                         "(default: 2, or 1 on a one-core machine)")
    args = ap.parse_args(argv)
    if args.jobs < 1:
        sys.exit(f"reproduce: --jobs must be at least 1, got {args.jobs}")
    here = Path(__file__).parent
    sys.path.insert(0, str(here))
    data = data_steps(args.preset)
    scripts = sorted([*here.glob("fig_*.py"), *here.glob("tab_*.py")])
    if args.only:
        tags = {p.stem: experiment_tag(p) for p in here.glob("*.py")}
        keep = lambda name: (args.only.lower() in name.lower()  # noqa: E731
                             or tags.get(name) == args.only.upper())
        data = [s for s in data if keep(s[0])]
        scripts = [s for s in scripts if keep(s.stem)]
        if not data and not scripts:
            sys.exit(f"reproduce: no step matches --only {args.only!r}")
    times = []
    t_all = time.perf_counter()
    for i, (name, fn) in enumerate(data, 1):
        print(f"[data {i}/{len(data)}] {name} ...", flush=True)
        t0 = time.perf_counter()
        summary = fn()
        times.append((name, time.perf_counter() - t0, summary))
        print(f"[data {i}/{len(data)}] {name}: {summary} ({times[-1][1]:.1f} s)", flush=True)
    if scripts:
        times += run_all(scripts, args.preset, args.jobs, t_all)
    wall = time.perf_counter() - t_all
    print(f"\n{'step':<28}{'seconds':>10}")
    for name, dt, _ in times:
        print(f"{name:<28}{dt:>10.1f}")
    print(f"{'wall clock':<28}{wall:>10.1f}")
    write_times(args.preset, recorded(times, partial=bool(args.only)),
                None if args.only else wall)
    return 0


def recorded(times: list[tuple[str, float, str]], partial: bool) -> list:
    """The step times to merge: all of a whole run's; of an ``--only`` run, all but
    ``train``, whose time and count of models stand for the whole protocol's training
    (a partial run trains a few models or none, and reuses the rest)."""
    return [t for t in times if not (partial and t[0] == "train")]


def write_times(preset: str, times: list[tuple[str, float, str]],
                wall: float | None = None) -> None:
    """Merge this run's step times into ``experiments/results/<preset>/times.{json,md}``
    (a step not run this time keeps its last time), so the Reproduce page shows measured
    times, never typed ones. ``wall``, the wall-clock time of a whole run (steps run two
    at a time, so it is less than their sum), replaces the last one; an ``--only`` run
    passes none and keeps it."""
    import json
    import platform

    out = paths.results() / preset
    out.mkdir(parents=True, exist_ok=True)
    f = out / "times.json"
    previous = json.loads(f.read_text()) if f.is_file() else {}
    old = previous.get("steps", {})
    wall = wall if wall is not None else previous.get("wall_seconds")
    for name, dt, summary in times:
        old[name] = {"seconds": round(dt, 1), "summary": summary}
    order = ([k for k in old if k.startswith("data/")] + [k for k in old if k == "train"]
             + sorted(k for k in old if "/" not in k and k != "train"))
    steps = {k: old[k] for k in order}
    f.write_text(json.dumps({"preset": preset, "machine": {"cpus": os.cpu_count(),
                                                           "processor": platform.machine()},
                             "wall_seconds": None if wall is None else round(wall, 1),
                             "steps": steps}, indent=2) + "\n")
    rows = [f"| `{k}` | {v['summary']} | {v['seconds']:,.1f} |" for k, v in steps.items()]
    total = sum(v["seconds"] for v in steps.values()) if wall is None else wall
    what = "sum of the steps" if wall is None else "wall clock, two steps at a time"
    (out / "times.md").write_text(
        "| step | what it made (last run) | seconds |\n|---|---|---:|\n" + "\n".join(rows)
        + f"\n| **total** | {what} | **{total:,.1f}** |\n")
    if preset == "paper":  # the paper's reproducibility section quotes these
        sys.path.insert(0, str(Path(__file__).parent))
        import common

        lines = ["% written by experiments/run.py; do not edit",
                 rf"\newcommand{{\timeTotalMin}}{{{total / 60:.0f}}}"]
        models = re.match(r"(\d+) models", steps.get("train", {}).get("summary", ""))
        lines.append(rf"\newcommand{{\timeModels}}{{{models.group(1) if models else '-'}}}")
        lines += [rf"\newcommand{{\time{common.macro_part(k)}Min}}{{{v['seconds'] / 60:.1f}}}"
                  for k, v in steps.items()]
        gen = paths.root() / "paper" / "generated"
        gen.mkdir(parents=True, exist_ok=True)
        (gen / "times.tex").write_text("\n".join(lines) + "\n")
        common.write_macro_index()


if __name__ == "__main__":
    sys.exit(main())
