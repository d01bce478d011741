"""Ship a trained LTM run as a small checkpoint with a model card.

    python scripts/ship_checkpoint.py --run runs/paper --out checkpoints/paper \
        --data-command "ltm data world --episodes 150000 --seed 0" \
        [--eval checkpoints/paper/eval.json]

Copies ``config.json`` and the run's final validation (``metrics.json``), writes the
weights as float16 safetensors (half the bytes; :meth:`ltm.model.LTM.load` casts them
back to float32), and writes ``MODEL_CARD.md`` from those files and, when given, the
JSON of ``experiments/eval_world.py`` run on the *shipped* weights. Every number in the
card is read from a file; none is typed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch

from ltm import weights
from ltm.config import LTMConfig
from ltm.model import CONFIG, LTM, WEIGHTS
from ltm.readings import READING_SEARCH, reading_rounds


def _params(model: torch.nn.Module, part: str | None = None) -> int:
    module = getattr(model, part) if part else model
    return sum(p.numel() for p in module.parameters())


def _fmt(x: object) -> str:
    if isinstance(x, float):
        return "n/a" if x != x else f"{x:.3f}"
    return str(x)


def _eval_table(ev: dict, readings: int = 1) -> list[str]:
    """The card's table of ``eval_world.py`` results; with ``readings`` > 1, two more
    columns for the decoding metrics reranked by the encoder (``*_reranked``)."""
    rows = [("codec", "exact_en", "exact reconstruction, English, distinct quotes"),
            ("codec", "exact_ru", "exact reconstruction, Russian, distinct quotes"),
            ("codec", "byte_acc_en", "byte accuracy, English"),
            ("codec", "byte_acc_ru", "byte accuracy, Russian"),
            ("retrieval", "recall1_en_ru", "EN->RU recall@1 (1,000 distinct meanings)"),
            ("retrieval", "recall1_ru_en", "RU->EN recall@1"),
            ("retrieval", "paraphrase_recall1_en", "paraphrase recall@1, English"),
            ("cross_language", "en_to_ru",
             "English thought said in Russian, same frame, distinct frames"),
            ("cross_language", "ru_to_en",
             "Russian thought said in English, same frame, distinct frames"),
            ("units", "exact_en", "exact reconstruction, English, units as they occur"),
            ("units", "exact_ru", "exact reconstruction, Russian, units as they occur"),
            ("units", "en_to_ru", "English unit said in Russian, same frame, as they occur"),
            ("units", "ru_to_en", "Russian unit said in English, same frame, as they occur"),
            ("prediction", "parse", "generated next thoughts that parse"),
            ("prediction", "legal", "... and are legal in the true state"),
            ("prediction", "exact_determined", "exact frame on determined thoughts"),
            ("prediction_no_critic", "parse", "next thoughts that parse, critic left out"),
            ("prediction_no_critic", "legal", "... and are legal, critic left out"),
            ("prediction_no_critic", "exact_determined",
             "exact frame on determined thoughts, critic left out")]
    head, rule = "| metric | train meanings | held-out meanings |", "|---|---:|---:|"
    if readings > 1:
        head += f" train, {readings} readings | held-out, {readings} readings |"
        rule += "---:|---:|"
    out = [head, rule]
    for part, key, label in rows:
        if part == "prediction_no_critic" and not any(part in ev.get(side, {})
                                                      for side in ("train", "heldout")):
            continue  # a model without a critic has no critic-off rows
        cells = [ev.get(side, {}).get(part, {}).get(key, float("nan"))
                 for side in ("train", "heldout")]
        if readings > 1:
            cells += [ev.get(side, {}).get(f"{part}_reranked", {}).get(key)
                      for side in ("train", "heldout")]
        out.append(f"| {label} | " + " | ".join("-" if c is None else _fmt(c) for c in cells)
                   + " |")
    units = [ev.get(side, {}).get("units", {}) for side in ("train", "heldout")]
    if all("n_distinct" in u for u in units):
        out += ["", "*Distinct* counts every frame (or quote) once, which weighs the rare "
                "many-filler frames (the recaps) heavily; *as they occur* draws "
                f"{units[0]['n']:,} / {units[1]['n']:,} units from the episodes, repeats "
                f"included, as a reader meets them ({units[0]['n_distinct']:,} / "
                f"{units[1]['n_distinct']:,} distinct frames among them)."]
    return out


def fit_command(cfg: dict, preset: str = "paper") -> str:
    """The ``ltm fit`` command that trains ``cfg``: the preset plus ``--head`` when the
    tension head differs, ``--critic`` when the critic's width does, a ``--set
    PART.FIELD=VALUE`` for every other field of the codec or field part that differs
    from it, and a ``--set`` for every training field that does (``--max-minutes`` for
    the time budget). Fails when a field that ``--set`` cannot give (a list) differs."""
    from ltm.presets import preset as model_preset

    base = json.loads(json.dumps(model_preset(preset).to_dict()))
    cfg = json.loads(json.dumps(LTMConfig.from_dict(cfg).to_dict()))  # fields added since: defaults
    args = [f"ltm fit --preset {preset} --data DATA --out DIR"]
    if cfg["field"]["head"] != base["field"]["head"]:
        args.append(f"--head {cfg['field']['head']}")
        base["field"]["head"] = cfg["field"]["head"]
    if cfg["field"]["critic_width"] != base["field"]["critic_width"]:
        args.append(f"--critic {cfg['field']['critic_width']}")
        base["field"]["critic_width"] = cfg["field"]["critic_width"]
    for part, fields in cfg.items():
        if part == "train":
            continue
        for key, value in fields.items():  # another part: `--set PART.FIELD=VALUE`
            if value == base[part].get(key):
                continue
            if isinstance(value, list | dict):
                raise SystemExit(f"ship_checkpoint: {part}.{key} differs from the {preset!r} "
                                 f"preset and is not a number; no `ltm fit` command says it")
            shown = str(value).lower() if isinstance(value, bool) else value
            args.append(f"--set {part}.{key}={shown}")
    for key, value in cfg["train"].items():
        if value == base["train"].get(key):
            continue
        if key == "minutes":
            args.append(f"--max-minutes {value:g}")
        else:
            shown = str(value).lower() if isinstance(value, bool) else value  # as --set reads it
            args.append(f"--set {key}={shown}")  # every training field is a number or a bool
    return " ".join(args)


def _critic_line(metrics: dict) -> str:
    """The critic stage in words, from ``metrics.json`` (empty without a critic)."""
    c = metrics.get("critic")
    if not c:
        return ""
    total = (metrics["train_seconds"] + c["seconds"]) / 60
    line = (f", then the critic stage {c['seconds'] / 60:.1f} min ({c['transitions']:,} "
            f"transitions of the training episodes labelled, {c['legal_share']:.3f} of "
            f"their hypotheses legal; {c['epochs']} epochs, last accuracy "
            f"{c['accuracy']:.3f}); {total:.1f} min in all")
    before = metrics.get("critic_before")
    if before:  # written by scripts/refit_critic.py
        line += (f" (the critic stage was run again on the run's frozen codec and core by "
                 f"`scripts/refit_critic.py`, in place of the run's own, which labelled "
                 f"{before['transitions']:,} transitions in {before['seconds'] / 60:.1f} min)")
    return line


def _head(field: dict) -> str:
    """The head in words: its name, and for a ``choice`` head how many hypotheses and
    what picks among them."""
    if field["head"] != "choice":
        return f"`{field['head']}`"
    by = ("the decoder, which takes the one it writes most surely in the language asked"
          if field["choice_pick"] == "decoder" else "the head's selector")
    if field["choice_pick"] == "decoder" and field.get("choice_roundtrip"):
        by += (f", less {field['choice_roundtrip']:g} times the cosine of each hypothesis "
               "and its reading encoded again")
    if field["choice_pick"] == "decoder" and field.get("choice_branches"):
        by += (f" (each hypothesis read greedily and branched at its "
               f"{field['choice_branches']} least sure places; a branched winner's "
               "encoding is the next thought)")
    if field["choice_pick"] == "decoder" and field.get("critic_width"):
        members = field.get("critic_members", 1)
        who = (f"{members} learned critics whose log-odds are averaged" if members > 1
               else "a learned critic")
        recall = (f", reading the cosines with the last {field['critic_recall']} thoughts"
                  if field.get("critic_recall") else "")
        if field.get("critic_words"):
            recall += (f"{' and' if recall else ', reading'} which of each reading's first "
                       f"{field['critic_words']} words the past has said (`ltm.novelty`)")
        by += (f", less {field['critic_weight']:g} times the log-probability that it is "
               f"legal by {who} (`ltm.critic`, width {field['critic_width']}{recall})")
    return f"`choice`: {field['choices']} hypotheses of the next thought, picked by {by}"


def model_card(cfg: dict, metrics: dict, ev: dict | None, weights: Path,
               data_command: str) -> str:
    """The text of MODEL_CARD.md."""
    tc = cfg["train"]
    model = LTM(LTMConfig.from_dict(cfg))
    lines = [
        "# Model card: LTM `paper` preset, trained on the PVQ world",
        "",
        "Written by `scripts/ship_checkpoint.py` from the files beside it; do not edit.",
        "",
        "## What it is",
        "A Large Thought Model (`ltm.model.LTM`): a byte-level thought codec (encoder to a "
        "point on the unit sphere, decoder back to bytes in English or Russian), a causal "
        "field core with a scene memory, and a tension head "
        f"({_head(cfg['field'])}). Load it with `LTM.load(\"checkpoints/paper\")`.",
        "",
        "## Size",
        f"- parameters: {_params(model):,} (encoder {_params(model, 'encoder'):,}; decoder "
        f"{_params(model, 'decoder'):,}; core {_params(model, 'core'):,}; head "
        f"{_params(model, 'head'):,}"
        + (f"; critic {_params(model, 'critic'):,})" if model.critic is not None else ")"),
        f"- weights: `{weights.name}`, float16, {weights.stat().st_size / 1e6:.2f} MB",
        "",
        "## Training",
        f"- data: `{data_command}` (English and Russian), episodes "
        "with a held-out meaning excluded"
        + (" (`exclude_heldout`)" if tc.get("exclude_heldout") else ""),
        f"- command: `{fit_command(cfg)}`",
        f"- steps: {metrics['steps']:,} ({metrics['switch_step']:,} codec, "
        f"{metrics['steps'] - metrics['switch_step']:,} core); "
        f"training time {metrics['train_seconds'] / 60:.1f} min" + _critic_line(metrics),
        "- hardware: " + (f"{metrics['machine']} CPU, {metrics['threads']} threads"
                          if "threads" in metrics and "machine" in metrics
                          else "not recorded by the run") + ", fp32",
        f"- learning rates: encoder {tc['lr_encoder']}, decoder {tc['lr_decoder']}, "
        f"core {tc['lr_core']}, each stage falling by half a cosine to "
        f"{tc.get('lr_final', 1.0)} of its peak (1: constant); loss weights rec {tc['w_rec']}, align {tc['w_align']}, "
        f"cross {tc['w_cross']}, noise {tc['w_noise']}, head {tc['w_head']}, "
        f"next {tc['w_next']}",
        "",
        "## Final validation (training split, from `metrics.json`)",
        "",
        "| metric | value |", "|---|---:|",
        *[f"| `{k}` | {_fmt(v)} |" for k, v in metrics["val"].items()],
    ]
    if ev is not None:
        readings = int(ev["args"].get("readings", 1))
        lines += ["", "## Evaluation of the shipped weights (`experiments/eval_world.py`)",
                  "", f"A fresh world (seed {ev['args']['world_seed']}), both sides of the "
                  f"compositional split; evaluated in {ev['seconds']:.0f} s.", "",
                  *_eval_table(ev["results"], readings)]
        if readings > 1:
            rounds, per_round = reading_rounds(readings)
            lines += ["", f"With {readings} readings, each thought is said greedily, then "
                      f"in up to {rounds} rounds the nearest reading so far is said again "
                      f"with another token at up to {per_round} of its least "
                      "sure places (where the decoder's other choice has log-probability "
                      "at least "
                      f"{READING_SEARCH['min_logp']:g}) and greedily after it, and the "
                      "reading whose encoding lies nearest the thought is kept "
                      "(`LTM.decode(..., readings=N)`); next thoughts are said greedily "
                      "either way."]
    lines += ["", "## Limits",
              "Trained on a small synthetic world only; it knows 12 agents, 14 places and "
              "16 objects, and nothing of real text. See `experiments/LOG.md` for what was "
              "tried and the issue-3 targets it does and does not reach.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Ship ``--run`` into ``--out``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True, help="run directory of `ltm fit`")
    ap.add_argument("--out", type=Path, required=True, help="checkpoint directory to write")
    ap.add_argument("--eval", type=Path, default=None, help="eval_world.py JSON to include")
    ap.add_argument("--data-command", required=True,
                    help="the command that wrote the run's training data, quoted in the card")
    args = ap.parse_args(argv)
    for name in (CONFIG, WEIGHTS, "metrics.json"):
        if not (args.run / name).is_file():
            sys.exit(f"ship_checkpoint: {args.run / name}: no such file (is the run finished?)")
    args.out.mkdir(parents=True, exist_ok=True)
    state = weights.load(args.run / WEIGHTS)
    half = {k: (v.half() if v.dtype == torch.float32 else v).contiguous()
            for k, v in state.items()}
    if args.run.resolve() != args.out.resolve():
        shutil.copy(args.run / CONFIG, args.out / CONFIG)
        shutil.copy(args.run / "metrics.json", args.out / "metrics.json")
    weights.save(half, args.out / WEIGHTS)
    cfg = json.loads((args.out / CONFIG).read_text())
    metrics = json.loads((args.out / "metrics.json").read_text())
    ev = json.loads(args.eval.read_text()) if args.eval else None
    card = model_card(cfg, metrics, ev, args.out / WEIGHTS, args.data_command)
    (args.out / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    print(f"wrote {args.out} ({(args.out / WEIGHTS).stat().st_size / 1e6:.2f} MB of weights)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
