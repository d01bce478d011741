"""Role supervision: teach the meaning part to expose who did what to whom.

The codec's hard part is *binding*: a thought must say which filler plays which role
("Anna gave Oleg the map", not "Oleg gave Anna the map"). The shipped model's errors are
exactly that: the right template with the wrong fillers (experiments/LOG.md). A linear
probe on its meaning parts read the agent of a world quote right only about half the
time and the place under 45% (agent 0.52, place 0.41 on train meanings), though mood and
weather were perfect: the vector did not hold the roles apart.

Where the training data say a thought's meaning (PVQ thoughts may carry a ``frame``,
``{"act": ..., role: filler, ...}``; the world always does), one linear classifier per
role reads the filler of that role (or "absent") from the meaning part, and its
cross-entropy is added to the codec loss (weight ``TrainConfig.w_roles``):

    L_roles = mean_r  CE( W_r sqrt(M) m + b_r ,  filler_r )        m = meaning(z), |m| = 1

Linear on purpose: the decoder reads the thought through a linear map too, so a role
that a linear probe can read is one the decoder can use. The classifiers are a training
aid only: they are not part of :class:`ltm.model.LTM` and are not shipped. Thoughts
without a frame contribute nothing (target ``IGNORE``), so real text trains as before.
Held-out meanings are new combinations of known fillers, so the vocabulary of the
training frames covers them.

Shape legend: B rows · M meaning dim · R roles.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ABSENT", "IGNORE", "RoleVocab", "build_vocab", "role_targets", "RoleProbe"]

ABSENT = "<absent>"
"""The filler of a role that a frame does not have (class 0 of every role)."""

IGNORE = -100
"""Target of a row without a frame, or with a filler the vocabulary has not seen."""

RoleVocab = dict[str, tuple[str, ...]]
"""Role name -> its classes, :data:`ABSENT` first, then the fillers seen, sorted."""


def build_vocab(frames: Iterable[dict[str, str] | None]) -> RoleVocab:
    """The role vocabulary of some frames (``None`` entries are skipped): every key,
    ``act`` included, with the values it takes; empty when no frame is given."""
    seen: dict[str, set[str]] = {}
    for frame in frames:
        for role, filler in (frame or {}).items():
            seen.setdefault(role, set()).add(filler)
    return {role: (ABSENT, *sorted(seen[role])) for role in sorted(seen)}



def role_targets(frames: Sequence[dict[str, str] | None], vocab: RoleVocab) -> Tensor:
    """Targets (B, R) of ``frames``: the class of each role, 0 where the frame lacks the
    role, :data:`IGNORE` for a row without a frame or a filler outside ``vocab``."""
    index = {role: {v: i for i, v in enumerate(vals)} for role, vals in vocab.items()}
    out = torch.full((len(frames), len(vocab)), IGNORE, dtype=torch.long)
    for b, frame in enumerate(frames):
        if frame is None:
            continue
        for r, role in enumerate(vocab):
            out[b, r] = index[role].get(frame.get(role, ABSENT), IGNORE)
    return out


class RoleProbe(nn.Module):
    """One linear classifier per role over the unit-norm meaning part."""

    def __init__(self, meaning_dim: int, vocab: RoleVocab) -> None:
        super().__init__()
        if not vocab:
            raise ValueError("RoleProbe needs at least one role (no frames in the data?)")
        self.vocab = dict(vocab)
        self.sizes = [len(v) for v in vocab.values()]
        self.scale = meaning_dim**0.5  # unit vector -> entries of order 1
        self.linear = nn.Linear(meaning_dim, sum(self.sizes))

    def forward(self, meaning: Tensor) -> list[Tensor]:
        """``meaning`` (B, M), unit norm -> one logits tensor (B, n_r) per role."""
        return list(self.linear(meaning * self.scale).split(self.sizes, dim=-1))

    def loss(self, meaning: Tensor, targets: Tensor) -> Tensor:
        """Mean over roles of the cross-entropy against ``targets`` (B, R) (rows marked
        :data:`IGNORE` skipped; a role with no target left adds 0)."""
        terms = []
        for r, logits in enumerate(self(meaning)):
            t = targets[:, r]
            if bool((t != IGNORE).any()):
                terms.append(F.cross_entropy(logits, t, ignore_index=IGNORE))
        return torch.stack(terms).mean() if terms else meaning.sum() * 0.0

    @torch.no_grad()
    def accuracy(self, meaning: Tensor, targets: Tensor) -> Tensor:
        """Share of (row, role) targets, :data:`IGNORE` skipped, that the probe gets."""
        hits, total = 0, 0
        for r, logits in enumerate(self(meaning)):
            t = targets[:, r]
            keep = t != IGNORE
            hits += int((logits.argmax(-1)[keep] == t[keep]).sum())
            total += int(keep.sum())
        return torch.tensor(hits / total if total else float("nan"))
