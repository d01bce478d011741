"""Training data from PVQ files: thought groups for the codec, episodes for the core.

DESIGN.md section 3 (training) and section 4 (data). Two views of one PVQ file:

- **Thought groups** (codec stage): every thought that has quotes, top level and
  children, as ``{lang: (quote, ...)}`` with the canonical phrasing first (the world
  lists phrasing 0 first). Groups with the same quotes are one group (the world repeats
  meanings across episodes), so one batch never holds a meaning twice and the
  alignment loss never meets a false negative. A batch draws ``G`` groups (uniformly
  over the distinct groups, or a share of them by how often each occurs,
  :attr:`~ltm.train_config.TrainConfig.codec_occurrence`) and, for each, one random phrasing
  per language (two phrasings when the group has one
  language only, so it still has a partner to align with); every row also carries the
  canonical quote of the group's *next* language, the target of cross-language
  decoding from the meaning part.
- **Episodes** (core stage): each record's top-level thoughts, said in one language
  per episode (random among those every thought has), one random phrasing per
  thought, right-padded with a mask.

Split: a record is validation when a hash of its id falls under
:attr:`~ltm.train_config.TrainConfig.val_fraction` (stable across runs and machines); world
episodes with a held-out meaning (:func:`ltm.pvq.world.meaning_split`) are left out of
training when asked. Batch ``k`` is a pure function of ``(seed, k)``
(:class:`StepBatches`), so a run resumed at step ``k`` sees exactly the batches an
uninterrupted run would; validation is one fixed batch of canonical quotes.

Shape legend: B rows (quotes) or episodes · T thoughts · L bytes · N real units.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, IterableDataset

from ltm.codec import pack
from ltm.config import LTMConfig
from ltm.pvq import Record, iter_records, walk
from ltm.roles import RoleVocab, build_vocab, role_targets
from ltm.worldaids import Group, group_key, with_twins, world_meanings, world_twins

__all__ = ["BUCKET", "Group", "is_validation", "split_records", "framed_groups",
           "thought_groups", "occurrences", "kept_episodes", "episodes",
           "episode_states", "bucketed_rows",
           "collate_groups", "collate_episodes", "StepBatches", "PVQDataModule"]

BUCKET = 16
"""Codec steps per length bucket block (see :meth:`PVQDataModule.codec_groups`)."""


def is_validation(record_id: str, fraction: float) -> bool:
    """Whether a record belongs to validation: a SHA-1 hash of its id, as a number in
    [0, 1), falls under ``fraction``."""
    h = int.from_bytes(hashlib.sha1(record_id.encode("utf-8")).digest()[:8], "big")
    return h / 2**64 < fraction


def split_records(records: Sequence[Record], val_fraction: float,
                  exclude_heldout: bool) -> tuple[list[Record], list[Record]]:
    """(train, validation) records; with ``exclude_heldout`` no train record holds a
    meaning of the world's held-out split (records without frames are never held out)."""
    from ltm.pvq.world import record_split

    train, val = [], []
    for r in records:
        if is_validation(r.id, val_fraction):
            val.append(r)
        elif not (exclude_heldout and record_split(r) == "heldout"):
            train.append(r)
    return train, val


def _group(quotes: dict[str, tuple[str, ...]], langs: Sequence[str]) -> Group:
    return {lang: tuple(quotes[lang]) for lang in langs if quotes.get(lang)}


def _quoted(records: Sequence[Record],
            langs: Sequence[str]) -> Iterator[tuple[tuple, Group, dict[str, str] | None]]:
    """``(key, group, frame)`` of every thought of ``records`` with a quote in ``langs``,
    children included, in order; equal quotes give equal keys."""
    for r in records:
        for t in walk(r.thoughts):
            g = _group(t.quotes, langs)
            if g:
                yield group_key(g), g, t.frame


def framed_groups(records: Sequence[Record],
                  langs: Sequence[str]) -> list[tuple[Group, dict[str, str] | None]]:
    """Distinct thought groups (in order of first appearance) of every thought, children
    included, restricted to the codec's languages, each with the frame of its first
    thought (``None`` where the data give none); thoughts with no quote are skipped."""
    seen: dict[tuple, tuple[Group, dict[str, str] | None]] = {}
    for key, g, frame in _quoted(records, langs):
        seen.setdefault(key, (g, frame))
    return list(seen.values())


def occurrences(records: Sequence[Record], groups: Sequence[Group],
                langs: Sequence[str]) -> list[int]:
    """How often each of ``groups`` (from :func:`framed_groups` of the same records)
    occurs in ``records``, children included: the count a reader meets it."""
    counts = Counter(key for key, _, _ in _quoted(records, langs))
    return [counts[group_key(g)] for g in groups]


def thought_groups(records: Sequence[Record], langs: Sequence[str]) -> list[Group]:
    """The groups of :func:`framed_groups` without their frames."""
    return [g for g, _ in framed_groups(records, langs)]


def kept_episodes(records: Sequence[Record], langs: Sequence[str],
                  max_thoughts: int) -> list[tuple[Record, list[Group]]]:
    """Each record's top-level thoughts (at most ``max_thoughts``) as groups, beside its
    record; an episode is kept when at least one language quotes every one of its
    thoughts."""
    out = []
    for r in records:
        ep = [_group(t.quotes, langs) for t in r.thoughts[:max_thoughts]]
        if ep and set.intersection(*(set(g) for g in ep)):
            out.append((r, ep))
    return out


def episodes(records: Sequence[Record], langs: Sequence[str],
             max_thoughts: int) -> list[list[Group]]:
    """The groups of :func:`kept_episodes`."""
    return [ep for _, ep in kept_episodes(records, langs, max_thoughts)]


def episode_states(record: Record, n: int) -> list[dict[str, str] | None]:
    """The world state after each of the first ``n`` thoughts of ``record`` (``None``
    where the data give none): the targets of the state supervision
    (:attr:`~ltm.train_config.TrainConfig.w_state`)."""
    return [t.state for t in record.thoughts[:n]]


def _draw(rng: random.Random, n: int, k: int, weights: Sequence[float] | None,
          share: float) -> list[int]:
    """``k`` distinct indices of ``range(n)``: ``round(share * k)`` of them drawn with
    probability in proportion to ``weights`` (without replacement, by the keys
    ``u ** (1 / w)`` of Efraimidis and Spirakis, 2006), the rest uniformly from the
    others. Without weights or share, exactly ``rng.sample(range(n), k)``."""
    m = round(share * k) if weights is not None else 0
    if m == 0:
        return rng.sample(range(n), k)
    keys = [rng.random() ** (1.0 / w) if w > 0 else 0.0 for w in weights]
    heavy = sorted(range(n), key=keys.__getitem__, reverse=True)[:m]
    taken = set(heavy)
    rest = [i for i in range(n) if i not in taken]
    return heavy + rng.sample(rest, k - m)


def bucketed_rows(groups: Sequence[Group], size: int, key: str, step: int,
                  weights: Sequence[float] | None = None, share: float = 0.0) -> list[int]:
    """``size`` distinct indices into ``groups`` for step ``step``, bucketed by length.

    Steps come in blocks of :data:`BUCKET`: a block draws ``BUCKET * size`` groups
    (seeded by ``key`` and the block), sorts them by their longest quote and cuts them
    into batches taken in a shuffled order, so short units are not padded to the longest
    of the block. With fewer than ``BUCKET * size`` groups, one plain draw per step.
    With ``weights`` (one per group) and a ``share`` > 0, that share of each draw is
    taken in proportion to the weights, the rest uniformly (:attr:`~ltm.config.
    TrainConfig.codec_occurrence`); the groups of a draw stay distinct."""
    block, k = divmod(step, BUCKET)
    G, n = min(size, len(groups)), len(groups)
    if weights is not None and len(weights) != n:
        raise ValueError(f"got {len(weights)} weights for {n} groups")
    if n < BUCKET * G:  # too few groups to bucket: one draw per step
        return _draw(random.Random(f"{key}:{step}"), n, G, weights, share)
    rng = random.Random(f"{key}:{block}")
    drawn = _draw(rng, n, BUCKET * G, weights, share)  # distinct: no false negatives
    drawn.sort(key=lambda i: max(len(q) for qs in groups[i].values() for q in qs))
    order = list(range(BUCKET))
    rng.shuffle(order)
    return drawn[order[k] * G: (order[k] + 1) * G]


def _pick(quotes: tuple[str, ...], rng: random.Random | None) -> str:
    return quotes[rng.randrange(len(quotes))] if rng is not None else quotes[0]


def collate_groups(groups: Sequence[Group], cfg: LTMConfig, rng: random.Random | None,
                   frames: Sequence[dict[str, str] | None] | None = None,
                   vocab: RoleVocab | None = None) -> dict[str, torch.Tensor]:
    """One codec batch. ``rng`` picks the phrasings; ``None`` takes the canonical ones.

    Returns ``ids`` (B, L), ``lengths`` (B,), ``group`` (B,), ``lang`` (B,) start ids,
    and for the rows whose group has another language: ``cross_rows`` (C,) their
    indices, ``cross_ids`` (C, L'), ``cross_lengths`` (C,), ``cross_lang`` (C,): the
    canonical quote of the group's next language; ``phrasing`` (B,): each row's place in
    its group's quotes of its language (the teacher's surface code, :mod:`ltm.teacher`).
    With ``frames`` (one per group) and a role ``vocab``, also ``roles`` (B, R):
    :func:`ltm.roles.role_targets` of each row."""
    codec = cfg.codec
    texts, group, lang, cross_rows, cross_texts, cross_lang = [], [], [], [], [], []
    phrasing = []
    for gi, g in enumerate(groups):
        ls = [x for x in codec.langs if x in g]
        rows = [(x, _pick(g[x], rng)) for x in ls]
        if len(ls) == 1 and len(g[ls[0]]) > 1:  # one language: two phrasings to align
            other = [q for q in g[ls[0]] if q != rows[0][1]]
            rows.append((ls[0], _pick(tuple(other), rng)))
        for x, text in rows:
            if len(ls) > 1:
                nxt = ls[(ls.index(x) + 1) % len(ls)]
                cross_rows.append(len(texts))
                cross_texts.append(g[nxt][0])
                cross_lang.append(codec.lang_id(nxt))
            texts.append(text)
            phrasing.append(g[x].index(text))
            group.append(gi)
            lang.append(codec.lang_id(x))
    ids, lengths = pack(texts, codec.max_bytes)
    cross_ids, cross_lengths = pack(cross_texts, codec.max_bytes)
    out = {"ids": ids, "lengths": lengths, "group": torch.tensor(group),
           "lang": torch.tensor(lang), "cross_rows": torch.tensor(cross_rows, dtype=torch.long),
           "cross_ids": cross_ids, "cross_lengths": cross_lengths,
           "cross_lang": torch.tensor(cross_lang, dtype=torch.long),
           "phrasing": torch.tensor(phrasing, dtype=torch.long)}
    if frames is not None and vocab:
        out["roles"] = role_targets([frames[gi] for gi in group], vocab)
    return out


def collate_episodes(eps: Sequence[list[Group]], cfg: LTMConfig,
                     rng: random.Random | None,
                     states: Sequence[list[dict[str, str] | None]] | None = None,
                     vocab: RoleVocab | None = None) -> dict[str, torch.Tensor]:
    """One core batch. ``rng`` picks each episode's language and each thought's
    phrasing; ``None`` takes the first language and the canonical phrasings.

    Returns ``ids`` (N, L) and ``lengths`` (N,) of the real units in row-major order of
    ``mask`` (B, T), and ``lang`` (B,) start ids. With ``states`` (one per episode, one
    per thought: :func:`episode_states`) and their key ``vocab``, also ``state`` (N, K):
    :func:`ltm.roles.role_targets` of each unit's state, in the same order."""
    codec = cfg.codec
    T = max(len(ep) for ep in eps)
    mask = torch.zeros(len(eps), T, dtype=torch.bool)
    texts, lang = [], []
    for b, ep in enumerate(eps):
        common = [x for x in codec.langs if all(x in g for g in ep)]
        x = common[rng.randrange(len(common))] if rng is not None else common[0]
        texts += [_pick(g[x], rng) for g in ep]
        mask[b, : len(ep)] = True
        lang.append(codec.lang_id(x))
    ids, lengths = pack(texts, codec.max_bytes)
    out = {"ids": ids, "lengths": lengths, "mask": mask, "lang": torch.tensor(lang)}
    if states is not None and vocab:
        out["state"] = role_targets([s for st in states for s in st], vocab)
    return out


class StepBatches(IterableDataset):
    """An endless stream of batches where batch ``k`` is ``make(k)``; iteration starts
    at ``start()``, read when the first batch is drawn (after a checkpoint is restored),
    so a resumed run continues the very same stream."""

    def __init__(self, make: Callable[[int], dict], start: Callable[[], int]) -> None:
        self.make, self.start = make, start

    def __iter__(self) -> Iterator[dict]:
        k = self.start()
        while True:
            yield self.make(k)
            k += 1


class PVQDataModule(L.LightningDataModule):
    """Thought groups and episodes of one PVQ file, split by record id.

    ``exclude_heldout`` overrides :attr:`~ltm.train_config.TrainConfig.exclude_heldout`."""

    def __init__(self, path: str | Path, config: LTMConfig,
                 exclude_heldout: bool | None = None) -> None:
        super().__init__()
        self.path, self.config = Path(path), config
        tc = config.train
        self.exclude_heldout = tc.exclude_heldout if exclude_heldout is None else exclude_heldout
        self.groups: list[Group] = []
        self.frames: list[dict[str, str] | None] = []
        """The frame of each of :attr:`groups` (``None`` where the data give none)."""
        self.roles: RoleVocab = {}
        """Role vocabulary of the training frames (:mod:`ltm.roles`); empty without."""
        self.phrasings = 0
        """Most quotes any training group has in one language (the teacher's surface
        codes, :mod:`ltm.teacher`)."""
        self.counts: list[int] | None = None
        """How often each of :attr:`groups` occurs in the training records (only with
        :attr:`~ltm.train_config.TrainConfig.codec_occurrence`)."""
        self.episodes: list[list[Group]] = []
        self.states: list[list[dict[str, str] | None]] = []
        """With :attr:`~ltm.train_config.TrainConfig.w_state`: the state after each thought of
        each of :attr:`episodes` (:func:`episode_states`); else empty."""
        self.state_vocab: RoleVocab = {}
        """Key vocabulary of :attr:`states` (:func:`ltm.roles.build_vocab`); empty
        without."""
        self.meanings: list[tuple[Group, dict[str, str]]] = []
        """With :attr:`~ltm.train_config.TrainConfig.teacher_meanings`: every train-side meaning
        of the world as ``(group, frame)`` (:func:`ltm.worldaids.world_meanings`); else empty."""
        self.twins: list[tuple[Group, dict[str, str]] | None] = []
        """With :attr:`~ltm.train_config.TrainConfig.codec_twins`: each of :attr:`groups`'
        twin as ``(group, frame)``, or ``None`` (:func:`ltm.worldaids.world_twins`); else empty."""
        self.val_batch: dict[str, dict] | None = None

    def setup(self, stage: str | None = None) -> None:
        """Read the file once and build the train pools and the fixed validation batch."""
        if self.val_batch is not None:
            return
        cfg, tc = self.config, self.config.train
        langs = cfg.codec.langs
        records = list(iter_records(self.path))
        train, val = split_records(records, tc.val_fraction, self.exclude_heldout)
        if not val:  # a tiny file: validate on the first training records
            val = train[: max(1, len(train) // 10)]
        framed = framed_groups(train, langs)
        self.groups, self.frames = [g for g, _ in framed], [f for _, f in framed]
        self.counts = occurrences(train, self.groups, langs) if tc.codec_occurrence else None
        if tc.uses_teacher and tc.teacher_meanings > 0:  # in the languages the data speak
            spoken = [x for x in langs if any(x in g for g in self.groups)]
            self.meanings = world_meanings(self.frames, spoken, self.path)
        if tc.codec_twins:
            self.twins = world_twins(self.groups, self.frames, self.path)
        self.roles = build_vocab([*self.frames, *(f for _, f in self.meanings)])
        self.phrasings = max((len(q) for g in self.groups for q in g.values()), default=0)
        kept = [(r, ep) for r, ep in kept_episodes(train, langs, tc.max_thoughts)
                if len(ep) > 1]
        self.episodes = [ep for _, ep in kept]
        val_framed = framed_groups(val, langs)[: tc.val_groups]
        val_groups = [g for g, _ in val_framed]
        val_kept = [(r, ep) for r, ep in kept_episodes(val, langs, tc.max_thoughts)
                    if len(ep) > 1][: tc.val_episodes]
        val_eps = [ep for _, ep in val_kept]
        val_states = None
        if tc.w_state:
            self.states = [episode_states(r, len(ep)) for r, ep in kept]
            self.state_vocab = build_vocab(s for st in self.states for s in st)
            val_states = [episode_states(r, len(ep)) for r, ep in val_kept]
        if not self.groups or not self.episodes or not val_groups or not val_eps:
            raise ValueError(f"{self.path}: too little data to train on (train: "
                             f"{len(self.groups)} thought groups, {len(self.episodes)} "
                             f"episodes of 2+ thoughts in languages {', '.join(langs)})")
        self.val_batch = {"codec": collate_groups(val_groups, cfg, None,
                                                  [f for _, f in val_framed], self.roles),
                          "core": collate_episodes(val_eps, cfg, None, val_states,
                                                   self.state_vocab)}

    def codec_groups(self, step: int) -> list[Group]:
        """The thought groups of codec step ``step`` (see :meth:`codec_rows`)."""
        return [self.groups[i] for i in self.codec_rows(step)]

    def codec_rows(self, step: int) -> list[int]:
        """Indices into :attr:`groups` of codec step ``step``, bucketed by length
        (:func:`bucketed_rows`: about twice the bytes per second on world data,
        experiments/LOG.md). A pure function of ``(seed, step)``."""
        tc = self.config.train
        return bucketed_rows(self.groups, tc.codec_batch, f"ltm-groups:{tc.seed}", step,
                             self.counts, tc.codec_occurrence)

    def teacher_rows(self, step: int) -> tuple[list[int], list[int]]:
        """The teacher stage's groups of step ``step`` with
        :attr:`~ltm.train_config.TrainConfig.teacher_meanings`: indices into :attr:`meanings`
        (that share of the batch, bucketed by length as :meth:`codec_rows`) and into
        :attr:`groups` (the rest: the first rows of :meth:`codec_rows`)."""
        tc = self.config.train
        k = min(round(tc.codec_batch * tc.teacher_meanings), len(self.meanings))
        drawn = bucketed_rows([g for g, _ in self.meanings], k,
                              f"ltm-meanings:{tc.seed}", step) if k else []
        return drawn, self.codec_rows(step)[: tc.codec_batch - len(drawn)]

    def shard(self, items: list) -> list:
        """This process's share of one step's items under data parallelism (DDP): items
        ``rank, rank + world, ...``, so the processes together see the step's batch once.
        All of them, in a single process."""
        trainer = self.trainer
        world = trainer.world_size if trainer is not None else 1
        return items if world <= 1 else items[trainer.global_rank::world]

    def train_batch(self, step: int) -> dict[str, dict]:
        """The batch of training step ``step``: ``{"codec": ..., "core": ...}`` (this
        process's :meth:`shard` of it)."""
        cfg, tc = self.config, self.config.train
        rng = random.Random(f"ltm-batch:{tc.seed}:{step}")
        rows = self.shard(self.codec_rows(step))  # twins join after the shard: pairs stay
        groups, frames = (with_twins(rows, self.groups, self.twins, tc.codec_twins,
                                     self.frames) if self.twins else
                          ([self.groups[i] for i in rows], [self.frames[i] for i in rows]))
        picked = self.shard([rng.randrange(len(self.episodes)) for _ in range(tc.core_batch)])
        eps = [self.episodes[i] for i in picked]
        states = [self.states[i] for i in picked] if self.states else None
        out = {"codec": collate_groups(groups, cfg, rng,
                                       frames if tc.w_roles or tc.uses_teacher else None,
                                       self.roles),
               "core": collate_episodes(eps, cfg, rng, states, self.state_vocab)}
        if self.meanings and step < round(tc.codec_steps * tc.teacher_share):
            drawn, own = self.teacher_rows(step)
            pairs = self.shard([self.meanings[i] for i in drawn] +
                               [(self.groups[i], self.frames[i]) for i in own])
            out["teacher"] = collate_groups([g for g, _ in pairs], cfg, rng,
                                            [f for _, f in pairs], self.roles)
        return out

    def _start(self) -> int:
        return self.trainer.global_step if self.trainer is not None else 0

    def train_dataloader(self) -> DataLoader:
        """The endless step stream (no workers: batches are cheap, the CPU is small)."""
        return DataLoader(StepBatches(self.train_batch, self._start), batch_size=None)

    def val_dataloader(self) -> DataLoader:
        """The one fixed validation batch."""
        return DataLoader([self.val_batch], batch_size=None)
