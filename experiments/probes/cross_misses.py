"""Probe: what goes wrong when a thought is said in the other language, by act and slot.

    python experiments/probes/cross_misses.py MODEL [WORLD_SEED] [UNIT_EPISODES]

The thoughts of ``eval_world.py``'s cross-language rows (the same draw: 1,000 distinct
frames of each side of the meaning split, from ``UNIT_EPISODES`` episodes of the world
of ``WORLD_SEED``, defaults 10,000 and 1000): phrasing 0 in one language is encoded, its
surface part dropped, and said greedily in the other. Per direction and side, printed:
the share said as the same frame (the row ``eval_world.py`` reports), then per act the
thoughts and the misses, each miss split into *no parse* (no sentence of the world) and
*other frame*; for the latter, the slots (frame keys) that differ, counted over misses,
and how many misses are *swaps*: exactly two slots differ and the text gave each the
other's value (two agents' places exchanged). A few misses are printed as examples.
"""

from __future__ import annotations

import sys
from collections import Counter

import torch

from ltm.model import LTM
from ltm.pvq import world
from ltm.worldeval import LANGS, cross_language_draw, said_across

EXAMPLES = 4
DEFAULTS = ("1000", "10000")  # WORLD_SEED, UNIT_EPISODES


def slots(want: dict[str, str], got: dict[str, str]) -> list[str]:
    """Frame keys whose values differ (a key on one side only counts)."""
    return sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))


def swapped(want: dict[str, str], got: dict[str, str], differ: list[str]) -> bool:
    """Exactly two slots differ, and each holds the other's wanted value."""
    if len(differ) != 2:
        return False
    a, b = differ
    return got.get(a) == want.get(b) is not None and got.get(b) == want.get(a) is not None


def report(name: str, thoughts: list, said: list[str], lang: str) -> None:
    """One direction on one side: overall share, then misses by act and by slot."""
    drawn, none, other, keys, shown = Counter(), Counter(), Counter(), Counter(), []
    swaps = 0
    for t, text in zip(thoughts, said, strict=True):
        act = t.frame["act"]
        drawn[act] += 1
        got = world.parse(text, lang)
        if got is None:
            none[act] += 1
        elif got != t.frame:
            other[act] += 1
            differ = slots(t.frame, got)
            keys.update(differ)
            swaps += swapped(t.frame, got, differ)
            if len(shown) < EXAMPLES:
                shown.append((t.quotes["en"][0], text))
    n = sum(drawn.values())
    miss = sum(none.values()) + sum(other.values())
    print(f"{name}: same frame {1 - miss / n:.3f} of {n}; no parse {sum(none.values())}, "
          f"other frame {sum(other.values())} ({swaps} of them swaps)")
    for act, k in drawn.most_common():
        if none[act] + other[act]:
            print(f"  {act:10s} {k:4d} thoughts, no parse {none[act]:3d}, "
                  f"other frame {other[act]:3d} ({(none[act] + other[act]) / k:.2f} missed)")
    print("  slots differing in other-frame misses: "
          + ", ".join(f"{key} {c}" for key, c in keys.most_common()))
    for quote, text in shown:
        print(f"    {quote!r} -> {text!r}")


def arguments(argv: list[str]) -> tuple[str, int, int]:
    """``MODEL [WORLD_SEED] [UNIT_EPISODES]`` -> the three, defaults filled in; a bad
    count or a non-integer ends the probe with one line."""
    if not 1 <= len(argv) <= 3:
        sys.exit("cross_misses: usage: cross_misses.py MODEL [WORLD_SEED] [UNIT_EPISODES]")
    numbers = argv[1:]
    try:
        seed, episodes = (int(x) for x in [*numbers, *DEFAULTS[len(numbers):]])
    except ValueError:
        sys.exit(f"cross_misses: WORLD_SEED and UNIT_EPISODES must be integers, "
                 f"got {' '.join(numbers)!r}")
    return argv[0], seed, episodes


def main(argv: list[str]) -> None:
    path, world_seed, episodes = arguments(argv)
    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = LTM.load(path).eval()
    langs = list(LANGS)
    for split in world.SPLITS:
        units = list(world.generate(episodes, world_seed, split=split))
        thoughts = cross_language_draw(units, 1000, split=split, langs=langs)
        with torch.no_grad():
            for a, b, _, said in said_across(model, thoughts, langs):
                report(f"{split} {a}->{b}", thoughts, said, b)


if __name__ == "__main__":
    main(sys.argv[1:])
