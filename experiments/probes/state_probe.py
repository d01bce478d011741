"""Probe: does the field core's context state know where everything is?

    python experiments/probes/state_probe.py MODEL WORLD_SEED [FIT_EPISODES]

The recaps ("Anna is in the shop, and Ivan is on the bridge.") are where the shipped
model's next thoughts are lost (``heldout_gap.py``): one is legal only when both agents'
places are right. This probe asks whether the core's context state ``c_t`` holds those
places at all. A linear probe is fit, by cross-entropy, to read every ``<entity>.at``
key of the world state after thought ``t`` (a place, or the agent who holds an object)
from ``c_t``, on ``FIT_EPISODES`` (default 3,000) train-side episodes of the training
world (seed 0); the same probe on the current thought ``z_t`` alone is the control (what
the last thought says, without the past). Both are then scored on the world of
``WORLD_SEED``, both sides of the meaning split (300 episodes each): the share of keys
read right at every position, and ``recap``: the share of positions just before a true
recap where both of its agents' places are read right from ``c_t`` (the core's own
knowledge of what the recap must say). Each episode is read in one language and
phrasing drawn by a seeded generator, as the critic's stage reads it.
"""

from __future__ import annotations

import random
import sys
import time

import torch

from ltm.model import LTM
from ltm.pvq import world

EPISODES = 300
STEPS = 400
WEIGHT_DECAY = 0.1
"""Strong, as linear probes on few positions per key need: at 1e-4 the probe read 0.80
of the keys it was fit on and 0.37 of a fresh world's (research log, session 25)."""


def features(model: LTM, record, rng: random.Random) -> tuple[torch.Tensor, torch.Tensor]:
    """``(context, thoughts)``, each ``(T, ·)``, of one episode read in one language."""
    lang = rng.choice(list(model.config.codec.langs))
    z = model.encode([rng.choice(t.quotes[lang]) for t in record.thoughts])  # (T, Z)
    context, _ = model.core(z[None], torch.ones(1, len(z), dtype=torch.bool))
    return context[0], z


def collect(model: LTM, records, keys: dict[str, int], values: dict[str, int],
            grow: bool) -> dict:
    """Features and targets of every position: ``target[n, k]`` is the value index of key
    ``k`` after thought ``n`` (-1 where the state has no such key, or an unseen value),
    ``recap[n]`` the key indices of the two agents of the next thought when it is a
    recap (else ``None``)."""
    rng, ctx, cur, rows, recaps = random.Random("state"), [], [], [], []
    for record in records:
        with torch.no_grad():
            c, z = features(model, record, rng)
        ctx.append(c)
        cur.append(z)
        for t, thought in enumerate(record.thoughts):
            state = {k: v for k, v in (thought.state or {}).items() if k.endswith(".at")}
            if grow:
                for k, v in state.items():
                    keys.setdefault(k, len(keys))
                    values.setdefault(v, len(values))
            rows.append({keys[k]: values[v] for k, v in state.items()
                         if k in keys and v in values})
            nxt = record.thoughts[t + 1].frame if t + 1 < len(record.thoughts) else None
            recaps.append(None if not nxt or nxt.get("act") != "recap" else
                          [keys.get(f"{nxt['agent']}.at", -1),
                           keys.get(f"{nxt['other']}.at", -1)])
    target = torch.full((len(rows), len(keys)), -1, dtype=torch.long)
    for n, row in enumerate(rows):
        for k, v in row.items():
            target[n, k] = v
    return {"context": torch.cat(ctx), "current": torch.cat(cur), "target": target,
            "recap": recaps}


def fit_probe(x: torch.Tensor, target: torch.Tensor, n_values: int):
    """A linear map from ``x`` to one softmax over values per key, fit full-batch on
    standardised features; returns the reader: features ``(N, ·)`` to the value index
    read for every key ``(N, K)``."""
    torch.manual_seed(0)
    n_keys = target.shape[1]
    mu, sd = x.mean(0), x.std(0) + 1e-6
    probe = torch.nn.Linear(x.shape[1], n_keys * n_values)
    opt = torch.optim.Adam(probe.parameters(), lr=1e-2, weight_decay=WEIGHT_DECAY)
    xs = (x - mu) / sd
    for _ in range(STEPS):
        logits = probe(xs).view(len(x), n_keys, n_values)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, n_values),
                                                 target.reshape(-1), ignore_index=-1)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def read(feats: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return probe((feats - mu) / sd).view(len(feats), n_keys, n_values).argmax(-1)
    return read


def scores(read, data: dict, what: str) -> tuple[float, float, int]:
    """Share of keys read right by ``read`` (:func:`fit_probe`) from ``data[what]``, share
    of recaps with both agents' places right, and how many recaps."""
    target = data["target"]
    got = read(data[what])
    known = target >= 0
    keys = (got == target)[known].float().mean().item()
    ready = []
    for n, pair in enumerate(data["recap"]):
        if pair is not None:
            ready.append(all(k >= 0 and target[n, k] >= 0 and got[n, k] == target[n, k]
                             for k in pair))
    return keys, (sum(ready) / len(ready) if ready else float("nan")), len(ready)


def main(argv: list[str]) -> None:
    if len(argv) not in (2, 3):
        sys.exit("state_probe: usage: state_probe.py MODEL WORLD_SEED [FIT_EPISODES]")
    torch.set_num_threads(2)
    model = LTM.load(argv[0]).eval()
    n_fit = int(argv[2]) if len(argv) == 3 else 3000
    start, keys, values = time.perf_counter(), {}, {}
    fit = collect(model, world.generate(n_fit, 0, split="train"), keys, values, grow=True)
    probes = {what: fit_probe(fit[what], fit["target"], len(values))
              for what in ("context", "current")}
    print(f"fit on {len(fit['target']):,} positions of {n_fit:,} episodes: {len(keys)} keys, "
          f"{len(values)} values ({time.perf_counter() - start:.0f} s)", flush=True)
    for name, data in [("fit", fit)] + [
            (side, collect(model, world.generate(EPISODES, int(argv[1]), split=side),
                           keys, values, grow=False)) for side in world.SPLITS]:
        line = [f"{name:8s}"]
        for what, probe in probes.items():
            k, r, n = scores(probe, data, what)
            line.append(f"{what}: keys {k:.3f} recap {r:.3f} ({n})")
        print("  ".join(line), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
