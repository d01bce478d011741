"""The metrics of the paper, as pure functions (no model, no I/O).

DESIGN.md section 5 and issue 4 ("one harness for every model"). Every number the
evaluation scripts report is one of these functions applied to what a model wrote or
embedded, so each is written once, stated as a formula in its docstring, and checked
on hand-made cases with known answers (``tests/test_metrics.py``):

- :func:`recall_at_k`: retrieval by vector (paraphrases, English <-> Russian);
- :func:`rouge_l`: next-unit overlap with the reference (Lin, 2004);
- :func:`distinct_n`: diversity of generated text;
- :func:`bits_per_byte`: the compression view of prediction;
- :func:`exact_match`: the share of outputs equal to their reference;
- :func:`byte_accuracy`: how close a reconstruction comes, byte by byte;
- :func:`collapse_rate`: how often a vector predictor repeats the last thought or
  "predicts the average" (the failure of plain regression that LCM reports).

Arrays may be numpy arrays or torch tensors; everything is computed in float64 numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["recall_at_k", "rouge_l", "distinct_n", "bits_per_byte", "exact_match",
           "byte_accuracy", "collapse_rate"]


def _array(x, name: str, ndim: int) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().float().cpu().numpy()
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {a.shape}")
    return a


def _unit_rows(a: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(a, axis=-1, keepdims=True)
    return a / np.maximum(norms, 1e-12)


def recall_at_k(queries, keys, k: int = 1) -> float:
    """Share of queries whose own key is among their ``k`` nearest keys by cosine.

    Row ``i`` of ``queries`` (N, Z) belongs with row ``i`` of ``keys`` (N, Z). With
    ``s_ij = cos(q_i, k_j)`` and the rank ``r_i = #{j != i : s_ij >= s_ii}``,

        recall@k = (1/N) * sum_i [r_i < k]

    Ties count against the query (``>=``), so a model that maps everything to one
    vector scores 0 for ``N > k``, never 1.
    """
    q, key = _array(queries, "queries", 2), _array(keys, "keys", 2)
    if q.shape != key.shape or len(q) == 0:
        raise ValueError(f"queries and keys must be equal non-empty (N, Z), got {q.shape} "
                         f"and {key.shape}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k!r}")
    sims = _unit_rows(q) @ _unit_rows(key).T  # (N, N)
    own = np.diag(sims)[:, None]  # (N, 1)
    rank = (sims >= own).sum(axis=1) - 1  # the diagonal itself always counts once
    return float((rank < k).mean())


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(candidate: str, reference: str, beta: float = 1.0) -> float:
    """ROUGE-L F-measure of one candidate against one reference (Lin, 2004).

    C. Lin, "ROUGE: A Package for Automatic Evaluation of Summaries", ACL Workshop
    Text Summarization Branches Out, 2004, section 3.1. On whitespace tokens, with
    ``LCS`` the length of their longest common subsequence,

        P = LCS / |candidate|,  R = LCS / |reference|,
        F = (1 + beta^2) P R / (R + beta^2 P)

    ``beta = 1`` (the default, as in the ``rouge-score`` package) is the harmonic mean.
    Two empty texts score 1.0; one empty text scores 0.0. No stemming, case kept.
    """
    c, r = candidate.split(), reference.split()
    if not c and not r:
        return 1.0
    lcs = _lcs(c, r)
    if lcs == 0:
        return 0.0
    p, rec = lcs / len(c), lcs / len(r)
    return (1 + beta**2) * p * rec / (rec + beta**2 * p)


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct n-grams over all n-grams, pooled over ``texts`` (Li et al., 2016).

    Tokens are whitespace-separated; n-grams never cross text boundaries:

        distinct-n = |{ n-grams of all texts }| / sum_texts (tokens - n + 1)^+

    0.0 when the texts hold no n-gram at all.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n!r}")
    if isinstance(texts, str):
        raise ValueError("texts must be a sequence of strings, not one string")
    seen: set[tuple[str, ...]] = set()
    total = 0
    for text in texts:
        tokens = text.split()
        grams = [tuple(tokens[i: i + n]) for i in range(len(tokens) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 0.0


def bits_per_byte(total_nats: float, total_bytes: int) -> float:
    """Cross-entropy in bits per byte from a summed natural-log loss:

        bpb = total_nats / (total_bytes * ln 2)

    A model that puts probability 1/256 on every byte has ``total_nats = n ln 256`` and
    scores exactly 8.0. Count the end-of-unit symbol in ``total_nats`` if the model
    predicts one, and say so beside the number.
    """
    if total_bytes <= 0:
        raise ValueError(f"total_bytes must be > 0, got {total_bytes!r}")
    return float(total_nats) / (total_bytes * math.log(2))


def exact_match(preds: Sequence, refs: Sequence) -> float:
    """Share of positions where the prediction equals the reference:
    ``(1/N) sum_i [pred_i == ref_i]`` (strings compared exactly, frames as dicts)."""
    if len(preds) != len(refs):
        raise ValueError(f"got {len(preds)} predictions for {len(refs)} references")
    if not refs:
        raise ValueError("exact_match needs at least one reference")
    return sum(p == r for p, r in zip(preds, refs, strict=True)) / len(refs)


def byte_accuracy(preds: Sequence[str | bytes], refs: Sequence[str | bytes]) -> float:
    """Position-wise byte agreement of generated units with their references (UTF-8):

        acc = sum_i #{j < min(|p_i|, |r_i|) : p_ij = r_ij} / sum_i max(|p_i|, |r_i|)

    so a missing or extra byte costs one position and a shifted tail costs all of it.
    1.0 exactly when every unit matches; two empty lists of units raise ``ValueError``.
    """
    if len(preds) != len(refs):
        raise ValueError(f"got {len(preds)} predictions for {len(refs)} references")
    hits = total = 0
    for p, r in zip(preds, refs, strict=True):
        p = p.encode("utf-8") if isinstance(p, str) else bytes(p)
        r = r.encode("utf-8") if isinstance(r, str) else bytes(r)
        hits += sum(a == b for a, b in zip(p, r, strict=False))
        total += max(len(p), len(r))
    if not refs:
        raise ValueError("byte_accuracy needs at least one reference")
    return hits / total if total else 1.0


def collapse_rate(generated, previous, candidates: Sequence, tol: float = 1e-4) -> float:
    """Share of generated thoughts that repeat the previous one or sit at the mean.

    For each item ``i``: ``g_i`` the generated thought (Z,), ``p_i`` the thought before
    it (Z,), and ``C_i`` (M_i, Z) the plausible next thoughts (for example the true
    next thoughts of all continuations of the same past, or of every legal next frame).
    Item ``i`` *collapsed* when

        cos(g_i, p_i) >= 1 - tol                                 (a repeat), or
        cos(g_i, mean_j C_ij) > max_j cos(g_i, C_ij)              (the average)

    that is, when it says the last thought again, or lies closer to the average of the
    candidates than to any real one; ``collapse = (1/N) sum_i [collapsed_i]``. With
    one candidate the mean is the candidate, so only repeats count.
    """
    g, p = _array(generated, "generated", 2), _array(previous, "previous", 2)
    if g.shape != p.shape or len(g) == 0:
        raise ValueError(f"generated and previous must be equal non-empty (N, Z), got "
                         f"{g.shape} and {p.shape}")
    if len(candidates) != len(g):
        raise ValueError(f"got {len(candidates)} candidate sets for {len(g)} thoughts")
    g, p = _unit_rows(g), _unit_rows(p)
    collapsed = 0
    for i, cand in enumerate(candidates):
        c = _array(cand, f"candidates[{i}]", 2)  # (M, Z)
        if len(c) == 0 or c.shape[1] != g.shape[1]:
            raise ValueError(f"candidates[{i}] must be non-empty (M, {g.shape[1]}), "
                             f"got {c.shape}")
        repeat = float(g[i] @ p[i]) >= 1 - tol
        to_mean = float(_unit_rows(c.mean(0)) @ g[i])
        to_best = float((_unit_rows(c) @ g[i]).max())
        collapsed += repeat or to_mean > to_best + 1e-12
    return collapsed / len(g)
