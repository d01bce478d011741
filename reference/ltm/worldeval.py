"""Evaluation of a thought model on the PVQ world: the targets of issue 3.

DESIGN.md section 5, items 1-3, measured against ground truth: the world knows the frame
behind every quote, the state behind every thought and which thoughts the past
determines, and :func:`ltm.pvq.world.parse` reads any generated quote back to a frame.

- :func:`codec_metrics`: a quote's own thought, greedily decoded in its language, gives
  the quote back (exact match, byte accuracy);
- :func:`retrieval_metrics`: the same meaning found by its vector across languages and
  across phrasings (recall@1 and @5 on the meaning part, among distinct frames);
- :func:`cross_language_metrics`: the meaning-only thought of an English quote said in
  Russian parses to the same frame (and back);
- :func:`unit_metrics`: the same two, reconstruction and cross-language, on units drawn as
  they occur in the episodes (a frequent meaning counts as often as it is thought), where
  the metrics above count every distinct frame once;
- :func:`prediction_metrics`: the next thought predicted from the true past, said in the
  episode's language: does it parse, is it legal in the true state, is it the right
  frame where the past determines it;
- :func:`evaluate_world`: all of them, for meanings of the train split and of the
  held-out split side by side.

The model is anything with ``encode(texts) -> (B, Z)``, ``decode(vectors, lang=...,
max_bytes=...) -> list[str]`` and ``predict_next(thoughts (B, T, Z), mask (B, T),
generator=..., lang=...) -> (B, Z)`` (an :class:`ltm.model.LTM`, or the oracle of the
tests). If it has ``config.codec`` the meaning part is its first ``meaning_dim`` entries, else the
whole vector. Items are picked by a seeded ``random.Random``, model calls are batched,
and a rate with nothing to count is ``nan`` (``n_*`` keys give the counts).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor
from tqdm.auto import tqdm

from ltm.codec import meaning_only
from ltm.metrics import byte_accuracy, recall_at_k, rouge_l
from ltm.pvq import Record, Thought, world

__all__ = ["codec_metrics", "retrieval_metrics", "cross_language_draw",
           "cross_language_metrics", "unit_metrics",
           "judge_next", "prediction_metrics", "evaluate_world", "frame_records",
           "distinct_frames", "sample_ordered", "decode_budget", "meaning_thoughts",
           "encode_batched", "decode_batched", "said_across"]

LANGS: tuple[str, ...] = ("en", "ru")
"""The two languages of the world, the default everywhere."""


# --------------------------------------------------------------------------- helpers

@contextmanager
def _inference(model) -> Iterator[None]:
    """``eval()`` and ``no_grad`` for the duration; the training flag is restored."""
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        if was_training:
            model.train()


@contextmanager
def _without_critic(model) -> Iterator[None]:
    """The model's legality critic (:mod:`ltm.critic`) taken out for the duration, so
    that a ``choice`` head's decoder picks alone; restored after."""
    critic = getattr(model, "critic", None)
    model.critic = None
    try:
        yield
    finally:
        model.critic = critic


def _share(flags: Sequence[bool | float]) -> float:
    return sum(flags) / len(flags) if flags else float("nan")


def _key(frame: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(frame.items()))


def _quoted(records: Sequence[Record], split: str | None,
            langs: Sequence[str]) -> Iterator[Thought]:
    """Every thought (in record order) with a frame of ``split`` (any, when ``None``),
    quoted in all of ``langs``."""
    for record in records:
        for t in record.thoughts:
            if (t.frame is not None and all(lang in t.quotes for lang in langs)
                    and (split is None or world.meaning_split(t.frame) == split)):
                yield t


def distinct_frames(records: Sequence[Record], split: str | None,
                    langs: Sequence[str]) -> list[Thought]:
    """The first thought of every distinct frame (in record order) quoted in ``langs``."""
    seen: dict[tuple, Thought] = {}
    for t in _quoted(records, split, langs):
        seen.setdefault(_key(t.frame), t)
    return list(seen.values())


def sample_ordered(items: Sequence, n: int, seed: int | str) -> list:
    """``n`` items sampled by ``random.Random(seed)``, kept in their order (all if fewer)."""
    if len(items) <= n:
        return list(items)
    return [items[i] for i in sorted(random.Random(seed).sample(range(len(items)), n))]


def decode_budget(texts: Sequence[str], max_bytes: int | None) -> int:
    """Decoding budget: ``max_bytes``, else the longest reference plus 16 bytes (a
    longer output cannot equal or parse to any of them)."""
    if max_bytes is not None:
        return max_bytes
    return max((len(t.encode("utf-8")) for t in texts), default=0) + 16


def _parse_said(model, vectors: Tensor, lang: str, batch: int, max_bytes: int,
                progress: bool, desc: str, readings: int = 1) -> list[dict[str, str] | None]:
    """Each vector decoded greedily in ``lang`` and read back by the world's parser
    (``None`` where the text is no sentence of the world)."""
    said = decode_batched(model, vectors, [lang] * len(vectors), batch, max_bytes, progress,
                          desc, readings)
    return [world.parse(text, lang) for text in said]


def meaning_thoughts(model, thoughts: Tensor) -> Tensor:
    """The meaning-only thought: surface part zeroed, meaning part renormalised (the
    thoughts as given for a model without ``config.codec``)."""
    codec = getattr(getattr(model, "config", None), "codec", None)
    return thoughts if codec is None else meaning_only(thoughts, codec)


def encode_batched(model, texts: Sequence[str], batch: int, progress: bool, desc: str) -> Tensor:
    """``model.encode`` over ``texts`` in batches of ``batch``, as float32 on the CPU
    (``(N, Z)``; ``(0, 0)`` for no texts), with a progress bar named ``desc`` when
    ``progress``."""
    chunks = range(0, len(texts), batch)
    out = [model.encode(list(texts[i: i + batch])).float().cpu()
           for i in tqdm(chunks, desc=desc, disable=not progress, leave=False)]
    return torch.cat(out) if out else torch.zeros(0, 0)  # (N, Z)


def decode_batched(model, vectors: Tensor, langs: Sequence[str], batch: int, max_bytes: int,
                   progress: bool, desc: str, readings: int = 1) -> list[str]:
    """Greedy decoding in batches; with ``readings`` > 1, the reading the encoder puts
    nearest each thought (:meth:`ltm.model.LTM.decode_bytes`)."""
    more = {"readings": readings} if readings > 1 else {}  # duck-typed models lack it
    out: list[str] = []
    for i in tqdm(range(0, len(vectors), batch), desc=desc, disable=not progress,
                  leave=False):
        out += model.decode(vectors[i: i + batch], lang=list(langs[i: i + batch]),
                            max_bytes=max_bytes, **more)
    return out


# --------------------------------------------------------------------------- metrics

def codec_metrics(model, records: Sequence[Record], langs: Sequence[str] = LANGS,
                  n: int = 1000, seed: int = 0, *, split: str | None = None,
                  batch_size: int = 64, max_bytes: int | None = None,
                  progress: bool = True, readings: int = 1) -> dict[str, float]:
    """Reconstruction, per language: ``n`` distinct quotes (every phrasing of every
    distinct frame of ``split``, sampled) are encoded and greedily decoded with their
    own language's tag (``readings`` > 1: reranked by the encoder,
    :meth:`ltm.model.LTM.decode_bytes`). Keys: ``exact_<lang>`` (decoded == quote),
    ``byte_acc_<lang>`` (:func:`ltm.metrics.byte_accuracy`), ``n_<lang>``."""
    out: dict[str, float] = {}
    with _inference(model):
        for lang in langs:
            pool = list(dict.fromkeys(q for t in distinct_frames(records, split, (lang,))
                                      for q in t.quotes[lang]))
            quotes = sample_ordered(pool, n, f"codec:{lang}:{seed}")
            vec = encode_batched(model, quotes, batch_size, progress, f"encode {lang}")
            said = decode_batched(model, vec, [lang] * len(quotes), batch_size,
                                  decode_budget(quotes, max_bytes), progress, f"decode {lang}",
                                  readings)
            out[f"exact_{lang}"] = _share([s == q for s, q in zip(said, quotes, strict=True)])
            out[f"byte_acc_{lang}"] = byte_accuracy(said, quotes) if quotes else float("nan")
            out[f"n_{lang}"] = len(quotes)
    return out


def retrieval_metrics(model, records: Sequence[Record], n: int = 1000, *, seed: int = 0,
                      split: str | None = None, langs: Sequence[str] = LANGS,
                      batch_size: int = 64, progress: bool = True) -> dict[str, float]:
    """Recall by the meaning part, among ``n`` thoughts of distinct frames.

    Keys: ``recall{1,5}_<a>_<b>`` (phrasing 0 in language ``a`` finds phrasing 0 of the
    same frame in ``b``, for every ordered pair), ``paraphrase_recall{1,5}_<lang>``
    (phrasing 0 finds phrasing 1, same language), ``n_candidates``."""
    thoughts = sample_ordered([t for t in distinct_frames(records, split, langs)
                               if all(len(t.quotes[lang]) > 1 for lang in langs)],
                              n, f"retrieval:{seed}")
    out: dict[str, float] = {"n_candidates": len(thoughts)}
    if not thoughts:
        return out
    with _inference(model):
        vec = {(lang, p): meaning_thoughts(model, encode_batched(
                   model, [t.quotes[lang][p] for t in thoughts], batch_size, progress,
                   f"encode {lang}{p}"))
               for lang in langs for p in (0, 1)}  # (N, Z) each
    for k in (1, 5):
        for a in langs:
            for b in langs:
                if a != b:
                    out[f"recall{k}_{a}_{b}"] = recall_at_k(vec[a, 0], vec[b, 0], k)
            out[f"paraphrase_recall{k}_{a}"] = recall_at_k(vec[a, 0], vec[a, 1], k)
    return out


def cross_language_draw(records: Sequence[Record], n: int = 1000, *, seed: int = 0,
                        split: str | None = None,
                        langs: Sequence[str] = LANGS) -> list[Thought]:
    """The thoughts :func:`cross_language_metrics` says in the other language: ``n``
    distinct frames of ``split`` quoted in every one of ``langs``, drawn with ``seed``."""
    return sample_ordered(distinct_frames(records, split, langs), n, f"cross:{seed}")


def said_across(model, thoughts: Sequence[Thought], langs: Sequence[str] = LANGS,
                batch_size: int = 64, max_bytes: int | None = None, progress: bool = False,
                readings: int = 1) -> Iterator[tuple[str, str, Tensor, list[str]]]:
    """Each of ``thoughts`` said in the other language, for every ordered pair of
    ``langs``: phrasing 0 in ``a`` encoded, its surface part dropped
    (:func:`meaning_thoughts`), and decoded with the tag of ``b`` (``readings`` as in
    :func:`codec_metrics`; budget :func:`decode_budget` over every quote of ``langs``).
    Yields ``(a, b, vectors (N, Z), said)``; run it under ``no_grad``."""
    cap = decode_budget([q for t in thoughts for lang in langs for q in t.quotes[lang]],
                        max_bytes)
    for a in langs:
        vec = meaning_thoughts(model, encode_batched(
            model, [t.quotes[a][0] for t in thoughts], batch_size, progress, f"encode {a}"))
        for b in (x for x in langs if x != a):
            yield a, b, vec, decode_batched(model, vec, [b] * len(vec), batch_size, cap,
                                            progress, f"{a}->{b}", readings)


def cross_language_metrics(model, records: Sequence[Record], n: int = 1000, *,
                           seed: int = 0, split: str | None = None,
                           langs: Sequence[str] = LANGS, batch_size: int = 64,
                           max_bytes: int | None = None, progress: bool = True,
                           readings: int = 1) -> dict[str, float]:
    """Said in the other language (:func:`said_across`), read back by the world's parser.
    Keys: ``<a>_to_<b>`` (the text parses in ``b`` to the same frame),
    ``<a>_to_<b>_parses`` (it parses at all), ``n``."""
    thoughts = cross_language_draw(records, n, seed=seed, split=split, langs=langs)
    out: dict[str, float] = {"n": len(thoughts)}
    if not thoughts:
        return out
    with _inference(model):
        for a, b, _, said in said_across(model, thoughts, langs, batch_size, max_bytes,
                                         progress, readings):
            frames = [world.parse(text, b) for text in said]
            out[f"{a}_to_{b}"] = _share([f == t.frame for f, t in
                                         zip(frames, thoughts, strict=True)])
            out[f"{a}_to_{b}_parses"] = _share([f is not None for f in frames])
    return out


def unit_metrics(model, records: Sequence[Record], n: int = 1000, *, seed: int = 0,
                 split: str | None = None, langs: Sequence[str] = LANGS, batch_size: int = 64,
                 max_bytes: int | None = None, progress: bool = True,
                 readings: int = 1) -> dict[str, float]:
    """Reconstruction and cross-language decoding of units *as they occur*: ``n``
    thought occurrences of ``split`` are sampled from the episodes (a meaning thought
    ten times is ten times as likely), each quoted in a phrasing drawn per language
    by ``random.Random`` (a unit occurs in every phrasing in training).

    Keys: ``exact_<lang>`` (decoded in its own language == the quote),
    ``<a>_to_<b>`` (the meaning-only thought of the ``a`` quote, decoded in ``b``,
    parses to the frame), ``n`` (occurrences) and ``n_distinct`` (distinct frames
    among them). :func:`codec_metrics` and :func:`cross_language_metrics` ask the
    same of distinct frames, each once, which weighs the rare, long, many-filler
    frames far more than episodes do. ``readings`` as in :func:`codec_metrics`."""
    thoughts = sample_ordered(list(_quoted(records, split, langs)), n, f"units:{seed}")
    out: dict[str, float] = {"n": len(thoughts),
                             "n_distinct": len({_key(t.frame) for t in thoughts})}
    if not thoughts:
        return out
    rng = random.Random(f"units-phrasing:{seed}")
    quotes = {lang: [rng.choice(t.quotes[lang]) for t in thoughts] for lang in langs}
    # every phrasing, not only those drawn: said in ``b``, a unit may come out in another
    cap = decode_budget([q for t in thoughts for lang in langs for q in t.quotes[lang]], max_bytes)
    with _inference(model):
        for a in langs:
            vec = encode_batched(model, quotes[a], batch_size, progress, f"encode {a}")  # (N, Z)
            said = decode_batched(model, vec, [a] * len(vec), batch_size, cap, progress,
                                  f"say {a}", readings)
            out[f"exact_{a}"] = _share([s == q for s, q in zip(said, quotes[a], strict=True)])
            meaning = meaning_thoughts(model, vec)
            for b in (x for x in langs if x != a):
                frames = _parse_said(model, meaning, b, batch_size, cap, progress,
                                     f"{a}->{b}", readings)
                out[f"{a}_to_{b}"] = _share([f == t.frame
                                             for f, t in zip(frames, thoughts, strict=True)])
    return out


def judge_next(record: Record, t: int, text: str, lang: str) -> tuple[bool, bool, bool | None]:
    """A generated text for thought ``t`` of a world episode, judged against the truth:
    does it parse, is it also legal in the state after thought ``t - 1``, and, where the
    past determines thought ``t``, is it that frame (``None`` where it is not determined)."""
    frame = world.parse(text, lang)
    legal = frame is not None and world.legal(frame, record.thoughts[t - 1].state)
    truth = record.thoughts[t]
    return frame is not None, legal, (frame == truth.frame if truth.determined else None)


def prediction_metrics(model, records: Sequence[Record], n_episodes: int = 200,
                       seed: int = 0, *, split: str | None = None,
                       langs: Sequence[str] = LANGS, batch_size: int = 64,
                       max_bytes: int | None = None,
                       progress: bool = True) -> dict[str, float]:
    """Next thoughts predicted from the true past.

    ``n_episodes`` episodes are sampled; episode ``i`` is read in ``langs[i % len]``
    (phrasing 0 of every unit). For every position ``t >= 1`` (only those whose true
    frame is of ``split``, when given) the true units ``0..t-1`` are encoded, the model
    predicts thought ``t`` (``generator`` seeded with ``seed``), and the thought is
    decoded greedily in the episode's language. Keys, per language and pooled (no
    suffix): ``parse`` (the text parses), ``legal`` (it parses and is legal in the true
    state before ``t``), ``exact_determined`` (on thoughts marked ``determined``: the
    parsed frame is the true one), ``rouge_l`` (against the true phrasing 0), and the
    counts ``n`` and ``n_determined``."""
    episodes = [r for r in records if len(r.thoughts) > 1
                and all(t.frame is not None and t.state is not None for t in r.thoughts)]
    episodes = sample_ordered(episodes, n_episodes, f"prediction:{seed}")
    ep_langs = [langs[i % len(langs)] for i in range(len(episodes))]
    units = [[t.quotes[lang][0] for t in r.thoughts] for r, lang in zip(episodes, ep_langs,
                                                                          strict=True)]
    items = [(e, t) for e, r in enumerate(episodes) for t in range(1, len(r.thoughts))
             if split is None or world.meaning_split(r.thoughts[t].frame) == split]
    cap = decode_budget([q for u in units for q in u], max_bytes)
    rows: dict[str, list[tuple[bool, bool, bool | None, float]]] = {lang: [] for lang in langs}
    with _inference(model):
        flat = encode_batched(model, [q for u in units for q in u], batch_size, progress, "encode")
        starts = [0]
        for u in units:
            starts.append(starts[-1] + len(u))
        device = getattr(model, "device", torch.device("cpu"))
        gen = torch.Generator(device=device).manual_seed(seed)
        for i in tqdm(range(0, len(items), batch_size), desc="predict", disable=not progress,
                      leave=False):
            chunk = items[i: i + batch_size]
            T = max(t for _, t in chunk)
            past = flat.new_zeros(len(chunk), T, flat.shape[1])  # (B, T, Z)
            mask = torch.zeros(len(chunk), T, dtype=torch.bool)  # (B, T)
            for b, (e, t) in enumerate(chunk):
                past[b, :t] = flat[starts[e]: starts[e] + t]
                mask[b, :t] = True
            chunk_langs = [ep_langs[e] for e, _ in chunk]
            nxt = model.predict_next(past.to(device), mask.to(device), generator=gen,
                                     lang=chunk_langs)  # (B, Z)
            said = model.decode(nxt.float().cpu(), lang=chunk_langs, max_bytes=cap)
            for (e, t), text in zip(chunk, said, strict=True):
                lang = ep_langs[e]
                rows[lang].append((*judge_next(episodes[e], t, text, lang),
                                   rouge_l(text, units[e][t])))
    out: dict[str, float] = {}
    for suffix, got in [*((f"_{lang}", rows[lang]) for lang in langs),
                        ("", [r for lang in langs for r in rows[lang]])]:
        det = [r[2] for r in got if r[2] is not None]
        out[f"parse{suffix}"] = _share([r[0] for r in got])
        out[f"legal{suffix}"] = _share([r[1] for r in got])
        out[f"exact_determined{suffix}"] = _share(det)
        out[f"rouge_l{suffix}"] = _share([r[3] for r in got])
        out[f"n{suffix}"], out[f"n_determined{suffix}"] = len(got), len(det)
    return out


# --------------------------------------------------------------------------- together

def frame_records(split: str, n: int, seed: int = 0, langs: Sequence[str] = LANGS,
                  keep: Callable[[dict[str, str]], bool] | None = None) -> list[Record]:
    """``n`` distinct frames of one side of the meaning split, each as a one-thought
    record with every phrasing: a pool of meanings that episodes need not contain.
    Stratified by act (each act's frames shuffled by ``random.Random(seed)``, then
    taken in turn, act by act), since a uniform draw from
    :func:`ltm.pvq.world.all_frames` would be three quarters ``recap``. ``keep``, when
    given, admits only the frames it is true of (before the draw, so the acts stay
    balanced among them)."""
    rng, by_act = random.Random(f"frames:{split}:{seed}"), {}
    for f in world.all_frames():
        if world.meaning_split(f) == split and (keep is None or keep(f)):
            by_act.setdefault(f["act"], []).append(f)
    for group in by_act.values():
        rng.shuffle(group)
    turns = [g[i] for i in range(max(map(len, by_act.values()), default=0))
             for g in by_act.values() if i < len(g)]
    return [Record(id=f"frame-{i:06d}", source="world",
                   thoughts=(Thought(frame=f, quotes={lang: tuple(world.phrasings(f, lang))
                                                      for lang in langs}),))
            for i, f in enumerate(turns[:n])]


def evaluate_world(model, train_records: Sequence[Record], heldout_records: Sequence[Record],
                   *, train_units: Sequence[Record] | None = None,
                   heldout_units: Sequence[Record] | None = None, n: int = 1000,
                   n_episodes: int = 200, seed: int = 0, batch_size: int = 64,
                   max_bytes: int | None = None, progress: bool = True,
                   readings: int = 1) -> dict[str, dict[str, dict[str, float]]]:
    """Every world metric, for the train and the held-out side of the meaning split.

    Returns ``{"train": {...}, "heldout": {...}}``, each with ``codec``, ``retrieval``,
    ``cross_language``, ``units`` and ``prediction`` dicts. Unit metrics use the frames
    of that split found in ``*_units`` (default: the episodes): distinct frames for the
    first three, occurrences for ``units``; prediction runs on the episodes
    and, on the held-out side, scores only next thoughts whose meaning is held out (the
    compositional question: can the model think a meaning it never saw?).

    With ``readings`` > 1 the decoding metrics are measured a second time with that
    many readings per thought, reranked by the encoder
    (:meth:`ltm.model.LTM.decode_bytes`), as ``codec_reranked``,
    ``cross_language_reranked`` and ``units_reranked``; next thoughts are said
    greedily either way (their pick among hypotheses is already a decoding rule).

    A model with a legality critic (:mod:`ltm.critic`) is also asked for its next
    thoughts without it, as ``prediction_no_critic``: the critic learned the world's
    rules from labels, so the pick it steers measures the model and that learned copy of
    the rules together, and the share without it says what the rest of the model does."""
    kw = dict(batch_size=batch_size, progress=progress)
    out = {}
    for split, episodes, units in (("train", train_records, train_units),
                                   ("heldout", heldout_records, heldout_units)):
        units = episodes if units is None else units
        scored = None if split == "train" else split  # held out: only held-out next thoughts
        out[split] = {
            "codec": codec_metrics(model, units, n=n, seed=seed, split=split,
                                   max_bytes=max_bytes, **kw),
            "retrieval": retrieval_metrics(model, units, n, seed=seed, split=split, **kw),
            "cross_language": cross_language_metrics(model, units, n, seed=seed, split=split,
                                                     max_bytes=max_bytes, **kw),
            "units": unit_metrics(model, units, n, seed=seed, split=split,
                                  max_bytes=max_bytes, **kw),
            "prediction": prediction_metrics(model, episodes, n_episodes, seed, split=scored,
                                             max_bytes=max_bytes, **kw),
        }
        if getattr(model, "critic", None) is not None:
            with _without_critic(model):
                out[split]["prediction_no_critic"] = prediction_metrics(
                    model, episodes, n_episodes, seed, split=scored, max_bytes=max_bytes, **kw)
        if readings > 1:
            more = dict(kw, seed=seed, split=split, max_bytes=max_bytes, readings=readings)
            out[split] |= {
                "codec_reranked": codec_metrics(model, units, n=n, **more),
                "cross_language_reranked": cross_language_metrics(model, units, n, **more),
                "units_reranked": unit_metrics(model, units, n, **more)}
    return out
