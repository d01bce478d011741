"""Training configuration: :class:`TrainConfig`, the training part of an
:class:`ltm.config.LTMConfig` (and of :class:`ltm.baseline_config.BaselineConfig`).

Batches, learning rates, loss weights, stage lengths and the time budget of a run of
``ltm fit`` (:mod:`ltm.lit`, :mod:`ltm.train`); no field changes the modules or their
parameters. Every field has a docstring under it; every bad value raises ``ValueError``
naming the field. :mod:`ltm.config` exports it too, so ``from ltm.config import
TrainConfig`` keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass

from ltm.checks import count, fraction, non_negative, positive

__all__ = ["TrainConfig"]


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Training (``lit.py``): stages in one run, the codec first, then the core.

    Stage ``codec`` trains the encoder and decoder on thought groups; stage ``core``
    freezes them and trains the field core and head on episodes. With
    :attr:`teacher_share`, a ``teacher`` stage takes the first part of the codec's steps
    or time (the decoder alone, from a teacher code; :mod:`ltm.teacher`). A stage ends
    at its step count or, when :attr:`minutes` is set, at its share of the time,
    whichever comes first."""

    codec_batch: int = 16
    """Thought groups per codec batch (each gives one quote per language)."""
    codec_occurrence: float = 0.0
    """Share of the codec's thought groups drawn in proportion to how often each occurs
    in the training records, as a reader meets them; the rest are drawn uniformly over
    distinct groups (0, the default: all uniformly). On the PVQ world a uniform draw
    gives the four weather groups, a tenth of the units as they occur, a few dozen draws each
    in a whole run (:func:`ltm.data.bucketed_rows`; ``experiments/LOG.md``, session
    24)."""
    codec_twins: float = 0.0
    """Share of each codec batch made of (group, twin) pairs, the twins half of it: for
    up to half that share of the batch's groups, the world meaning with two fillers of
    one kind exchanged (:func:`ltm.pvq.world.twin`, train side of the meaning split
    only) joins the batch in place of a drawn group, so the alignment meets "A is in P and B is in Q" beside
    "B is in P and A is in Q" as a negative (hard negatives for binding, as NegCLIP's
    word-order swaps; Yuksekgonul et al., 2023). 0, the default: no twin and the draw
    unchanged. Needs world data (:func:`ltm.worldaids.with_twins`)."""
    core_batch: int = 8
    """Episodes per core batch."""
    max_thoughts: int = 32
    """Longest episode given to the core, in thoughts; later thoughts are dropped."""
    lr_encoder: float = 3e-4
    """AdamW learning rate of the encoder. Keep it about 1/10 of :attr:`lr_decoder`:
    with one rate the codec collapses every thought onto one line in a few steps."""
    lr_decoder: float = 3e-3
    """AdamW learning rate of the decoder."""
    lr_core: float = 1e-3
    """AdamW learning rate of the field core and the tension head."""
    weight_decay: float = 0.01
    """AdamW weight decay, on matrices and embeddings only (not norms or biases)."""
    warmup_steps: int = 20
    """Linear learning-rate warm-up at the start of each stage, in steps (0: none)."""
    lr_final: float = 1.0
    """Each stage's rates fall by half a cosine to this fraction of their peak at the
    stage's end (its steps or its time, whichever it is nearer to); 1: constant."""
    grad_clip: float = 1.0
    """Clip the gradient norm to this (0: no clipping)."""
    codec_steps: int = 60
    """Steps of the codec stage (at most)."""
    core_steps: int = 40
    """Steps of the core stage (at most)."""
    minutes: float = 0.0
    """Wall-clock budget of the whole run in minutes (0: none, steps decide);
    ``ltm fit --max-minutes`` sets it."""
    codec_share: float = 0.6
    """Share of :attr:`minutes` given to the codec stage (of what the critic leaves)."""
    critic_share: float = 0.08
    """With a critic (``FieldConfig.critic_width``): share of :attr:`minutes` given to
    the critic stage, last (:func:`ltm.critic.fit_critic`); codec and core share the
    rest."""
    critic_label_share: float = 0.85
    """With a critic: share of the critic stage's minutes spent labelling transitions,
    in (0, 1); its members train in the rest (:func:`ltm.critic.fit_critic`)."""
    critic_transitions: int = 8000
    """With a critic: transitions of the training episodes it is trained on (at most)."""
    critic_epochs: int = 16
    """With a critic: passes over its labelled transitions (at most)."""
    critic_hypotheses: int = 0
    """With a critic: how many of each labelled transition's hypotheses, drawn at
    random, are read and labelled (0: all of them; fewer buy more transitions in the
    same minutes, :func:`ltm.critic.label_transitions`)."""
    w_rec: float = 1.0
    """Weight of the byte cross-entropy of each quote decoded from its own thought."""
    w_align: float = 0.5
    """Weight of the InfoNCE alignment of the meaning parts of one thought's quotes."""
    w_cross: float = 0.5
    """Weight of the byte cross-entropy of the other language's canonical quote decoded
    from the meaning part alone (surface zeroed, see :func:`ltm.codec.meaning_only`)."""
    w_noise: float = 0.25
    """Weight of the byte cross-entropy of each quote decoded from its noised thought."""
    byte_dropout: float = 0.0
    """Chance that each byte of the decoder's teacher-forced input is hidden (replaced
    by PAD; the targets stay whole) in the byte terms of the teacher and codec stages
    (reconstruction, noised and cross-language decoding), so that the decoder reads more
    of each unit from its thought and less from the bytes before
    (:func:`ltm.losses.drop_bytes`). 0, the default: no byte hidden and no draw made."""
    w_roles: float = 0.0
    """Weight of the role supervision (:mod:`ltm.roles`): linear classifiers read each
    role's filler from the meaning part, where the training thoughts carry frames."""
    w_state: float = 0.0
    """Weight of the state supervision of the core stage: linear classifiers (the same
    :class:`ltm.roles.RoleProbe`, one per state key) read the value of every key of the
    world state after each thought (PVQ ``state``, e.g. ``anna.at``) from the core's
    context, where the training thoughts carry states; a training aid, not shipped."""
    teacher_share: float = 0.0
    """Share of the codec stage (of its steps, or of its minutes) given to the teacher
    stage before it (:mod:`ltm.teacher`): the decoder learns to write each framed quote
    from a code that binds its roles by construction, and the rest of the codec stage
    trains the encoder onto that code with the decoder frozen. 0: no teacher stage
    (encoder and decoder trained jointly). Needs training data with frames."""
    w_distill: float = 1.0
    """With a teacher stage: weight, in the codec stage after it, of the distance of each
    framed quote's thought from its teacher code (:func:`ltm.teacher.distill_loss`)."""
    teacher_meanings: float = 0.0
    """With a teacher stage: share of its thought groups drawn uniformly from the world's
    meaning space (the train side of :func:`ltm.pvq.world.meaning_split`, every phrasing
    rendered) instead of from the data's thoughts. The teacher needs no episode, so it
    can see combinations the episodes never make. Needs world data."""
    teacher_fixed: bool = False
    """With a teacher stage: the teacher code is fixed at its random start (not trained),
    and, since its target does not move, the encoder learns it (``w_distill``) from the
    first step, beside the decoder, instead of after the teacher stage."""
    compile: bool = False
    """Compile the encoder and the decoder with ``torch.compile`` (in place, dynamic
    shapes, so the weights keep their names) before training. It costs minutes of
    compiling at the start, counted in the time budget, and buys faster steps
    (``nox -s bench``, item ``compile``; experiments/LOG.md, session 14)."""
    noise_sigma: float = 0.2
    """Expected norm of the noise added for the noised decoding term."""
    w_head: float = 1.0
    """Weight of the tension head's own loss."""
    w_next: float = 0.1
    """Weight of the byte cross-entropy of the true next unit decoded (frozen decoder)
    from the predicted thought."""
    align_temperature: float = 0.05
    """Temperature of the alignment InfoNCE."""
    val_fraction: float = 0.05
    """Share of records held out for validation, chosen by a hash of the record id."""
    exclude_heldout: bool = True
    """Leave out of training every world episode with a meaning of the compositional
    held-out split (:func:`ltm.pvq.world.meaning_split`)."""
    val_every: int = 50
    """Validate every this many training steps (and at the end)."""
    val_groups: int = 64
    """Thought groups in the fixed validation set of the codec."""
    val_episodes: int = 16
    """Episodes in the fixed validation set of the core."""
    ckpt_every: int = 25
    """Write ``checkpoints/last.ckpt`` every this many steps (and at the end)."""
    seed: int = 0
    """Seed of the weights, of every batch and of every noise draw."""

    def __post_init__(self) -> None:
        positive(self, "codec_batch", "core_batch", "max_thoughts", "val_every",
                 "val_groups", "val_episodes", "ckpt_every")
        non_negative(self, "lr_encoder", "lr_decoder", "lr_core", "weight_decay",
                     "grad_clip", "minutes", "w_rec", "w_align", "w_cross", "w_noise",
                     "w_roles", "w_state", "w_distill", "noise_sigma", "w_head", "w_next")
        count(self, "warmup_steps", "codec_steps", "core_steps", "critic_transitions",
              "critic_epochs", "critic_hypotheses", "seed")
        if self.codec_steps + self.core_steps == 0:
            raise ValueError("TrainConfig.codec_steps + core_steps must be > 0, got 0")
        fraction(self, "codec_share", "lr_final", "codec_occurrence", "codec_twins",
                 "teacher_meanings")
        fraction(self, "critic_share", "critic_label_share", "teacher_share",
                 "byte_dropout", "val_fraction", below_one=True)
        if not self.critic_label_share > 0:
            raise ValueError(f"TrainConfig.critic_label_share must be in (0, 1), "
                             f"got {self.critic_label_share!r}")
        if not self.align_temperature > 0:
            raise ValueError(f"TrainConfig.align_temperature must be > 0, "
                             f"got {self.align_temperature!r}")

    @property
    def uses_teacher(self) -> bool:
        """Whether the run has a teacher stage: a :attr:`teacher_share` of a codec stage
        that exists (a core trained on a given codec has none)."""
        return self.teacher_share > 0 and self.codec_steps > 0

    @property
    def total_steps(self) -> int:
        """Steps of both stages."""
        return self.codec_steps + self.core_steps


