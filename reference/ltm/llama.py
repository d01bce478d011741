"""The LLaMA blocks, written once: RMSNorm, rotary positions, SwiGLU, attention, the block.

DESIGN.md section 3: the encoder, the decoder, the field core and the baseline all use
these, so a comparison between them is a comparison of what they model, not of how
their blocks were written. The block is LLaMA's pre-norm residual block
(Touvron et al., 2023):

    h = x + Attn(RMSNorm(x)),   y = h + SwiGLU(RMSNorm(h))

- RMSNorm (Zhang & Sennrich, 2019): ``x / sqrt(mean(x^2) + eps) * g``, no mean, no bias.
- Rotary positions (Su et al., 2021): each pair ``(x_i, x_{i+d/2})`` of a query or key
  at position ``p`` is rotated by the angle ``p * base^(-2i/d)``, so ``q . k`` depends
  on positions only through their difference. Angles are computed on the fly from the
  positions given, so there is no maximum length.
- SwiGLU (Shazeer, 2020): ``W2 (silu(W1 x) * W3 x)``.
- Attention is torch's ``scaled_dot_product_attention``: causal (``is_causal``) or
  bidirectional with a key mask (padding), with an optional key/value cache so that
  decoding one byte costs one position, not the whole prefix again.

Masks are boolean, ``True`` = may attend, broadcastable to ``(B, H, Tq, Tk)``.

Shape legend: B batch · T positions · D width · H heads · E head size · N new positions.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["RMSNorm", "Rotary", "apply_rotary", "SwiGLU", "Attention", "CrossAttention", "Block", "Stack",
           "LayerCache", "init_weights"]


class RMSNorm(nn.Module):
    """Root-mean-square norm with a learned gain."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.weight.shape, self.weight, self.eps)


class Rotary(nn.Module):
    """Rotary position angles: ``cos, sin`` of shape (T, E/2) for the given positions."""

    def __init__(self, head_dim: int, base: float = 10000.0) -> None:
        super().__init__()
        inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)  # (E/2,)

    def forward(self, positions: Tensor) -> tuple[Tensor, Tensor]:
        angles = positions.to(torch.float32)[:, None] * self.inv_freq[None, :]  # (T, E/2)
        return angles.cos(), angles.sin()


def apply_rotary(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate pairs ``(x_i, x_{i+E/2})`` of ``x`` (B, H, T, E) by the angles (T, E/2)."""
    x1, x2 = x.chunk(2, dim=-1)  # (B, H, T, E/2) each
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class SwiGLU(nn.Module):
    """LLaMA's gated feed-forward: ``W2 (silu(W1 x) * W3 x)``."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class LayerCache:
    """Keys and values of one attention layer seen so far, in buffers that double when
    full, so that a decoding step writes its one position in place instead of copying
    the whole past (as a ``torch.cat`` per step would)."""

    def __init__(self) -> None:
        self.length = 0
        """Positions stored."""
        self._k: Tensor | None = None  # (B, H, capacity, E)
        self._v: Tensor | None = None

    def extend(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Store ``k``, ``v`` (B, H, N, E) after the past; every key and value so far,
        each (B, H, length, E)."""
        end = self.length + k.shape[2]
        if self._k is None or end > self._k.shape[2]:
            capacity = max(end, 2 * self.length, 64)
            grown = [t.new_empty(*t.shape[:2], capacity, t.shape[3]) for t in (k, v)]
            if self._k is not None:
                grown[0][:, :, : self.length] = self._k[:, :, : self.length]
                grown[1][:, :, : self.length] = self._v[:, :, : self.length]
            self._k, self._v = grown
        self._k[:, :, self.length: end] = k
        self._v[:, :, self.length: end] = v
        self.length = end
        return self._k[:, :, :end], self._v[:, :, :end]

    def keep(self, rows: Tensor) -> None:
        """Keep only the batch rows ``rows`` (an index or a (B,) bool mask): a decoder
        drops the rows that have finished writing."""
        if self._k is not None:
            self._k, self._v = self._k[rows], self._v[rows]


class Attention(nn.Module):
    """Multi-head self-attention with rotary positions on queries and keys."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.out = nn.Linear(dim, dim, bias=False)

    def forward(self, x: Tensor, rope: tuple[Tensor, Tensor], *, causal: bool,
                mask: Tensor | None = None, cache: LayerCache | None = None) -> Tensor:
        B, N, D = x.shape
        q, k, v = self.qkv(x).split(D, dim=-1)  # (B, N, D) each
        q = q.view(B, N, self.heads, self.head_dim).transpose(1, 2)  # (B, H, N, E)
        k = k.view(B, N, self.heads, self.head_dim).transpose(1, 2)  # (B, H, N, E)
        v = v.view(B, N, self.heads, self.head_dim).transpose(1, 2)  # (B, H, N, E)
        q, k = apply_rotary(q, *rope), apply_rotary(k, *rope)
        past = 0
        if cache is not None:
            past = cache.length
            k, v = cache.extend(k, v)  # (B, H, T, E) each, T = past + N
        if causal and (mask is not None or past > 0):
            # query i (absolute position past + i) may see keys 0..past + i
            T = k.shape[2]
            allowed = torch.ones(N, T, dtype=torch.bool, device=x.device).tril(past)  # (N, T)
            mask = allowed if mask is None else mask & allowed
            causal = False
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
        y = y.transpose(1, 2).reshape(B, N, D)  # (B, N, D)
        return self.out(y)


class CrossAttention(nn.Module):
    """Multi-head attention from queries ``x`` to a separate set ``ctx`` (no positions):
    the encoder's pooling and the scene memory's read use it."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.q = nn.Linear(dim, dim, bias=False)
        self.kv = nn.Linear(dim, 2 * dim, bias=False)
        self.out = nn.Linear(dim, dim, bias=False)

    def forward(self, x: Tensor, ctx: Tensor, mask: Tensor | None = None) -> Tensor:
        """``x`` (B, N, D) attends to ``ctx`` (B, M, D); ``mask`` (B, 1, 1, M) -> (B, N, D)."""
        B, N, D = x.shape
        M = ctx.shape[1]
        q = self.q(x).view(B, N, self.heads, self.head_dim).transpose(1, 2)  # (B, H, N, E)
        k, v = self.kv(ctx).split(D, dim=-1)  # (B, M, D) each
        k = k.view(B, M, self.heads, self.head_dim).transpose(1, 2)  # (B, H, M, E)
        v = v.view(B, M, self.heads, self.head_dim).transpose(1, 2)  # (B, H, M, E)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, H, N, E)
        return self.out(y.transpose(1, 2).reshape(B, N, D))  # (B, N, D)


class Block(nn.Module):
    """Pre-norm residual block: attention then SwiGLU, each after an RMSNorm."""

    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(dim)
        self.attn = Attention(dim, heads)
        self.mlp_norm = RMSNorm(dim)
        self.mlp = SwiGLU(dim, hidden)

    def forward(self, x: Tensor, rope: tuple[Tensor, Tensor], *, causal: bool,
                mask: Tensor | None = None, cache: LayerCache | None = None) -> Tensor:
        x = x + self.attn(self.attn_norm(x), rope, causal=causal, mask=mask, cache=cache)
        return x + self.mlp(self.mlp_norm(x))


class Stack(nn.Module):
    """``layers`` blocks sharing one rotary table, then a final RMSNorm."""

    def __init__(self, dim: int, heads: int, layers: int, hidden: int,
                 rope_base: float = 10000.0) -> None:
        super().__init__()
        self.rotary = Rotary(dim // heads, rope_base)
        self.blocks = nn.ModuleList(Block(dim, heads, hidden) for _ in range(layers))
        self.norm = RMSNorm(dim)

    def forward(self, x: Tensor, *, causal: bool, mask: Tensor | None = None,
                caches: list[LayerCache] | None = None) -> Tensor:
        """``x`` (B, N, D) -> (B, N, D). With ``caches``, positions continue after them."""
        start = 0 if caches is None else caches[0].length
        positions = torch.arange(start, start + x.shape[1], device=x.device)  # (N,)
        rope = self.rotary(positions)
        for i, block in enumerate(self.blocks):
            cache = None if caches is None else caches[i]
            x = block(x, rope, causal=causal, mask=mask, cache=cache)
        return self.norm(x)

    def new_caches(self) -> list[LayerCache]:
        """One empty :class:`LayerCache` per block, for incremental decoding."""
        return [LayerCache() for _ in self.blocks]


def init_weights(module: nn.Module, layers: int) -> None:
    """GPT-2/LLaMA init: N(0, 0.02) for linears and embeddings, zero biases, and the
    residual output projections shrunk by ``1/sqrt(2 * layers)``."""
    for name, p in module.named_parameters():
        if p.dim() < 2:
            if name.endswith("bias"):
                nn.init.zeros_(p)
            continue
        std = 0.02
        if name.endswith(("attn.out.weight", "mlp.w2.weight")):
            std /= math.sqrt(2 * max(layers, 1))
        nn.init.normal_(p, mean=0.0, std=std)
