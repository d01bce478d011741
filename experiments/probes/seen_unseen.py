"""Probe: does a model's codec say back the meanings it trained on, or any meaning?

    python experiments/probes/seen_unseen.py --model checkpoints/paper [--n 400]

``eval_world.py``'s "train meanings" are meanings of the train side of the split, but
most of them need not occur in the training episodes (the 10,000-episode world holds
6,687 distinct thoughts of the 28,632 train meanings, experiments/LOG.md session 8).
This probe splits exact reconstruction three ways, on ``--n`` distinct frames each,
drawn by act in turn among the frames of that side (:func:`ltm.worldeval.frame_records`),
every phrasing in both languages, greedy decoding:

- ``seen``: train-side meanings that some training thought of ``--data`` has (the
  training split of :class:`ltm.data.PVQDataModule`: validation and held-out episodes
  left out);
- ``unseen``: train-side meanings that none has;
- ``heldout``: the held-out side (never in training by construction).

For each, per act as well, the share decoded exactly, the share that parses to the
right frame in another phrasing, and, of the rest that parse, which roles came back
wrong (a role counted once per miss). If ``seen`` is near perfect and ``unseen`` is
level with ``heldout``, the codec memorises thoughts rather than composing them, and
more steps on the same episodes will not close the held-out gap.

One JSON line goes to ``experiments/probes/results.jsonl``.
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

import torch

from ltm import paths
from ltm.data import split_records
from ltm.model import LTM
from ltm.pvq import iter_records, walk, world
from ltm.worldeval import frame_records

HERE = Path(__file__).resolve().parent
LANGS = ("en", "ru")


def key(frame: dict[str, str]) -> tuple:
    """A frame as a hashable key."""
    return tuple(sorted(frame.items()))


def trained_frames(data: Path, val_fraction: float) -> set[tuple]:
    """Keys of every frame a training thought of ``data`` has."""
    train, _ = split_records(list(iter_records(data)), val_fraction, exclude_heldout=True)
    return {key(t.frame) for r in train for t in walk(r.thoughts) if t.frame is not None}


def pool(split: str, keep=None, n: int = 400) -> list[tuple[dict[str, str], str, str]]:
    """``(frame, lang, quote)`` for every phrasing, in both languages, of ``n`` frames of
    ``split`` drawn by act in turn among those ``keep`` admits
    (:func:`ltm.worldeval.frame_records`)."""
    return [(t.frame, lang, q) for r in frame_records(split, n, keep=keep)
            for t in r.thoughts for lang in LANGS for q in t.quotes[lang]]


@torch.no_grad()
def score(model: LTM, rows: list[tuple[dict[str, str], str, str]], batch: int = 64) -> dict:
    """Exact / same-frame / wrong-role counts over ``rows`` (:func:`pool`)."""
    said: list[str] = []
    for i in range(0, len(rows), batch):
        chunk = rows[i: i + batch]
        z = model.encode([q for _, _, q in chunk])
        said += model.decode(z, lang=[lang for _, lang, _ in chunk],
                             max_bytes=max(len(q.encode()) for _, _, q in chunk) + 16)
    acts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    wrong: collections.Counter = collections.Counter()
    for (f, lang, q), s in zip(rows, said, strict=True):
        c = acts[f["act"]]
        c["n"] += 1
        c["exact"] += s == q
        got = world.parse(s, lang)
        c["parses"] += got is not None
        c["frame"] += got == f
        if got is not None and got != f:
            wrong.update(r for r in set(f) | set(got) if f.get(r) != got.get(r))
    total = sum(acts.values(), collections.Counter())
    share = lambda c, k: round(c[k] / c["n"], 3) if c["n"] else float("nan")  # noqa: E731
    return {"n": total["n"], "exact": share(total, "exact"), "frame": share(total, "frame"),
            "parses": share(total, "parses"),
            "by_act": {a: {"n": c["n"], "exact": share(c, "exact"), "frame": share(c, "frame")}
                       for a, c in sorted(acts.items())},
            "wrong_roles": dict(wrong.most_common())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=paths.root() / "checkpoints" / "paper")
    ap.add_argument("--data", type=Path, default=paths.generated() / "world.pvq.jsonl")
    ap.add_argument("--n", type=int, default=400, help="distinct frames per side")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = LTM.load(args.model).eval()
    seen = trained_frames(args.data, model.config.train.val_fraction)
    sides = {"seen": pool("train", lambda f: key(f) in seen, args.n),
             "unseen": pool("train", lambda f: key(f) not in seen, args.n),
             "heldout": pool("heldout", None, args.n)}
    out = {name: score(model, rows) for name, rows in sides.items()}
    for name, r in out.items():
        print(f"{name:8} n={r['n']:5} exact {r['exact']:.3f}  same frame {r['frame']:.3f}  "
              f"parses {r['parses']:.3f}  " + "  ".join(
                  f"{a} {v['exact']:.2f}" for a, v in r["by_act"].items()))
        print(f"{'':8} wrong roles: {r['wrong_roles']}")
    line = {"probe": f"seen-unseen:{args.model.name}", "kind": "seen_unseen", "n": args.n,
            "train_frames": len(seen), "eval": out}
    with open(HERE / "results.jsonl", "a") as f:
        f.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
