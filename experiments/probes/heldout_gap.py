"""Probe: where the next thoughts after held-out meanings are lost, by past and by act.

    python experiments/probes/heldout_gap.py MODEL WORLD_SEED

On the world of ``WORLD_SEED``, both sides of the meaning split (300 episodes each), every
transition ``t-1 -> t`` is labelled as the critic's stage labels it (one language and
phrasing per episode, the core reads the true thoughts ``0..t-1``, every hypothesis of
the ``choice`` head read greedily and judged by the world), keeping on the held-out side
only those whose next meaning is held out, as ``critic_reach.py`` does. Each past thought
``0..t-1`` is also said back greedily in the episode's language and parsed. Printed per
side: the share of transitions where some hypothesis is legal (``any``), overall and
split by whether the codec said the whole past back as its frames (``past read``) or
not, and the same split by the current thought alone. If ``any`` is high where the past
reads back and low where it does not, the codec's misreadings of held-out meanings are
what the head lacks; if it is low on both, the core and head are. Then, per act of the
true next thought, the transitions, ``any``, and ``pick``: the share where the thought
the model says (:meth:`ltm.model.LTM.pick_scores`, the critic included) is legal, and
``read``: the share where the true next unit itself, encoded and said back, parses to
its frame (what the codec alone can say of that act).
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter

import torch

from ltm.model import LTM, prefixes
from ltm.pvq import world
from ltm.worldeval import judge_next

EPISODES = 300


def label(model: LTM, record, rng: random.Random) -> list[dict]:
    """Each transition ``t`` of one episode: ``any`` legal hypothesis, the ``pick`` legal,
    the true next ``act``, and whether the ``past``, the ``current`` thought and the true
    next one (``read``) are said back as their frames."""
    lang = rng.choice(list(model.config.codec.langs))
    units = [rng.choice(t.quotes[lang]) for t in record.thoughts]
    z = model.encode(units)  # (T, Z)
    said, _ = model.decoder.read(z, model.lang_ids(lang, len(z)))
    back = [world.parse(s.decode("utf-8", "replace"), lang) == t.frame
            for s, t in zip(said, record.thoughts, strict=True)]
    context, _ = model.core(z[None], torch.ones(1, len(z), dtype=torch.bool))
    hyps = model.head.hypotheses(context[0, :-1], z[:-1])  # (T-1, K, Z)
    n, k, d = hyps.shape
    texts, _ = model.decoder.read(hyps.reshape(n * k, d), model.lang_ids(lang, n * k))
    past, past_mask = prefixes(z[:-1])  # for a critic that reads the past
    best = model.pick_scores(hyps, lang, context=context[0, :-1], current=z[:-1], past=past,
                             past_mask=past_mask).argmin(1)
    rows = []
    for t in range(1, len(units)):
        legal = [judge_next(record, t, texts[(t - 1) * k + j].decode("utf-8", "replace"),
                            lang)[1] for j in range(k)]
        rows.append({"t": t, "any": any(legal), "pick": legal[int(best[t - 1])],
                     "act": record.thoughts[t].frame["act"],
                     "past": all(back[:t]), "current": back[t - 1], "read": back[t]})
    return rows


def share(rows: list[dict], key: str | None = None, value: object = True,
          what: str = "any") -> str:
    """The share of ``what`` among the rows whose ``key`` is ``value``, with their count."""
    chosen = [r for r in rows if key is None or r[key] == value]
    if not chosen:
        return "  -   (0)"
    return f"{sum(r[what] for r in chosen) / len(chosen):.3f} ({len(chosen)})"


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        sys.exit("heldout_gap: usage: heldout_gap.py MODEL WORLD_SEED")
    torch.set_num_threads(2)
    model = LTM.load(argv[0]).eval()
    for side in world.SPLITS:
        start, rng, rows = time.perf_counter(), random.Random(f"past:{side}"), []
        for record in world.generate(EPISODES, int(argv[1]), split=side):
            with torch.no_grad():
                got = label(model, record, rng)
            rows += [r for r in got if side == "train"
                     or world.meaning_split(record.thoughts[r["t"]].frame) == side]
        print(f"{side}: any {share(rows)}  pick {share(rows, what='pick')}  "
              f"past read {share(rows, 'past')} / not {share(rows, 'past', False)}  "
              f"current read {share(rows, 'current')} / not "
              f"{share(rows, 'current', False)}  ({time.perf_counter() - start:.0f} s)",
              flush=True)
        for act, _ in Counter(r["act"] for r in rows).most_common():
            print(f"  {act:10s} any {share(rows, 'act', act)}  "
                  f"pick {share(rows, 'act', act, 'pick')}  "
                  f"read {share(rows, 'act', act, 'read')}")


if __name__ == "__main__":
    main(sys.argv[1:])
