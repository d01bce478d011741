"""Configuration of the reference model: frozen, validated dataclasses.

DESIGN.md section 3. Four blocks: :class:`CodecConfig` (the thought encoder and
decoder over bytes), :class:`FieldConfig` (the field core, its scene memory and its
tension head), :class:`~ltm.train_config.TrainConfig` (batches, learning rates, loss
weights and stage lengths of ``lit.py``; defined in :mod:`ltm.train_config`, exported
here too) and :class:`LTMConfig`, which holds one of each. Every field has a docstring
under it (rendered by mkdocstrings and shown by the CLI); every bad value raises
``ValueError`` naming the field (the checks are :mod:`ltm.checks`). Derived sizes are
properties, never fields.

The named presets (``tiny``, ``paper``, ``gpu``) are in :mod:`ltm.presets`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from ltm.checks import check_ngrams, count, divides, fraction, non_negative, positive
from ltm.langs import ISO_639_1
from ltm.train_config import TrainConfig

__all__ = ["N_BYTES", "PAD", "BOS", "EOS", "ByteVocab", "CodecConfig", "FieldConfig", "TrainConfig",
           "LTMConfig", "CONFIG_IGNORED_ON_RESUME", "config_overrides", "train_overrides",
           "with_overrides"]

N_BYTES = 256
"""Byte values 0..255 are their own token ids."""
PAD, BOS, EOS = 256, 257, 258
"""Special token ids: padding, start of unit (language unknown), end of unit.
Language tags follow from 259 on, in the order of :attr:`CodecConfig.langs`."""

HeadKind = str
"""A tension head's name: ``flow``, ``flow-noise``, ``mse``, ``energy``, ``choice``, or one
added with
:func:`ltm.heads.register_head`."""
SampleMethod = Literal["euler", "heun"]


def _mlp_hidden(width: int) -> int:
    """LLaMA's SwiGLU hidden size: 8/3 of the width, rounded up to a multiple of 16."""
    return -(-(8 * width // 3) // 16) * 16


class ByteVocab:
    """What the codec and the byte baseline share: the token ids (bytes 0..255, PAD, BOS,
    EOS, then one tag per language of ``langs``), the language check and the SwiGLU size.
    A mixin of frozen dataclasses with ``width`` and ``langs`` fields."""

    width: int
    langs: tuple[str, ...]

    def _check_langs_and_rope(self) -> None:
        name = type(self).__name__
        langs = tuple(self.langs)
        object.__setattr__(self, "langs", langs)
        if [x for x in langs if x not in ISO_639_1] or len(set(langs)) != len(langs):
            raise ValueError(f"{name}.langs must be distinct ISO 639-1 codes, got {langs!r}")
        if self.rope_base <= 1.0:
            raise ValueError(f"{name}.rope_base must be > 1, got {self.rope_base!r}")

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
            raise ValueError(f"unknown language {lang!r}; this {type(self).__name__} knows "
                             f"{self.langs}")
        return N_BYTES + 3 + self.langs.index(lang)


@dataclass(frozen=True, kw_only=True)
class CodecConfig(ByteVocab):
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
    ngram_max: int = 0
    """Hashed byte n-grams added to each byte's embedding, for n = 2 .. ngram_max (0:
    none), as the Byte Latent Transformer does (Pagnoni et al., 2024): the n bytes
    ending at a position are hashed into :attr:`ngram_buckets` rows of one table per n,
    so the first layer already sees which word piece it is in."""
    ngram_buckets: int = 4096
    """Rows of each n-gram table (:attr:`ngram_max`)."""
    decoder_ngrams: bool = False
    """Whether the decoder's inputs get hashed n-gram embeddings too (its own tables,
    n = 2 .. :attr:`ngram_max`, looking left only, so it stays causal), as E3's byte
    baseline with n-grams does; off in every preset."""
    pool_slots: int = 4
    """Query slots of the encoder's attention pooling; their outputs are concatenated
    and projected, so several roles need not share one pooled vector."""
    prefix_len: int = 4
    """Decoder prefix positions the thought is projected to (its conditioning)."""
    center: bool = False
    """Subtract the mean thought (the batch mean in training, its running average in
    evaluation) before the sphere. Without it every thought collapses onto one line in
    the first steps of training (experiments/LOG.md); the presets turn it on."""
    langs: tuple[str, ...] = ("en", "ru")
    """Languages the decoder can be told to write (ISO 639-1 codes), one tag token each."""
    rope_base: float = 10000.0
    """Base of the rotary position frequencies."""

    def __post_init__(self) -> None:
        positive(self, "width", "heads", "enc_layers", "dec_layers", "max_bytes",
                 "meaning_dim", "pool_slots", "prefix_len")
        divides(self, "width", "heads")
        check_ngrams(self)
        if self.decoder_ngrams and not self.ngram_max:
            raise ValueError("CodecConfig.decoder_ngrams needs ngram_max >= 2, got "
                             f"ngram_max={self.ngram_max!r}")
        count(self, "surface_dim")
        fraction(self, "surface_norm", below_one=True)
        if self.surface_dim == 0 and self.surface_norm != 0.0:
            raise ValueError("CodecConfig.surface_norm must be 0 when surface_dim is 0, "
                             f"got {self.surface_norm!r}")
        self._check_langs_and_rope()

    @property
    def dim(self) -> int:
        """Dimension of the thought field: ``meaning_dim + surface_dim``."""
        return self.meaning_dim + self.surface_dim


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
    """Slots of the scene memory, read by attention and rewritten after every thought
    (0: no memory, the ablation of experiment E5)."""
    head: HeadKind = "flow"
    """Tension head: ``flow`` (current -> next thought), ``flow-noise`` (noise -> next),
    ``mse`` (direct regression), ``energy`` (CALM's energy score) or ``choice`` (several
    hypotheses, the nearest one trained, and a selector)."""
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
    source_noise: float = 0.0
    """``flow`` head only: the path starts at the current thought plus Gaussian noise of
    this expected norm, put back on the field. A flow from a point mass is a
    deterministic map and can only learn the conditional mean; 0 starts at the thought."""
    choices: int = 16
    """``choice`` head only: hypotheses per position (at least 2)."""
    choice_pick: Literal["decoder", "selector"] = "decoder"
    """``choice`` head only, how :meth:`ltm.model.LTM.predict_next` picks a hypothesis:
    ``decoder``, the one whose greedy unit the decoder writes with the fewest nats per
    byte (in the language it will be said in); ``selector``, by the head's selector."""
    choice_roundtrip: float = 0.0
    """``choice`` head, ``decoder`` pick: score each hypothesis by its nats per byte minus
    this weight times the cosine between it and its greedy unit encoded again (a reading
    that does not come back to its thought was misread); 0 scores by nats alone."""
    choice_branches: int = 0
    """``choice`` head, ``decoder`` pick: also read each hypothesis at its this many
    least sure places (:meth:`ltm.codec.ThoughtDecoder.branch`, with the reading
    search's ``min_logp``) and score every reading as the greedy ones are; when a
    branched reading wins, the next thought is that reading encoded again. 0: greedy
    readings only."""
    choice_temperature: float = 0.0
    """``choice`` head, ``selector`` pick: draw from the selector's softmax at this
    temperature; 0 takes the most probable hypothesis."""
    critic_width: int = 0
    """Hidden width of the legality critic (:mod:`ltm.critic`) that joins the decoder's
    pick among a ``choice`` head's hypotheses; 0: no critic."""
    critic_weight: float = 1.0
    """Decoder's pick with a critic: nats per byte minus this weight times the critic's
    log-probability that the hypothesis's unit is legal."""
    critic_recall: int = 0
    """With a critic: how many of the latest past thoughts the critic compares each
    reading with (:func:`ltm.critic.recall`: their cosines, most recent first, and the
    largest over the whole past); 0: the critic does not read the past."""
    critic_members: int = 1
    """With a critic: how many critics, initialised and trained apart, whose log-odds
    the pick averages (:class:`ltm.critic.Critic`)."""
    critic_words: int = 0
    """With a critic: how many of each reading's words the critic checks against the
    units said before it in the episode, the decoder's greedy readings of the past
    thoughts (:func:`ltm.novelty.word_inputs`: whether each is new and how recently it
    was said, then the share of new words); 0: the critic reads no words."""

    def __post_init__(self) -> None:
        positive(self, "width", "heads", "layers", "head_width",
                 "head_layers", "sample_steps", "energy_samples", "choices", "critic_members")
        non_negative(self, "source_noise", "choice_temperature", "choice_roundtrip",
                     "critic_weight")
        count(self, "memory_slots", "critic_width", "critic_recall", "choice_branches",
              "critic_words")
        if self.critic_members > 1 and not self.critic_width:
            raise ValueError(f"FieldConfig.critic_members needs a critic (critic_width > 0), "
                             f"got critic_members={self.critic_members!r}")
        for name in ("critic_recall", "critic_words"):
            if getattr(self, name) and not self.critic_width:
                raise ValueError(f"FieldConfig.{name} needs a critic (critic_width > 0), "
                                 f"got {name}={getattr(self, name)!r}")
        if self.critic_width and (self.head != "choice" or self.choice_pick != "decoder"):
            raise ValueError("FieldConfig.critic_width needs the choice head with the "
                             f"decoder's pick, got head {self.head!r}, pick {self.choice_pick!r}")
        divides(self, "width", "heads")
        from ltm.heads import HEADS  # here, not at the top: heads.py imports this module

        if self.head not in HEADS:
            raise ValueError(f"FieldConfig.head must be one of "
                             f"{', '.join(repr(h) for h in HEADS)}, got {self.head!r}")
        if self.sample_method not in ("euler", "heun"):
            raise ValueError(f"FieldConfig.sample_method must be 'euler' or 'heun', "
                             f"got {self.sample_method!r}")
        if self.choices < 2:
            raise ValueError(f"FieldConfig.choices must be >= 2, got {self.choices!r}")
        if self.choice_pick not in ("decoder", "selector"):
            raise ValueError(f"FieldConfig.choice_pick must be 'decoder' or 'selector', "
                             f"got {self.choice_pick!r}")
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
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    """How ``lit.py`` trains it (no effect on the modules or their parameters)."""

    def __post_init__(self) -> None:
        if not isinstance(self.codec, CodecConfig):
            raise ValueError(f"LTMConfig.codec must be a CodecConfig, got {self.codec!r}")
        if not isinstance(self.field, FieldConfig):
            raise ValueError(f"LTMConfig.field must be a FieldConfig, got {self.field!r}")
        if not isinstance(self.train, TrainConfig):
            raise ValueError(f"LTMConfig.train must be a TrainConfig, got {self.train!r}")

    @property
    def stage_minutes(self) -> float:
        """Minutes the codec and core stages share: all of ``train.minutes``, less the
        critic stage's ``train.critic_share`` when the field has a critic (0: no budget)."""
        share = self.train.critic_share if self.field.critic_width else 0.0
        return self.train.minutes * (1 - share)

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

        unknown = set(d) - {"codec", "field", "train"}
        if unknown:
            raise ValueError(f"LTMConfig: unknown field(s) {sorted(unknown)}")
        return cls(codec=build(CodecConfig, d.get("codec", {}), "LTMConfig.codec"),
                   field=build(FieldConfig, d.get("field", {}), "LTMConfig.field"),
                   train=build(TrainConfig, d.get("train", {}), "LTMConfig.train"))


CONFIG_IGNORED_ON_RESUME = ("minutes",)
"""TrainConfig fields a run directory may change between runs (a resumed run may be
given a new time budget)."""


def config_overrides(config: Any, pairs: list[str] | tuple[str, ...],
                     option: str = "--set", prefix: str = "") -> dict[str, Any]:
    """``["teacher_share=0.4", "exclude_heldout=false"]`` -> the fields of the config
    dataclass ``config`` to change, each value typed as its field is (a bool from
    true/false/1/0); ``ValueError`` names the first pair, as given to ``option`` (with
    ``prefix`` before it), that is not ``FIELD=VALUE`` of a known field with a value of
    its type."""
    fields = {f.name: type(getattr(config, f.name)) for f in dataclasses.fields(config)}
    what = type(config).__name__
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        shown = f"{option} {prefix + pair!r}"
        if not sep or name not in fields:
            raise ValueError(f"{shown}: expected {prefix}FIELD=VALUE with a {what} field, "
                             f"one of {', '.join(sorted(fields))}")
        kind = fields[name]
        if kind in (tuple, list, dict):
            raise ValueError(f"{shown}: {name} is a {kind.__name__}, which {option} cannot "
                             f"give; change it in a preset")
        if kind is bool:  # bool("false") is True
            if value.lower() not in ("1", "0", "true", "false"):
                raise ValueError(f"{shown}: {value!r} is not true/false/1/0")
            out[name] = value.lower() in ("1", "true")
            continue
        try:
            out[name] = kind(value)
        except (TypeError, ValueError):  # TypeError: a field whose default is None
            raise ValueError(f"{shown}: {value!r} is not a {kind.__name__}") from None
    return out


def with_overrides(config: Any, pairs: list[str] | tuple[str, ...],
                   option: str = "--set") -> Any:
    """``config`` (an :class:`LTMConfig`, or any config with a ``train`` part) with
    ``FIELD=VALUE`` changes (``ltm fit --set``): a plain ``FIELD`` is a field of its
    :class:`~ltm.train_config.TrainConfig`, ``PART.FIELD`` a field of another dataclass part (for an
    :class:`LTMConfig`, ``codec.width=192`` or ``field.head_width=384``). Each part is
    checked again by its own ``__post_init__``; ``ValueError`` names the first bad pair
    (or, for a value its part refuses, the part's own check)."""
    parts = {f.name for f in dataclasses.fields(config)
             if dataclasses.is_dataclass(getattr(config, f.name))}
    grouped: dict[str, list[str]] = {}
    for pair in pairs:
        part, dot, _ = pair.partition("=")[0].partition(".")
        if not dot:
            grouped.setdefault("", []).append(pair)  # plain FIELD: a training field
        elif part.strip() in parts:
            grouped.setdefault(part.strip(), []).append(pair.split(".", 1)[1])
        else:
            raise ValueError(f"{option} {pair!r}: {part.strip()!r} is not a part of "
                             f"{type(config).__name__}, one of {', '.join(sorted(parts))}")
    changes: dict[str, Any] = {}
    for part, keys in grouped.items():
        name = part or "train"
        base = changes.get(name, getattr(config, name))
        prefix = part and part + "."
        changes[name] = dataclasses.replace(base, **config_overrides(base, keys, option, prefix))
    return dataclasses.replace(config, **changes)


def train_overrides(train: TrainConfig, pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["teacher_share=0.4", "exclude_heldout=false"]`` -> the :class:`~ltm.train_config.TrainConfig`
    fields to change, each value typed as ``train``'s field is (``ltm fit --set``);
    ``ValueError`` names the first pair that is not ``FIELD=VALUE`` of a known field."""
    return config_overrides(train, pairs, "--set")
