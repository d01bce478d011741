"""Training aids that only the PVQ world can give: its meanings and its twins.

The world (:mod:`ltm.pvq.world`) knows every meaning it can say and says each in every
phrasing of every language, so on world data training can reach past the file's own
thoughts. Two options of :class:`~ltm.train_config.TrainConfig` do, both off by default and
both refused with a one-line error on data whose thoughts are not world frames:

- ``teacher_meanings`` (:func:`world_meanings`): the teacher stage also draws from every
  train-side meaning of the world, not only those the file holds;
- ``codec_twins`` (:func:`world_twins`, :func:`with_twins`): a share of each codec batch's
  groups come beside their *twin*, the same words naming another fact
  (:func:`ltm.pvq.world.twin`), as hard negatives for the alignment loss.

Neither lets a held-out meaning (:func:`ltm.pvq.world.meaning_split`) into training.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ltm.pvq import world

__all__ = ["Group", "Frame", "group_key", "need_world_frames", "world_meanings",
           "world_twins", "with_twins"]

Group = dict[str, tuple[str, ...]]
"""The quotes of one thought: language -> phrasings, the canonical one first."""

Frame = dict[str, str]
"""A world frame (:mod:`ltm.pvq.world`)."""


def group_key(g: Group) -> tuple:
    """A hashable key of a group: equal quotes, equal keys."""
    return tuple(sorted(g.items()))


def need_world_frames(frames: Sequence[Frame | None], path: str | Path, option: str,
                      why: str) -> None:
    """``ValueError`` naming ``path`` unless ``frames`` hold frames and all are frames of
    the PVQ world; ``why`` says what ``option`` (a training field) needs them for."""
    known = [f for f in frames if f is not None]
    bad = next((w for f in known if (w := world.check_frame(f)) is not None), None)
    if not known or bad is not None:
        raise ValueError(f"{path}: {option} {why}, but the training thoughts are not "
                         f"world frames ({bad or 'none has a frame'}); set {option} to 0")


def world_meanings(frames: Sequence[Frame | None], langs: Sequence[str],
                   path: str | Path = "data") -> list[tuple[Group, Frame]]:
    """Every train-side meaning of the PVQ world (:func:`ltm.pvq.world.all_frames`, the
    ``train`` side of :func:`ltm.pvq.world.meaning_split`) as ``(group, frame)``, the
    group holding every phrasing in each of ``langs`` (the caller passes the languages
    its data speak, so no language enters training that the file lacks). ``frames`` are
    the training data's: ``ValueError`` (naming ``path``) unless they are world frames."""
    need_world_frames(frames, path, "teacher_meanings", "draws from the PVQ world's meanings")
    return [({x: tuple(world.phrasings(f, x)) for x in langs}, f)
            for f in world.all_frames() if world.meaning_split(f) == "train"]


def world_twins(groups: Sequence[Group], frames: Sequence[Frame | None],
                path: str | Path = "data") -> list[tuple[Group, Frame] | None]:
    """For each of ``groups`` and its frame (``frames``, which must be frames of the PVQ
    world: ``ValueError`` naming ``path`` otherwise), its twin
    (:func:`ltm.pvq.world.twin`) as ``(group, frame)``, every phrasing in each language
    of the group itself; ``None`` where it has none or the twin is a held-out meaning."""
    need_world_frames(frames, path, "codec_twins", "exchanges the fillers of PVQ world frames")
    out: list[tuple[Group, Frame] | None] = []
    for g, f in zip(groups, frames, strict=True):
        t = world.twin(f) if f is not None else None
        keep = t is not None and world.meaning_split(t) == "train"
        out.append(({x: tuple(world.phrasings(t, x)) for x in g}, t) if keep else None)
    return out


def with_twins(rows: Sequence[int], groups: Sequence[Group],
               twins: Sequence[tuple[Group, Frame] | None], share: float,
               frames: Sequence[Frame | None]) -> tuple[list[Group], list[Frame | None]]:
    """The groups and frames of one codec batch of ``rows`` (indices into ``groups``),
    with twins: the first ``round(share * len(rows) / 2)`` rows that have a twin not
    already in the batch come first, their twins last, and the last rows not chosen are
    dropped to make room, so the batch keeps its size and its groups stay distinct.
    ``share`` 0 gives the rows' own groups and frames, in order."""
    want = round(share * len(rows) / 2)
    keys = {group_key(groups[i]) for i in rows}
    chosen: list[int] = []
    for i in rows:
        if len(chosen) == want:
            break
        if twins[i] is not None and group_key(twins[i][0]) not in keys:
            chosen.append(i)
            keys.add(group_key(twins[i][0]))
    taken = set(chosen)
    rest = [i for i in rows if i not in taken][: len(rows) - 2 * len(chosen)]
    kept = chosen + rest
    return ([groups[i] for i in kept] + [twins[i][0] for i in chosen],
            [frames[i] for i in kept] + [twins[i][1] for i in chosen])
