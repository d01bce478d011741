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
minutes, for CI); ``paper`` trains the ``paper`` presets on the 10k-episode world with
the time budgets of :data:`MINUTES`; ``gpu`` the ``gpu`` presets.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ltm import paths

PACKAGES = ("ltm", "torch", "lightning", "numpy", "safetensors")
"""Packages whose versions go into every result JSON."""

MODEL_PRESET = {"smoke": "tiny", "paper": "paper", "gpu": "gpu"}
"""The model preset each experiment preset trains."""

MINUTES = {"smoke": 0.0, "paper": 40.0, "gpu": 0.0}
"""Training budget of one model in minutes (0: the steps decide); 40 at ``paper``, the
budget of the shipped ``checkpoints/paper`` (which ``runs/paper/ltm`` may reuse)."""

SMOKE_STEPS = {"codec_steps": 30, "core_steps": 20}
"""Steps of an LTM at the smoke preset (a baseline or hybrid trains their sum)."""


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


def commit() -> str | None:
    """The git commit of the checkout (``-dirty`` when it has changes), or ``None``."""
    try:
        run = dict(cwd=paths.root(), check=True, capture_output=True, text=True)
        head = subprocess.run(["git", "rev-parse", "HEAD"], **run).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
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


def ltm_config(preset: str, **train):
    """The LTM config of an experiment preset (``train`` overrides TrainConfig fields)."""
    from ltm.presets import preset as model_preset

    cfg = model_preset(MODEL_PRESET[preset])
    budget = {"minutes": MINUTES[preset]} if MINUTES[preset] else {}
    steps = SMOKE_STEPS if preset == "smoke" else {}
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, **steps, **budget,
                                                              **train))


def baseline_config(preset: str, match: str = "params"):
    """The baseline (or hybrid) config of an experiment preset, trained like the LTM:
    the same TrainConfig, so the same budget in minutes (or, at smoke, in steps)."""
    from ltm.baseline_config import baseline_preset

    cfg = baseline_preset(MODEL_PRESET[preset], match)
    return dataclasses.replace(cfg, train=ltm_config(preset).train)


def trained(name: str, config, data: Path, preset: str, *, ltm: Path | None = None,
            codec: Path | None = None) -> Path:
    """The run directory ``runs/<preset>/<name>`` holding ``config`` trained on ``data``:
    reused when it finished with the same config, else trained (resumed if cut short)."""
    from ltm.train import fit

    out = runs(preset) / name
    stored = out / "config.json"
    if (out / "model.safetensors").is_file() and stored.is_file():
        d = json.loads(stored.read_text())
        d = {k: v for k, v in d.items() if k in config.to_dict()}  # drop kind, codec
        if type(config).from_dict(d) != config:  # from_dict fills fields added since
            raise SystemExit(f"{out} holds a finished run of another config; delete it "
                             f"to retrain")
        return out
    resume = (out / "checkpoints" / "last.ckpt").is_file()
    print(f"  training {name} ({'resumed' if resume else 'from scratch'}) into {out}",
          flush=True)
    fit(config, data, out, resume=resume, ltm=ltm, codec=codec, progress=True)
    return out


EVAL_SEED, EVAL_EPISODES = 1000, 300
"""The evaluation world every script shares: 300 episodes of seed 1000 (training uses
seed 0), both sides of the meaning split."""


def eval_world() -> Path:
    """The evaluation world (written once into ``data/generated/``; deterministic)."""
    from ltm.pvq import world

    path = paths.generated() / f"world-eval-{EVAL_SEED}.pvq.jsonl"
    if not path.is_file():
        world.write_world(path, EVAL_EPISODES, EVAL_SEED)
    return path


def _world_data() -> Path:
    data = paths.generated() / "world.pvq.jsonl"
    if not data.is_file():
        raise SystemExit(f"{data} is missing: run experiments/run.py --only data/world first")
    return data


def ltm_run(preset: str) -> Path:
    """The run directory of the preset's LTM, trained on the generated world or reused."""
    return trained("ltm", ltm_config(preset), _world_data(), preset)


CORE_STEPS = {"smoke": 20, "paper": 400, "gpu": 4000}
"""Steps of a core variant (:func:`core_variant`); 400 at ``paper`` is about a third of
the shipped LTM's core stage (1,174 steps)."""


def core_variant(preset: str, name: str, **field) -> Path:
    """An LTM whose core and head (``field`` overrides FieldConfig fields;
    ``max_thoughts`` overrides the TrainConfig's) train for :data:`CORE_STEPS` on the
    preset LTM's frozen codec: the variants of E4 (heads) and E5 (memory) differ in the
    core only, so they share one codec and one budget. Trained or reused."""
    base = ltm_config(preset)
    train = {"max_thoughts": field.pop("max_thoughts")} if "max_thoughts" in field else {}
    cfg = dataclasses.replace(
        base, field=dataclasses.replace(base.field, **field),
        train=dataclasses.replace(base.train, codec_steps=0, core_steps=CORE_STEPS[preset],
                                  minutes=0.0, **train))
    return trained(name, cfg, _world_data(), preset, codec=ltm_run(preset))


HEADS = ("flow", "flow-noise", "mse", "energy")
"""The tension heads E4 compares (:mod:`ltm.heads`)."""


def three_models(preset: str) -> dict[str, Path]:
    """The run directories of the LTM, the baseline matched to it in parameters, and
    the hybrid (that baseline reading the LTM's thoughts), trained on the generated world
    at ``preset`` or reused: ``{"LTM": ..., "baseline": ..., "hybrid": ...}``."""
    data, ltm = _world_data(), ltm_run(preset)
    return {"LTM": ltm,
            "baseline": trained("baseline-params", baseline_config(preset), data, preset),
            "hybrid": trained("hybrid-params", baseline_config(preset), data, preset, ltm=ltm)}


def flops_baseline(preset: str) -> Path:
    """The byte baseline matched to the LTM in training FLOPs per byte instead of
    parameters (smaller, so it takes more steps in the same minutes), trained or reused."""
    return trained("baseline-flops", baseline_config(preset, "flops"), _world_data(), preset)


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
    """A number for a table: ``-`` for a missing one, thousands separated when large."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.{digits}f}"


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
    esc = lambda s: s.replace("_", r"\_").replace("%", r"\%").replace("→", r"$\to$")  # noqa: E731
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


def protocol_macros() -> dict[str, str]:
    """The protocol constants the paper's text names, from the code that uses them."""
    return {"protoCandidates": fmt(CANDIDATES), "protoEvalSeed": str(EVAL_SEED),
            "protoEvalEpisodes": fmt(EVAL_EPISODES), "protoMinutes": f"{MINUTES['paper']:g}"}


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
