"""The field core: a causal transformer over the thought sequence plus the scene memory.

DESIGN.md section 3, "Field core". Given thoughts ``z_1 .. z_T`` (points of the field),
the core gives a context state ``c_t`` at every position, from which a tension head
(:mod:`ltm.heads`) predicts ``z_{t+1}``. The core must be causal: ``c_t`` depends on
``z_1 .. z_t`` only (and on the memory carried in), which a hypothesis test checks.

How the memory is woven in, in parallel and still causally. The ``layers`` blocks are
cut in two, ``n_lo = layers // 2`` below and the rest above:

    x_t  = W_in z_t
    u    = Blocks_lo(x)                       causal self-attention
    M_t  = write(M_{t-1}, W_w u_t)            the scan of :class:`SceneMemory` (sequential in
                                              t, but only a few small matmuls per step)
    v_t  = u_t + read(u_t, M_t)               each position reads the memory as it stood
                                              after its own thought
    c    = RMSNorm(Blocks_hi(v))              causal self-attention

Every step maps position ``t`` from positions ``<= t`` only, so the whole is causal,
while the expensive blocks still run over all positions at once. The memory's write
sees the lower blocks' context (not just the bare thought), so it can record what a
thought *changes*. The final slots come back so that an episode longer than one call
can carry its memory on (:meth:`FieldCore.forward` takes them as ``slots``). With
``memory_slots = 0`` there is no memory: ``v = u`` (the ablation of experiment E5).

Padded episodes are right-padded; ``mask`` (B, T) marks real thoughts. Padded positions
never write the memory and, being after every real position, are never attended to.

Shape legend: B batch · T thoughts · S slots · D core width · Z thought dim.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ltm.config import CodecConfig, FieldConfig
from ltm.llama import Block, RMSNorm, Rotary, init_weights
from ltm.memory import SceneMemory

__all__ = ["FieldCore"]


class FieldCore(nn.Module):
    """Causal transformer over thoughts with a scene memory written between its halves."""

    def __init__(self, cfg: FieldConfig, codec: CodecConfig) -> None:
        super().__init__()
        self.cfg = cfg
        D = cfg.width
        self.n_lo = cfg.layers // 2
        self.inp = nn.Linear(codec.dim, D)
        self.rotary = Rotary(D // cfg.heads, cfg.rope_base)
        self.blocks = nn.ModuleList(Block(D, cfg.heads, cfg.mlp_hidden)
                                    for _ in range(cfg.layers))
        self.memory: SceneMemory | None = None  # memory_slots = 0: no memory (E5's ablation)
        if cfg.memory_slots:
            self.write_norm = RMSNorm(D)
            self.write_proj = nn.Linear(D, D)
            self.memory = SceneMemory(D, cfg.memory_slots, cfg.heads)
        self.norm = RMSNorm(D)
        init_weights(self, cfg.layers)

    def forward(self, thoughts: Tensor, mask: Tensor | None = None,
                slots: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``thoughts`` (B, T, Z), ``mask`` (B, T) bool, ``slots`` (B, S, D) carried in
        (default: the learned start) -> context (B, T, D) and the final slots (B, S, D)."""
        B, T, _ = thoughts.shape
        if slots is None:
            slots = (self.memory.initial(B) if self.memory is not None
                     else thoughts.new_zeros(B, 0, self.cfg.width))
        rope = self.rotary(torch.arange(T, device=thoughts.device))
        x = self.inp(thoughts)  # (B, T, D)
        for block in self.blocks[: self.n_lo]:
            x = block(x, rope, causal=True)
        final = slots
        if self.memory is not None:
            states = self.memory.scan(self.write_proj(self.write_norm(x)), mask, slots)
            x = x + self.memory.read(x, states)  # (B, T, D); states (B, T, S, D)
            if T > 0:  # padded steps leave the slots unchanged
                final = states[:, -1]
        for block in self.blocks[self.n_lo :]:
            x = block(x, rope, causal=True)
        return self.norm(x), final
