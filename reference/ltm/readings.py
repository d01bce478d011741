"""Readings: saying a thought several ways and keeping the one the encoder puts nearest.

The greedy reading of a thought misses mostly by one unsure choice early in a word (a
wrong filler, two roles swapped), and the encoder tells the meant thought from its
neighbours more surely than the greedy reading says it (``experiments/LOG.md``, sessions
19 and 28). So :meth:`ltm.model.LTM.decode_bytes` with ``readings`` > 1 says each thought
once (greedily unless asked otherwise), then searches (:func:`nearest_readings`): in each of a few rounds the nearest
reading so far is said again with another token (a byte, or the end) at its least sure
places (:meth:`ltm.codec.ThoughtDecoder.branch`), greedily after it, and a new reading
replaces it only if the encoder puts it strictly nearer the thought (by the dot product
of its encoding with the thought; of a meaning-only thought, whose surface part is zero,
only the meaning part counts).

Shape legend: B thoughts · Z thought dim.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["READING_SEARCH", "reading_rounds", "search_settings", "nearest_readings"]

READING_SEARCH = {"rounds": 2, "min_logp": -6.0}
"""How :meth:`ltm.model.LTM.decode_bytes` finds the readings after the first:
``rounds`` rounds, each branching the nearest reading so far at its least sure places
where the decoder's other choice has log-probability at least ``min_logp``
(:meth:`ltm.codec.ThoughtDecoder.branch`). Chosen on the seen meanings of a validation
world, where it was level with or ahead of the greedy reading plus 15 nucleus samples
(session 19's rule) on all but one row, in a fifth to a seventh of the time
(``experiments/LOG.md``, session 28)."""


def reading_rounds(readings: int, rounds: int | None = None) -> tuple[int, int]:
    """How :meth:`ltm.model.LTM.decode_bytes` spends ``readings`` (> 1) readings per
    thought: ``(rounds, branches per round)``, at most ``rounds`` rounds (default
    :data:`READING_SEARCH`'s)."""
    rounds = min(READING_SEARCH["rounds"] if rounds is None else rounds, readings - 1)
    return rounds, (readings - 1) // rounds


def search_settings(search: dict | None) -> dict:
    """:data:`READING_SEARCH` with the keys of ``search`` replaced; ``ValueError`` on an
    unknown key, fewer than one round, or a ``min_logp`` that is not a number."""
    unknown = set(search or {}) - set(READING_SEARCH)
    if unknown:
        raise ValueError(f"unknown reading search settings {sorted(unknown)}; known: "
                         f"{', '.join(READING_SEARCH)}")
    out = {**READING_SEARCH, **(search or {})}
    rounds = out["rounds"]
    if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 1:
        raise ValueError(f"search rounds must be an integer of at least 1, got {rounds!r}")
    low = out["min_logp"]
    if not isinstance(low, int | float) or isinstance(low, bool) or math.isnan(low):
        raise ValueError(f"search min_logp must be a number, got {low!r}")
    return out


def nearest_readings(model, vectors: Tensor, ids: Tensor, said: list[bytes], readings: int,
                     settings: dict, max_bytes: int | None = None) -> list[bytes]:
    """The reading of each thought (B, Z) that ``model`` (an :class:`ltm.model.LTM`)
    puts nearest it, starting from the readings ``said`` (one per thought, in the
    languages whose start ids are ``ids`` (B,)), with ``readings`` (> 1) readings per
    thought spent as :func:`reading_rounds` plans under ``settings`` (from
    :func:`search_settings`). A round after the first branches only the thoughts whose
    reading the round before replaced (the others would give the same readings again).
    ``said`` is not changed."""
    said = list(said)
    rounds, per_round = reading_rounds(readings, settings["rounds"])
    near = (model.encode(said).float() * vectors.float()).sum(-1).tolist()  # (B,)
    todo = list(range(len(said)))  # the thoughts to branch this round
    for _ in range(rounds):
        at = torch.tensor(todo, device=vectors.device)
        rows, more = model.decoder.branch(vectors[at], ids[at], [said[b] for b in todo],
                                          per_round, settings["min_logp"], max_bytes)
        if not rows:
            break
        scores = (model.encode(more).float() * vectors[at[rows]].float()).sum(-1)
        changed = set()
        for r, text, score in zip(rows, more, scores.tolist(), strict=True):
            if score > near[todo[r]]:
                said[todo[r]], near[todo[r]] = text, score
                changed.add(todo[r])
        todo = sorted(changed)
        if not todo:
            break
    return said
