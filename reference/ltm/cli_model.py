"""The model subcommands of ``ltm``: fit, eval, generate and encode.

Each loads torch and the model code only when it runs. Wired into the ``ltm`` command by
:func:`ltm.cli.build_parser`.
"""

from __future__ import annotations

import argparse
import sys

from ltm.cli import at_least_one, positive
from ltm.errors import UserError, first_line

MAX_PROMPT_THOUGHTS = 256
"""``ltm generate`` reads at most this many of the prompt's last sentences (the core's
attention grows with the square of the thoughts; training episodes hold at most 32)."""

MODEL_KINDS = ("ltm", "baseline", "hybrid")
"""What ``ltm fit --model`` trains."""


def _fit_config(args: argparse.Namespace):
    """The preset of ``--model`` and ``--preset`` with the command line's changes."""
    import dataclasses

    from ltm.baseline_config import baseline_preset
    from ltm.config import with_overrides
    from ltm.presets import preset

    kind = args.model
    if kind not in MODEL_KINDS:
        raise UserError(f"--model {kind!r}: choose one of {', '.join(MODEL_KINDS)}")
    if (kind == "hybrid") != (args.ltm is not None):
        raise UserError("--model hybrid needs --ltm DIR (a trained LTM whose encoder gives "
                        "the thoughts)" if kind == "hybrid" else
                        "--ltm applies to --model hybrid only")
    if kind == "ltm" and args.match is not None:
        raise UserError("--match applies to --model baseline or hybrid only")
    if kind != "ltm" and (args.head is not None or args.critic is not None):
        raise UserError(f"--{'head' if args.head is not None else 'critic'} applies to "
                        f"--model ltm only")
    try:
        cfg = preset(args.preset) if kind == "ltm" else baseline_preset(args.preset,
                                                                        args.match or "params")
        changes = {"seed": args.seed, "minutes": args.max_minutes,
                   "codec_steps": args.codec_steps, "core_steps": args.core_steps}
        train = dataclasses.replace(cfg.train, **{k: v for k, v in changes.items()
                                                  if v is not None})
        cfg = dataclasses.replace(cfg, train=train)
        field = {k: v for k, v in (("head", args.head), ("critic_width", args.critic))
                 if v is not None}
        if field:
            cfg = dataclasses.replace(cfg, field=dataclasses.replace(cfg.field, **field))
        cfg = with_overrides(cfg, args.set)
    except ValueError as e:
        raise UserError(str(e)) from None
    return cfg


def _cmd_fit(args: argparse.Namespace) -> int:
    cfg = _fit_config(args)
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    from ltm import pvq
    from ltm.train import fit

    try:
        _, metrics = fit(cfg, args.data, args.out, resume=args.resume, ltm=args.ltm,
                         codec=args.codec,
                         accelerator=args.accelerator, devices=args.devices,
                         strategy=args.strategy, num_nodes=args.num_nodes)
    except pvq.PVQError as e:
        raise UserError(f"{args.data}: refused ({len(e.problems)} problems; first: "
                        f"{e.problems[0] if e.problems else '?'})") from None
    except (ValueError, FloatingPointError) as e:
        raise UserError(str(e)) from None
    except MisconfigurationException as e:  # bad device or strategy flags
        raise UserError(first_line(e)) from None
    print(f"saved the model to {args.out}: " + ", ".join(f"{k} {v:.4f}"
                                                        for k, v in metrics.items()),
          file=sys.stderr)
    return 0


def _load_model(directory: str):
    """The LTM in ``directory`` (:func:`ltm.eval.load_model`), in evaluation mode;
    generate and encode need thoughts, so another kind of model is refused."""
    from ltm import eval as harness

    try:
        model = harness.load_model(directory)
    except harness.EvalError as e:
        raise UserError(str(e)) from None
    if harness.kind_of(model) != "ltm":
        raise UserError(f"{directory}: a {harness.kind_of(model)} model thinks in bytes, not "
                        f"thoughts; give an LTM (ltm fit --model ltm)")
    return model


def _cmd_eval(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from ltm import eval as harness
    from ltm.pvq import PVQError

    try:
        model = harness.load_model(args.model)
        if not Path(args.data).is_file():
            raise UserError(f"{args.data}: no such data file")
        result = harness.evaluate(model, args.data, episodes=args.episodes, split=args.split,
                                  n_retrieval=args.n_retrieval, samples=args.samples,
                                  seed=args.seed)
    except (harness.EvalError, PVQError) as e:
        raise UserError(str(e)) from None
    result["model"] = str(args.model)
    print(harness.format_table(result))
    if args.out:  # the wall-clock numbers apart, so that a rerun gives the same JSON
        out = Path(args.out)
        timing = result.pop("timing", {})
        out.write_text(json.dumps(result, indent=2) + "\n")
        out.with_suffix(".timing.json").write_text(json.dumps(timing, indent=2) + "\n")
    return 0


def _rules(text: str) -> str:
    """Segmentation rules for a text: Russian when Cyrillic outnumbers Latin."""
    cyr = sum("\u0400" <= c <= "\u04ff" for c in text)
    lat = sum(c.isascii() and c.isalpha() for c in text)
    return "ru" if cyr > lat else "en"


def _cmd_generate(args: argparse.Namespace) -> int:
    import torch

    from ltm.segment import units

    model = _load_model(args.model)
    if args.lang is not None and args.lang not in model.config.codec.langs:
        raise UserError(f"--lang {args.lang!r}: this model speaks "
                        f"{', '.join(model.config.codec.langs)}")
    prompt = [u for u in units(args.text, "sentence", _rules(args.text),
                               model.config.codec.max_bytes) if u.strip()]
    if not prompt:
        raise UserError("the prompt is empty (no sentence to think from)")
    if len(prompt) > MAX_PROMPT_THOUGHTS:  # the core attends over every thought: bound it
        print(f"ltm: the prompt has {len(prompt):,} sentences; reading the last "
              f"{MAX_PROMPT_THOUGHTS}", file=sys.stderr)
        prompt = prompt[-MAX_PROMPT_THOUGHTS:]
    # say the thoughts in the prompt's language unless told otherwise: the decoder is
    # always trained with a language tag, never with the "unspecified" start token
    langs, detected = model.config.codec.langs, _rules(args.text)
    lang = args.lang or (detected if detected in langs else langs[0])
    g = torch.Generator().manual_seed(args.seed)
    for unit in model.generate_units(prompt, args.thoughts, lang=lang, generator=g,
                                     readings=args.readings):
        print(unit.decode("utf-8", "replace").strip())
    return 0


def _file_units(path: str, max_bytes: int) -> list[str]:
    from pathlib import Path

    from ltm import pvq
    from ltm.segment import units

    if path.endswith((".pvq.jsonl", ".thoughtset.yaml", ".thoughtset.yml")):
        try:
            records = pvq.read(path)
        except pvq.PVQError as e:
            raise UserError(f"{path}: refused ({len(e.problems)} problems)") from None
        return [qs[0] for r in records for t in r.thoughts for qs in t.quotes.values()]
    raw = Path(path).read_bytes()
    if b"\0" in raw:
        raise UserError(f"{path}: looks binary (NUL bytes); give text or PVQ")
    text = raw.decode("utf-8", "replace")
    return [u for u in units(text, "sentence", _rules(text), max_bytes) if u.strip()]


def _cmd_encode(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np
    import torch

    model = _load_model(args.model)
    found = _file_units(args.file, model.config.codec.max_bytes)
    if not found:
        raise UserError(f"{args.file}: no units to encode")
    with torch.no_grad():
        z = torch.cat([model.encode(found[i: i + 256]) for i in range(0, len(found), 256)])
    out = Path(args.out) if args.out else Path(args.file).with_suffix(".npy")
    np.save(out, z.numpy())
    print(f"wrote {tuple(z.shape)} thought vectors to {out}", file=sys.stderr)
    k = min(args.k, len(found) - 1)
    for i in range(0, len(found), 1024):
        sim = z[i: i + 1024] @ z.T  # (chunk, N) cosines (unit norm)
        sim[torch.arange(sim.shape[0]), torch.arange(i, i + sim.shape[0])] = float("-inf")
        top = sim.topk(k, dim=-1) if k > 0 else None
        for r in range(sim.shape[0]):
            print(f"{i + r}\t{found[i + r].strip()}")
            if top is not None:
                for s, j in zip(top.values[r].tolist(), top.indices[r].tolist(), strict=True):
                    print(f"    {s:+.3f}  {j}\t{found[j].strip()}")
    return 0


def add_commands(sub) -> None:
    """Add ``ltm fit``, ``eval``, ``generate`` and ``encode`` to the ``ltm`` parser's
    subparsers ``sub``."""
    p = sub.add_parser("fit", help="train an LTM (codec stage, then core stage), the byte "
                                   "baseline or the hybrid on PVQ data")
    p.add_argument("--model", default="ltm", help="ltm, baseline or hybrid (default ltm)")
    p.add_argument("--ltm", default=None, metavar="DIR",
                   help="hybrid only: the trained LTM whose frozen encoder gives the thoughts")
    p.add_argument("--codec", default=None, metavar="DIR",
                   help="ltm only, with --codec-steps 0: train the core on this trained "
                        "LTM's frozen codec")
    p.add_argument("--match", default=None, help="baseline and hybrid: the preset matched to "
                                                 "the LTM's in params or flops (default params)")
    p.add_argument("--preset", default="paper", help="tiny, paper or gpu (default paper)")
    p.add_argument("--data", required=True, help="training data, *.pvq.jsonl")
    p.add_argument("--out", required=True, help="run directory (checkpoints, logs, model)")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="wall-clock budget of the whole run (default: the preset's)")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoints/last.ckpt")
    p.add_argument("--seed", type=positive, default=None, help="seed (default: the preset's)")
    p.add_argument("--head", default=None,
                   help="flow, flow-noise, mse, energy or choice (default: the preset's)")
    p.add_argument("--critic", type=positive, default=None, metavar="WIDTH",
                   help="train a legality critic of this width last (choice head, world "
                        "data; its share of the minutes is critic_share); 0: none")
    p.add_argument("--codec-steps", type=positive, default=None,
                   help="steps of the codec stage (default: the preset's); the baseline "
                        "and the hybrid train for codec + core steps")
    p.add_argument("--core-steps", type=positive, default=None,
                   help="steps of the core stage (default: the preset's)")
    p.add_argument("--set", action="append", default=[], metavar="[PART.]FIELD=VALUE",
                   help="change one field of the preset: a training field, e.g. "
                        "teacher_share=0.4, or PART.FIELD of another part, e.g. "
                        "field.head_width=384 (--model ltm; repeatable; applied after the "
                        "flags above, and checked after them)")
    p.add_argument("--accelerator", default="cpu", choices=("cpu", "gpu", "cuda", "mps", "auto"),
                   help="Lightning accelerator (default cpu)")
    p.add_argument("--devices", type=at_least_one, default=1,
                   help="processes (CPU) or GPUs per node (default 1)")
    p.add_argument("--strategy", default="auto", help="Lightning strategy, e.g. ddp or fsdp "
                                                      "(default auto)")
    p.add_argument("--num-nodes", type=at_least_one, default=1, help="machines (default 1)")
    p.set_defaults(func=_cmd_fit)

    p = sub.add_parser("generate", help="continue a text by thoughts, said in any language")
    p.add_argument("--model", required=True, help="model directory (from ltm fit)")
    p.add_argument("text", help="the prompt, cut into sentences")
    p.add_argument("--thoughts", type=at_least_one, default=4,
                   help="thoughts to generate (default 4)")
    p.add_argument("--lang", default=None, help="say the thoughts in this language")
    p.add_argument("--seed", type=positive, default=0, help="seed of the head's sampling")
    p.add_argument("--readings", type=at_least_one, default=1,
                   help="say each thought up to this many ways and keep the reading the "
                        "encoder puts nearest it (LTM.decode_bytes; default 1: greedy)")
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("eval", help="evaluate any model (ltm, baseline, hybrid) on a PVQ "
                       "file: bits per byte, next units, diversity, retrieval, cost")
    p.add_argument("--model", required=True, help="model directory (from ltm fit)")
    p.add_argument("--data", required=True, help="PVQ file (*.pvq.jsonl or *.thoughtset.yaml)")
    p.add_argument("--out", default=None,
                   help="write the result JSON here (timings to F.timing.json beside it)")
    p.add_argument("--episodes", type=at_least_one, default=100,
                   help="episodes to score and continue (default 100)")
    p.add_argument("--split", choices=("val", "all"), default="val",
                   help="records of the validation hash (default) or all of them")
    p.add_argument("--n-retrieval", type=at_least_one, default=1000,
                   help="candidates per retrieval task (default 1000)")
    p.add_argument("--samples", type=at_least_one, default=4,
                   help="LTM head draws per scored unit (default 4)")
    p.add_argument("--seed", type=positive, default=0, help="seed of every draw (default 0)")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("encode", help="thought vectors (.npy) and nearest neighbours")
    p.add_argument("--model", required=True, help="model directory (from ltm fit)")
    p.add_argument("file", metavar="FILE", help="text (cut into sentences) or PVQ")
    p.add_argument("--out", default=None, help="output .npy (default FILE with .npy)")
    p.add_argument("--k", type=positive, default=5, help="neighbours per unit (default 5)")
    p.set_defaults(func=_cmd_encode)
