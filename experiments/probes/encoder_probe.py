"""Probe: which encoder can *compute* a bound code of a quote's roles, and how fast?

    python experiments/probes/encoder_probe.py --name ng5 --ngram-max 5 --steps 600

The oracle probe (``oracle_decoder.py``) showed that the paper decoder says a frame back
from a code that binds its roles, while a fresh paper encoder trained onto that code
stalls. This probe ranks encoders on that one duty, with no decoder at all: the target
of a frame is a *fixed random* code, the normalised sum of one Gaussian vector per
``role=value`` pair (:class:`OracleCode`, frozen), and an encoder built from
:class:`ltm.config.CodecConfig` with the paper preset's sizes learns to give it for any
phrasing of the frame in English or Russian (loss: one minus the cosine of the meaning
parts). Centring is off: with a fixed target there is no collapse to guard against, and
the target has a mean of its own (79% of frames are recaps).

Evaluation, on 500 frames of each side of the meaning split, a random phrasing and
language each: the mean cosine to the target, and the *read-out*: for every role of the
frame, the value whose vector has the largest dot product with the encoder's meaning
part. ``roles`` is the share of roles read right, ``frames`` the share of frames whose
every role is read right. One thread; one JSON line per run appended to
``experiments/probes/results.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import torch
from torch import Tensor

from ltm.codec import ThoughtEncoder, meaning_part, pack
from ltm.llama import Stack, init_weights
from ltm.presets import preset
from ltm.pvq.world.frames import all_frames, meaning_split
from ltm.pvq.world.render import phrasings

sys.path.insert(0, str(Path(__file__).parent))
from oracle_decoder import LANGS, OracleCode, _schedule, optimise  # noqa: E402

SPACE = 0x20
"""The byte that ends a word (:func:`word_means`)."""


def word_means(h: Tensor, x: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
    """Average byte states over words: BLT's space patching, with no tokenizer.

    ``x`` (B, T) is ``[BOS] b_1 .. b_n`` padded, ``h`` (B, T, D) its states and ``valid``
    (B, T) marks real positions. BOS is word 0; a new word starts after each space byte
    (the space belongs to the word it ends), so ``"Anna is here."`` has words ``[BOS]``,
    ``"Anna "``, ``"is "``, ``"here."``. Returns the word states (B, W, D), each the mean
    of its bytes' states, and ``word_valid`` (B, W); W is the most words of any row.
    """
    B, T, D = h.shape
    space = ((x == SPACE) & valid).long()  # (B, T)
    word = space.cumsum(1) - space + 1  # (B, T): 1 + spaces strictly before
    word[:, 0] = 0  # BOS is a word of its own
    word = word.masked_fill(~valid, 0)
    n_words = word.max(1).values + 1  # (B,)
    W = int(n_words.max())
    weight = valid.to(h.dtype)[..., None]  # (B, T, 1): padding adds nothing
    sums = h.new_zeros(B, W, D).scatter_add_(1, word[..., None].expand(B, T, D), h * weight)
    counts = h.new_zeros(B, W, 1).scatter_add_(1, word[..., None], weight)  # (B, W, 1)
    word_valid = torch.arange(W, device=h.device)[None, :] < n_words[:, None]  # (B, W)
    return sums / counts.clamp(min=1.0), word_valid


class WordEncoder(ThoughtEncoder):
    """The codec's encoder with a second stage over words (a variant this probe measured
    and the model does not keep): after the byte blocks, :func:`word_means` averages the
    byte states over each word and ``word_layers`` more blocks relate the words before
    the pooling reads them."""

    def __init__(self, cfg, word_layers: int) -> None:
        super().__init__(cfg)
        self.words = Stack(cfg.width, cfg.heads, word_layers, cfg.mlp_hidden, cfg.rope_base)
        init_weights(self, cfg.enc_layers + word_layers)

    def forward(self, ids, lengths):
        h, x, valid = self.byte_states(ids, lengths)  # (B, L+1, D), (B, L+1), (B, L+1)
        h, word_valid = word_means(h, x, valid)  # (B, W, D), (B, W)
        h = self.words(h, causal=False, mask=word_valid[:, None, None, :])  # (B, W, D)
        return self.pool_thought(h, word_valid)


def readout(m: torch.Tensor, frames, code: OracleCode, values: dict[str, list[str]]):
    """Roles and frames read right from meaning parts ``m`` (B, M) by nearest value, and
    the share read right per role."""
    table = code.embed.weight  # (pairs, M)
    frames_ok = 0
    per_role = defaultdict(lambda: [0, 0])  # role -> [right, seen]
    for row, frame in zip(m, frames, strict=True):
        all_ok = True
        for role, value in frame.items():
            cands = values[role]
            idx = torch.tensor([code.index[f"{role}={v}"] for v in cands])
            right = cands[int((table[idx] @ row).argmax())] == value
            per_role[role][0] += right
            per_role[role][1] += 1
            all_ok &= right
        frames_ok += all_ok
    right, seen = (sum(c) for c in zip(*per_role.values(), strict=True))
    return right / seen, frames_ok / len(frames), {
        r: round(ok / n, 3) for r, (ok, n) in sorted(per_role.items())}


def evaluate(encoder, code, frames, cfg, values, rng) -> dict[str, float]:
    """Mean cosine to the target and the read-out shares, over ``frames``."""
    quotes = [rng.choice(phrasings(f, rng.choice(LANGS))) for f in frames]
    with torch.no_grad():
        m = torch.cat([meaning_part(encoder(*pack(quotes[i: i + 100], cfg.max_bytes)),
                                    cfg.meaning_dim) for i in range(0, len(quotes), 100)])
        target = meaning_part(code(frames), cfg.meaning_dim)
        cos = (m * target).sum(-1).mean().item()
        roles, whole, per_role = readout(m, frames, code, values)
    return {"cos": round(cos, 4), "roles": round(roles, 4), "frames": round(whole, 4),
            "per_role": per_role}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--enc-layers", type=int, default=None, help="default: the paper preset's")
    ap.add_argument("--ngram-max", type=int, default=0,
                    help="hashed byte n-grams, n = 2 .. this (0: none)")
    ap.add_argument("--word-layers", type=int, default=0,
                    help="blocks of a second stage over words (WordEncoder)")
    ap.add_argument("--ngram-buckets", type=int, default=4096)
    ap.add_argument("--pool-slots", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-eval", type=int, default=500)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    base = preset("paper").codec
    cfg = replace(base, center=False, ngram_max=args.ngram_max,
                  ngram_buckets=args.ngram_buckets,
                  enc_layers=args.enc_layers or base.enc_layers,
                  pool_slots=args.pool_slots or base.pool_slots)
    frames = list(all_frames())
    sides = {s: [f for f in frames if meaning_split(f) == s] for s in ("train", "heldout")}
    pairs = sorted({f"{k}={v}" for f in frames for k, v in f.items()})
    values = defaultdict(set)
    for f in frames:
        for k, v in f.items():
            values[k].add(v)
    values = {k: sorted(v) for k, v in values.items()}
    code = OracleCode(pairs, cfg)  # N(0, 1) vectors, frozen
    code.requires_grad_(False)
    encoder = WordEncoder(cfg, args.word_layers) if args.word_layers else ThoughtEncoder(cfg)
    n_params = sum(p.numel() for p in encoder.parameters())
    opt = torch.optim.AdamW(encoder.parameters(), lr=args.lr, betas=(0.9, 0.98),
                            weight_decay=0.01)
    sched, start, curve = _schedule(opt, args.steps), time.perf_counter(), []
    for step in range(args.steps):
        batch = rng.sample(sides["train"], args.batch)
        quotes = [rng.choice(phrasings(f, rng.choice(LANGS))) for f in batch]
        m = meaning_part(encoder(*pack(quotes, cfg.max_bytes)), cfg.meaning_dim)
        loss = 1 - (m * meaning_part(code(batch), cfg.meaning_dim)).sum(-1).mean()
        optimise(loss, opt, sched, encoder.parameters())
        if step % 50 == 0 or step == args.steps - 1:
            curve.append((step, round(loss.item(), 4)))
            print(f"{args.name} {step:5d}  1-cos {loss.item():.4f}  "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
    minutes = (time.perf_counter() - start) / 60
    encoder.eval()
    evals = {s: evaluate(encoder, code, random.Random(1).sample(fs, args.n_eval), cfg, values,
                         random.Random(2)) for s, fs in sides.items()}
    row = {"probe": args.name, "kind": "encoder_probe", "steps": args.steps,
           "batch": args.batch, "lr": args.lr, "seed": args.seed, "enc_layers": cfg.enc_layers,
           "word_layers": args.word_layers, "ngram_max": cfg.ngram_max,
           "ngram_buckets": cfg.ngram_buckets, "pool_slots": cfg.pool_slots,
           "params": n_params, "minutes": round(minutes, 2), "curve": curve, "eval": evals}
    print(json.dumps(row["eval"], indent=1))
    with open(Path(__file__).parent / "results.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    sys.exit(main())
