"""The legality critic: which of a ``choice`` head's hypotheses can happen now.

A ``choice`` head says ``K`` next thoughts; the decoder's pick (:meth:`ltm.model.LTM.pick`)
keeps the one it reads most surely. On the PVQ world, at least one hypothesis is legal
in the true state at about 97% of transitions, yet the decoder's pick is legal at about
70% (``experiments/LOG.md``, session 20): a confident reading is well formed, not
necessarily possible. The critic is a small MLP that reads what the pick cannot: the
core's context state, the current thought, the hypothesis and its greedy reading encoded
again, and gives the log-odds that the reading is legal. The pick then scores each
hypothesis by its nats per byte minus ``FieldConfig.critic_weight`` times the critic's
log-probability of legal.

It is trained after the core (:func:`fit_critic`, the last stage of ``ltm fit``) on the
model's own hypotheses at the transitions of the training episodes, each labelled by
the world: does its greedy reading parse, and is the parsed frame legal in the state
the record carries before that thought (:func:`ltm.worldeval.judge_next`)? This is a
verifier in the sense of Cobbe et al. (2021), with the world's checker as the
labeller: the labels need frames and states, so the stage needs world data, and it
sees only the training episodes' meanings (never a held-out one).

Shape legend: N transitions · K hypotheses · C context width · Z thought dim.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from ltm import novelty
from ltm.pvq import Record

__all__ = ["Critic", "recall", "labelable", "label_transitions", "fit_critic"]


def recall(readings: Tensor, past: Tensor, mask: Tensor, span: int) -> Tensor:
    """What a critic with ``recall`` reads of the past: (N, K, span + 1), the cosine of
    each reading (N, K, Z) with each of the last ``span`` real thoughts of its row's past
    (N, T, Z; ``mask`` (N, T) marks them, left-aligned), the most recent first and 0
    where the past is shorter, then the largest cosine with any of them. Thoughts have
    unit norm, so a dot product is the cosine. Parameter-free: the comparison is the
    same for fillers never seen together in training."""
    N, K, _ = readings.shape
    length = mask.long().sum(1)  # (N,)
    cos = torch.einsum("nkz,ntz->nkt", readings.float(), past.float())  # (N, K, T)
    back = torch.arange(span, device=past.device)[None]  # (1, span): 0 is the latest
    at = (length[:, None] - 1 - back).clamp(0, max(past.shape[1] - 1, 0))  # (N, span)
    recent = cos.gather(2, at[:, None].expand(N, K, span))  # (N, K, span)
    recent = recent.masked_fill((back >= length[:, None])[:, None], 0.0)
    top = cos.masked_fill(~mask[:, None], -1.0).amax(2, keepdim=True) if cos.shape[2] \
        else cos.new_full((N, K, 1), -1.0)
    return torch.cat([recent, top], -1)


class Critic(nn.Module):
    """Log-odds (N, K) that each of ``K`` hypotheses is legal, from the context state
    (N, C), the current thought (N, Z), the hypotheses (N, K, Z) and their greedy
    readings encoded again (N, K, Z): a two-hidden-layer MLP of ``width``. With
    ``recall`` > 0 it also reads :func:`recall` of the readings against the past
    thoughts (``FieldConfig.critic_recall``), given as ``recalled`` (N, K, recall + 1).
    With ``words`` > 0 it also reads :func:`ltm.novelty.word_inputs` of each reading
    against the units said before (``FieldConfig.critic_words``), given as ``worded``
    (N, K, 2 * words + 1). With ``members`` > 1 it is that many such MLPs, initialised
    and trained apart (:func:`fit_critic`), whose log-odds are averaged
    (``FieldConfig.critic_members``)."""

    def __init__(self, context_dim: int, thought_dim: int, width: int, recall: int = 0,
                 members: int = 1, words: int = 0) -> None:
        super().__init__()
        if members < 1:
            raise ValueError(f"Critic: members must be at least 1, got {members!r}")
        self.recall, self.words = recall, words
        extra = (recall + 1 if recall else 0) + (novelty.width(words) if words else 0)
        inputs = context_dim + 3 * thought_dim + extra

        def mlp() -> nn.Sequential:
            return nn.Sequential(nn.Linear(inputs, width), nn.GELU(), nn.Linear(width, width),
                                 nn.GELU(), nn.Linear(width, 1))

        self.net = mlp()  # the first member (the only one, as shipped before members)
        self.others = nn.ModuleList(mlp() for _ in range(members - 1))

    @property
    def members(self) -> list[nn.Module]:
        """The member MLPs, the first one first."""
        return [self.net, *self.others]

    def inputs(self, context: Tensor, current: Tensor, hypotheses: Tensor,
               readings: Tensor, recalled: Tensor | None = None,
               worded: Tensor | None = None) -> Tensor:
        """What every member reads: (N, K, C + 3Z), then ``recall + 1`` more with
        ``recall`` and ``2 * words + 1`` more with ``words``."""
        N, K, _ = hypotheses.shape
        parts = [context[:, None].expand(N, K, -1), current[:, None].expand(N, K, -1),
                 hypotheses, readings]  # (N, K, C + 3Z)
        if self.recall:
            if recalled is None:
                raise ValueError("this critic reads the past (critic_recall > 0): give the "
                                 "readings' recall of the past thoughts")
            parts.append(recalled)
        if self.words:
            if worded is None:
                raise ValueError("this critic reads the past's words (critic_words > 0): "
                                 "give the readings' word inputs (ltm.novelty.novelty)")
            if worded.shape[-1] != novelty.width(self.words):
                raise ValueError(f"this critic reads {novelty.width(self.words)} word inputs "
                                 f"per reading (critic_words={self.words}), got "
                                 f"{worded.shape[-1]}")
            parts.append(worded.to(readings.device))
        return torch.cat([p.to(self.net[0].weight.dtype) for p in parts], -1)

    def forward(self, context: Tensor, current: Tensor, hypotheses: Tensor,
                readings: Tensor, recalled: Tensor | None = None,
                worded: Tensor | None = None) -> Tensor:
        x = self.inputs(context, current, hypotheses, readings, recalled, worded)
        return torch.stack([m(x)[..., 0] for m in self.members]).mean(0)


def _framed(record: Record, langs: Sequence[str]) -> list[str]:
    """The languages every thought of ``record`` is quoted in, if every thought has a
    frame and a state (else none: the record cannot be labelled)."""
    if len(record.thoughts) < 2 or any(t.frame is None or t.state is None
                                       for t in record.thoughts):
        return []
    return [x for x in langs if all(t.quotes.get(x) for t in record.thoughts)]


def labelable(records: Sequence[Record], langs: Sequence[str]) -> int:
    """How many of ``records`` the critic stage can label: episodes of two thoughts or
    more, each with a frame and a state, all quoted in one of ``langs``."""
    return sum(1 for r in records if _framed(r, langs))


@torch.no_grad()
def label_transitions(model, records: Sequence[Record], n: int, *, seed: int = 0,
                      episodes_per_batch: int = 1, hypotheses: int = 0,
                      deadline: float | None = None,
                      progress: bool = False) -> dict[str, Tensor]:
    """The critic's training set: up to ``n`` transitions of ``records`` (world episodes
    with frames and states), drawn in a seeded order, each said in a random language
    and random phrasings. For every transition ``t-1 -> t`` the model's core reads the
    true thoughts ``0..t-1``, the head says its hypotheses, the decoder reads each
    greedily in the episode's language, and the world labels the reading legal or not
    in the state before ``t``. Stops early at ``deadline`` (``time.perf_counter``), after
    one batch at least.
    One episode per batch is the default: since finished reads leave the decoder's
    batch, one to eight episodes per batch label about as many transitions a second
    on a CPU (``experiments/LOG.md``, session 22).
    With ``hypotheses`` ``k`` between 1 and ``K - 1``, only a seeded random ``k`` of each
    transition's ``K`` hypotheses are read and labelled (more transitions in the same
    time, though fewer than ``K / k`` times as many: the core's pass and the encoding of
    each episode cost the same; ``experiments/LOG.md``, session 23); 0 or ``K`` or
    more: all.

    Returns ``context`` (N, C), ``current`` (N, Z), ``hypotheses`` and ``readings``
    (N, k, Z), ``recall`` (N, k, R) (:func:`recall` of the readings against the
    thoughts ``0..t-1``, for a critic with ``recall``; R is 0 for one without),
    ``words`` (N, k, W) (:func:`ltm.novelty.novelty` of the readings against the
    decoder's greedy readings of the thoughts ``0..t-1``, for a critic with ``words``;
    W is 0 for one without),
    ``nats`` (N, k) (each reading's nats per byte, as the pick weighs them),
    ``legal`` (N, k) bool, and ``where`` (N, 2): the index in ``records`` of
    each transition's episode and its position ``t``. Raises ``ValueError`` when no record can be
    labelled."""
    from ltm.worldeval import judge_next  # here: worldeval imports the model side

    langs = list(model.config.codec.langs)
    usable = [(i, r, ls) for i, r in enumerate(records) if (ls := _framed(r, langs))]
    if not usable:
        raise ValueError("the critic stage needs world episodes whose thoughts have "
                         "frames and states; the training records have none")
    rng, draw = random.Random(f"critic:{seed}"), random.Random(f"critic-subset:{seed}")
    rng.shuffle(usable)
    parts: dict[str, list[Tensor]] = {k: [] for k in
                                      ("context", "current", "hypotheses", "readings",
                                       "recall", "words", "nats", "legal", "where")}
    count, bar = 0, tqdm(total=n, desc="critic labels", disable=not progress, leave=False)
    for i in range(0, len(usable), episodes_per_batch):
        if count >= n or (count and deadline is not None and time.perf_counter() >= deadline):
            break  # (one batch at least, however short the time)
        chunk = usable[i: i + episodes_per_batch]
        said = [rng.choice(ls) for _, _, ls in chunk]
        units = [[rng.choice(t.quotes[x]) for t in r.thoughts]
                 for (_, r, _), x in zip(chunk, said, strict=True)]
        z = model.encode([u for us in units for u in us])  # (sum T, Z)
        T = max(len(us) for us in units)
        past = z.new_zeros(len(chunk), T, z.shape[1])
        mask = torch.zeros(len(chunk), T, dtype=torch.bool, device=z.device)
        start = 0
        for b, us in enumerate(units):
            past[b, : len(us)], mask[b, : len(us)] = z[start: start + len(us)], True
            start += len(us)
        context, _ = model.core(past, mask)  # (B, T, C)
        where = [(b, t) for b, us in enumerate(units) for t in range(1, len(us))]
        where = where[: n - count]
        rows = torch.tensor([b for b, _ in where], device=z.device)
        cols = torch.tensor([t - 1 for _, t in where], device=z.device)
        ctx, cur = context[rows, cols], past[rows, cols]  # (N, C), (N, Z)
        hyps = model.head.hypotheses(ctx, cur)  # (N, K, Z)
        if 0 < hypotheses < hyps.shape[1]:  # a random k of the K, per transition
            pick = torch.tensor([sorted(draw.sample(range(hyps.shape[1]), hypotheses))
                                 for _ in where], device=hyps.device)  # (N, k)
            hyps = hyps.gather(1, pick[..., None].expand(-1, -1, hyps.shape[2]))
        N, K, Z = hyps.shape
        langs_nk = [said[b] for b, _ in where for _ in range(K)]
        texts, nats = model.decoder.read(hyps.reshape(N * K, Z), model.lang_ids(langs_nk, N * K))
        readings = model.encode(texts).view(N, K, Z)
        span = model.critic.recall if model.critic is not None else 0
        recalled = (recall(readings, past[rows], torch.arange(T, device=z.device)[None]
                           <= cols[:, None], span) if span else readings.new_zeros(N, K, 0))
        nw = model.critic.words if model.critic is not None else 0
        if nw:  # each reading's words against the units said before it
            told = novelty.said(model.decoder, past, mask, model.lang_ids(said, len(chunk)))
            worded = novelty.novelty([x.decode("utf-8", "replace") for x in texts],
                                     [told[b][:t] for b, t in where], K, nw)
        else:
            worded = readings.new_zeros(N, K, 0)
        legal = torch.tensor([[judge_next(chunk[b][1], t,
                                          texts[j * K + k].decode("utf-8", "replace"),
                                          said[b])[1] for k in range(K)]
                              for j, (b, t) in enumerate(where)])
        at = torch.tensor([[chunk[b][0], t] for b, t in where])  # (N, 2)
        for key, value in (("context", ctx), ("current", cur), ("hypotheses", hyps),
                           ("readings", readings), ("recall", recalled), ("words", worded),
                           ("nats", nats.view(N, K)), ("legal", legal), ("where", at)):
            parts[key].append(value.float().cpu() if key not in ("legal", "where") else value)
        count += N
        bar.update(N)
    bar.close()
    return {k: torch.cat(v) for k, v in parts.items()}


def fit_critic(model, records: Sequence[Record], *, transitions: int, epochs: int,
               seconds: float | None = None, seed: int = 0, batch: int = 512,
               lr: float = 1e-3, hypotheses: int = 0, label_share: float = 0.85,
               progress: bool = False) -> dict[str, float]:
    """Train ``model.critic`` (the rest of the model frozen) on ``transitions`` labelled
    transitions of ``records`` (:func:`label_transitions`, reading ``hypotheses`` of each
    transition's hypotheses, 0: all) for ``epochs`` passes, by binary cross-entropy per
    hypothesis. Each member of the critic (``Critic.members``) is trained apart, on its
    own seeded order of the pairs (member ``j`` draws with ``seed + j``), all in one
    pass per batch. With ``seconds``, labelling stops at ``label_share`` (in (0, 1)) of
    that budget and training at all of it, checked after every batch; the first epoch
    always runs whole, so the critic is never left untrained. Returns a summary:
    transitions and pairs labelled, the share of legal hypotheses, epochs run, the last
    epoch's loss and accuracy (averaged over the members and the pairs it ran; the last
    epoch may stop short), and the seconds spent."""
    if model.critic is None:
        raise ValueError("this LTM has no critic (FieldConfig.critic_width is 0)")
    if not 0.0 < label_share < 1.0:
        raise ValueError(f"fit_critic: label_share must be in (0, 1), got {label_share!r}")
    start = time.perf_counter()
    deadline = None if seconds is None else start + seconds
    was_training = model.training
    model.eval()
    data = label_transitions(model, records, transitions, seed=seed, progress=progress,
                             hypotheses=hypotheses,
                             deadline=None if seconds is None else start + label_share * seconds)
    labelled = time.perf_counter()
    critic = model.critic
    members = critic.members
    gens = [torch.Generator().manual_seed(seed + j) for j in range(len(members))]
    critic.train().requires_grad_(True)
    opt = torch.optim.AdamW(critic.parameters(), lr=lr, weight_decay=0.01)
    N, K = data["legal"].shape
    target = data["legal"].reshape(-1).float()
    done, loss_sum, hits, last_seen = 0, 0.0, 0, 0
    late = lambda: deadline is not None and time.perf_counter() >= deadline  # noqa: E731
    for _ in tqdm(range(epochs), desc="critic", disable=not progress, leave=False):
        if done and late():
            break
        run_loss, run_hits, seen = 0.0, 0, 0  # this epoch's
        orders = [torch.randperm(N * K, generator=g).split(batch) for g in gens]
        for step in zip(*orders, strict=True):  # one batch per member, its own order
            if done and late():
                break  # mid-epoch: the summary reads the batches this epoch ran
            loss = 0.0
            for member, idx in zip(members, step, strict=True):
                n, k = idx // K, idx % K
                x = critic.inputs(data["context"][n], data["current"][n],
                                  data["hypotheses"][n, k][:, None],
                                  data["readings"][n, k][:, None],
                                  data["recall"][n, k][:, None],
                                  data["words"][n, k][:, None])
                logit = member(x)[:, 0, 0]
                part = F.binary_cross_entropy_with_logits(logit, target[idx])
                loss = loss + part  # the members share no weight: each gets its own gradient
                run_loss += part.item() * len(idx)
                run_hits += ((logit > 0).float() == target[idx]).sum().item()
                seen += len(idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if seen:  # the summary reads the last epoch that ran a batch (whole or not)
            done, loss_sum, hits, last_seen = done + 1, run_loss, run_hits, seen
    critic.requires_grad_(False).eval()
    model.train(was_training)
    last = (lambda v: v / last_seen) if done else (lambda v: float("nan"))
    return {"transitions": N, "pairs": N * K, "legal_share": float(target.mean()),
            "members": len(members), "epochs": done, "loss": last(loss_sum),
            "accuracy": last(hits), "label_seconds": round(labelled - start, 3),
            "seconds": round(time.perf_counter() - start, 3)}
