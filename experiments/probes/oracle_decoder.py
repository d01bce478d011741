"""Probe: can the paper decoder say a frame back when the thought binds every role?

    python experiments/probes/oracle_decoder.py --steps 400

Issue 3's codec gets cross-language retrieval but almost no exact reconstruction: its
errors are wrong fillers and swapped roles in well-formed sentences. That can come from
the encoder (one pooled vector that does not bind who did what to whom) or from the
decoder (too few steps to learn to read a bound code). This probe removes the encoder:
the thought of a frame is an *oracle* code that binds every role by construction, the
normalised sum of one learned vector per ``role=value`` pair, put on the field exactly
as the codec's meaning-only thoughts are (:func:`ltm.codec.meaning_only`). The paper
preset's :class:`ltm.codec.ThoughtDecoder`, trained from scratch at the decoder's rate,
learns to write each frame's canonical quote (phrasing 0) in English or Russian from it.

Evaluated by greedy decoding of 500 frames of each side of the meaning split
(:func:`ltm.pvq.world.meaning_split`) per language: the share written exactly, and the
share that parses to the frame (:func:`ltm.pvq.world.parse`). The frames are drawn
uniformly from :func:`ltm.pvq.world.all_frames` (not by episode frequency). One thread;
one JSON line per run appended to ``experiments/probes/results.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import torch
from torch import nn

from ltm.codec import (
    ThoughtDecoder,
    ThoughtEncoder,
    decoder_targets,
    meaning_only,
    meaning_part,
    pack,
    to_sphere,
)
from ltm.losses import reconstruction_loss
from ltm.presets import preset
from ltm.pvq.world.frames import all_frames, meaning_split
from ltm.pvq.world.parse import parse
from ltm.pvq.world.render import phrasings, render

LANGS = ("en", "ru")


class OracleCode(nn.Module):
    """Frames -> thoughts (B, Z): the sum of one vector per ``role=value`` pair, as a
    meaning-only thought (unit norm)."""

    def __init__(self, pairs: list[str], cfg) -> None:
        super().__init__()
        self.index = {p: i for i, p in enumerate(pairs)}
        self.cfg = cfg
        self.embed = nn.EmbeddingBag(len(pairs), cfg.meaning_dim, mode="sum")

    def forward(self, frames: list[dict[str, str]]) -> torch.Tensor:
        ids = [torch.tensor([self.index[f"{k}={v}"] for k, v in f.items()]) for f in frames]
        offsets = torch.tensor([0, *torch.tensor([len(i) for i in ids]).cumsum(0)[:-1]])
        m = self.embed(torch.cat(ids), offsets)  # (B, M)
        z = torch.cat([m, m.new_zeros(len(frames), self.cfg.surface_dim)], dim=-1)  # (B, Z)
        return meaning_only(to_sphere(z, self.cfg.meaning_dim, self.cfg.surface_norm), self.cfg)


def evaluate(code, decoder, frames, cfg) -> dict[str, float]:
    """Exact and parse-to-frame shares of greedy decoding, per language."""
    out = {}
    with torch.no_grad():
        for lang in LANGS:
            exact = same = 0
            for i in range(0, len(frames), 100):
                chunk = frames[i: i + 100]
                lang_ids = torch.full((len(chunk),), cfg.lang_id(lang))
                said = decoder.generate(code(chunk), lang_ids)
                for f, s in zip(chunk, said, strict=True):
                    text = s.decode("utf-8", "replace")
                    exact += text == render(f, lang, 0)
                    same += parse(text, lang) == f
            out[f"exact_{lang}"] = exact / len(frames)
            out[f"parse_{lang}"] = same / len(frames)
    return out


def _schedule(opt, steps: int):
    warm = max(1, steps // 30)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * (
        0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps)))))


def optimise(loss, opt, sched, params) -> None:
    """One AdamW step on ``loss``: gradients, clipped to norm 1 over ``params``, then the
    optimiser and the schedule (every probe's loop)."""
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    sched.step()


def distill(code, decoder, train, cfg, steps: int, batch: int, lr: float, rng) -> list:
    """Phase 2: train a fresh :class:`ltm.codec.ThoughtEncoder` to give, for any phrasing
    of a frame in either language, the oracle thought of that frame (cosine of the meaning
    parts) while the frozen decoder says the canonical quote back from it in both
    languages (byte cross-entropy through the frozen decoder). Returns the loss curve."""
    for p in [*code.parameters(), *decoder.parameters()]:
        p.requires_grad_(False)
    encoder = ThoughtEncoder(cfg)
    opt = torch.optim.AdamW(encoder.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=0.01)
    sched, start, curve = _schedule(opt, steps), time.perf_counter(), []
    for step in range(steps):
        frames = rng.sample(train, batch)
        lang = rng.choice(LANGS)
        quotes = [rng.choice(phrasings(f, lang)) for f in frames]
        z = encoder(*pack(quotes, cfg.max_bytes))  # (B, Z)
        target = code(frames)
        align = 1 - (meaning_part(z, cfg.meaning_dim) * meaning_part(target, cfg.meaning_dim)
                     ).sum(-1).mean()
        said = meaning_only(z, cfg)
        rec = 0.0
        for out in LANGS:
            ids, lengths = pack([render(f, out, 0) for f in frames], cfg.max_bytes)
            logits = decoder(said, ids, torch.full((batch,), cfg.lang_id(out)))
            rec = rec + reconstruction_loss(logits, decoder_targets(ids, lengths)) / 2
        loss = align + rec
        optimise(loss, opt, sched, encoder.parameters())
        if step % 50 == 0 or step == steps - 1:
            curve.append((step, round(align.item(), 4), round(rec.item(), 4)))
            print(f"distill {step:5d}  1-cos {align.item():.4f}  rec {rec.item():.4f}  "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
    return encoder.eval(), curve


def evaluate_codec(encoder, decoder, frames, cfg, rng) -> dict[str, float]:
    """Encode a random phrasing of each frame in one language, decode the canonical quote
    in each language: exact and parse-to-frame shares (``en>ru``: English in, Russian out)."""
    out = {}
    with torch.no_grad():
        for src in LANGS:
            quotes = [rng.choice(phrasings(f, src)) for f in frames]
            z = torch.cat([encoder(*pack(quotes[i: i + 100], cfg.max_bytes))
                           for i in range(0, len(quotes), 100)])
            for dst in LANGS:
                said = decoder.generate(meaning_only(z, cfg), torch.full((len(frames),),
                                                                          cfg.lang_id(dst)))
                texts = [s.decode("utf-8", "replace") for s in said]
                out[f"exact_{src}>{dst}"] = sum(
                    t == render(f, dst, 0) for t, f in zip(texts, frames, strict=True)) / len(frames)
                out[f"parse_{src}>{dst}"] = sum(
                    parse(t, dst) == f for t, f in zip(texts, frames, strict=True)) / len(frames)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch", type=int, default=64, help="frames per step (each in en and ru)")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-eval", type=int, default=500)
    ap.add_argument("--name", default="oracle")
    ap.add_argument("--distill-steps", type=int, default=0,
                    help="then train an encoder onto the oracle code for this many steps")
    ap.add_argument("--distill-lr", type=float, default=1e-3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    cfg = preset("paper").codec
    frames = list(all_frames())
    sides = {s: [f for f in frames if meaning_split(f) == s] for s in ("train", "heldout")}
    pairs = sorted({f"{k}={v}" for f in frames for k, v in f.items()})
    code, decoder = OracleCode(pairs, cfg), ThoughtDecoder(cfg)
    params = [*code.parameters(), *decoder.parameters()]
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.98), weight_decay=0.01)
    sched = _schedule(opt, args.steps)
    start, curve = time.perf_counter(), []
    for step in range(args.steps):
        batch = rng.sample(sides["train"], args.batch)
        loss = 0.0
        for lang in LANGS:
            ids, lengths = pack([render(f, lang, 0) for f in batch], cfg.max_bytes)
            logits = decoder(code(batch), ids, torch.full((len(batch),), cfg.lang_id(lang)))
            loss = loss + reconstruction_loss(logits, decoder_targets(ids, lengths)) / 2
        optimise(loss, opt, sched, params)
        if step % 50 == 0 or step == args.steps - 1:
            curve.append((step, round(loss.item(), 4)))
            print(f"step {step:5d}  loss {loss.item():.4f}  "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
    minutes = (time.perf_counter() - start) / 60
    evals = {s: evaluate(code, decoder, random.Random(1).sample(fs, args.n_eval), cfg)
             for s, fs in sides.items()}
    row = {"probe": args.name, "kind": "oracle_decoder", "steps": args.steps,
           "batch": args.batch, "lr": args.lr, "seed": args.seed, "minutes": round(minutes, 2),
           "ngram_max": cfg.ngram_max, "ngram_buckets": cfg.ngram_buckets,
           "frames": {s: len(fs) for s, fs in sides.items()}, "curve": curve, "eval": evals}
    print(json.dumps(row["eval"], indent=1))
    if args.distill_steps:
        start = time.perf_counter()
        encoder, row["distill_curve"] = distill(code, decoder, sides["train"], cfg,
                                                args.distill_steps, args.batch,
                                                args.distill_lr, rng)
        row.update(distill_steps=args.distill_steps, distill_lr=args.distill_lr,
                   distill_minutes=round((time.perf_counter() - start) / 60, 2))
        row["distill_eval"] = {s: evaluate_codec(encoder, decoder, random.Random(2).sample(
            fs, args.n_eval), cfg, random.Random(3)) for s, fs in sides.items()}
        print(json.dumps(row["distill_eval"], indent=1))
    with open(Path(__file__).parent / "results.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    sys.exit(main())
