"""Run the critic stage of a finished LTM run again, on its frozen codec and core.

    python scripts/refit_critic.py --run runs/ship-critic2 --data DATA --out DIR
                                   [--transitions N] [--hypotheses K] [--recall N]
                                   [--members M] [--set [PART.]FIELD=VALUE ...]

The last stage of ``ltm fit`` (:func:`ltm.train.critic_stage`) once more, as ``ltm fit``
runs it: the same training records (the run's split of ``DATA``, held-out meanings left
out), the run's seed, its budget (``train.minutes * train.critic_share`` minutes, or
``train.critic_transitions`` transitions when the run had no time limit) and the
critic's initial weights as a fresh LTM of the run's config and seed draws them. The
codec and core are not touched, so a run whose critic was fitted by an older, slower
labeller gets the critic that ``ltm fit`` gives today, in the same minutes. Writes the model (float32), its config and
the run's ``metrics.json`` into ``DIR``, with the new stage's summary as ``critic`` and
the run's own as ``critic_before``; ``scripts/ship_checkpoint.py`` ships ``DIR`` as it
ships a run, and its card says the critic was refitted. ``--transitions`` raises (or
lowers) the run's ``critic_transitions`` cap, for a labeller that now labels more in the
same minutes; the config written says so, and so does the card's command.
``--hypotheses`` sets ``critic_hypotheses``: how many of each transition's hypotheses
are read and labelled (0: all). ``--recall N`` gives the new critic
``FieldConfig.critic_recall`` N: it also compares each reading with the last N past
thoughts (:func:`ltm.critic.recall`). ``--members M`` gives it
``FieldConfig.critic_members`` M: that many critics trained apart, their log-odds
averaged. ``--set`` changes the config as ``ltm fit --set`` does, for one of the critic
stage's training fields (:data:`TRAIN_SETTABLE`, e.g. ``critic_label_share=0.75``) or a
field of the critic and the pick (:data:`FIELD_SETTABLE`, e.g.
``field.choice_branches=4``, or ``field.critic_words=12`` for a critic that also checks
each reading's words against the past, :mod:`ltm.novelty`); every other field is refused, since the codec's and the
core's weights, and the record of how they were trained, are kept. A field named both
by ``--set`` and by its own option (``--members``) is refused too.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import torch

from ltm.config import with_overrides
from ltm.model import LTM
from ltm.train import FitError, critic_records, critic_stage

TRAIN_SETTABLE = ("critic_transitions", "critic_epochs", "critic_hypotheses",
                  "critic_label_share")
"""Training fields ``--set`` may change: the critic stage's own (the rest record how the
frozen codec and core were trained)."""
FIELD_SETTABLE = ("critic_width", "critic_weight", "critic_recall", "critic_members",
                  "critic_words", "choice_branches")
"""Fields of ``field`` that ``--set field.NAME`` may change: the critic's and the pick's."""


def main(argv: list[str] | None = None) -> int:
    """Refit the critic of ``--run`` into ``--out``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True, help="finished run of `ltm fit`")
    ap.add_argument("--data", type=Path, required=True, help="the run's training data")
    ap.add_argument("--out", type=Path, required=True, help="directory to write (new)")
    ap.add_argument("--transitions", type=int, default=None,
                    help="the stage's cap on labelled transitions (default: the run's)")
    ap.add_argument("--hypotheses", type=int, default=None,
                    help="hypotheses labelled per transition (default: the run's; 0: all)")
    ap.add_argument("--recall", type=int, default=None,
                    help="past thoughts the new critic compares each reading with "
                         "(FieldConfig.critic_recall; default: the run's)")
    ap.add_argument("--members", type=int, default=None,
                    help="critics trained apart whose log-odds are averaged "
                         "(FieldConfig.critic_members; default: the run's)")
    ap.add_argument("--set", action="append", default=[], metavar="[PART.]FIELD=VALUE",
                    help="a critic-stage training field, or field.critic_* / field.choice_branches")
    args = ap.parse_args(argv)
    metrics_path = args.run / "metrics.json"
    if not metrics_path.is_file():
        sys.exit(f"refit_critic: {metrics_path}: no such file (is the run finished?)")
    if args.out.exists():
        sys.exit(f"refit_critic: {args.out}: exists; name a new directory")
    model = LTM.load(args.run)
    if model.critic is None:
        sys.exit(f"refit_critic: {args.run}: the run has no critic (critic_width is 0)")
    try:
        records = critic_records(model.config, args.data)
    except FitError as e:
        sys.exit(f"refit_critic: {e}")
    if args.transitions is not None and args.transitions < 1:
        sys.exit(f"refit_critic: --transitions must be at least 1, got {args.transitions}")
    if args.hypotheses is not None and args.hypotheses < 0:
        sys.exit(f"refit_critic: --hypotheses must be at least 0, got {args.hypotheses}")
    changes = {k: v for k, v in (("critic_transitions", args.transitions),
                                 ("critic_hypotheses", args.hypotheses)) if v is not None}
    if args.recall is not None and args.recall < 0:
        sys.exit(f"refit_critic: --recall must be at least 0, got {args.recall}")
    if args.members is not None and args.members < 1:
        sys.exit(f"refit_critic: --members must be at least 1, got {args.members}")
    if changes:
        train = dataclasses.replace(model.config.train, **changes)
        model.config = dataclasses.replace(model.config, train=train)
    field_changes = {k: v for k, v in (("critic_recall", args.recall),
                                       ("critic_members", args.members)) if v is not None}
    if field_changes:
        field = dataclasses.replace(model.config.field, **field_changes)
        model.config = dataclasses.replace(model.config, field=field)
    try:
        changed = with_overrides(model.config, args.set)
    except ValueError as e:
        sys.exit(f"refit_critic: {e}")
    kept = [f"field.{k}" for k, v in dataclasses.asdict(changed.field).items()
            if v != getattr(model.config.field, k) and k not in FIELD_SETTABLE]
    kept += [k for k, v in dataclasses.asdict(changed.train).items()
             if v != getattr(model.config.train, k) and k not in TRAIN_SETTABLE]
    kept += [p for p in ("codec",) if getattr(changed, p) != getattr(model.config, p)]
    if kept:
        sys.exit(f"refit_critic: --set {kept[0]}: only the critic stage's training fields "
                 f"({', '.join(TRAIN_SETTABLE)}), field.critic_* and field.choice_branches "
                 "can change (the codec and core keep their weights and their record)")
    named = {"critic_transitions": "--transitions", "critic_hypotheses": "--hypotheses",
             "critic_recall": "--recall", "critic_members": "--members"}
    for pair in args.set:
        key = pair.partition("=")[0].strip().removeprefix("field.")
        if key in named and (changes.get(key) is not None or key in field_changes):
            sys.exit(f"refit_critic: --set {pair} and {named[key]} both given; give one")
    if not changed.field.critic_width:
        sys.exit("refit_critic: --set field.critic_width=0 leaves no critic to fit")
    model.config = changed
    torch.manual_seed(model.config.train.seed)  # the critic starts where `ltm fit` starts it
    model.critic = LTM(model.config).critic  # of the (new) config's shape
    summary = critic_stage(model, records)
    metrics = json.loads(metrics_path.read_text())
    metrics["critic_before"], metrics["critic"] = metrics.get("critic"), summary
    model.save(args.out)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"refit_critic: {summary['transitions']:,} transitions labelled, accuracy "
          f"{summary['accuracy']:.3f}, {summary['seconds']:.0f} s; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
