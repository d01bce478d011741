"""The teacher code: a thought that binds every role by construction (a training aid).

Jointly trained, the codec learns late, if at all, to bind who did what to whom: the
decoder cannot learn to read roles the encoder does not yet write, and the encoder gets
no signal for roles the decoder does not yet read. Staged, it works (experiments/LOG.md,
session 7, ``experiments/probes/oracle_decoder.py``): first the decoder learns to write
each quote from a code that binds the roles by construction, then the encoder is
trained onto that code with the decoder frozen.

Where the training data say a thought's meaning (a PVQ ``frame``, ``{"act": ..., role:
filler}``; the world always does), the teacher's thought of a quote is

    t(frame, p) = sphere( [ sum_r E_r[filler_r] ; P[p] ] )

with one learned vector per ``(role, filler)`` pair in the meaning part (a role the
frame lacks adds nothing), one learned vector per phrasing index ``p`` (the quote's
place in its thought's list of quotes) in the surface part, and
:func:`ltm.codec.to_sphere` putting it on the thought field as the encoder's thoughts
are. Held-out meanings are new combinations of known fillers, so their teacher thought
is a new sum of trained vectors: the code composes by construction. The classes are
those of :mod:`ltm.roles` (:func:`ltm.roles.role_targets` gives them); the teacher is
not part of :class:`ltm.model.LTM` and is not shipped. :mod:`ltm.lit` runs the stages
(``TrainConfig.teacher_share``).

Shape legend: B rows · R roles · M meaning dim · S surface dim · Z thought dim.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ltm.codec import meaning_part, to_sphere
from ltm.config import CodecConfig
from ltm.roles import IGNORE, RoleVocab

__all__ = ["TeacherCode", "framed", "distill_loss"]


def framed(roles: Tensor) -> Tensor:
    """Rows (B,) of role targets (B, R) that the teacher can code: a frame is given and
    every filler is in the vocabulary (no :data:`ltm.roles.IGNORE`)."""
    return (roles != IGNORE).all(-1)


class TeacherCode(nn.Module):
    """Frames (as role classes) and phrasing indices -> thoughts on the field (B, Z).

    ``fixed``: the vectors stay at their random start (N(0, 1) entries), so the code is
    a fixed random superposition, as the target of ``experiments/probes/encoder_probe.py``
    (:attr:`ltm.train_config.TrainConfig.teacher_fixed`)."""

    def __init__(self, cfg: CodecConfig, vocab: RoleVocab, phrasings: int,
                 fixed: bool = False) -> None:
        super().__init__()
        if not vocab:
            raise ValueError("TeacherCode needs at least one role (no frames in the data?)")
        if phrasings < 1:
            raise ValueError(f"TeacherCode needs phrasings >= 1, got {phrasings}")
        self.cfg, self.phrasings = cfg, phrasings
        # class 0 of every role is "absent": the zero vector, never trained
        self.roles = nn.ModuleList(nn.Embedding(len(classes), cfg.meaning_dim, padding_idx=0)
                                   for classes in vocab.values())
        self.surface = nn.Embedding(phrasings, max(cfg.surface_dim, 1))
        if fixed:  # a fixed random code: N(0, 1) vectors, never trained
            self.requires_grad_(False)

    def forward(self, roles: Tensor, phrasing: Tensor) -> Tensor:
        """``roles`` (B, R) classes (every row :func:`framed`), ``phrasing`` (B,) -> (B, Z);
        a phrasing index past the last trained one takes the last."""
        m = sum(e(roles[:, r]) for r, e in enumerate(self.roles))  # (B, M)
        if self.cfg.surface_dim == 0:
            return to_sphere(m, self.cfg.meaning_dim, self.cfg.surface_norm)
        s = self.surface(phrasing.clamp(0, self.phrasings - 1))  # (B, S)
        return to_sphere(torch.cat([m, s], dim=-1), self.cfg.meaning_dim,
                         self.cfg.surface_norm)  # (B, Z)


def distill_loss(z: Tensor, target: Tensor, cfg: CodecConfig) -> Tensor:
    """How far the encoder's thoughts ``z`` (B, Z) are from the teacher's ``target``
    (B, Z): ``1 - cos`` of the meaning parts plus ``1 - cos`` of the surface parts
    (each part's direction counts alike, whatever the surface's share of the norm)."""
    M = cfg.meaning_dim
    loss = 1 - (meaning_part(z, M) * meaning_part(target, M)).sum(-1)  # (B,)
    if cfg.surface_dim:
        loss = loss + 1 - (meaning_part(z[..., M:], cfg.surface_dim)
                           * meaning_part(target[..., M:], cfg.surface_dim)).sum(-1)
    return loss.mean()
