"""Which words of a reading the episode has not said before: a critic's word inputs.

A next thought that names something the episode never set up ("Ivan wanted the
candle." where no candle was mentioned, "Maria wanted the book." where Maria is not in
the scene) is the commonest confident miss of the legality critic on held-out meanings
(``experiments/LOG.md``, session 33). A whole-thought cosine with the past
(:func:`ltm.critic.recall`) cannot tell whether one filler is new; a look at the words
can, and the look is the same whichever fillers were seen together in training.

:func:`word_inputs` compares a reading with the units said before it: its words
(``\\w+``, lowercased, of three letters or more, cut to their first :data:`STEM`
characters, so that the Russian "Максим" and "Максиму" are one word) are each new or
not, and if not, how recently said. Parameter-free and the same for any language that
writes words apart. With ``FieldConfig.critic_words`` N the critic reads
``2 * N + 1`` such numbers per reading (:func:`width`); the units said before are the
decoder's greedy readings of the past thoughts (:func:`said`), so the model reads its
own past in words the way it says it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["STEM", "stems", "width", "word_inputs", "novelty", "said"]

STEM = 4
"""Characters of a word that count: enough to tell this world's fillers apart, few
enough that a Russian word's endings do not."""
_WORD = re.compile(r"\w+")


def stems(text: str) -> list[str]:
    """The words of ``text`` (``\\w+``: letters, digits and ``_``) of three characters or
    more, lowercased and cut to :data:`STEM` characters, in order."""
    return [w[:STEM] for w in _WORD.findall(text.lower()) if len(w) >= 3]


def width(n: int) -> int:
    """How many numbers :func:`word_inputs` gives for ``n`` words: ``2 * n + 1``."""
    return 2 * n + 1


def word_inputs(reading: str, past: Sequence[str], n: int) -> list[float]:
    """A reading against the units said before it (``past``, oldest first):
    for each of its first ``n`` words (:func:`stems`), 1 if no unit of ``past`` has
    said it, else 0; then for each the recency of its last saying, ``1 / k`` where
    ``k`` units back said it last (1: the latest unit), 0 if none did; then the share of
    all its words that are new (0 for a reading of no words). Words past the ``n``-th
    count only in the share; missing ones read 0."""
    last: dict[str, int] = {}
    for i, unit in enumerate(past):
        for s in stems(unit):
            last[s] = i
    ws = stems(reading)
    new = [0.0 if s in last else 1.0 for s in ws]
    near = [1.0 / (len(past) - last[s]) if s in last else 0.0 for s in ws]
    pad = [0.0] * n
    return (new + pad)[:n] + (near + pad)[:n] + [sum(new) / max(len(new), 1)]


def novelty(readings: Sequence[str], pasts: Sequence[Sequence[str]], k: int,
            n: int) -> Tensor:
    """:func:`word_inputs` of ``N * k`` readings, ``k`` per row in order, each row's
    against its own past (``pasts``, N lists of units): (N, k, :func:`width` (n))."""
    if len(readings) != len(pasts) * k:
        raise ValueError(f"novelty: {len(readings)} readings for {len(pasts)} rows of {k}")
    return torch.tensor([[word_inputs(readings[j * k + i], past, n) for i in range(k)]
                         for j, past in enumerate(pasts)], dtype=torch.float32).view(
        len(pasts), k, width(n))


@torch.no_grad()
def said(decoder, past: Tensor, mask: Tensor, lang_ids: Tensor) -> list[list[str]]:
    """Each row's past thoughts (N, T, Z; ``mask`` (N, T) marks them) as the ``decoder``
    says them greedily in the row's language (``lang_ids`` (N,)): N lists of units,
    oldest first. A thought shared by several rows (the positions of one episode) is
    read once per language. ``mask`` and ``lang_ids`` are on ``past``'s device."""
    N, T, Z = past.shape
    rows, cols = torch.nonzero(mask, as_tuple=True)
    if not len(rows):
        return [[] for _ in range(N)]
    keys = torch.cat([past[rows, cols].float(), lang_ids[rows, None].float()], 1)
    unique, inverse = torch.unique(keys, dim=0, return_inverse=True)
    texts, _ = decoder.read(unique[:, :Z].to(past.dtype), unique[:, Z].long())
    out: list[list[str]] = [[] for _ in range(N)]
    for r, u in zip(rows.tolist(), inverse.tolist(), strict=True):
        out[r].append(texts[u].decode("utf-8", "replace"))
    return out
