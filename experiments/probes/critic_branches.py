"""Probe: a critic trained on branched readings as well as greedy ones.

    python experiments/probes/critic_branches.py MODEL DATA WORLD_SEED [BRANCHES] [SECONDS]

The critic stage of ``ltm fit`` labels each hypothesis's greedy reading. Here each
hypothesis is also read at its ``BRANCHES`` (default 4) least sure places
(:meth:`ltm.codec.ThoughtDecoder.branch`), every reading judged by the world, for
``SECONDS`` of labelling (default: what the run's critic stage gives labelling, 85% of
``minutes * critic_share``); a fresh critic of the run's width and seed is trained on
every (hypothesis, reading) pair for the run's epochs, and put in ``MODEL``'s place.
Then ``reading_reach.py``'s count on the world of ``WORLD_SEED``, held-out side
(200 episodes), before and after: does the pick among all readings reach further?
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from reading_reach import side  # noqa: E402

from ltm.critic import Critic, _framed  # noqa: E402
from ltm.model import LTM  # noqa: E402
from ltm.pvq import world  # noqa: E402
from ltm.readings import READING_SEARCH  # noqa: E402
from ltm.train import critic_records  # noqa: E402
from ltm.worldeval import judge_next  # noqa: E402


@torch.no_grad()
def label(model: LTM, records: list, seconds: float, branches: int, seed: int = 0) -> dict:
    """Pairs (hypothesis, reading) labelled legal or not, with each pair's transition."""
    langs = list(model.config.codec.langs)
    usable = [(r, ls) for r in records if (ls := _framed(r, langs))]
    rng = random.Random(f"critic:{seed}")
    rng.shuffle(usable)
    ctxs, curs, hyp_all, read_all, legal_all, of_all = [], [], [], [], [], []
    count, start = 0, time.perf_counter()
    for r, ls in usable:
        if time.perf_counter() - start >= seconds:
            break
        lang = rng.choice(ls)
        units = [rng.choice(t.quotes[lang]) for t in r.thoughts]
        z = model.encode(units)
        context, _ = model.core(z[None], torch.ones(1, len(units), dtype=torch.bool))
        ctx, cur = context[0, :-1], z[:-1]  # (N, C), (N, Z): transitions t-1 -> t
        hyps = model.head.hypotheses(ctx, cur)
        N, K, Z = hyps.shape
        flat = hyps.reshape(N * K, Z)
        ids = model.lang_ids(lang, N * K)
        texts, _ = model.decoder.read(flat, ids)
        rows = []
        if branches:
            rows, more = model.decoder.branch(flat, ids, texts, branches,
                                              READING_SEARCH["min_logp"])
            texts = texts + more
        src = torch.cat([torch.arange(N * K), torch.tensor(rows, dtype=torch.long)])
        legal = torch.tensor([judge_next(r, int(s) // K + 1, x.decode("utf-8", "replace"),
                                         lang)[1] for s, x in zip(src, texts, strict=True)])
        ctxs.append(ctx.float())
        curs.append(cur.float())
        hyp_all.append(flat[src].float())
        read_all.append(model.encode(texts).float())
        legal_all.append(legal)
        of_all.append(src // K + count)
        count += N
    return {"context": torch.cat(ctxs), "current": torch.cat(curs),
            "hypothesis": torch.cat(hyp_all), "reading": torch.cat(read_all),
            "legal": torch.cat(legal_all), "of": torch.cat(of_all),
            "seconds": time.perf_counter() - start}


def train(model: LTM, data: dict, epochs: int, seed: int = 0) -> Critic:
    """A fresh critic of ``model``'s width, binary cross-entropy on every pair."""
    torch.manual_seed(seed)
    old = model.critic
    critic = Critic(data["context"].shape[1], data["current"].shape[1],
                    old.net[0].out_features)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(critic.parameters(), lr=1e-3, weight_decay=0.01)
    target = data["legal"].float()
    for _ in range(epochs):
        for idx in torch.randperm(len(target), generator=g).split(512):
            n = data["of"][idx]
            logit = critic(data["context"][n], data["current"][n],
                           data["hypothesis"][idx][:, None], data["reading"][idx][:, None])[:, 0]
            loss = F.binary_cross_entropy_with_logits(logit, target[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return critic.eval().requires_grad_(False)


def main(argv: list[str]) -> None:
    if len(argv) not in (3, 4, 5):
        sys.exit("critic_branches: usage: critic_branches.py MODEL DATA WORLD_SEED "
                 "[BRANCHES] [SECONDS]")
    torch.set_num_threads(2)
    model = LTM.load(argv[0]).eval()
    tc = model.config.train
    branches = int(argv[3]) if len(argv) > 3 else 4
    seconds = float(argv[4]) if len(argv) > 4 else 0.85 * 60 * tc.minutes * tc.critic_share
    records = critic_records(model.config, Path(argv[1]))
    data = label(model, records, seconds, branches, tc.seed)
    print(f"labelled {int(data['of'].max()) + 1} transitions, {len(data['legal'])} pairs "
          f"({data['legal'].float().mean():.3f} legal) in {data['seconds']:.0f} s", flush=True)
    start = time.perf_counter()
    critic = train(model, data, tc.critic_epochs, tc.seed)
    print(f"trained in {time.perf_counter() - start:.0f} s", flush=True)
    episodes = list(world.generate(200, int(argv[2]), split="heldout"))
    print("shipped critic:", side(model, episodes, "heldout", branches), flush=True)
    model.critic = critic
    print(f"branch-{branches} critic:", side(model, episodes, "heldout", branches), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
