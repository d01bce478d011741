"""What every experiment script shares: trained models (reused), provenance, and output.

- :func:`trained` trains a model of one kind at one preset into ``runs/<preset>/<name>``
  (not committed) or reuses the run there when its ``config.json`` is the same config
  and it finished (``model.safetensors`` exists): "trained models are reused across
  experiments where the protocol allows" (issue 5).
- :func:`write_result` writes one experiment's numbers as JSON (with the preset, seeds,
  commit, package versions and machine; wall-clock timings apart in ``<name>.timing.json``
  so that the JSON repeats exactly on a rerun), its table as Markdown and LaTeX, and, for the
  ``paper`` preset, ``\\newcommand`` macros in ``paper/generated/`` for the numbers the
  text quotes. Paths come from :mod:`ltm.paths`; none is absolute.

Presets: ``smoke`` trains the ``tiny`` models for a few dozen steps (the whole suite in
minutes, for CI); ``paper`` trains the ``paper`` presets on the 10k-episode world for the
steps of :data:`STEPS` (about 3.5 minutes each on one thread) with the :data:`SEEDS`, and
measures the shipped ``checkpoints/paper`` as the reference LTM (:func:`ltm_run`);
``gpu`` the ``gpu`` presets.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import re
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ltm import paths

PACKAGES = ("ltm", "torch", "lightning", "numpy", "safetensors")
"""Packages whose versions go into every result JSON."""

MODEL_PRESET = {"smoke": "tiny", "paper": "paper", "gpu": "gpu"}
"""The model preset each experiment preset trains."""

SEEDS = {"smoke": (0,), "paper": (0, 1, 2), "gpu": (0, 1, 2)}
"""Training seeds of every comparison that is claimed (E3, E4, E5): each model is trained
once per seed and the tables show the mean and the spread."""

STEPS = {"smoke": {"codec": 30, "core": 20, "baseline": 50, "hybrid": 50, "flops": 50,
                   "warmup": 20},
         "paper": {"codec": 80, "core": 70, "baseline": 65, "hybrid": 60, "flops": 110,
                   "warmup": 20},
         "gpu": {"codec": 20_000, "core": 20_000, "baseline": 40_000, "hybrid": 40_000,
                 "flops": 40_000, "warmup": 1000}}
"""Optimiser steps of the models E3 compares, fixed so that a rerun repeats exactly (a
budget in minutes would not). At ``paper`` they give each model about the same training
time on one thread of this CPU, about 3.5 minutes (measured per step: LTM codec 1.8 s,
core 0.86 s, baseline 3.0 s, hybrid 3.2 s, FLOPs-matched baseline 1.8 s; the
calibration is in ``experiments/LOG.md``), so that the whole reproduction fits its 90
minutes. ``warmup`` replaces the preset's warm-up steps, which a short run cannot
afford."""

TRAIN_THREADS = 1
"""Threads of every training run: results do not depend on the machine's core count,
and :mod:`run <experiments.run>` trains two models at once on two cores."""


def command_line(main, doc: str) -> None:
    """What every experiment script runs as a program: ``--preset`` (default ``paper``)
    picks the preset, ``main(preset)`` runs, its one-line summary is printed."""
    import argparse

    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--preset", choices=tuple(MODEL_PRESET), default="paper")
    print(main(ap.parse_args().preset))


def runs(preset: str) -> Path:
    """Where the trained models of one preset live: ``runs/<preset>/`` (not committed)."""
    return paths.root() / "runs" / preset


OUTPUTS = ("experiments/results", "paper/generated")
"""The committed files that the reproduction itself rewrites: a change there does not
make the code that produced a result differ from its commit."""


def commit() -> str | None:
    """The git commit of the checkout (``-dirty`` when a tracked file outside
    :data:`OUTPUTS` has changed), or ``None``."""
    try:
        run = dict(cwd=paths.root(), check=True, capture_output=True, text=True)
        head = subprocess.run(["git", "rev-parse", "HEAD"], **run).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ".", *(f":(exclude){p}" for p in OUTPUTS)],
                               **run).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def provenance(preset: str | None) -> dict:
    """Preset, commit, package versions and machine of a result."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return {"preset": preset, "commit": commit(), "versions": versions,
            "machine": {"platform": platform.platform(), "processor": platform.machine(),
                        "cpus": os.cpu_count()}}


def clean(x):
    """NaN (a rate with nothing to count) becomes JSON ``null``; tuples become lists."""
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [clean(v) for v in x]
    return None if isinstance(x, float) and math.isnan(x) else x


def ltm_config(preset: str, seed: int = 0, **train):
    """The LTM config of an experiment preset and seed, with the steps of :data:`STEPS`
    (``train`` overrides TrainConfig fields)."""
    from ltm.presets import preset as model_preset

    cfg = model_preset(MODEL_PRESET[preset])
    n = STEPS[preset]
    return dataclasses.replace(cfg, train=dataclasses.replace(
        cfg.train, codec_steps=n["codec"], core_steps=n["core"], minutes=0.0,
        warmup_steps=n["warmup"], seed=seed, **train))


def baseline_config(preset: str, match: str = "params", seed: int = 0,
                    kind: str = "baseline"):
    """The baseline (or, ``kind="hybrid"``, the hybrid) config of an experiment preset
    and seed, matched to the LTM in ``"params"`` or ``"flops"`` (training FLOPs per byte),
    trained like the LTM but for its own steps of :data:`STEPS`."""
    from ltm.baseline_config import baseline_preset

    cfg = baseline_preset(MODEL_PRESET[preset], match)
    steps = STEPS[preset]["flops" if match == "flops" else kind]
    train = dataclasses.replace(ltm_config(preset, seed).train, codec_steps=steps,
                                core_steps=0)
    return dataclasses.replace(cfg, train=train)


def with_ltm_ngrams(config, preset: str):
    """E3's ablation: the baseline ``config`` given the hashed byte n-gram input of the
    LTM it is compared with (:attr:`ltm.baseline_config.BaselineConfig.ngram_max`, the
    same n and buckets as the encoder's), or ``None`` when that LTM has none (``smoke``:
    the tiny preset), so that no row duplicates the plain baseline."""
    codec = ltm_config(preset).codec
    if not codec.ngram_max:
        return None
    return dataclasses.replace(config, ngram_max=codec.ngram_max,
                               ngram_buckets=codec.ngram_buckets)


_PLAN: list | None = None
"""While :func:`planning` is active, the runs :func:`trained` was asked for."""
_PLANNED_ONLY = False
"""Set in the workers of ``experiments/run.py`` that run scripts: every run a script
needs was planned and trained before it, so :func:`trained` refuses to train one (a
script whose ``models`` misses a run it trains would race the training workers)."""


@dataclasses.dataclass(frozen=True)
class Job:
    """One training run that :func:`trained` was asked for while planning: what
    :func:`train_job` needs to train it in another process."""

    name: str
    config: object
    data: Path
    preset: str
    ltm: Path | None = None
    codec: Path | None = None

    @property
    def out(self) -> Path:
        """The run directory."""
        return runs(self.preset) / self.name

    @property
    def needs(self) -> tuple[Path, ...]:
        """Run directories that must be finished first (the hybrid's LTM, a variant's
        codec)."""
        return tuple(p for p in (self.ltm, self.codec) if p is not None)


class planning:  # noqa: N801 (a context manager used like a function)
    """``with planning() as jobs:`` makes :func:`trained` record each run it is asked
    for in ``jobs`` and return its directory without training, so that
    ``experiments/run.py`` learns every script's runs first and trains them two at a time."""

    def __enter__(self) -> list[Job]:
        global _PLAN
        _PLAN = []
        return _PLAN

    def __exit__(self, *exc) -> None:
        global _PLAN
        _PLAN = None


def finished(out: Path) -> bool:
    """Whether the run directory ``out`` holds a finished run."""
    return (out / "model.safetensors").is_file() and (out / "config.json").is_file()


def one_thread() -> None:
    """Start of a worker of ``experiments/run.py``: one thread, so that two workers share
    two cores (and results do not depend on the core count)."""
    import logging

    import lightning  # noqa: F401 (imported first: it sets its loggers' levels on import)
    import torch

    torch.set_num_threads(1)
    for name in ("lightning.pytorch", "lightning.fabric"):  # one line per run is enough
        logging.getLogger(name).setLevel(logging.WARNING)


def load_script(script: Path):
    """Import an experiment script (``experiments/<name>.py``) as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(script.stem, script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_script(script: Path, preset: str) -> tuple[float, str]:
    """Run one experiment script's ``main(preset)``: ``(seconds, one-line summary)``."""
    import time

    global _PLANNED_ONLY
    t0 = time.perf_counter()
    mod = load_script(script)
    _PLANNED_ONLY = True  # the same worker may train a run next: reset below
    try:
        summary = str(mod.main(preset) or "done")
    finally:
        _PLANNED_ONLY = False
    return time.perf_counter() - t0, summary


def train_job(job: Job) -> float:
    """Train one planned run (in a worker of ``experiments/run.py``); its seconds."""
    import time

    t0 = time.perf_counter()
    trained(job.name, job.config, job.data, job.preset, ltm=job.ltm, codec=job.codec,
            progress=False)
    return time.perf_counter() - t0


def trained(name: str, config, data: Path, preset: str, *, ltm: Path | None = None,
            codec: Path | None = None, progress: bool = True) -> Path:
    """The run directory ``runs/<preset>/<name>`` holding ``config`` trained on ``data``:
    reused when it finished with the same config, else trained (resumed if cut short)
    on :data:`TRAIN_THREADS` threads. While :func:`planning`, only recorded."""
    import torch

    from ltm.train import fit

    out = runs(preset) / name
    if _PLAN is not None:
        _PLAN.append(Job(name, config, data, preset, ltm, codec))
        return out
    if _PLANNED_ONLY and not finished(out):
        raise SystemExit(f"{out} was not trained before the script that needs it ran: "
                         f"add it to that script's models(preset)")
    sources = _sources(ltm=ltm, codec=codec)
    if finished(out):
        if stored_config(out, config) != config:  # from_dict fills fields added since
            raise SystemExit(f"{out} holds a finished run of another config; delete it "
                             f"to retrain")
        stored = _stored_sources(out)
        if stored != sources:
            held = ", ".join(str(v) for v in (ltm, codec) if v)
            raise SystemExit(f"{out} was trained on another {' or '.join(sources)} than "
                             f"{held} holds now; delete it to retrain" if stored else
                             f"{out} has no {SOURCES} saying which weights of {held} it "
                             f"was trained on; delete it to retrain")
        return out
    resume = (out / "checkpoints" / "last.ckpt").is_file()
    print(f"  training {name} ({'resumed' if resume else 'from scratch'}) into {out}",
          flush=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(TRAIN_THREADS)
    try:
        fit(config, data, out, resume=resume, ltm=ltm, codec=codec, progress=progress)
    finally:
        torch.set_num_threads(threads)
    if sources:
        (out / SOURCES).write_text(json.dumps(sources, indent=1, sort_keys=True) + "\n")
    return out


SOURCES = "sources.json"
"""What a run trained on another model records of it: the SHA-256 of its weights, so
that a run is reused only on the very model (a codec retrained with the same config,
for instance by another time budget, would otherwise pass)."""


def _sources(**models: Path | None) -> dict[str, str]:
    import hashlib

    from ltm.model import WEIGHTS

    return {k: hashlib.sha256((v / WEIGHTS).read_bytes()).hexdigest()
            for k, v in models.items() if v is not None and (v / WEIGHTS).is_file()}


def _stored_sources(run: Path) -> dict[str, str]:
    path = run / SOURCES
    return json.loads(path.read_text()) if path.is_file() else {}


def stored_config(run: Path, like):
    """The config stored in ``run/config.json``, read as the type of the config ``like``
    and with only the keys its ``to_dict`` has (a run also stores its kind and, for a
    hybrid, its codec)."""
    d = json.loads((run / "config.json").read_text())
    keys = like.to_dict()
    return type(like).from_dict({k: v for k, v in d.items() if k in keys})


EVAL_SEED, EVAL_EPISODES = 1000, 300
"""The evaluation world every script shares: 300 episodes of seed 1000 (training uses
seed 0), both sides of the meaning split."""


def eval_world() -> Path:
    """The evaluation world (written once into ``data/generated/``; deterministic).

    Two scripts may ask for it at once; :func:`ltm.pvq.io.write_jsonl` renames the file
    into place when complete, so neither reads it half-written (one did, once, and drew
    its meanings from part of the world)."""
    from ltm.pvq import world

    path = paths.generated() / f"world-eval-{EVAL_SEED}.pvq.jsonl"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        world.write_world(path, EVAL_EPISODES, EVAL_SEED)
    return path


def evaluate_fresh_world(model, world_seed: int, episodes: int, unit_episodes: int,
                         **kw) -> dict:
    """:func:`ltm.worldeval.evaluate_world` on a world generated afresh with
    ``world_seed``, each side of the meaning split on its own: ``episodes`` episodes per
    side for next thoughts, ``unit_episodes`` per side whose frames feed the unit
    metrics; ``kw`` goes to ``evaluate_world`` (``n_episodes`` is ``episodes``)."""
    from ltm.pvq import world
    from ltm.worldeval import evaluate_world

    eps = {s: list(world.generate(episodes, world_seed, split=s)) for s in world.SPLITS}
    units = {s: list(world.generate(unit_episodes, world_seed, split=s)) for s in world.SPLITS}
    return evaluate_world(model, eps["train"], eps["heldout"], train_units=units["train"],
                          heldout_units=units["heldout"], n_episodes=episodes, **kw)


def _world_data() -> Path:
    data = paths.generated() / "world.pvq.jsonl"
    if not data.is_file():
        raise SystemExit(f"{data} is missing: run experiments/run.py --only data/world first")
    return data


def world_ltm(preset: str, seed: int = 0) -> Path:
    """The LTM of E3 trained on the generated world with ``seed`` (or reused)."""
    return trained(f"ltm-s{seed}", ltm_config(preset, seed), _world_data(), preset)


SHIPPED = {"paper": "paper"}
"""Presets whose reference LTM is a shipped checkpoint: ``checkpoints/<name>``."""


def ltm_run(preset: str) -> Path:
    """The reference LTM of a preset, which E1 (noise), E2, E6 and E8 measure and whose
    frozen codec the core variants of E4 and E5 share. At ``paper`` it is the shipped
    ``checkpoints/paper`` (44 minutes of training on 2 cores, ``ltm fit --preset paper
    --head choice`` at half the preset's peak rates with a quarter of the codec's draws
    weighted by occurrence; its model card gives the command),
    measured and not retrained, so that the reproduction fits its 90 minutes; elsewhere
    it is E3's LTM of seed 0."""
    if preset in SHIPPED:
        d = paths.root() / "checkpoints" / SHIPPED[preset]
        if not finished(d):
            raise SystemExit(f"{d} is missing: the shipped checkpoint comes with the clone")
        return d
    return world_ltm(preset, 0)


CORE_STEPS = {"smoke": 20, "paper": 60, "gpu": 4000}
"""Steps of a core variant (:func:`core_variant`) on the reference LTM's frozen codec."""


def core_variant(preset: str, name: str, seed: int = 0, **field) -> Path:
    """An LTM whose core and head (``field`` overrides FieldConfig fields;
    ``max_thoughts`` overrides the TrainConfig's) train for :data:`CORE_STEPS` with
    ``seed`` on the reference LTM's frozen codec (:func:`ltm_run`): the variants of E4
    (heads) and E5 (memory) differ in the core only, so they share one codec and one
    budget. Trained or reused as ``runs/<preset>/<name>-s<seed>``. A variant has no
    legality critic (:mod:`ltm.critic`) and no branched pick unless ``field`` asks for
    them, whatever the reference LTM has: the heads are compared as they pick alone."""
    codec = ltm_run(preset)
    field = {"critic_width": 0, "critic_recall": 0, "critic_members": 1,
             "critic_words": 0, "choice_branches": 0, **field}
    base = ltm_config(preset, 0)
    base = stored_config(codec, base) if finished(codec) else base  # planning: not yet
    train = {"max_thoughts": field.pop("max_thoughts")} if "max_thoughts" in field else {}
    cfg = dataclasses.replace(
        base, field=dataclasses.replace(base.field, **field),
        train=dataclasses.replace(base.train, codec_steps=0, core_steps=CORE_STEPS[preset],
                                  minutes=0.0, warmup_steps=STEPS[preset]["warmup"],
                                  seed=seed, **train))
    return trained(f"{name}-s{seed}", cfg, _world_data(), preset, codec=codec)


HEADS = ("flow", "flow-noise", "mse", "energy", "choice")
"""The tension heads E4 compares (:mod:`ltm.heads`)."""


def three_models(preset: str, seed: int = 0) -> dict[str, Path]:
    """The run directories of the LTM, the baseline matched to it in parameters, and
    the hybrid (that baseline reading the LTM's thoughts), trained with ``seed`` on the
    generated world at ``preset`` or reused: ``{"LTM": ..., "baseline": ..., "hybrid": ...}``."""
    data, ltm = _world_data(), world_ltm(preset, seed)
    return {"LTM": ltm, "baseline": world_baseline(preset, seed),
            "hybrid": trained(f"hybrid-params-s{seed}",
                              baseline_config(preset, seed=seed, kind="hybrid"), data, preset,
                              ltm=ltm)}


def world_baseline(preset: str, seed: int = 0) -> Path:
    """E3's byte baseline matched to the LTM in parameters, trained with ``seed`` on the
    generated world (or reused)."""
    return trained(f"baseline-params-s{seed}", baseline_config(preset, seed=seed),
                   _world_data(), preset)


def ngram_baseline(preset: str, seed: int = 0) -> Path | None:
    """E3's baseline matched in parameters, given the LTM encoder's n-gram input
    (:func:`with_ltm_ngrams`), trained or reused; ``None`` where the LTM has none."""
    config = with_ltm_ngrams(baseline_config(preset, seed=seed), preset)
    if config is None:
        return None
    return trained(f"baseline-params-ngrams-s{seed}", config, _world_data(), preset)


def ngram_ltm(preset: str, seed: int = 0) -> Path | None:
    """E3's other ablation: the LTM whose decoder reads the encoder's kind of n-grams too
    (:attr:`ltm.config.CodecConfig.decoder_ngrams`), so that every model that predicts
    bytes in the comparison sees them; trained or reused, ``None`` where the LTM has no
    n-grams."""
    config = ltm_config(preset, seed)
    if not config.codec.ngram_max:
        return None
    config = dataclasses.replace(config, codec=dataclasses.replace(config.codec,
                                                                   decoder_ngrams=True))
    return trained(f"ltm-decoder-ngrams-s{seed}", config, _world_data(), preset)


def flops_baseline(preset: str, seed: int = 0) -> Path:
    """The byte baseline matched to the LTM in training FLOPs per byte instead of
    parameters (smaller, so it takes more steps in the same time), trained or reused."""
    return trained(f"baseline-flops-s{seed}", baseline_config(preset, "flops", seed),
                   _world_data(), preset)


def split_timing(numbers):
    """``(numbers, timing)``: every ``"timing"`` entry, at any depth, moved out of
    ``numbers`` into ``timing`` (at the same path), since a wall-clock rate differs
    on every run while everything else repeats exactly."""
    if not isinstance(numbers, dict):
        return numbers, {}
    kept, timing = {}, {}
    for k, v in numbers.items():
        if k == "timing":
            timing[k] = v
            continue
        kept[k], t = split_timing(v)
        if t:
            timing[k] = t
    return kept, timing


def fmt(x: float | None, digits: int = 3) -> str:
    """A number for a table: ``-`` for a missing one, thousands separated when large, a
    count (``int``) without decimals."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, int):  # a count: no decimals
        return f"{x:,}"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.{digits}f}"


def _numbers(values) -> list:
    """The numbers among ``values``: ``None`` and NaN (nothing measured) left out."""
    return [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]


def mean(values) -> float | None:
    """The mean of the numbers among ``values`` (``None`` and NaN left out), or ``None``."""
    xs = _numbers(values)
    return sum(xs) / len(xs) if xs else None


def std(values) -> float | None:
    """The sample standard deviation over seeds of the numbers among ``values``, or
    ``None`` with fewer than two."""
    import statistics

    xs = _numbers(values)
    return statistics.stdev(xs) if len(xs) > 1 else None


def at(result: dict, path: tuple[str, ...]):
    """The value at ``path`` in a nested result (``("next", "legal")``), or ``None``
    where a level is missing (a harness result without EN-RU pairs has no ``en_ru``)."""
    for key in path:
        result = result.get(key) if isinstance(result, dict) else None
    return result


def macro_part(name: str) -> str:
    """A name as letters a LaTeX macro may hold: ``"austen-sentences"`` ->
    ``"AustenSentences"``, ``"data/world"`` -> ``"DataWorld"``."""
    return "".join(p.capitalize() for p in re.split(r"[^a-zA-Z]+", name))


def width_of(cfg) -> int:
    """A config's width: the baseline's, or the LTM's codec (and field) width."""
    return cfg.codec.width if hasattr(cfg, "codec") else cfg.width


def by_seed(results: dict[str, dict[str, dict]], columns: dict[str, tuple[str, ...]]):
    """Harness results ``{model: {"seed<k>": result}}`` gathered per column: ``(values,
    rows, spread)`` with ``values[model][column]`` the list over seeds, ``rows`` a table
    row per model (name, parameters, mean ± std of each column) and ``spread`` the
    ``{"mean": ..., "std": ...}`` of every model and column for the JSON."""
    values = {m: {c: [at(r, p) for r in rs.values()] for c, p in columns.items()}
              for m, rs in results.items()}
    rows = [[m, fmt(next(iter(results[m].values()))["cost"]["params"]),
             *(pm(v[c]) for c in columns)] for m, v in values.items()]
    spread = {k: {m: {c: f(x) for c, x in v.items()} for m, v in values.items()}
              for k, f in (("mean", mean), ("std", std))}
    return values, rows, spread


MODEL_TAGS = {"baseline (FLOPs)": "Flops", "baseline + n-grams": "Ngrams",
              "LTM + decoder n-grams": "LtmNgrams"}
"""The macro part of a comparison row whose name would not capitalise into one."""


def model_tag(name: str) -> str:
    """A row name's part of a macro name: ``"baseline"`` -> ``"Baseline"``, and the names
    of :data:`MODEL_TAGS` as given there."""
    return MODEL_TAGS.get(name, name.capitalize())


def seed_macros(prefix: str, values: dict[str, dict[str, list]], keys: dict[str, str],
                tag=str.capitalize) -> dict[str, str]:
    """LaTeX macros of per-seed ``values`` (as :func:`by_seed` gives them): for every
    model and every ``key: column`` of ``keys``, ``<prefix><key><tag(model)>`` holds the
    mean over seeds and the same name with ``Sd`` the standard deviation."""
    out = {}
    for model, v in values.items():
        for key, column in keys.items():
            name = f"{prefix}{key}{tag(model)}"
            out[name], out[f"{name}Sd"] = fmt(mean(v[column])), fmt(std(v[column]))
    return out


def pm(values, digits: int = 3) -> str:
    """Mean ± standard deviation over seeds for a table (the mean alone for one seed)."""
    m, s = mean(values), std(values)
    return fmt(m, digits) if s is None else f"{fmt(m, digits)} ± {fmt(s, digits)}"


def save_figure(fig, name: str, preset: str) -> None:
    """Save a matplotlib figure as ``experiments/results/<preset>/<name>.png`` (the docs)
    and, at ``paper``, as vector ``paper/generated/<name>.pdf``; then close it."""
    import matplotlib.pyplot as plt

    out = paths.results() / preset
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / f"{name}.png", dpi=150)
    if preset == "paper":
        gen = paths.root() / "paper" / "generated"
        gen.mkdir(parents=True, exist_ok=True)
        fig.savefig(gen / f"{name}.pdf")
    plt.close(fig)


def write_result(name: str, preset: str, numbers: dict, header: list[str],
                 rows: list[list[str]], caption: str, macros: dict[str, str] | None = None,
                 ) -> Path:
    """Write ``experiments/results/<preset>/<name>.{json,md,tex}`` and, at ``paper``,
    ``paper/generated/<name>.tex`` with one ``\\newcommand`` per entry of ``macros``
    (name -> already formatted text). Returns the JSON's path."""
    out = paths.results() / preset
    out.mkdir(parents=True, exist_ok=True)
    numbers, timing = split_timing(numbers)
    result = {"name": name, "caption": caption, **provenance(preset), "numbers": clean(numbers)}
    (out / f"{name}.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    if timing:  # apart: the JSON above repeats exactly on a rerun, these do not
        (out / f"{name}.timing.json").write_text(
            json.dumps(clean(timing), indent=2, sort_keys=True) + "\n")
    md = [f"| {' | '.join(header)} |", "|" + "---|" * len(header)]
    md += [f"| {' | '.join(r)} |" for r in rows]
    (out / f"{name}.md").write_text(f"{caption}\n\n" + "\n".join(md) + "\n")
    esc = lambda s: (s.replace("_", r"\_").replace("%", r"\%").replace("→", r"$\to$")  # noqa: E731
                     .replace("≥", r"$\geq$"))
    tex = [r"\begin{tabular}{l" + "r" * (len(header) - 1) + "}", r"\toprule",
           " & ".join(esc(h) for h in header) + r" \\", r"\midrule"]
    tex += [" & ".join(esc(c) for c in r) + r" \\" for r in rows]
    tex += [r"\bottomrule", r"\end{tabular}"]
    (out / f"{name}.tex").write_text("\n".join(tex) + "\n")
    if preset == "paper":
        gen = paths.root() / "paper" / "generated"
        gen.mkdir(parents=True, exist_ok=True)
        (gen / f"{name}.table.tex").write_text("\n".join(tex) + "\n")
        lines = [f"% written by experiments/{name}.py; do not edit"]
        lines += [rf"\newcommand{{\{k}}}{{{v}}}" for k, v in sorted((macros or {}).items())]
        (gen / f"{name}.tex").write_text("\n".join(lines) + "\n")
        write_macro_index()
    return out / f"{name}.json"


CANDIDATES = 1000
"""Retrieval candidates of distinct meaning (issue 4: "among 1,000 candidates")."""

READINGS = 16
"""Readings per thought where a script also says thoughts the encoder's way
(``LTM.decode(..., readings=READINGS)``; the count chosen on a validation world in
``experiments/LOG.md``, session 19, the search that finds them in session 28)."""


def release() -> dict[str, str]:
    """Version and release date from ``CITATION.cff`` (the paper's title page)."""
    cff = paths.root() / "CITATION.cff"
    text = cff.read_text(encoding="utf-8") if cff.is_file() else ""
    found = {k: re.search(rf"^{k}:\s*(\S+)", text, re.M) for k in ("version", "date-released")}
    return {k: m.group(1).strip("'\"") if m else "unreleased" for k, m in found.items()}


def protocol_macros() -> dict[str, str]:
    """The protocol constants the paper's text names, from the code that uses them; the
    shipped checkpoint's training time (its critic stage included), steps and critic
    labels; and the release from ``CITATION.cff``."""
    shipped = paths.root() / "checkpoints" / SHIPPED["paper"]
    metrics = (json.loads((shipped / "metrics.json").read_text())
               if (shipped / "metrics.json").is_file() else None)
    minutes = (None if metrics is None else
               (metrics["train_seconds"] + metrics.get("critic", {}).get("seconds", 0)) / 60)
    stored = (json.loads((shipped / "config.json").read_text())
              if (shipped / "config.json").is_file() else {})
    train, field = stored.get("train", {}), stored.get("field", {})
    rel = release()
    return {"shippedMinutes": "-" if minutes is None else f"{minutes:.0f}",
            "shippedLrEncoder": f"{train['lr_encoder']:g}" if train else "-",
            "shippedLrDecoder": f"{train['lr_decoder']:g}" if train else "-",
            "shippedCodecOccurrence": (f"{train.get('codec_occurrence', 0.0):g}"
                                       if train else "-"),
            "shippedCriticWidth": str(field.get("critic_width", 0)) if field else "-",
            "shippedCriticShare": (f"{100 * train.get('critic_share', 0.0):g}\\%"
                                   if train else "-"),
            "shippedCriticLabels": (fmt(metrics["critic"]["transitions"])
                                    if metrics and metrics.get("critic") else "-"),
            "shippedSteps": fmt(metrics["steps"]) if metrics else "-",
            "releaseVersion": rel["version"], "releaseDate": rel["date-released"],
            "protoCandidates": fmt(CANDIDATES), "protoEvalSeed": str(EVAL_SEED),
            "protoEvalEpisodes": fmt(EVAL_EPISODES),
            "protoSeeds": str(len(SEEDS["paper"])), "protoCoreSteps": fmt(CORE_STEPS["paper"]),
            **{f"protoSteps{k.capitalize()}": fmt(v) for k, v in STEPS["paper"].items()}}


def write_macro_index() -> None:
    """``paper/generated/macros.tex``, which ``paper/main.tex`` inputs: one ``\\input``
    per macro file there (every ``*.tex`` but the tables), after writing
    ``protocol.tex`` (:func:`protocol_macros`)."""
    gen = paths.root() / "paper" / "generated"
    gen.mkdir(parents=True, exist_ok=True)
    (gen / "protocol.tex").write_text(
        "% written by experiments/common.py; do not edit\n"
        + "".join(rf"\newcommand{{\{k}}}{{{v}}}" + "\n" for k, v in protocol_macros().items()))
    files = sorted(f.stem for f in gen.glob("*.tex")
                   if f.stem != "macros" and not f.stem.endswith(".table"))
    (gen / "macros.tex").write_text("% written by experiments/common.py; do not edit\n"
                                    + "".join(rf"\input{{generated/{f}}}" + "\n"
                                              for f in files))
