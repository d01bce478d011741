"""Probe: a critic taught also by the world's own candidates, which cost no decoding.

    python experiments/probes/critic_synth.py MODEL DATA CACHE VARIANT [...]

The labels of ``critic_offline.py`` (``CACHE``, drawn there) hold the model's own
hypotheses, each read greedily and judged. Reading is the cost. Here each labelled
transition also gets ``M`` *world candidates*: frames of training meanings made of the
episode's own entities (agents, places, objects, containers in any of its frames),
half legal and half not in the state before the transition where the episode has
both, rendered in a random language and phrasing and encoded; each stands in as both
the hypothesis and its reading (a clean reading is what the critic sees at pick time),
labelled by :func:`ltm.pvq.world.legal`. A variant is ``N:M``: ``N`` transitions
of the model's labels, each with ``M`` world candidates (their nats 0: the shipped
critic does not read nats). Scored as ``critic_offline.py`` scores (the pick on the validation world's labels).
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from critic_offline import Plain, score, train  # noqa: E402

from ltm.critic import Critic  # noqa: E402
from ltm.model import LTM  # noqa: E402
from ltm.pvq import world  # noqa: E402
from ltm.train import critic_records  # noqa: E402

ROLES = ("agent", "recipient", "other", "place", "other_place", "object", "container")


def pools(records) -> list[list[dict]]:
    """Per record: the training-meaning frames made of its own entities (moods and
    weathers any)."""
    from itertools import product

    out = []
    for rec in records:
        ents = {t.frame[r] for t in rec.thoughts for r in ROLES if r in t.frame}
        frames = []
        for act, roles in world.ACTS.items():
            choices = [[v for v in world.KINDS[world.ROLE_KINDS[r]]
                        if r in ("mood", "weather") or v in ents] for r in roles]
            for values in product(*choices):
                f = {"act": act, **dict(zip(roles, values, strict=True))}
                if world.check_frame(f) is None and world.meaning_split(f) == "train":
                    frames.append(f)
        out.append(frames)
    return out


@torch.no_grad()
def candidates(model, records, where, m: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """World candidates (N, m, Z) and their labels (N, m) for transitions ``where``."""
    rng = random.Random(f"synth:{seed}")
    used = sorted({e for e, _ in where})
    pool = dict(zip(used, pools([records[e] for e in used]), strict=True))
    texts, labels = [], []
    for e, t in where:
        state = records[e].thoughts[t - 1].state
        legal = [f for f in pool[e] if world.legal(f, state)]
        illegal = [f for f in pool[e] if not world.legal(f, state)]
        pick = (rng.choices(legal, k=m // 2) if legal else []) + \
            (rng.choices(illegal, k=m - m // 2) if illegal else [])
        pick += rng.choices(pool[e], k=m - len(pick))
        for f in pick:
            lang = rng.choice(world.LANGS)
            ph = world.phrasings(f, lang)
            texts.append(ph[rng.randrange(len(ph))])
            labels.append(world.legal(f, state))
    vecs = []
    for i in range(0, len(texts), 4096):
        vecs.append(model.encode(texts[i: i + 4096]).float().cpu())
    z = torch.cat(vecs)
    return z.view(len(where), m, -1), torch.tensor(labels).view(len(where), m)


def main(argv: list[str]) -> None:
    if len(argv) < 4:
        sys.exit("critic_synth: usage: critic_synth.py MODEL DATA CACHE N:M [...]")
    torch.set_num_threads(2)
    model = LTM.load(argv[0]).eval()
    tc = model.config.train
    records = critic_records(model.config, Path(argv[1]))
    labels = torch.load(argv[2])
    real = labels["train"]
    for spec in argv[3:]:
        n, m = (int(x) for x in spec.split(":"))
        start = time.perf_counter()
        where = [tuple(x) for x in real["where"][:n].tolist()]
        z, legal = candidates(model, records, where, m, seed=0)
        d = {k: v[:n] for k, v in real.items()}
        d["hypotheses"] = torch.cat([d["hypotheses"], z], 1)
        d["readings"] = torch.cat([d["readings"], z], 1)
        d["legal"] = torch.cat([d["legal"], legal], 1)
        d["nats"] = torch.cat([d["nats"], torch.zeros(n, m)], 1)
        made = time.perf_counter() - start
        torch.manual_seed(tc.seed)
        f = model.config.field
        critic = Plain(Critic(f.width, model.config.codec.dim, f.critic_width))
        seconds = train(critic, d, False, seed=0, epochs=16)
        critic.eval()
        print(spec, f"(candidates {made:.0f} s, train {seconds:.0f} s, legal share "
              f"{legal.float().mean():.2f})", "  ".join(
                  f"{s} {score(critic, labels[f'world-{s}'])}" for s in world.SPLITS),
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
