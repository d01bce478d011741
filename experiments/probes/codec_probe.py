"""Probe of the thought codec: how close does a CPU-budget run get to issue 3's targets?

    python experiments/probes/codec_probe.py --minutes 6 --width 128 --name w128

A compact plain-torch loop (no Lightning) over :mod:`ltm.codec` and :mod:`ltm.losses`.
Each step samples ``G`` thoughts of the PVQ world (train split), one English and one
Russian quote of each (a random phrasing), and adds

- reconstruction: byte CE of each quote decoded from its own thought (language tag on);
- alignment: InfoNCE on the meaning parts, positives = quotes of the same frame;
- cross: byte CE of the *canonical* (phrasing 0) quote of the other language decoded from
  the meaning-only thought (surface part zeroed, meaning part renormalised);
- noise (optional): reconstruction from a noised thought.

The run stops after ``--minutes`` of training (learning rates follow a time-based
schedule) and is evaluated on (a) episodes of a different world seed, train meanings,
and (b) thoughts with held-out meanings (``split="heldout"``): exact reconstruction per
language (greedy), EN->RU / RU->EN recall@1 among 1,000 distinct frames (meaning-part
cosine), and cross-language decoding that parses (``world.parse``) to the same frame.
One JSON line per run is appended to ``experiments/probes/results.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from ltm.codec import ThoughtDecoder, ThoughtEncoder, decoder_targets, pack
from ltm.config import PAD, CodecConfig
from ltm.losses import alignment_loss, noise_thoughts, reconstruction_loss
from ltm.pvq import world

HERE = Path(__file__).resolve().parent
LANGS = ("en", "ru")


def frame_key(frame: dict[str, str]) -> tuple[str, ...]:
    return tuple(sorted(frame.items()))


# ----------------------------------------------------------------------------- data
class Pool:
    """Training items: (frame key, en phrasings, ru phrasings), drawn by a sampler."""

    def __init__(self, source: str, episodes: int, seed: int, frames_frac: float) -> None:
        self.rng = random.Random(seed)
        self.source, self.frames_frac = source, frames_frac
        self.episode_items: list[tuple] = []
        if source in ("episodes", "mix"):
            for rec in world.generate(episodes, seed, split="train"):
                for t in rec.thoughts:
                    self.episode_items.append((frame_key(t.frame), t.quotes["en"],
                                               t.quotes["ru"], t.frame["act"]))
        self.frame_items: list[tuple] = []
        if source in ("frames", "mix"):
            for f in world.all_frames():
                if world.meaning_split(f) != "train":
                    continue
                self.frame_items.append((frame_key(f), tuple(world.phrasings(f, "en")),
                                         tuple(world.phrasings(f, "ru")), f["act"]))

    def sample(self, n: int, no_recap: bool, episodes_only: bool = False) -> list[tuple]:
        out = []
        while len(out) < n:
            use_frames = not episodes_only and (
                self.source == "frames"
                or (self.source == "mix" and self.rng.random() < self.frames_frac))
            item = self.rng.choice(self.frame_items if use_frames else self.episode_items)
            if no_recap and item[3] == "recap":
                continue
            out.append(item)
        return out

    def batches(self, G: int, K: int, no_recap: bool,
                episodes_only: bool = False) -> list[list[tuple]]:
        """K batches of G examples (key, en quote, ru quote, en canonical, ru canonical),
        bucketed by length: K*G draws sorted by Russian bytes, cut into K batches."""
        ex = []
        for key, en, ru, _act in self.sample(G * K, no_recap, episodes_only):
            ex.append((key, self.rng.choice(en), self.rng.choice(ru), en[0], ru[0]))
        ex.sort(key=lambda e: len(e[2].encode()))
        out = [ex[i * G:(i + 1) * G] for i in range(K)]
        self.rng.shuffle(out)
        return out


# ----------------------------------------------------------------------------- model
def meaning_only(z: Tensor, M: int) -> Tensor:
    """Surface part zeroed, meaning part renormalised to unit norm."""
    return torch.cat([F.normalize(z[:, :M], dim=-1, eps=1e-12), torch.zeros_like(z[:, M:])], -1)


class _CenterGrad(torch.autograd.Function):
    """Identity forward; backward removes the batch mean of the gradient. The decoder's
    first want is one shift shared by every example (toward the byte unigram); through
    the thoughts that coherent push moves every thought the same way and collapses the
    encoder (every thought on one line). The shared shift carries no information about
    any one unit and the decoder can make it itself (``cond`` has a bias), so the
    encoder only gets the per-example part."""

    @staticmethod
    def forward(ctx, z: Tensor) -> Tensor:
        return z.view_as(z)

    @staticmethod
    def backward(ctx, g: Tensor) -> Tensor:
        return g - g.mean(0, keepdim=True)


def clip_loss(z_en: Tensor, z_ru: Tensor, groups: Tensor, M: int, tau: float) -> Tensor:
    """Cross-language InfoNCE only (CLIP form): an English quote must pick its Russian
    partner among the batch's Russian quotes, and back. Unlike ``alignment_loss`` (whose
    negatives include the same language), it cannot be lowered by collapsing: at the
    start English quotes are closer to each other than to their Russian partners, and
    the supervised-contrastive form drops from 5.75 to ln(2G-1) by putting every
    thought on one line. Rows of a frame that occurs twice count every copy as positive."""
    a, b = F.normalize(z_en[:, :M], dim=-1), F.normalize(z_ru[:, :M], dim=-1)
    logits = a @ b.T / tau  # (G, G)
    pos = (groups[:, None] == groups[None, :]).float()
    pos = pos / pos.sum(-1, keepdim=True)
    return -0.5 * ((pos * logits.log_softmax(-1)).sum(-1).mean()
                   + (pos * logits.log_softmax(0)).sum(0).mean())


def lang_ids(cfg: CodecConfig, langs: list[str], use_tag: bool) -> Tensor:
    return torch.tensor([cfg.lang_id(x if use_tag else None) for x in langs])


def step_loss(enc, dec, cfg, batch, args, gen) -> tuple[Tensor, dict, int]:
    """One batch: encoder and decoder are called once per language, so that padding
    stays within one script (Russian quotes are ~1.6x longer in bytes)."""
    G = len(batch)
    M = cfg.meaning_dim
    keys: dict = {}
    g = torch.tensor([keys.setdefault(e[0], len(keys)) for e in batch])
    en_ids, en_len = pack([e[1] for e in batch], cfg.max_bytes)
    ru_ids, ru_len = pack([e[2] for e in batch], cfg.max_bytes)
    z_en, z_ru = enc(en_ids, en_len), enc(ru_ids, ru_len)  # (G, Z) each
    za_en, za_ru = z_en, z_ru  # what the alignment loss sees
    if args.center_grad:
        z_en, z_ru = _CenterGrad.apply(z_en), _CenterGrad.apply(z_ru)
    logs: dict[str, float] = {}
    k = max(1, int(round(G * args.cross_frac))) if args.w_cross > 0 else 0
    rec_terms, cross_terms = [], []
    for lang, z, ids, lens, other_z, canon_col in (("en", z_en, en_ids, en_len, z_ru, 3),
                                                   ("ru", z_ru, ru_ids, ru_len, z_en, 4)):
        tag = cfg.lang_id(lang)
        rec_tag = tag if args.tag else cfg.lang_id(None)
        targets = decoder_targets(ids, lens)
        if k:
            # decode this language from the other language's meaning-only thought
            cids, clen = pack([e[canon_col] for e in batch[:k]], cfg.max_bytes)
            ctargets = decoder_targets(cids, clen)
            L = max(ids.shape[1], cids.shape[1])
            ids_all = torch.cat([F.pad(ids, (0, L - ids.shape[1]), value=PAD),
                                 F.pad(cids, (0, L - cids.shape[1]), value=PAD)])
            tg_all = torch.cat([F.pad(targets, (0, L + 1 - targets.shape[1]), value=PAD),
                                F.pad(ctargets, (0, L + 1 - ctargets.shape[1]), value=PAD)])
            z_all = torch.cat([z, meaning_only(other_z[:k], M)])
            tags = torch.tensor([rec_tag] * G + [tag] * k)
            logits = dec(z_all, ids_all, tags)
            rec_terms.append((logits[:G], tg_all[:G]))
            cross_terms.append((logits[G:], tg_all[G:]))
        else:
            logits = dec(z, ids, torch.full((G,), rec_tag))
            rec_terms.append((logits, targets))
    rec = reconstruction_loss(torch.cat([x[0].flatten(0, 1) for x in rec_terms])[None],
                              torch.cat([x[1].flatten() for x in rec_terms])[None])
    loss = args.w_rec * rec
    logs["rec"] = rec.item()
    with torch.no_grad():  # teacher-forced exact (every byte right): proxy of greedy exact
        for lang, (lg, tg) in zip(LANGS, rec_terms, strict=True):
            logs[f"tf_{lang}"] = ((lg.argmax(-1) == tg) | (tg == PAD)).all(1).float().mean().item()
    if cross_terms:
        cr = reconstruction_loss(torch.cat([x[0].flatten(0, 1) for x in cross_terms])[None],
                                 torch.cat([x[1].flatten() for x in cross_terms])[None])
        loss = loss + args.w_cross * cr
        logs["cross"] = cr.item()
    z = torch.cat([za_en, za_ru])
    if args.w_align > 0 and args.align == "clip":
        al = clip_loss(za_en, za_ru, g, M, args.tau)
        loss = loss + args.w_align * al
        logs["align"] = al.item()
    elif args.w_align > 0:
        al = alignment_loss(z, torch.cat([g, g]), M, args.tau)
        loss = loss + args.w_align * al
        logs["align"] = al.item()
    if args.w_noise > 0:
        nl = 0.0
        for lang, zz, ids, lens in (("en", z_en, en_ids, en_len), ("ru", z_ru, ru_ids, ru_len)):
            zn = noise_thoughts(zz, args.sigma, M, cfg.surface_norm, gen)
            tag = cfg.lang_id(lang if args.tag else None)
            nl = nl + reconstruction_loss(dec(zn, ids, torch.full((G,), tag)),
                                          decoder_targets(ids, lens)) / 2
        loss = loss + args.w_noise * nl
        logs["noise"] = nl.item()
    return loss, logs, int(en_len.sum() + ru_len.sum())


def lr_factor(progress: float, args) -> float:
    if progress < args.warmup:
        return max(progress / args.warmup, 0.02)
    if args.schedule == "const":
        return 1.0
    p = (progress - args.warmup) / max(1e-9, 1 - args.warmup)
    p = min(p, 1.0)
    if args.schedule == "cos":
        return args.min_lr + (1 - args.min_lr) * 0.5 * (1 + math.cos(math.pi * p))
    return args.min_lr + (1 - args.min_lr) * (1 - p)  # linear


# ----------------------------------------------------------------------------- eval
def eval_sets(split: str, seed: int, episodes: int, n: int, n_units: int) -> dict:
    """As ``ltm.worldeval`` does for issue 3: the distinct frames of ``split`` found in
    ``episodes`` episodes of world seed ``seed``. ``recall``: ``n`` frames, phrasing 0
    of each language; ``cross``: ``n`` frames, phrasing 0; ``quotes_<lang>``: ``n``
    quotes sampled from every phrasing of every distinct frame (the exact-match set).
    ``units``: the first ``n_units`` thoughts in stream order (frequency-weighted, a
    random phrasing each), a secondary, easier exact-match set."""
    rng = random.Random(f"{split}:{seed}")
    seen: dict = {}
    units = []
    for rec in world.generate(episodes, seed, split=split):
        for t in rec.thoughts:
            if world.meaning_split(t.frame) != split:
                continue
            seen.setdefault(frame_key(t.frame), t)
            if len(units) < n_units:
                units.append((t.frame, rng.choice(t.quotes["en"]), rng.choice(t.quotes["ru"])))
    thoughts = list(seen.values())
    pick = sorted(rng.sample(range(len(thoughts)), min(n, len(thoughts))))
    frames = [(thoughts[i].frame, thoughts[i].quotes["en"][0], thoughts[i].quotes["ru"][0])
              for i in pick]
    out = {"distinct": frames, "units": units, "n_frames": len(thoughts),
           "recap_share": sum(t.frame["act"] == "recap" for t in thoughts) / len(thoughts)}
    for lang in LANGS:
        pool = list(dict.fromkeys(q for t in thoughts for q in t.quotes[lang]))
        out[f"quotes_{lang}"] = sorted(rng.sample(pool, min(n, len(pool))),
                                       key=lambda q: len(q.encode()))
    return out


@torch.no_grad()
def encode(enc, cfg, texts, bs=500) -> Tensor:
    out = []
    for i in range(0, len(texts), bs):
        ids, lengths = pack(texts[i:i + bs], cfg.max_bytes)
        out.append(enc(ids, lengths))
    return torch.cat(out)


@torch.no_grad()
def decode(dec, cfg, z, lang, use_tag, bs=500) -> list[str]:
    out = []
    for i in range(0, len(z), bs):
        zz = z[i:i + bs]
        tags = lang_ids(cfg, [lang] * len(zz), use_tag)
        out += [b.decode("utf-8", "replace") for b in dec.generate(zz, tags)]
    return out


@torch.no_grad()
def evaluate(enc, dec, cfg, sets, use_tag) -> tuple[dict, dict]:
    enc.eval()
    dec.eval()
    M = cfg.meaning_dim
    res: dict = {"n_frames": sets["n_frames"], "recap_share": round(sets["recap_share"], 3)}
    ex: dict = {}
    # recall@1 among distinct frames, phrasing 0, meaning-part cosine
    d = sets["distinct"]
    ze, zr = encode(enc, cfg, [x[1] for x in d]), encode(enc, cfg, [x[2] for x in d])
    sim = F.normalize(ze[:, :M], dim=-1) @ F.normalize(zr[:, :M], dim=-1).T
    tgt = torch.arange(len(d))
    res["n_distinct"] = len(d)
    res["recall_en_ru"] = (sim.argmax(1) == tgt).float().mean().item()
    res["recall_ru_en"] = (sim.argmax(0) == tgt).float().mean().item()
    # cross-language: meaning-only thought decoded with the other tag parses to the frame
    for src, z, lang in (("en", ze, "ru"), ("ru", zr, "en")):
        outs = decode(dec, cfg, meaning_only(z, M), lang, True)
        ok = [world.parse(o, lang) == x[0] for o, x in zip(outs, d, strict=True)]
        res[f"cross_{src}_{lang}"] = sum(ok) / len(d)
        ex[f"cross_{src}_{lang}"] = [(x[1 if src == "en" else 2], o)
                                     for o, x, k in zip(outs, d, ok, strict=True) if not k][:3]
    # exact reconstruction of distinct quotes (every phrasing), greedy, own tag
    for lang in LANGS:
        q = sets[f"quotes_{lang}"]
        outs = decode(dec, cfg, encode(enc, cfg, q), lang, use_tag)
        ok = [o == x for o, x in zip(outs, q, strict=True)]
        res[f"exact_{lang}"] = sum(ok) / len(q)
        ex[f"recon_{lang}"] = [(x, o) for o, x, k in zip(outs, q, ok, strict=True) if not k][:4]
    # exact reconstruction, frequency-weighted units (episode order)
    u = sets["units"]
    for lang, col in (("en", 1), ("ru", 2)):
        q = [x[col] for x in u]
        outs = decode(dec, cfg, encode(enc, cfg, q), lang, use_tag)
        res[f"units_exact_{lang}"] = sum(o == x for o, x in zip(outs, q, strict=True)) / len(q)
    enc.train()
    dec.train()
    return res, ex


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    a = p.add_argument
    a("--name", default="probe")
    a("--minutes", type=float, default=6.0)
    a("--seed", type=int, default=0)
    a("--threads", type=int, default=1, help="1: under shared load, 2 threads thrash")
    # codec config
    a("--width", type=int, default=128)
    a("--heads", type=int, default=4)
    a("--enc-layers", type=int, default=2)
    a("--dec-layers", type=int, default=2)
    a("--meaning-dim", type=int, default=128)
    a("--surface-dim", type=int, default=16)
    a("--surface-norm", type=float, default=0.3)
    a("--pool-slots", type=int, default=4)
    a("--prefix-len", type=int, default=4)
    a("--max-bytes", type=int, default=128)
    # recipe
    a("--batch", type=int, default=64, help="G thoughts per step (2G quotes)")
    a("--lr-enc", type=float, default=3e-4)
    a("--lr-dec", type=float, default=3e-3)
    a("--wd", type=float, default=0.01)
    a("--warmup", type=float, default=0.03, help="fraction of the budget")
    a("--schedule", choices=("const", "cos", "linear"), default="cos")
    a("--min-lr", type=float, default=0.05, help="final LR as a fraction of the peak")
    a("--clip", type=float, default=1.0)
    a("--w-rec", type=float, default=1.0)
    a("--w-align", type=float, default=0.1)
    a("--tau", type=float, default=0.05)
    a("--align", choices=("supcon", "clip"), default="supcon",
      help="supcon: losses.alignment_loss over both languages; clip: cross-language only")
    a("--w-cross", type=float, default=1.0)
    a("--cross-frac", type=float, default=1.0, help="fraction of the batch decoded cross")
    a("--w-noise", type=float, default=0.0)
    a("--sigma", type=float, default=0.1)
    a("--center-grad", action="store_true",
      help="decoder gradient into the thoughts with its batch mean removed (anti-collapse)")
    a("--no-tag", dest="tag", action="store_false",
      help="reconstruction without the language tag (cross decoding always has it)")
    a("--data", choices=("episodes", "frames", "mix"), default="episodes")
    a("--frames-frac", type=float, default=0.3, help="with --data mix")
    a("--episodes", type=int, default=30_000)
    a("--mix-after", type=float, default=0.0,
      help="curriculum: episodes only for this fraction of the budget, then --data")
    a("--bucket", type=int, default=16, help="batches drawn at once and bucketed by length")
    a("--no-recap-frac", type=float, default=0.0,
      help="curriculum: no recap frames for this fraction of the budget")
    # eval
    a("--eval-seed", type=int, default=1000, help="world seed of the evaluation (as eval_world)")
    a("--eval-episodes", type=int, default=10_000)
    a("--eval-n", type=int, default=1000, help="distinct frames (recall, cross) and quotes")
    a("--eval-units", type=int, default=300)
    a("--out", default=str(HERE / "results.jsonl"))
    a("--no-write", action="store_true")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    cfg = CodecConfig(width=args.width, heads=args.heads, enc_layers=args.enc_layers,
                      dec_layers=args.dec_layers, max_bytes=args.max_bytes,
                      meaning_dim=args.meaning_dim, surface_dim=args.surface_dim,
                      surface_norm=args.surface_norm if args.surface_dim else 0.0,
                      pool_slots=args.pool_slots, prefix_len=args.prefix_len)
    enc, dec = ThoughtEncoder(cfg), ThoughtDecoder(cfg)
    n_enc = sum(x.numel() for x in enc.parameters())
    n_dec = sum(x.numel() for x in dec.parameters())
    t0 = time.time()
    pool = Pool(args.data, args.episodes, args.seed, args.frames_frac)
    sets = {split: eval_sets(split, args.eval_seed, args.eval_episodes, args.eval_n,
                             args.eval_units) for split in ("train", "heldout")}
    print(f"[{args.name}] params enc {n_enc:,} dec {n_dec:,}; data {time.time() - t0:.1f}s; "
          f"load {os.getloadavg()[0]:.2f}", flush=True)

    def groups_of(m):
        decay = [x for n, x in m.named_parameters() if x.dim() >= 2]
        rest = [x for n, x in m.named_parameters() if x.dim() < 2]
        return decay, rest
    ed, er = groups_of(enc)
    dd, dr = groups_of(dec)
    opt = torch.optim.AdamW([
        {"params": ed, "lr": args.lr_enc, "weight_decay": args.wd, "base": args.lr_enc},
        {"params": er, "lr": args.lr_enc, "weight_decay": 0.0, "base": args.lr_enc},
        {"params": dd, "lr": args.lr_dec, "weight_decay": args.wd, "base": args.lr_dec},
        {"params": dr, "lr": args.lr_dec, "weight_decay": 0.0, "base": args.lr_dec},
    ], betas=(0.9, 0.98))
    gen = torch.Generator().manual_seed(args.seed)
    budget = args.minutes * 60
    start = time.time()
    step, nbytes, last = 0, 0, start
    acc: dict[str, float] = {}
    curve = []
    loads = []
    queue: list = []
    while True:
        el = time.time() - start
        if el >= budget:
            break
        prog = el / budget
        f = lr_factor(prog, args)
        for g in opt.param_groups:
            g["lr"] = g["base"] * f
        if not queue:
            queue = pool.batches(args.batch, args.bucket, prog < args.no_recap_frac,
                                 prog < args.mix_after)
        loss, logs, nb = step_loss(enc, dec, cfg, queue.pop(), args, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if args.clip > 0:
            torch.nn.utils.clip_grad_norm_([*enc.parameters(), *dec.parameters()], args.clip)
        opt.step()
        step += 1
        nbytes += nb
        for k, v in logs.items():
            acc[k] = acc.get(k, 0.0) + v
        acc["n"] = acc.get("n", 0) + 1
        if time.time() - last > 30:
            last = time.time()
            n = acc.pop("n")
            row = {k: round(v / n, 4) for k, v in acc.items()}
            row.update(t=round(last - start), step=step, bps=round(nbytes / (last - start)))
            loads.append(os.getloadavg()[0])
            curve.append(row)
            print(f"[{args.name}] {row} load {loads[-1]:.2f}", flush=True)
            acc = {}
    train_s = time.time() - start
    bps = nbytes / train_s
    t1 = time.time()
    result = {"name": args.name, "date": time.strftime("%Y-%m-%d %H:%M"),
              "args": {k: v for k, v in vars(args).items() if k not in ("out", "no_write")},
              "params_enc": n_enc, "params_dec": n_dec, "steps": step,
              "train_minutes": round(train_s / 60, 2), "bytes_per_s": round(bps),
              "quotes_per_s": round(2 * args.batch * step / train_s, 1),
              "mean_load": round(sum(loads) / max(1, len(loads)), 2), "curve": curve}
    for split, s in sets.items():
        r, ex = evaluate(enc, dec, cfg, s, args.tag)
        result[split] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
        result[f"{split}_errors"] = ex
    result["eval_s"] = round(time.time() - t1, 1)
    summary = {s: {k: v for k, v in result[s].items() if not k.startswith("n_")}
               for s in sets}
    print(f"[{args.name}] {step} steps, {bps:.0f} bytes/s, eval {result['eval_s']}s", flush=True)
    print(json.dumps(summary, indent=1), flush=True)
    print(json.dumps({k: result[k] for k in ("train_errors", "heldout_errors")},
                     ensure_ascii=False, indent=1), flush=True)
    if not args.no_write:
        with open(args.out, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(result, ensure_ascii=False) + "\n")
    return result


if __name__ == "__main__":
    sys.exit(main() and 0)
