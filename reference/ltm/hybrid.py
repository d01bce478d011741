"""The hybrid, "PVQ + mini-LLaMA": the byte baseline conditioned on the LTM's thoughts.

DESIGN.md section 3 "Hybrid", issue 4 section 1. The byte mini-LLaMA of
:mod:`ltm.baseline`, reading the thought vectors of the units so far. Each past unit's
thought ``z_t`` (from the LTM's encoder, frozen) enters as one extra input position
right after that unit's separator, through a learned linear map to the width:

    input    [lang] u_1 SEP W z_1 u_2 SEP W z_2 ... u_T
    target          u_1  -   u_2  SEP  -   ...  u_T SEP        (- : no target)

so the bytes of unit ``t`` attend to the thoughts of units ``< t`` only (causal in
thoughts: changing ``z_t`` never changes the scores of units ``<= t``; a hypothesis
test checks it), and the thought of a unit is read only once the whole unit has been
seen, as an LTM would have it. The position after a SEP predicts nothing (its next
position is the thought); the thought's position predicts the next unit's first byte.

Why prefix positions and not a sum onto the byte embeddings: a position of its own lets
every later byte attend to each past thought by content, and costs one position per
unit (about 3% more positions at the PVQ world's 33 bytes per unit).

The encoder is the LTM's, loaded from its model directory (:meth:`HybridLM.from_ltm`),
frozen and kept in evaluation mode (its centring uses the LTM's running mean); it is
saved inside the hybrid's own directory, so a hybrid loads without the LTM.

Shape legend: B episodes · S positions · D width · N units · Z thought dim.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from torch import Tensor, nn

from ltm.baseline import THOUGHT, ByteLM
from ltm.baseline_config import BaselineConfig
from ltm.codec import ThoughtEncoder, pack
from ltm.config import CodecConfig

__all__ = ["HybridLM"]


class HybridLM(ByteLM):
    """:class:`ltm.baseline.ByteLM` with a frozen thought encoder and ``thought_in``."""

    kind = "hybrid"
    uses_thoughts = True

    def __init__(self, config: BaselineConfig, codec: CodecConfig) -> None:
        super().__init__(config)
        self.codec = codec
        self.encoder = ThoughtEncoder(codec)
        self.encoder.requires_grad_(False)
        self.encoder.eval()
        self.thought_in = nn.Linear(codec.dim, config.width, bias=False)
        nn.init.normal_(self.thought_in.weight, std=0.02)

    def train(self, mode: bool = True) -> HybridLM:
        """As :meth:`torch.nn.Module.train`, but the frozen encoder stays in eval mode."""
        super().train(mode)
        self.encoder.eval()
        return self

    @torch.no_grad()
    def thoughts(self, ids: Tensor, lengths: Tensor) -> Tensor:
        """Thoughts (N, Z) of packed units ``ids`` (N, L), ``lengths`` (N,)."""
        return self.encoder(ids, lengths)

    def inputs(self, batch: dict[str, Tensor]) -> Tensor:
        """Byte embeddings, with ``W z`` at every thought position: (B, S, D)."""
        x = self.embed_tokens(batch["tokens"])  # (B, S, D)
        slot = batch["slot"]  # (B, S)
        if not bool((slot >= 0).any()):
            return x
        z = self.thoughts(batch["unit_ids"], batch["unit_lengths"])  # (N, Z)
        v = self.thought_in(z)  # (N, D)
        return torch.where((slot >= 0)[..., None], v[slot.clamp(min=0)], x)  # (B, S, D)

    def after_unit(self, unit: bytes, history: list[int]) -> Tensor:
        """After a generated unit: its SEP, then its thought: (1, 2, D); both ids go on
        ``history``."""
        ids, lengths = pack([unit], self.config.max_bytes, self.device)
        v = self.thought_in(self.thoughts(ids, lengths))  # (1, D)
        sep = super().after_unit(unit, history)[0]  # (1, D)
        history.append(THOUGHT)
        return torch.cat([sep, v], dim=0)[None]  # (1, 2, D)

    def config_dict(self) -> dict:
        """The kind, the language model's configuration and the encoder's codec config."""
        return {**super().config_dict(), "codec": dataclasses.asdict(self.codec)}

    @classmethod
    def from_config_dict(cls, d: dict) -> HybridLM:
        """A fresh hybrid from :meth:`config_dict`'s output."""
        if d.get("kind") != cls.kind:
            raise ValueError(f"config holds a model of kind {d.get('kind', 'ltm')!r}, "
                             f"not {cls.kind!r}")
        codec = dict(d["codec"])
        codec["langs"] = tuple(codec["langs"])
        rest = {k: v for k, v in d.items() if k not in ("kind", "codec")}
        return cls(BaselineConfig.from_dict(rest), CodecConfig(**codec))

    @classmethod
    def from_ltm(cls, config: BaselineConfig, ltm_dir: str | Path) -> HybridLM:
        """A fresh hybrid whose encoder is the trained LTM's in ``ltm_dir``."""
        from ltm.model import LTM

        ltm = LTM.load(ltm_dir)
        model = cls(config, ltm.config.codec)
        model.encoder.load_state_dict(ltm.encoder.state_dict())
        return model
