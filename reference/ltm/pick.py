"""The decoder's pick among a ``choice`` head's hypotheses (:meth:`ltm.model.LTM.pick`).

A ``choice`` head says ``K`` next thoughts; with ``FieldConfig.choice_pick`` set to
``decoder`` the model keeps the one whose greedy reading (:meth:`ThoughtDecoder.read`)
it writes most surely, in the language the thought will be said in. Two terms may
lower a reading's nats per byte: ``choice_roundtrip`` times the cosine of the
hypothesis and its reading encoded again, and ``critic_weight`` times the legality
critic's log-probability that the reading is legal (:mod:`ltm.critic`). With
``choice_branches`` N each hypothesis is also read at its N least sure places
(:meth:`ThoughtDecoder.branch`), every reading is scored alike, and a branched reading
that wins is encoded again to be the next thought.

The functions take the model (an :class:`ltm.model.LTM`) first; :meth:`LTM.pick` and
:meth:`LTM.pick_scores` are their public faces.

Shape legend: B rows · K hypotheses · N readings · Z thought dim · C context width.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ltm import novelty
from ltm.critic import recall
from ltm.readings import READING_SEARCH

__all__ = ["choose", "greedy_scores", "rescore", "judged", "choose_branched"]

_Lang = str | Sequence[str | None] | None  # one language, or one per row


@torch.no_grad()
def choose(model, candidates: Tensor, lang: _Lang, context: Tensor | None,
           current: Tensor | None, past: Tensor | None,
           past_mask: Tensor | None) -> Tensor:
    """:meth:`ltm.model.LTM.pick`: the best candidate of each row (B, Z), or with
    ``choice_branches`` the best reading's thought (:func:`choose_branched`)."""
    if model.config.field.choice_branches:
        return choose_branched(model, candidates, lang, context, current, past,
                               past_mask).to(candidates.device)
    best = _greedy(model, candidates, lang, context, current, past,
                   past_mask)[0].argmin(1)  # (B,)
    rows = torch.arange(len(candidates), device=candidates.device)
    return candidates[rows, best.to(candidates.device)]


@torch.no_grad()
def greedy_scores(model, candidates: Tensor, lang: _Lang, context: Tensor | None,
                  current: Tensor | None, past: Tensor | None,
                  past_mask: Tensor | None) -> tuple[Tensor, list[bytes], Tensor]:
    """:meth:`ltm.model.LTM.pick_scores` (B, K), with the greedy readings (B*K) it
    scored and the language ids (B*K,) they were read in."""
    return _greedy(model, candidates, lang, context, current, past, past_mask)[:3]


def _greedy(model, candidates: Tensor, lang: _Lang, context: Tensor | None,
            current: Tensor | None, past: Tensor | None, past_mask: Tensor | None
            ) -> tuple[Tensor, list[bytes], Tensor, list[list[str]] | None]:
    """:func:`greedy_scores`, and each row's past as the decoder says it (for a critic
    that reads words, else ``None``), for the branched readings to reuse."""
    B, K, Z = candidates.shape
    langs = [lang] * B if lang is None or isinstance(lang, str) else list(lang)
    if len(langs) != B:
        raise ValueError(f"got {len(langs)} languages for {B} rows")
    flat = candidates.reshape(B * K, Z).to(model.device)
    ids = model.lang_ids([x for x in langs for _ in range(K)], B * K)
    texts, score = model.decoder.read(flat, ids)
    told = None
    if judged(model, context, current) and model.critic.words:
        if past is None or past_mask is None:
            raise ValueError("this model's critic reads the past's words (critic_words > 0): "
                             "give past and past_mask")
        told = novelty.said(model.decoder, past.to(model.device), past_mask.to(model.device),
                            ids.view(B, K)[:, 0])
    if model.config.field.choice_roundtrip or judged(model, context, current):
        again = model.encode(texts).view(B, K, Z)
        score = rescore(model, score.view(B, K), candidates.to(model.device), again,
                        context, current, past, past_mask, texts, told)
    return score.view(B, K), texts, ids, told


def judged(model, context: Tensor | None, current: Tensor | None) -> bool:
    """Whether the pick asks the critic: the model has one and its inputs are given."""
    return model.critic is not None and context is not None and current is not None


def rescore(model, nats: Tensor, hypotheses: Tensor, readings: Tensor,
            context: Tensor | None, current: Tensor | None, past: Tensor | None,
            past_mask: Tensor | None, texts: Sequence[bytes] | None = None,
            told: Sequence[Sequence[str]] | None = None) -> Tensor:
    """The pick's score (N, k) of ``k`` readings per row from their nats (N, k): less
    ``choice_roundtrip`` times the cosine of each hypothesis (N, k, Z) and its reading
    encoded again (N, k, Z), less ``critic_weight`` times the critic's log-probability
    of legal (rows' ``context`` (N, C), ``current`` (N, Z) and, for a critic that reads
    the past, ``past`` (N, T, Z) and ``past_mask`` (N, T); for one that reads words,
    the readings' ``texts`` (N*k, row by row) and each row's past as said, ``told``
    (:func:`ltm.novelty.said`))."""
    field, device = model.config.field, model.device
    score = nats
    if field.choice_roundtrip:  # minus the cosine of each thought and its reading
        score = score - field.choice_roundtrip * (readings * hypotheses).sum(-1)
    if judged(model, context, current):  # minus the log-probability of legal
        critic, recalled = model.critic, None
        if critic.recall:
            if past is None or past_mask is None:
                raise ValueError("this model's critic reads the past (critic_recall > 0): "
                                 "give past and past_mask")
            recalled = recall(readings, past.to(device), past_mask.to(device), critic.recall)
        worded = None
        if critic.words:
            if texts is None or told is None:
                raise ValueError("this model's critic reads words (critic_words > 0): give "
                                 "the readings' texts and the past as said")
            worded = novelty.novelty([x.decode("utf-8", "replace") for x in texts], told,
                                     nats.shape[1], critic.words).to(device)
        logit = critic(context.to(device), current.to(device), hypotheses, readings, recalled,
                       worded)
        score = score - field.critic_weight * F.logsigmoid(logit.float())
    return score


@torch.no_grad()
def choose_branched(model, candidates: Tensor, lang: _Lang, context: Tensor | None,
                    current: Tensor | None, past: Tensor | None,
                    past_mask: Tensor | None) -> Tensor:
    """:func:`choose` with ``FieldConfig.choice_branches`` > 0: every greedy reading
    scored by :func:`greedy_scores`, every branched reading alike (its nats
    teacher-forced from its hypothesis); the best reading of each row wins, and its
    hypothesis is the next thought if it is a greedy reading, its encoding if not."""
    B, K, Z = candidates.shape
    device = model.device
    greedy, texts, ids, told = _greedy(model, candidates, lang, context, current, past,
                                       past_mask)  # (B, K), B*K, (B*K,), B or None
    flat = candidates.reshape(B * K, Z).to(device)
    rows, more = model.decoder.branch(flat, ids, texts, model.config.field.choice_branches,
                                      READING_SEARCH["min_logp"])
    best = greedy.argmin(1)  # (B,)
    out = candidates.to(device)[torch.arange(B, device=device), best].clone()
    if not rows:
        return out
    src = torch.tensor(rows, device=device)  # the hypothesis each reading branches
    n = src // K  # its row
    again = model.encode(more)  # (N, Z)
    of_row = lambda t: None if t is None else t.to(device)[n]  # noqa: E731
    score = rescore(model, model.decoder.nats(flat[src], ids[src], more)[:, None],
                    flat[src][:, None], again[:, None], of_row(context), of_row(current),
                    of_row(past), of_row(past_mask), more,
                    None if told is None else [told[int(b)] for b in n])[:, 0]
    top = greedy.gather(1, best[:, None])[:, 0].clone()  # (B,): each row's best so far
    for j in range(len(src)):  # a branched reading beats its row's best: it wins
        b = int(n[j])
        if score[j] < top[b]:
            top[b], out[b] = score[j], again[j]
    return out
