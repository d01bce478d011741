"""The record stream: episodes quoted in English and Russian, as PVQ records and files.

One ``random.Random(seed)`` drives the whole stream, so the same arguments give the
same records and, through :func:`ltm.pvq.write_jsonl`, the same bytes. Record ids count
the episodes of that stream (``world-000042`` is its 43rd episode) whether or not a
split filter keeps them, so a train file and a held-out file made with one seed never
share an id or an episode.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Iterator

from ltm.pvq.io import write_jsonl
from ltm.pvq.schema import Record, Thought
from ltm.pvq.world.episode import episode_frames, split_of
from ltm.pvq.world.frames import ACTS
from ltm.pvq.world.render import LANGS, _phrasings

__all__ = ["generate", "write_world", "record_split", "SPLITS"]

SPLITS: tuple[str, ...] = ("train", "heldout")
"""The two sides of the compositional split."""


def _langs(langs: str | Iterable[str]) -> tuple[str, ...]:
    try:
        items = langs.split(",") if isinstance(langs, str) else list(langs)
    except TypeError:
        raise ValueError(f"langs must be a sequence like ('en', 'ru') or 'en,ru', got {langs!r}") from None
    out: list[str] = []
    for lang in items:
        lang = lang.strip() if isinstance(lang, str) else lang
        if lang not in LANGS:
            raise ValueError(f"unknown language {lang!r} (the world speaks {', '.join(LANGS)})")
        if lang not in out:
            out.append(lang)
    if not out:
        raise ValueError("langs is empty (expected some of 'en', 'ru')")
    return tuple(out)


def _check_args(episodes: int, seed: int, split: str | None) -> None:
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 0:
        raise ValueError(f"episodes must be an int >= 0, got {episodes!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int, got {seed!r}")
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be 'train', 'heldout' or None, got {split!r}")


def _stream(episodes: int, seed: int, langs: tuple[str, ...],
            split: str | None) -> Iterator[Record]:
    rng = random.Random(seed)
    index = kept = 0
    cache: dict[tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...]] = {}
    while kept < episodes:
        steps = episode_frames(rng)
        i, index = index, index + 1
        if split is not None and split_of(s[1] for s in steps) != split:
            continue
        thoughts = []
        for phase, frame, det, state in steps:
            key = (frame["act"], *(frame[r] for r in ACTS[frame["act"]]))
            quotes = cache.get(key)
            if quotes is None:
                quotes = cache[key] = tuple((lang, _phrasings(lang, key)) for lang in langs)
            thoughts.append(Thought(quotes=dict(quotes), phase=phase, frame=frame, state=state,
                                    determined=det))
        kept += 1
        yield Record(id=f"world-{i:06d}", source="world", thoughts=tuple(thoughts))


def generate(episodes: int, seed: int, langs: str | Iterable[str] = LANGS,
             split: str | None = None) -> Iterator[Record]:
    """Generate world episodes as PVQ records.

    Args:
        episodes: How many records to yield (``>= 0``).
        seed: Seed of the stream's own ``random.Random``; the same arguments give the same
            records.
        langs: Languages to quote, a sequence or a comma-separated string (``"en,ru"``).
            Every phrasing of each language is kept, in phrasing order.
        split: ``"train"`` keeps episodes whose every meaning is in the train split;
            ``"heldout"`` keeps those with at least one held-out meaning
            (:func:`~ltm.pvq.world.frames.meaning_split`); ``None`` keeps all.

    Returns:
        An iterator of records ``world-NNNNNN`` (the number counts episodes of the
        unfiltered stream) with phases, frames, quotes, the state after every thought
        and the ``determined`` flags.

    Raises:
        ValueError: On a negative count, a non-int seed, an unknown language or split
            (raised at the call, not at the first ``next``).
    """
    _check_args(episodes, seed, split)
    return _stream(episodes, seed, _langs(langs), split)


def write_world(out_path: str | os.PathLike, episodes: int, seed: int,
                langs: str | Iterable[str] = LANGS, split: str | None = None) -> int:
    """Write :func:`generate`'s records to a ``*.pvq.jsonl`` file.

    Args:
        out_path: The file to write (overwritten).
        episodes: How many records.
        seed: The stream's seed; the same arguments give the same bytes.
        langs: Languages to quote (sequence or ``"en,ru"``).
        split: ``"train"``, ``"heldout"`` or ``None`` (see :func:`generate`).

    Returns:
        The number of records written.

    Raises:
        ValueError: On bad arguments, before the file is touched.
    """
    records = generate(episodes, seed, langs, split)
    return write_jsonl(out_path, records)


def record_split(record: Record) -> str:
    """``"heldout"`` if any thought of the record has a held-out meaning, else ``"train"``."""
    return split_of(t.frame for t in record.thoughts if t.frame is not None)
