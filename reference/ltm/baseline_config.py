"""Configuration of the byte-level baseline and the hybrid: one frozen dataclass, presets.

Issue 4 section 1. :class:`BaselineConfig` sizes the byte mini-LLaMA of
:mod:`ltm.baseline` (and the language model inside :mod:`ltm.hybrid`); training reuses
the LTM's :class:`ltm.train_config.TrainConfig`, of which the baseline reads only: ``core_batch``
(episodes per step), ``max_thoughts``, ``lr_decoder`` (its one learning rate),
``weight_decay``, ``warmup_steps``, ``lr_final`` (its rate decays over the whole run),
``grad_clip``, ``total_steps`` (codec + core steps: as many optimiser steps as the LTM
run), ``minutes``, ``val_fraction``, ``exclude_heldout``, ``val_every``,
``val_episodes``, ``ckpt_every`` and ``seed``.

Presets (:func:`baseline_preset`) are matched to the LTM presets of the same name:

- ``match="params"``: total parameters within 10% of the LTM's (encoder, decoder,
  core and head together), not counting the rows of hashed n-gram tables, the
  encoder's (:attr:`ltm.config.CodecConfig.ngram_max`) or the baseline's own
  (:attr:`BaselineConfig.ngram_max`, off in every preset): they are lookups, which cost
  no FLOPs, like the embeddings that scaling laws leave out of the count (Kaplan et
  al., 2020);
- ``match="flops"``: training FLOPs per training byte within 10% of the LTM's, as
  defined by :func:`ltm.flops.ltm_train_per_byte` and :func:`ltm.flops.baseline_train_per_byte`
  on episodes of the PVQ world's mean shape (the matching rule is stated there).

Each preset's docstring line gives its parameter count; ``tests/test_baseline.py`` checks
both matchings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from ltm.checks import check_ngrams, divides, positive
from ltm.config import ByteVocab, TrainConfig
from ltm.presets import preset

__all__ = ["BaselineConfig", "baseline_preset", "BASELINE_SIZES"]

Match = Literal["params", "flops"]


@dataclass(frozen=True, kw_only=True)
class BaselineConfig(ByteVocab):
    """The byte mini-LLaMA: sizes, its vocabulary's languages and how it is trained."""

    width: int = 128
    """Width of the transformer."""
    heads: int = 4
    """Attention heads (the head size ``width / heads`` must be even)."""
    layers: int = 2
    """Blocks of the causal transformer."""
    max_bytes: int = 256
    """Longest unit, in bytes (as the codec's); longer units are truncated."""
    context: int = 512
    """Longest training sequence in positions; longer episodes are cut there. Scoring
    and generation have no limit (rotary positions are computed on the fly)."""
    langs: tuple[str, ...] = ("en", "ru")
    """Languages with a start tag (ISO 639-1), in the codec's order."""
    rope_base: float = 10000.0
    """Base of the rotary position frequencies."""
    ngram_max: int = 0
    """Hashed n-gram embeddings added to each input token's, for n = 2 .. ngram_max, as the
    LTM encoder's (:attr:`ltm.config.CodecConfig.ngram_max`; 0: none, the presets). The
    n tokens ending at a position (SEP and the start tag included) look left only, so
    the model stays causal; in the hybrid a thought position counts as PAD in the
    n-grams of the tokens after it, and its own input is replaced by ``W z``. For the
    ablation that gives the baseline the LTM's input."""
    ngram_buckets: int = 1024
    """Rows of each n-gram table (:attr:`ngram_max`)."""
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    """Training (the fields the baseline reads are listed in the module docstring)."""

    def __post_init__(self) -> None:
        positive(self, "width", "heads", "layers", "max_bytes", "context")
        divides(self, "width", "heads")
        check_ngrams(self)
        self._check_langs_and_rope()
        if not isinstance(self.train, TrainConfig):
            raise ValueError(f"BaselineConfig.train must be a TrainConfig, got {self.train!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict: ``{"model": {...}, "train": {...}}``."""
        d = dataclasses.asdict(self)
        return {"model": {k: v for k, v in d.items() if k != "train"}, "train": d["train"]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BaselineConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError`` naming them."""
        unknown = set(d) - {"model", "train"}
        model, train = dict(d.get("model", {})), d.get("train", {})
        unknown |= {f"model.{k}" for k in set(model) - {f.name for f in dataclasses.fields(cls)}}
        unknown |= {f"train.{k}" for k in set(train)
                    - {f.name for f in dataclasses.fields(TrainConfig)}}
        if unknown or "train" in model:
            raise ValueError(f"BaselineConfig: unknown field(s) {sorted(unknown)}")
        if "langs" in model:
            model["langs"] = tuple(model["langs"])
        return cls(**model, train=TrainConfig(**train))


BASELINE_SIZES: dict[tuple[str, Match], dict[str, int]] = {
    ("tiny", "params"): {"width": 128, "heads": 4, "layers": 2, "context": 512},
    ("paper", "params"): {"width": 256, "heads": 4, "layers": 3, "context": 1024},
    ("gpu", "params"): {"width": 1024, "heads": 16, "layers": 10, "context": 2048},
    ("tiny", "flops"): {"width": 64, "heads": 4, "layers": 2, "context": 512},
    ("paper", "flops"): {"width": 120, "heads": 4, "layers": 4, "context": 1024},
    ("gpu", "flops"): {"width": 608, "heads": 8, "layers": 8, "context": 2048},
}
"""Sizes of every preset. Parameters of the baseline (the LTM preset's in brackets, without
its n-gram tables: 524,288 more in ``paper``, 16,777,216 in ``gpu``) and
training MFLOPs per byte (:mod:`ltm.flops`; LTM run: 1.220 tiny, 6.06 paper, 237.7 gpu):

- tiny: params 468,864 (469,440), 3.66 MFLOP/B; flops 134,080, 1.21 MFLOP/B (-1.0%)
- paper: params 2,507,008 (2,506,912), 17.98 MFLOP/B; flops 754,920, 6.28 MFLOP/B (+3.7%)
- gpu: params 126,548,992 (128,387,328), 819 MFLOP/B; flops 35,971,104, 239.7 MFLOP/B (+0.8%)

The hybrid on each adds ``thought_in`` (``Z x width``) and the LTM's frozen encoder."""


def baseline_preset(name: str, match: Match = "params") -> BaselineConfig:
    """The baseline matched to LTM preset ``name`` in ``params`` or training ``flops``,
    trained with that preset's :class:`~ltm.train_config.TrainConfig` and languages."""
    if match not in ("params", "flops"):
        raise ValueError(f"match must be 'params' or 'flops', got {match!r}")
    ltm = preset(name)  # raises for an unknown name
    return BaselineConfig(**BASELINE_SIZES[(name, match)], max_bytes=ltm.codec.max_bytes,
                          langs=ltm.codec.langs, train=ltm.train)
