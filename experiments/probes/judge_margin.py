"""Probe: when a thought said in the other language with readings misses its frame, is
the right sentence missing from the readings, or does the encoder prefer the wrong one?

    python experiments/probes/judge_margin.py MODEL [WORLD_SEED] [FRAMES] [READINGS]

The cross-language draw of ``eval_world.py`` (``FRAMES`` distinct frames of the held-out
side, default 400, from 3,000 episodes of the world of ``WORLD_SEED``, default 2000, the
validation world): phrasing 0 in one language is encoded, its surface part dropped, and
said in the other with ``READINGS`` readings (default 16, the readings of the paper's
table; ``LTM.decode(..., readings=16)``). For
each miss, every phrasing of the true frame in the target language is encoded too and
scored as the readings are (dot product with the thought). Printed per direction: the
share said as the same frame, the misses, how many of them have a true phrasing that the
encoder puts *nearer* the thought than the reading it kept (so the search never wrote
it), and the median and largest score gap between the kept reading and the best true
phrasing; and, as a scale, on hits, the median gap between the kept reading and the
nearest phrasing 0 of another frame of the draw (how far apart the encoder holds two
distinct frames of the side).
"""

from __future__ import annotations

import statistics
import sys

import torch

from ltm.model import LTM
from ltm.pvq import world
from ltm.worldeval import LANGS, cross_language_draw, encode_batched, said_across

DEFAULTS = ("2000", "400", "16")  # WORLD_SEED, FRAMES, READINGS
EPISODES = 3000


def arguments(argv: list[str]) -> tuple[str, int, int, int]:
    """``MODEL [WORLD_SEED] [FRAMES] [READINGS]`` -> the four, defaults filled in; a
    non-integer, fewer than 2 frames or fewer than 1 reading ends the probe with one
    line."""
    if not 1 <= len(argv) <= 4:
        sys.exit("judge_margin: usage: judge_margin.py MODEL [WORLD_SEED] [FRAMES] [READINGS]")
    numbers = argv[1:]
    try:
        seed, frames, readings = (int(x) for x in [*numbers, *DEFAULTS[len(numbers):]])
    except ValueError:
        sys.exit(f"judge_margin: WORLD_SEED, FRAMES and READINGS must be integers, "
                 f"got {' '.join(numbers)!r}")
    if frames < 2 or readings < 1:
        sys.exit(f"judge_margin: FRAMES must be at least 2 and READINGS at least 1, "
                 f"got {frames} and {readings}")
    return argv[0], seed, frames, readings


def main(argv: list[str]) -> None:
    path, world_seed, frames, readings = arguments(argv)
    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = LTM.load(path).eval()
    split = "heldout"
    units = list(world.generate(EPISODES, world_seed, split=split))
    thoughts = cross_language_draw(units, frames, split=split, langs=list(LANGS))
    with torch.no_grad():
        for a, b, vec, said in said_across(model, thoughts, readings=readings):
            kept = (encode_batched(model, said, 64, False, "") * vec).sum(-1)  # (N,)
            theirs = encode_batched(model, [t.quotes[b][0] for t in thoughts], 64, False, "")
            others = vec @ theirs.T  # (N, N): thought i against frame j's quote
            others.fill_diagonal_(float("-inf"))
            gaps, nearer, scale = [], 0, []
            for i, (t, text) in enumerate(zip(thoughts, said, strict=True)):
                if world.parse(text, b) == t.frame:
                    scale.append(float(kept[i] - others[i].max()))
                    continue
                scores = (model.encode([text, *t.quotes[b]]).float()
                          * vec[i][None].float()).sum(-1)
                gap = float(scores[1:].max() - scores[0])
                gaps.append(gap)
                nearer += gap > 0
            n = len(thoughts)
            line = (f"{split} {a}->{b}: same frame {1 - len(gaps) / n:.3f} of {n}; "
                    f"misses {len(gaps)}, a true phrasing nearer than the kept reading "
                    f"{nearer}")
            if gaps:
                line += (f"; gap (true - kept) median {statistics.median(gaps):+.4f}, "
                         f"largest {max(gaps):+.4f}")
            if scale:
                line += (f"; hits, kept - nearest other frame median "
                         f"{statistics.median(scale):+.4f}")
            print(line)


if __name__ == "__main__":
    main(sys.argv[1:])
