"""Probe: critics compared offline, on labels drawn once.

    python experiments/probes/critic_offline.py MODEL DATA WORLD_SEED CACHE VARIANT [...]

The critic stage's labels (:func:`ltm.critic.label_transitions`, every hypothesis read
greedily and judged by the world, with each reading's nats) are drawn once for
``MODEL``'s frozen codec and core and kept in ``CACHE`` (a ``.pt`` file): 40,000
transitions of the training split of ``DATA`` (held-out meanings left out, as ``ltm
fit`` splits it) and, on the world of ``WORLD_SEED`` (2000: the validation world), 300
episodes per side of the meaning split, the held-out side keeping the transitions
whose next meaning is held out (as ``critic_reach.py`` does). Then each ``VARIANT``
critic is trained on a prefix of the training labels and scored on the world's: its
AUC, and the share of transitions whose pick (nats per byte minus the log-probability
of legal, ``critic_weight`` 1, as :meth:`ltm.model.LTM.pick_scores` weighs them) is
legal. A variant is ``NAME:N[:K[:E[:S]]]``: ``N`` transitions, ``K`` hypotheses of each (a
seeded random subset; 0 or default: all), ``E`` epochs (default 16), ``S`` a seed of the weights and batches (default 0), and ``NAME`` one
of the following, or several joined by ``+`` (``prod+nats+list``)

- ``mlp``: the shipped critic (:class:`ltm.critic.Critic`), binary cross-entropy;
- ``prod``: the same MLP with the element-wise products of the hypothesis's reading with
  the current thought and with the hypothesis, and their cosines, as extra inputs;
- ``nats``: the MLP with the reading's nats per byte as an extra input;
- ``list``: the MLP, binary cross-entropy plus a listwise term (the log of the softmax
  mass, over the transition's hypotheses, of the pick score on its legal ones).

One line per variant; the research log keeps them. With ``--next SEED`` after the
variants, each ``mlp`` or ``list`` critic also joins the model's pick and its next
thoughts are scored as ``tab_reference.py`` scores them
(:func:`ltm.worldeval.prediction_metrics`, world ``SEED``, 200 episodes per side).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ltm.critic import Critic, label_transitions
from ltm.model import LTM
from ltm.pvq import world
from ltm.train import critic_records

TRAIN, EPISODES, EPOCHS, EPISODES_NEXT = 40_000, 300, 16, 200


def draw(model: LTM, data: str, seed: int) -> dict:
    """The labels: ``train`` (the training split) and the world's two sides."""
    from critic_reach import side_labels

    records = critic_records(model.config, Path(data))
    out = {"train": label_transitions(model, records, TRAIN, seed=model.config.train.seed,
                                      progress=True)}
    for side in world.SPLITS:
        episodes = list(world.generate(EPISODES, seed, split=side))
        out[f"world-{side}"] = side_labels(model, episodes, side, 10**9)
    return out


class Extra(nn.Module):
    """The shipped critic's MLP over more inputs (``prod``, ``nats`` or both)."""

    def __init__(self, kinds: set, context_dim: int, dim: int, width: int) -> None:
        super().__init__()
        self.kinds = kinds
        extra = (2 * dim + 2 if "prod" in kinds else 0) + ("nats" in kinds)
        self.net = nn.Sequential(nn.Linear(context_dim + 3 * dim + extra, width), nn.GELU(),
                                 nn.Linear(width, width), nn.GELU(), nn.Linear(width, 1))

    def forward(self, context, current, hypotheses, readings, nats):
        N, K, _ = hypotheses.shape
        cur = current[:, None].expand(N, K, -1)
        parts = [context[:, None].expand(N, K, -1), cur, hypotheses, readings]
        if "prod" in self.kinds:
            parts += [readings * cur, readings * hypotheses,
                      (readings * cur).sum(-1, keepdim=True),
                      (readings * hypotheses).sum(-1, keepdim=True)]
        if "nats" in self.kinds:
            parts.append(nats[..., None])
        return self.net(torch.cat(parts, -1))[..., 0]


def make(kinds: set, model: LTM, seed: int) -> nn.Module:
    f, z = model.config.field, model.config.codec.dim
    torch.manual_seed(model.config.train.seed + seed)
    if not kinds & {"prod", "nats"}:
        return Plain(Critic(f.width, z, f.critic_width))
    return Extra(kinds, f.width, z, f.critic_width)


class Plain(nn.Module):
    """:class:`Critic` with the ``nats`` argument the others take, ignored."""

    def __init__(self, critic: Critic) -> None:
        super().__init__()
        self.critic = critic

    def forward(self, context, current, hypotheses, readings, nats):
        return self.critic(context, current, hypotheses, readings)


def subset(d: dict, n: int, k: int, seed: int) -> dict:
    """The first ``n`` transitions, ``k`` random hypotheses of each."""
    d = {key: v[:n] for key, v in d.items()}
    K = d["legal"].shape[1]
    if k >= K:
        return d
    g = torch.Generator().manual_seed(seed)
    pick = torch.stack([torch.randperm(K, generator=g)[:k] for _ in range(len(d["legal"]))])
    for key in ("hypotheses", "readings"):
        d[key] = d[key].gather(1, pick[..., None].expand(-1, -1, d[key].shape[2]))
    for key in ("nats", "legal"):
        d[key] = d[key].gather(1, pick)
    return d


def train(critic: nn.Module, d: dict, listwise: bool, seed: int, epochs: int) -> float:
    """``epochs`` as :func:`ltm.critic.fit_critic` runs them (per transition batches
    here, so the listwise term sees whole rows); returns seconds."""
    start, g = time.perf_counter(), torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(critic.parameters(), lr=1e-3, weight_decay=0.01)
    N, K = d["legal"].shape
    rows = max(1, 512 // K)
    for _ in range(epochs):
        for idx in torch.randperm(N, generator=g).split(rows):
            logit = critic(d["context"][idx], d["current"][idx], d["hypotheses"][idx],
                           d["readings"][idx], d["nats"][idx])  # (n, K)
            legal = d["legal"][idx]
            loss = F.binary_cross_entropy_with_logits(logit, legal.float())
            if listwise:
                score = F.logsigmoid(logit) - d["nats"][idx]  # higher is picked
                mass = score.masked_fill(~legal, -1e9).logsumexp(1) - score.logsumexp(1)
                loss = loss - mass[legal.any(1)].mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return time.perf_counter() - start


@torch.no_grad()
def score(critic: nn.Module, d: dict) -> str:
    from critic_reach import auc

    logit = critic(d["context"], d["current"], d["hypotheses"], d["readings"], d["nats"])
    pick = (d["nats"] - F.logsigmoid(logit)).argmin(1)
    rows = torch.arange(len(pick))
    legal = d["legal"]
    return (f"auc {auc(logit.reshape(-1), legal.reshape(-1)):.3f} "
            f"pick {legal[rows, pick].float().mean():.3f} "
            f"(decoder {legal[rows, d['nats'].argmin(1)].float().mean():.3f}, "
            f"any {legal.any(1).float().mean():.3f}, n {len(pick)})")


def next_thoughts(model: LTM, seed: int) -> None:
    """Print the model's next thoughts scored as ``tab_reference.py`` scores them."""
    from ltm.worldeval import prediction_metrics

    for side in world.SPLITS:
        p = prediction_metrics(model, list(world.generate(EPISODES_NEXT, seed, split=side)),
                               EPISODES_NEXT, 0, split=None if side == "train" else side,
                               progress=False)
        print(f"  world {seed} {side}: parse {p['parse']:.3f} legal {p['legal']:.3f} "
              f"determined {p['exact_determined']:.3f} (n {p['n']})", flush=True)


def main(argv: list[str]) -> None:
    if len(argv) < 5:
        sys.exit("critic_offline: usage: critic_offline.py MODEL DATA WORLD_SEED CACHE "
                 "VARIANT [...]")
    torch.set_num_threads(2)
    model = LTM.load(argv[0]).eval()
    cache = Path(argv[3])
    if cache.exists():
        labels = torch.load(cache)
    else:
        start = time.perf_counter()
        labels = draw(model, argv[1], int(argv[2]))
        torch.save(labels, cache)
        print(f"labels drawn in {time.perf_counter() - start:.0f} s", flush=True)
    specs, next_seed = argv[4:], None
    if "--next" in specs:
        i = specs.index("--next")
        specs, next_seed = specs[:i], int(specs[i + 1])
    if model.critic is not None:
        shipped = Plain(model.critic)
        print("model's critic", "  ".join(f"{s} {score(shipped, labels[f'world-{s}'])}"
                                         for s in world.SPLITS), flush=True)
        if next_seed is not None:
            next_thoughts(model, next_seed)
    for spec in specs:
        name, n, *rest = spec.split(":")
        k, epochs = (int(rest[0]) or 10**9) if rest else 10**9, int(rest[1]) if len(rest) > 1 else EPOCHS
        seed = int(rest[2]) if len(rest) > 2 else 0
        kinds = set(name.split("+"))
        d = subset(labels["train"], int(n), k, seed=seed)
        critic = make(kinds, model, seed)
        seconds = train(critic, d, "list" in kinds, seed=seed, epochs=epochs)
        critic.eval()
        print(spec, f"({seconds:.0f} s)", "  ".join(
            f"{s} {score(critic, labels[f'world-{s}'])}" for s in world.SPLITS), flush=True)
        if next_seed is not None and isinstance(critic, Plain):
            own, model.critic = model.critic, critic.critic
            next_thoughts(model, next_seed)
            model.critic = own


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main(sys.argv[1:])
