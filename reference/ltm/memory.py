"""The scene memory: a few slots that the field core reads and rewrites after each thought.

DESIGN.md section 3, "Field core": a scene memory of what the episode has established,
carried and rewritten from step to step. Attention over the thought sequence sees the
past thoughts; the memory is the part meant to hold *state* (who is where, what is
owned) and to outlast the attention window: :meth:`ltm.field.FieldCore.forward` returns
the final slots, which the next call can take up again.

**Write** (after every thought, a gated slot update in the manner of a GRU, addressed
by content as in a neural Turing machine). For slots ``m_s`` and thought state ``x``:

    a_s  = softmax_s( (W_q x) . (W_k m_s) / sqrt(D) )     which slot the thought is about
    c_s  = tanh( W_c [m_s; x] )                          what it would write there
    g_s  = a_s * sigmoid( W_g [m_s; x] )                 how much (per feature)
    m_s' = (1 - g_s) * m_s + g_s * c_s

Every operation acts on one batch row alone, so the update does not depend on the
batch order (a test checks it), and a padded thought (``keep`` false) leaves the slots
unchanged. The slots stay in [-1, 1] when they start there.

**Read**: multi-head attention from a position's state to the slots it may see.

Shape legend: B batch · T thoughts · S slots · D width.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ltm.llama import CrossAttention, RMSNorm

__all__ = ["SceneMemory"]


class SceneMemory(nn.Module):
    """``S`` slots of width ``D``: learned initial contents, a read and a gated write."""

    def __init__(self, dim: int, slots: int, heads: int) -> None:
        super().__init__()
        self.dim = dim
        self.init = nn.Parameter(torch.zeros(slots, dim))
        self.read_norm = RMSNorm(dim)
        self.reader = CrossAttention(dim, heads)
        self.addr_q = nn.Linear(dim, dim, bias=False)
        self.addr_k = nn.Linear(dim, dim, bias=False)
        self.cand = nn.Linear(2 * dim, dim)
        self.gate = nn.Linear(2 * dim, dim)

    def initial(self, batch: int) -> Tensor:
        """The slots at the start of an episode: (B, S, D)."""
        return torch.tanh(self.init)[None].expand(batch, -1, -1)

    def read(self, h: Tensor, slots: Tensor) -> Tensor:
        """What each position reads: ``h`` (B, T, D) attends to its own ``slots``
        (B, T, S, D), the memory as it stood at that position -> (B, T, D)."""
        B, T, D = h.shape
        S = slots.shape[2]
        q = self.read_norm(h).reshape(B * T, 1, D)  # (B*T, 1, D)
        y = self.reader(q, slots.reshape(B * T, S, D))  # (B*T, 1, D)
        return y.view(B, T, D)

    def write(self, slots: Tensor, x: Tensor, keep: Tensor | None = None) -> Tensor:
        """Rewrite ``slots`` (B, S, D) after a thought with state ``x`` (B, D);
        rows where ``keep`` (B,) is false are left unchanged."""
        S = slots.shape[1]
        scores = (self.addr_k(slots) @ self.addr_q(x)[:, :, None])[..., 0]  # (B, S)
        address = torch.softmax(scores / self.dim**0.5, dim=-1)  # (B, S)
        z = torch.cat([slots, x[:, None].expand(-1, S, -1)], dim=-1)  # (B, S, 2D)
        gate = address[..., None] * torch.sigmoid(self.gate(z))  # (B, S, D)
        new = (1 - gate) * slots + gate * torch.tanh(self.cand(z))  # (B, S, D)
        if keep is None:
            return new
        return torch.where(keep[:, None, None], new, slots)

    def scan(self, x: Tensor, mask: Tensor | None, slots: Tensor) -> Tensor:
        """Write thoughts ``x`` (B, T, D) one after another, starting from ``slots``
        (B, S, D); returns the memory after each write, (B, T, S, D). Position ``t``
        depends on thoughts ``0..t`` only."""
        states = []
        for t in range(x.shape[1]):
            slots = self.write(slots, x[:, t], None if mask is None else mask[:, t])
            states.append(slots)
        if not states:
            return slots.new_zeros(slots.shape[0], 0, *slots.shape[1:])
        return torch.stack(states, dim=1)  # (B, T, S, D)
