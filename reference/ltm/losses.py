"""The losses that training calls: small pure functions, one per term.

DESIGN.md section 3. The codec learns by reconstruction (byte cross-entropy), by
alignment of quotes of one thought (InfoNCE on the meaning part), and by decoding
noised thoughts (so that it tolerates prediction error); the field core learns by its
head's loss and by the byte cross-entropy of the true next unit decoded from the
*predicted* thought (the token-level signal that keeps vector prediction from
collapsing to the mean, as in SONAR-LLM). ``lit.py`` weighs and sums them.

None of these holds state; the ones that take a module only call it.

Shape legend: B batch · T thoughts · L bytes · V vocab · Z thought dim · M meaning dim ·
C context width · N rows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ltm.codec import ThoughtDecoder, decoder_targets, meaning_part, to_sphere
from ltm.config import PAD
from ltm.heads import TensionHead

__all__ = ["reconstruction_loss", "alignment_loss", "drop_bytes", "noise_thoughts",
           "noised_decoding_loss", "next_pairs", "head_loss", "next_unit_loss"]


def reconstruction_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """Mean byte cross-entropy (nats per byte, EOS included) over non-PAD targets.
    ``logits`` (B, L+1, V), ``targets`` (B, L+1) from :func:`ltm.codec.decoder_targets`."""
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=PAD)


def alignment_loss(thoughts: Tensor, groups: Tensor, meaning_dim: int,
                   temperature: float = 0.05) -> Tensor:
    """InfoNCE across quotes of one thought (supervised-contrastive form).

    ``thoughts`` (B, Z); ``groups`` (B,) equal for quotes of the same meaning (other
    phrasings, other languages). For each anchor with at least one other quote in the
    batch, every other quote is a positive and all other rows are the negatives:

        L_i = -mean_{p in P(i)} log( exp(s_ip / tau) / sum_{j != i} exp(s_ij / tau) )

    on cosines ``s`` of the meaning parts only, so the surface part may differ.
    Returns 0 (with a graph) when no row has a partner."""
    m = meaning_part(thoughts, meaning_dim)  # (B, M)
    B = m.shape[0]
    eye = torch.eye(B, dtype=torch.bool, device=m.device)
    sim = (m @ m.T / temperature).masked_fill(eye, float("-inf"))  # (B, B)
    logp = sim.log_softmax(dim=-1).masked_fill(eye, 0.0)  # (B, B)
    pos = (groups[:, None] == groups[None, :]) & ~eye  # (B, B)
    n_pos = pos.sum(-1)  # (B,)
    has = n_pos > 0
    if not bool(has.any()):
        return thoughts.sum() * 0.0
    per_anchor = -(logp * pos).sum(-1)[has] / n_pos[has]
    return per_anchor.mean()


def drop_bytes(ids: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
    """The decoder's teacher-forced input ``ids`` (B, L) with each byte replaced by PAD
    with probability ``p`` (the targets stay whole). PAD is never an input before a real
    byte otherwise (padding comes only after a unit's last byte), so it reads as "a byte
    you cannot see":
    the decoder must take more of each unit from its thought and less from the bytes it
    has written, Bowman et al.'s (2016) word dropout at the byte level. ``p == 0``
    returns ``ids`` itself and draws nothing from ``generator``."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"drop_bytes: p must be in [0, 1), got {p!r}")
    if p == 0.0:
        return ids
    drop = torch.rand(ids.shape, generator=generator) < p  # (B, L), drawn on the CPU
    return ids.masked_fill(drop.to(ids.device), PAD)


def noise_thoughts(thoughts: Tensor, sigma: float, meaning_dim: int, surface_norm: float,
                   generator: torch.Generator | None = None) -> Tensor:
    """Thoughts (B, Z) with Gaussian noise of std ``sigma / sqrt(Z)`` per coordinate (so
    ``sigma`` is the expected noise norm), put back on the field."""
    Z = thoughts.shape[-1]
    eps = torch.randn(thoughts.shape, generator=generator, device=thoughts.device)
    return to_sphere(thoughts + eps * (sigma / Z**0.5), meaning_dim, surface_norm)


def noised_decoding_loss(decoder: ThoughtDecoder, thoughts: Tensor, ids: Tensor,
                         lengths: Tensor, lang: Tensor | None, sigma: float,
                         generator: torch.Generator | None = None) -> Tensor:
    """Reconstruction from noised thoughts: the decoder must still write ``ids`` (B, L)
    from a thought perturbed as by a prediction error of norm about ``sigma``."""
    cfg = decoder.cfg
    noisy = noise_thoughts(thoughts, sigma, cfg.meaning_dim, cfg.surface_norm, generator)
    return reconstruction_loss(decoder(noisy, ids, lang), decoder_targets(ids, lengths))


def next_pairs(context: Tensor, thoughts: Tensor,
               mask: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Rows for the head from an episode batch: context (B, T, C) and thoughts (B, T, Z)
    -> (context_t, z_t, z_{t+1}) of shapes (N, C), (N, Z), (N, Z), for every ``t`` where
    both ``t`` and ``t+1`` are real (``mask`` (B, T); ``None``: all real)."""
    ctx, cur, nxt = context[:, :-1], thoughts[:, :-1], thoughts[:, 1:]
    if mask is None:
        return ctx.flatten(0, 1), cur.flatten(0, 1), nxt.flatten(0, 1)
    both = mask[:, :-1] & mask[:, 1:]  # (B, T-1)
    return ctx[both], cur[both], nxt[both]


def head_loss(head: TensionHead, context: Tensor, thoughts: Tensor,
              mask: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
    """The tension head's loss over every real (t, t+1) pair of an episode batch.
    Targets are usually detached by the caller if the codec should not chase the head."""
    c, cur, nxt = next_pairs(context, thoughts, mask)
    return head.loss(c, cur, nxt, generator)


def next_unit_loss(decoder: ThoughtDecoder, predicted: Tensor, ids: Tensor,
                   lengths: Tensor, lang: Tensor | None = None) -> Tensor:
    """Byte cross-entropy of the true next unit ``ids`` (N, L) decoded from the predicted
    thought (N, Z), e.g. ``head.sample(c, z_t, steps=1)`` with its graph kept. Freeze the
    decoder (``requires_grad_(False)``) to make this a loss on the prediction alone."""
    return reconstruction_loss(decoder(predicted, ids, lang), decoder_targets(ids, lengths))
