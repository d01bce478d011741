"""Configuration of the reference model: frozen, validated dataclasses and named presets.

DESIGN.md section 3. Three blocks: :class:`CodecConfig` (the thought encoder and
decoder over bytes), :class:`FieldConfig` (the field core, its scene memory and its
tension head) and :class:`LTMConfig`, which holds one of each. Every field has a
docstring under it (rendered by mkdocstrings and shown by the CLI); every bad value
raises ``ValueError`` naming the field. Derived sizes are properties, never fields.

Presets (:func:`preset`): ``tiny`` trains in seconds on a CPU and is what the tests
use; ``paper`` is sized for the 45-minute CPU runs of the paper; ``gpu`` scales up.
Each preset's docstring states its parameter count (the same for every head kind)
and ``tests/test_config.py`` checks it against a freshly built :class:`ltm.model.LTM`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from ltm.langs import ISO_639_1

__all__ = ["N_BYTES", "PAD", "BOS", "EOS", "CodecConfig", "FieldConfig", "LTMConfig",
           "preset", "PRESETS"]

N_BYTES = 256
"""Byte values 0..255 are their own token ids."""
PAD, BOS, EOS = 256, 257, 258
"""Special token ids: padding, start of unit (language unknown), end of unit.
Language tags follow from 259 on, in the order of :attr:`CodecConfig.langs`."""

HeadKind = Literal["flow", "flow-noise", "mse", "energy"]
SampleMethod = Literal["euler", "heun"]


def _positive(obj: Any, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{type(obj).__name__}.{name} must be a positive int, got {value!r}")


def _divides(obj: Any, width: str, heads: str) -> None:
    w, h = getattr(obj, width), getattr(obj, heads)
    if w % h or (w // h) % 2:
        raise ValueError(f"{type(obj).__name__}.{heads}={h} must divide {width}={w} into an "
                         f"even head size (rotary positions rotate pairs)")


def _mlp_hidden(width: int) -> int:
    """LLaMA's SwiGLU hidden size: 8/3 of the width, rounded up to a multiple of 16."""
    return -(-(8 * width // 3) // 16) * 16


@dataclass(frozen=True, kw_only=True)
class CodecConfig:
    """The thought codec: bytes of one unit <-> one vector on the unit sphere."""

    width: int = 64
    """Width of the encoder and decoder transformers."""
    heads: int = 4
    """Attention heads (the head size ``width / heads`` must be even)."""
    enc_layers: int = 1
    """Blocks of the bidirectional byte encoder."""
    dec_layers: int = 2
    """Blocks of the causal byte decoder (the mini-LLaMA)."""
    max_bytes: int = 256
    """Longest unit, in bytes; longer input is truncated to this many bytes."""
    meaning_dim: int = 48
    """Size of the meaning part of a thought, aligned across quotes and languages."""
    surface_dim: int = 16
    """Size of the surface part of a thought (the phrasing); 0 for none."""
    surface_norm: float = 0.3
    """Norm of the surface part inside the unit-norm thought; the meaning part has norm
    ``sqrt(1 - surface_norm**2)``. Must be 0 when ``surface_dim`` is 0."""
    pool_slots: int = 4
    """Query slots of the encoder's attention pooling; their outputs are concatenated
    and projected, so several roles need not share one pooled vector."""
    prefix_len: int = 4
    """Decoder prefix positions the thought is projected to (its conditioning)."""
    langs: tuple[str, ...] = ("en", "ru")
    """Languages the decoder can be told to write (ISO 639-1 codes), one tag token each."""
    rope_base: float = 10000.0
    """Base of the rotary position frequencies."""

    def __post_init__(self) -> None:
        _positive(self, "width", "heads", "enc_layers", "dec_layers", "max_bytes",
                  "meaning_dim", "pool_slots", "prefix_len")
        _divides(self, "width", "heads")
        if not isinstance(self.surface_dim, int) or self.surface_dim < 0:
            raise ValueError(f"CodecConfig.surface_dim must be an int >= 0, "
                             f"got {self.surface_dim!r}")
        if not 0.0 <= self.surface_norm < 1.0:
            raise ValueError(f"CodecConfig.surface_norm must be in [0, 1), "
                             f"got {self.surface_norm!r}")
        if self.surface_dim == 0 and self.surface_norm != 0.0:
            raise ValueError("CodecConfig.surface_norm must be 0 when surface_dim is 0, "
                             f"got {self.surface_norm!r}")
        langs = tuple(self.langs)
        object.__setattr__(self, "langs", langs)
        bad = [x for x in langs if x not in ISO_639_1]
        if bad or len(set(langs)) != len(langs):
            raise ValueError(f"CodecConfig.langs must be distinct ISO 639-1 codes, got {langs!r}")
        if self.rope_base <= 1.0:
            raise ValueError(f"CodecConfig.rope_base must be > 1, got {self.rope_base!r}")

    @property
    def dim(self) -> int:
        """Dimension of the thought field: ``meaning_dim + surface_dim``."""
        return self.meaning_dim + self.surface_dim

    @property
    def vocab(self) -> int:
        """Token ids: 256 bytes, PAD, BOS, EOS, one tag per language."""
        return N_BYTES + 3 + len(self.langs)

    @property
    def mlp_hidden(self) -> int:
        """Hidden size of the SwiGLU feed-forward."""
        return _mlp_hidden(self.width)

    def lang_id(self, lang: str | None) -> int:
        """Start token for a language: its tag, or BOS for ``None`` (unspecified)."""
        if lang is None:
            return BOS
        if lang not in self.langs:
            raise ValueError(f"unknown language {lang!r}; this codec knows {self.langs}")
        return N_BYTES + 3 + self.langs.index(lang)


@dataclass(frozen=True, kw_only=True)
class FieldConfig:
    """The field core over thoughts, its scene memory and its tension head."""

    width: int = 64
    """Width of the causal transformer over thoughts."""
    heads: int = 4
    """Attention heads (the head size ``width / heads`` must be even)."""
    layers: int = 2
    """Blocks of the field core."""
    memory_slots: int = 4
    """Slots of the scene memory, read by attention and rewritten after every thought."""
    head: HeadKind = "flow"
    """Tension head: ``flow`` (current -> next thought), ``flow-noise`` (noise -> next),
    ``mse`` (direct regression) or ``energy`` (CALM's energy score)."""
    head_width: int = 128
    """Hidden width of the head's network."""
    head_layers: int = 2
    """Residual SwiGLU blocks of the head's network."""
    sample_steps: int = 8
    """Default number of ODE steps when sampling a flow head."""
    sample_method: SampleMethod = "heun"
    """Default ODE integrator of a flow head: ``euler`` or ``heun``."""
    energy_samples: int = 4
    """Samples per row drawn by the energy head's loss (at least 2)."""
    rope_base: float = 10000.0
    """Base of the rotary position frequencies over thought positions."""

    def __post_init__(self) -> None:
        _positive(self, "width", "heads", "layers", "memory_slots", "head_width",
                  "head_layers", "sample_steps", "energy_samples")
        _divides(self, "width", "heads")
        if self.head not in ("flow", "flow-noise", "mse", "energy"):
            raise ValueError("FieldConfig.head must be one of 'flow', 'flow-noise', 'mse', "
                             f"'energy', got {self.head!r}")
        if self.sample_method not in ("euler", "heun"):
            raise ValueError(f"FieldConfig.sample_method must be 'euler' or 'heun', "
                             f"got {self.sample_method!r}")
        if self.energy_samples < 2:
            raise ValueError(f"FieldConfig.energy_samples must be >= 2, "
                             f"got {self.energy_samples!r}")
        if self.rope_base <= 1.0:
            raise ValueError(f"FieldConfig.rope_base must be > 1, got {self.rope_base!r}")

    @property
    def mlp_hidden(self) -> int:
        """Hidden size of the SwiGLU feed-forward."""
        return _mlp_hidden(self.width)


@dataclass(frozen=True, kw_only=True)
class LTMConfig:
    """The whole model: a codec and a field core working in the codec's thought field."""

    codec: CodecConfig = dataclasses.field(default_factory=CodecConfig)
    """The thought encoder and decoder."""
    field: FieldConfig = dataclasses.field(default_factory=FieldConfig)
    """The field core, scene memory and tension head."""

    def __post_init__(self) -> None:
        if not isinstance(self.codec, CodecConfig):
            raise ValueError(f"LTMConfig.codec must be a CodecConfig, got {self.codec!r}")
        if not isinstance(self.field, FieldConfig):
            raise ValueError(f"LTMConfig.field must be a FieldConfig, got {self.field!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LTMConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError`` naming them."""
        def build(kind: type, sub: dict[str, Any], where: str) -> Any:
            known = {f.name for f in dataclasses.fields(kind)}
            unknown = set(sub) - known
            if unknown:
                raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
            sub = dict(sub)
            if "langs" in sub:
                sub["langs"] = tuple(sub["langs"])
            return kind(**sub)

        unknown = set(d) - {"codec", "field"}
        if unknown:
            raise ValueError(f"LTMConfig: unknown field(s) {sorted(unknown)}")
        return cls(codec=build(CodecConfig, d.get("codec", {}), "LTMConfig.codec"),
                   field=build(FieldConfig, d.get("field", {}), "LTMConfig.field"))


def tiny() -> LTMConfig:
    """Trains in seconds on a CPU; the tests use it.

    Parameters: 469,440 (encoder 100,352; decoder 150,720; core 150,464; head 67,904).
    """
    return LTMConfig(codec=CodecConfig(), field=FieldConfig(head_width=64))


def paper() -> LTMConfig:
    """The CPU runs of the paper (45 minutes on 2 cores). The codec is the probe's
    size (width 192, 2 + 2 layers); measured here at about 5k training bytes/s
    (forward, backward and AdamW; batches of 64 units of ~36 bytes; the 2048^2 fp32
    matmul ran at 139 GFLOP/s at the time), so a 45-minute run sees ~13M bytes.

    Parameters: 7,624,800 (encoder 1,207,680; decoder 1,109,568; core 3,929,856;
    head 1,377,696).
    """
    return LTMConfig(
        codec=CodecConfig(width=192, heads=6, enc_layers=2, dec_layers=2, meaning_dim=128,
                          surface_dim=32, pool_slots=4, prefix_len=4),
        field=FieldConfig(width=256, heads=8, layers=4, memory_slots=8, head_width=256,
                          head_layers=3),
    )


def gpu() -> LTMConfig:
    """Scaled up for one GPU.

    Parameters: 128,387,328 (encoder 15,940,608; decoder 21,347,840; core 63,534,336;
    head 27,564,544).
    """
    return LTMConfig(
        codec=CodecConfig(width=512, heads=8, enc_layers=4, dec_layers=6, meaning_dim=384,
                          surface_dim=128, pool_slots=8, prefix_len=8, max_bytes=512),
        field=FieldConfig(width=768, heads=12, layers=8, memory_slots=16, head_width=1024,
                          head_layers=4),
    )


PRESETS = {"tiny": tiny, "paper": paper, "gpu": gpu}
"""Named presets, each a function returning a fresh :class:`LTMConfig`."""


def preset(name: str) -> LTMConfig:
    """The preset called ``name``; ``ValueError`` lists the known names."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}")
    return PRESETS[name]()
