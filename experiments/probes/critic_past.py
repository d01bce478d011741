"""Probe: a critic that also attends over the episode's past thoughts.

    python experiments/probes/critic_past.py MODEL DATA WORLD_SEED CACHE [SECONDS]

The shipped critic (:class:`ltm.critic.Critic`) reads the core's context state, the
current thought, a hypothesis and its greedy reading encoded again. Whether a reading is
legal is mostly a match between it and something said before ("Irina went to the attic"
is illegal where "Irina is in the attic" was said), a comparison that attention makes
for any pair of fillers, seen together in training or not. So the variant ``attn`` adds
one attention read: the reading (and hypothesis) ask the past thoughts ``0..t-1``, and
the answer joins the MLP's input.

Labels are drawn as the critic stage draws them (random language and phrasing per
episode, every hypothesis read greedily, judged by the world) for ``SECONDS`` (default:
the run's labelling budget, 85% of ``minutes * critic_share``) on the training records
of ``DATA``, with each episode's thoughts kept; cached in ``CACHE``, with the world's
labels of each ``WORLD_SEED`` asked for. Both critics are
trained on them (the run's epochs, seed, batch 512, AdamW at 1e-3) and scored on the
world of ``WORLD_SEED`` (200 episodes a side, read as ``prediction_metrics`` reads
them): the share of transitions whose pick (nats per byte less the log-probability of
legal) is legal, and the AUC.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ltm.critic import Critic, _framed, recall
from ltm.model import LTM
from ltm.pvq import world
from ltm.train import critic_records
from ltm.worldeval import judge_next, sample_ordered

VARIANTS = tuple(os.environ.get("VARIANTS", "mlp,attn,cos").split(","))
"""The critics to train and score (``VARIANTS=cos`` in the environment: one; ``cosx3``:
three of them, seeds in turn, their log-odds averaged)."""
SEED = int(os.environ.get("SEED", "0"))
"""Added to the run's seed for the critics' weights and batches (``SEED=1``: another draw)."""


class PastCritic(nn.Module):
    """The shipped MLP with one more input: what the hypothesis and its reading read,
    by ``heads``-head attention, from the past thoughts."""

    def __init__(self, context_dim: int, thought_dim: int, width: int, heads: int = 4,
                 key: int = 32) -> None:
        super().__init__()
        self.heads, self.key = heads, key
        self.q = nn.Linear(2 * thought_dim, heads * key)
        self.k = nn.Linear(thought_dim, heads * key)
        self.v = nn.Linear(thought_dim, heads * key)
        self.net = nn.Sequential(nn.Linear(context_dim + 3 * thought_dim + heads * key, width),
                                 nn.GELU(), nn.Linear(width, width), nn.GELU(),
                                 nn.Linear(width, 1))

    def forward(self, context, current, hypotheses, readings, past, mask):
        """(N, C), (N, Z), (N, K, Z), (N, K, Z), past (N, T, Z), mask (N, T) -> (N, K)."""
        N, K, _ = hypotheses.shape
        T, H, D = past.shape[1], self.heads, self.key
        q = self.q(torch.cat([hypotheses, readings], -1)).view(N, K, H, D).transpose(1, 2)
        k = self.k(past).view(N, T, H, D).transpose(1, 2)  # (N, H, T, D)
        v = self.v(past).view(N, T, H, D).transpose(1, 2)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
        att = att.transpose(1, 2).reshape(N, K, H * D)  # (N, K, H*D)
        x = torch.cat([context[:, None].expand(N, K, -1), current[:, None].expand(N, K, -1),
                       hypotheses, readings, att], -1)
        return self.net(x)[..., 0]


class CosCritic(nn.Module):
    """The shipped MLP with parameter-free inputs as well: the cosine of the reading
    with each past thought, most recent first (0 before the episode began), and their
    maximum; a comparison that does not depend on which fillers were seen together."""

    def __init__(self, context_dim: int, thought_dim: int, width: int, span: int,
                 meaning: int = 0, both: bool = False) -> None:
        super().__init__()
        self.span, self.meaning, self.both = span, meaning, both
        extra = (span + 1) * (2 if both else 1)
        self.net = nn.Sequential(nn.Linear(context_dim + 3 * thought_dim + extra, width),
                                 nn.GELU(), nn.Linear(width, width), nn.GELU(),
                                 nn.Linear(width, 1))

    def forward(self, context, current, hypotheses, readings, past, mask):
        feats = [self.compare(readings, past, mask)]
        if self.both:
            feats.append(self.compare(hypotheses, past, mask))
        N, K, _ = hypotheses.shape
        x = torch.cat([context[:, None].expand(N, K, -1), current[:, None].expand(N, K, -1),
                       hypotheses, readings, *feats], -1)
        return self.net(x)[..., 0]

    def compare(self, readings, past, mask):
        """(N, K, span + 1): cosines with the past thoughts, most recent first, and their
        maximum (of the meaning parts only, when ``meaning``)."""
        if self.meaning:
            readings = F.normalize(readings[..., : self.meaning], dim=-1)
            past = F.normalize(past[..., : self.meaning], dim=-1)
        return recall(readings, past, mask, self.span)


class Ensemble(nn.Module):
    """Critics of one kind whose log-odds are averaged."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, *args):
        return torch.stack([m(*args) for m in self.members]).mean(0)


@torch.no_grad()
def readings_of(model: LTM, episodes: list, langs: list[str], units: list[list[str]], keep):
    """Per episode with a transition ``t-1 -> t`` that ``keep(episode, t)`` admits: a
    dict of its ``ts``, thoughts ``z`` (T, Z), ``context`` and ``current`` (N, C / Z),
    hypotheses ``hyps`` (N, K, Z), their greedy readings as bytes (``raw``, N*K) and as
    text (``texts``), those encoded again (``reads``, N, K, Z), their ``nats`` (N, K) and
    the world's ``legal`` (N, K)."""
    for r, lang, us in zip(episodes, langs, units, strict=True):
        ts = [t for t in range(1, len(us)) if keep(r, t)]
        if not ts:
            continue
        z = model.encode(us)  # (T, Z)
        context, _ = model.core(z[None], torch.ones(1, len(us), dtype=torch.bool))
        cols = torch.tensor([t - 1 for t in ts])
        ctx, cur = context[0, cols], z[cols]
        hyps = model.head.hypotheses(ctx, cur)  # (N, K, Z)
        N, K, Z = hyps.shape
        raw, nats = model.decoder.read(hyps.reshape(N * K, Z), model.lang_ids(lang, N * K))
        texts = [x.decode("utf-8", "replace") for x in raw]
        legal = torch.tensor([[judge_next(r, t, texts[j * K + k], lang)[1] for k in range(K)]
                              for j, t in enumerate(ts)])
        yield {"ts": ts, "units": us, "z": z, "context": ctx, "current": cur, "hyps": hyps,
               "raw": raw, "texts": texts, "reads": model.encode(raw).view(N, K, Z),
               "nats": nats.view(N, K), "legal": legal}


@torch.no_grad()
def transitions(model: LTM, episodes: list, langs: list[str], units: list[list[str]],
                keep) -> dict:
    """Every transition ``t-1 -> t`` that ``keep(episode, t)`` admits, with the past
    thoughts, hypotheses, greedy readings, their nats and the world's labels."""
    out = {k: [] for k in ("context", "current", "hyps", "reads", "nats", "legal", "past",
                           "mask")}
    T_max = max(len(u) for u in units)
    for e in readings_of(model, episodes, langs, units, keep):
        z, (N, _, Z) = e["z"], e["hyps"].shape
        e["past"] = z.new_zeros(N, T_max, Z)
        e["past"][:, : len(z)] = z
        e["mask"] = torch.arange(T_max)[None] < torch.tensor(e["ts"])[:, None]  # thoughts < t
        for key, value in out.items():
            value.append(e[key].float() if e[key].dtype.is_floating_point else e[key])
    return {k: torch.cat(v) for k, v in out.items()}


@torch.no_grad()
def training_labels(model: LTM, records: list, seconds: float, seed: int,
                    collect=None) -> dict:
    """The critic stage's draw, for ``seconds``: one random language and phrasing per
    episode, every transition (read by ``collect``, default :func:`transitions`)."""
    collect = collect or transitions
    langs_all = list(model.config.codec.langs)
    usable = [(r, ls) for r in records if (ls := _framed(r, langs_all))]
    rng = random.Random(f"critic:{seed}")
    rng.shuffle(usable)
    parts, start = [], time.perf_counter()
    for i in range(0, len(usable), 32):
        if time.perf_counter() - start >= seconds:
            break
        chunk = usable[i: i + 32]
        langs = [rng.choice(ls) for _, ls in chunk]
        units = [[rng.choice(t.quotes[x]) for t in r.thoughts]
                 for (r, _), x in zip(chunk, langs, strict=True)]
        parts.append(collect(model, [r for r, _ in chunk], langs, units, lambda r, t: True))
    T = max(p["past"].shape[1] for p in parts) if "past" in parts[0] else 0
    for p in parts if T else ():  # pad every chunk's past to the longest
        pad = T - p["past"].shape[1]
        p["past"] = F.pad(p["past"], (0, 0, 0, pad))
        p["mask"] = F.pad(p["mask"], (0, pad))
    data = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
    data["seconds"] = time.perf_counter() - start
    return data


@torch.no_grad()
def world_labels(model: LTM, seed: int, split: str, n: int = 200, collect=None) -> dict:
    """The transitions ``prediction_metrics`` scores on one side of the world (read by
    ``collect``, default :func:`transitions`)."""
    collect = collect or transitions
    episodes = [r for r in world.generate(n, seed, split=split) if len(r.thoughts) > 1]
    episodes = sample_ordered(episodes, len(episodes), "prediction:0")
    langs = [("en", "ru")[i % 2] for i in range(len(episodes))]
    units = [[t.quotes[x][0] for t in r.thoughts] for r, x in zip(episodes, langs, strict=True)]
    return collect(model, episodes, langs, units,
                   lambda r, t: split == "train" or world.meaning_split(r.thoughts[t].frame) == split)


def logits(critic, d: dict, idx) -> torch.Tensor:
    args = (d["context"][idx], d["current"][idx], d["hyps"][idx], d["reads"][idx])
    inner = critic.members[0] if isinstance(critic, Ensemble) else critic
    if isinstance(inner, PastCritic | CosCritic):
        return critic(*args, d["past"][idx], d["mask"][idx])
    return critic(*args)


def train(critic: nn.Module, d: dict, epochs: int, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(critic.parameters(), lr=1e-3, weight_decay=0.01)
    N, K = d["legal"].shape
    target = d["legal"].float()
    for _ in range(epochs):
        for idx in torch.randperm(N * K, generator=g).split(512):
            n, k = idx // K, idx % K
            sub = {key: d[key][n] for key in ("context", "current", "past", "mask")}
            sub["hyps"], sub["reads"] = d["hyps"][n, k][:, None], d["reads"][n, k][:, None]
            loss = F.binary_cross_entropy_with_logits(
                logits(critic, sub, slice(None))[:, 0], target[n, k])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return critic.eval()


@torch.no_grad()
def score(critic: nn.Module, d: dict) -> str:
    logit = torch.cat([logits(critic, d, slice(i, i + 256)) for i in range(0, len(d["legal"]), 256)])
    pick = (d["nats"] - F.logsigmoid(logit)).argmin(1)
    legal = d["legal"]
    rows = torch.arange(len(legal))
    lab, s = legal.reshape(-1), logit.reshape(-1)
    pos, neg = s[lab], s[~lab]
    ranks = torch.cat([pos, neg]).argsort().argsort().float() + 1
    auc = float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))
    return (f"pick {legal[rows, pick].float().mean():.3f}  top "
            f"{legal[rows, logit.argmax(1)].float().mean():.3f}  auc {auc:.3f}")


def main(argv: list[str]) -> None:
    if len(argv) not in (4, 5):
        sys.exit("critic_past: usage: critic_past.py MODEL DATA WORLD_SEED CACHE [SECONDS]")
    torch.set_num_threads(2)
    model = LTM.load(argv[0]).eval()
    tc = model.config.train
    cache, seed = Path(argv[3]), int(argv[2])
    if cache.exists():
        data = torch.load(cache)
    else:
        seconds = float(argv[4]) if len(argv) > 4 else 0.85 * 60 * tc.minutes * tc.critic_share
        data = {"fit": training_labels(model, critic_records(model.config, Path(argv[1])),
                                       seconds, tc.seed)}
    if f"world{seed}" not in data:
        data[f"world{seed}"] = {side: world_labels(model, seed, side) for side in world.SPLITS}
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save(data, cache)
    data |= data[f"world{seed}"]
    d = data["fit"]
    print(f"labelled {len(d['legal'])} transitions in {d['seconds']:.0f} s; world: "
          + ", ".join(f"{s} {len(data[s]['legal'])}" for s in world.SPLITS), flush=True)
    C, Z, W = d["context"].shape[1], d["current"].shape[1], model.config.field.critic_width
    print("shipped critic:  " + "  |  ".join(f"{s} {score(model.critic, data[s])}"
                                             for s in world.SPLITS), flush=True)
    T, M = d["past"].shape[1], model.config.codec.meaning_dim
    variants = {"mlp": lambda: Critic(C, Z, W), "attn": lambda: PastCritic(C, Z, W),
                "cos": lambda: CosCritic(C, Z, W, T),
                "cosm": lambda: CosCritic(C, Z, W, T, meaning=M),
                "cos2": lambda: CosCritic(C, Z, W, T, both=True),
                "cosm2": lambda: CosCritic(C, Z, W, T, meaning=M, both=True)}
    for name in VARIANTS:
        base, _, count = name.partition("x")  # "cosx3": three cos critics, logits averaged
        start = time.perf_counter()
        members = []
        for j in range(int(count or 1)):
            torch.manual_seed(tc.seed + SEED + j)
            members.append(train(variants[base](), d, tc.critic_epochs, tc.seed + SEED + j))
        critic = members[0] if len(members) == 1 else Ensemble(members)
        print(f"{name:<6} ({time.perf_counter() - start:.0f} s): "
              + "  |  ".join(f"{s} {score(critic, data[s])}" for s in world.SPLITS), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
