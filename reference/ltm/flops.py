"""Analytic FLOP counts of training and generation: the LTM, the baseline, the hybrid.

DESIGN.md section 5.6 (cost), issue 4. **Only matrix products are counted** (linear
layers and attention's two products), at 2 FLOPs per multiply-add; norms, rotary,
softmax, activations, embedding lookups and losses are left out (each is O(width) per
position, under 2% here). Attention is counted as torch's math kernel computes it: the
full ``Tq x Tk`` score matrix even when causal (a kernel that skips the masked half does
about half of that term). ``tests/test_flops.py`` checks every training step and the
baseline's generation step against ``torch.utils.flop_counter.FlopCounterMode`` (with
the math attention kernel: the CPU's fused kernel is not counted by it).

For a block of width ``D``, SwiGLU hidden ``H``, over ``r`` positions attending ``k`` keys:

    forward = 2 r (4 D^2 + 3 D H)  +  4 r k D          (qkv, out, w1, w3, w2; QK^T and AV)

**Training** is the standard ``6N`` rule made exact per module: a linear layer costs its
forward ``2N`` per row, plus ``2N`` for the input's gradient when gradients flow into its
input, plus ``2N`` for the weight's gradient when it is trained (so ``6N`` for a trained
layer inside the graph, ``4N`` for a trained first layer on a fixed input or a frozen
layer that passes gradients on, ``2N`` under ``no_grad``); attention's products cost 3x
their forward when any gradient flows through them. Per position of a trained stack:
``6 (L (4D^2 + 3DH) + D V) + 12 L S D`` for a sequence of ``S`` positions.

**Generation** costs ``2N`` per new position plus ``4 L c D`` for its attention over the
``c`` cached keys (itself included).

**Training bytes.** A step's training bytes are the bytes of text in its batch: the
quotes of a codec batch, the units of the episodes (separators, tags and EOS not
counted). Per-byte numbers use episodes of the PVQ world's mean shape
(:data:`UNIT_BYTES`, :data:`THOUGHTS`: ``world.generate(200, seed=0)`` has 8.8 thoughts
per episode and 33.2 bytes per quote).

**Matching rule (the ``flops`` presets).** An LTM run spends the share ``s =
codec_share`` of its compute in the codec stage at ``f_codec`` FLOPs per byte and the rest
in the core stage at ``f_core``; at a steady FLOP rate its FLOPs per training byte is the
harmonic mean ``1 / (s / f_codec + (1 - s) / f_core)``, and the baseline matched to it in
FLOPs spends the same per training byte (:func:`ltm_train_per_byte`).

Shape legend: R rows · L unit bytes · S positions · T thoughts · N units · P pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ltm.baseline_config import BaselineConfig
from ltm.config import CodecConfig, FieldConfig, LTMConfig
from ltm.heads import N_TIME

__all__ = ["Cost", "linear", "attention", "block", "UNIT_BYTES", "THOUGHTS",
           "baseline_train_step", "hybrid_train_step", "ltm_codec_step", "ltm_core_step",
           "baseline_train_per_byte", "hybrid_train_per_byte", "ltm_train_per_byte",
           "baseline_generate_per_byte", "hybrid_generate_per_byte", "ltm_generate_per_byte"]

UNIT_BYTES, THOUGHTS = 33, 9
"""Mean bytes per unit and thoughts per episode of the PVQ world (module docstring)."""


@dataclass(frozen=True)
class Cost:
    """Forward FLOPs of some matmuls: ``lin`` in linear layers, ``att`` in attention."""

    lin: float = 0.0
    att: float = 0.0

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.lin + other.lin, self.att + other.att)

    @property
    def forward(self) -> float:
        """Forward FLOPs (also the cost under ``no_grad``)."""
        return self.lin + self.att

    def train(self, weights: bool = True, inputs: bool = True) -> float:
        """Forward and backward FLOPs: ``weights`` trained, gradient flowing to ``inputs``."""
        grad = weights or inputs
        return self.lin * (1 + weights + inputs) + self.att * (1 + 2 * grad)


def linear(rows: float, n_in: int, n_out: int) -> Cost:
    """``rows`` vectors through an ``n_in -> n_out`` linear layer: ``2 r n_in n_out``."""
    return Cost(lin=2.0 * rows * n_in * n_out)


def attention(seqs: float, queries: float, keys: float, width: int) -> Cost:
    """``QK^T`` and ``AV`` of ``seqs`` sequences: ``4 seqs Tq Tk D``."""
    return Cost(att=4.0 * seqs * queries * keys * width)


def block(width: int, hidden: int, layers: int, seqs: float, positions: float,
          keys: float | None = None) -> Cost:
    """``layers`` LLaMA blocks over ``seqs x positions`` (each attending ``keys``,
    default all ``positions``): ``2 r (4 D^2 + 3 D H) + 4 r k D`` per layer."""
    r, k = seqs * positions, positions if keys is None else keys
    per = Cost(lin=2.0 * r * (4 * width**2 + 3 * width * hidden)) + attention(seqs, positions,
                                                                              k, width)
    return Cost(per.lin * layers, per.att * layers)


# ---------------------------------------------------------------------- forward pieces

def _lm(c: BaselineConfig, seqs: float, positions: float, keys: float | None = None) -> Cost:
    """Byte LM: blocks and the output layer (embedding lookups are free)."""
    return (block(c.width, c.mlp_hidden, c.layers, seqs, positions, keys)
            + linear(seqs * positions, c.width, c.vocab))


def _encoder(c: CodecConfig, rows: float, L: float) -> Cost:
    """Thought encoder over ``rows`` units of ``L`` bytes (``L + 1`` positions with BOS)."""
    W, K, S = c.width, c.pool_slots, L + 1
    return (block(W, c.mlp_hidden, c.enc_layers, rows, S) + linear(rows * K, W, W)
            + linear(rows * S, W, 2 * W) + attention(rows, K, S, W) + linear(rows * K, W, W)
            + linear(rows, K * W, c.dim))


def _decoder(c: CodecConfig, rows: float, L: float) -> Cost:
    """Teacher-forced decoder: prefix map, blocks over ``P + 1 + L``, output on ``L + 1``."""
    return (linear(rows, c.dim, c.prefix_len * c.width)
            + block(c.width, c.mlp_hidden, c.dec_layers, rows, c.prefix_len + 1 + L)
            + linear(rows * (L + 1), c.width, c.vocab))


def _core(f: FieldConfig, c: CodecConfig, B: float, T: float) -> tuple[Cost, Cost]:
    """Field core over ``B x T`` thoughts: (input map, the rest). The memory writes every
    slot at every step and each position reads all slots."""
    D, S, r = f.width, f.memory_slots, B * T
    write = (linear(r, D, D) + linear(r * S, D, D) + linear(r, D, D) + Cost(lin=2.0 * r * S * D)
             + linear(r * S, 2 * D, D) + linear(r * S, 2 * D, D))  # proj, addr k/q, score, cand, gate
    read = linear(r, D, D) + linear(r * S, D, 2 * D) + attention(r, 1, S, D) + linear(r, D, D)
    if S == 0:  # no memory: neither written nor read
        write = read = Cost()
    return linear(r, c.dim, D), block(D, f.mlp_hidden, f.layers, B, T) + write + read


def _head_net(f: FieldConfig, c: CodecConfig, rows: float) -> Cost:
    """One evaluation of the heads' network ``[c; z_t; x; time] -> Z``."""
    W = f.head_width
    mlp = Cost(lin=2.0 * rows * 3 * W * 2 * W * f.head_layers)
    return linear(rows, f.width + 2 * c.dim + N_TIME, W) + mlp + linear(rows, W, c.dim)


def _head_evals(f: FieldConfig, steps: int, loss: bool) -> int:
    """Network evaluations of the head's loss (``loss``) or of a ``steps``-step sample
    (a ``choice`` head evaluates it once per hypothesis; its selector is
    :func:`_selector`)."""
    if f.head == "choice":
        return f.choices
    if f.head == "energy":
        return f.energy_samples if loss else 1
    if f.head == "mse" or loss:
        return 1
    return steps * (2 if f.sample_method == "heun" else 1)


def _selector(f: FieldConfig, c: CodecConfig, rows: float) -> Cost:
    """A ``choice`` head's selector ``[c; z_t] -> K`` scores (nothing for other heads)."""
    if f.head != "choice":
        return Cost()
    return linear(rows, f.width + c.dim, f.head_width) + linear(rows, f.head_width, f.choices)


# ---------------------------------------------------------------------- training steps

def baseline_train_step(c: BaselineConfig, seqs: int, positions: int) -> float:
    """One step of the baseline on a batch ``(seqs, positions)``: ``Cost.train`` of all."""
    return _lm(c, seqs, positions).train()


def hybrid_train_step(c: BaselineConfig, codec: CodecConfig, seqs: int, positions: int,
                      units: int, unit_len: int) -> float:
    """One step of the hybrid: the LM trained (6N), ``thought_in`` on fixed thoughts
    (4N), the frozen encoder under ``no_grad`` (2N) over all ``units`` of ``unit_len``."""
    return (_lm(c, seqs, positions).train() + linear(units, codec.dim, c.width).train(inputs=False)
            + _encoder(codec, units, unit_len).forward)


def ltm_codec_step(cfg: LTMConfig, rows: int, L: int, cross_rows: int, cross_L: int) -> float:
    """One codec-stage step (all trained): encoder once, the decoder once on each quote
    (reconstruction and noised decoding share that pass, half the rows each, see
    :mod:`ltm.lit`) and once per cross-language row, and the ``rows x rows`` alignment
    product."""
    c = cfg.codec
    passes = int(cfg.train.w_rec > 0 or cfg.train.w_noise > 0)
    cross = _decoder(c, cross_rows, cross_L).train() if cfg.train.w_cross else 0.0
    return (_encoder(c, rows, L).train() + passes * _decoder(c, rows, L).train() + cross
            + Cost(lin=2.0 * rows * rows * c.meaning_dim).train())


def ltm_core_step(cfg: LTMConfig, B: int, T: int, units: int, L: int, pairs: int) -> float:
    """One core-stage step: the frozen encoder under ``no_grad`` on the ``units`` (2N),
    the core (``T`` padded thoughts per episode) and the head's loss trained, and for the
    next-unit term a one-step sample (trained) decoded by the frozen decoder, which
    passes gradients back (4N on its linears, 3x on attention) for the ``pairs``."""
    c, f = cfg.codec, cfg.field
    inp, core = _core(f, c, B, T)
    flops = _encoder(c, units, L).forward + inp.train(inputs=False) + core.train()
    flops += (_head_evals(f, 1, loss=True) * _head_net(f, c, pairs).train()
              + _selector(f, c, pairs).train())
    if cfg.train.w_next:
        flops += _head_evals(f, 1, loss=False) * _head_net(f, c, pairs).train()
        flops += _decoder(c, pairs, L).train(weights=False)
    return flops


# ---------------------------------------------------------------------- per training byte

def _episode_positions(L: int, T: int, thoughts: bool, context: int) -> int:
    return min(T * (L + 1) + (T - 1) * thoughts, context)


def baseline_train_per_byte(c: BaselineConfig, L: int = UNIT_BYTES, T: int = THOUGHTS) -> float:
    """Training FLOPs per byte on episodes of ``T`` units of ``L`` bytes (cut to ``context``)."""
    S = _episode_positions(L, T, False, c.context)
    return baseline_train_step(c, 1, S) / (S * L / (L + 1))


def hybrid_train_per_byte(c: BaselineConfig, codec: CodecConfig, L: int = UNIT_BYTES,
                          T: int = THOUGHTS) -> float:
    """As :func:`baseline_train_per_byte`, for the hybrid (one thought position per unit)."""
    S = _episode_positions(L, T, True, c.context)
    n = min(T, -(-S // (L + 2)))
    return hybrid_train_step(c, codec, 1, S, n, L) / (T * L * S / (T * (L + 2) - 1))


def ltm_train_per_byte(cfg: LTMConfig, L: int = UNIT_BYTES,
                       T: int = THOUGHTS) -> dict[str, float]:
    """FLOPs per training byte of each stage and of the run (the harmonic mean of the
    module docstring): ``{"codec", "core", "run"}``. Codec stage: quotes of ``L`` bytes,
    each with a cross-language row; core stage: episodes of ``T`` units."""
    codec = ltm_codec_step(cfg, 1, L, 1, L) / L
    core = ltm_core_step(cfg, 1, T, T, L, T - 1) / (T * L)
    s = cfg.train.codec_share
    return {"codec": codec, "core": core, "run": 1.0 / (s / codec + (1 - s) / core)}


# ---------------------------------------------------------------------- generation

def baseline_generate_per_byte(c: BaselineConfig, context: int) -> float:
    """One new byte after ``context`` cached positions: ``2N + 4 L (context + 1) D``."""
    return _lm(c, 1, 1, keys=context + 1).forward


def hybrid_generate_per_byte(c: BaselineConfig, codec: CodecConfig, context: int,
                             L: int = UNIT_BYTES) -> float:
    """As the baseline, plus per unit of ``L`` bytes: encoding it, mapping its thought
    and one more position (the thought's), spread over its bytes."""
    per_unit = (_encoder(codec, 1, L) + linear(1, codec.dim, c.width)
                + _lm(c, 1, 1, keys=context + 1)).forward
    return baseline_generate_per_byte(c, context) + per_unit / L


def ltm_generate_per_byte(cfg: LTMConfig, thoughts: int, L: int = UNIT_BYTES,
                          steps: int | None = None) -> dict[str, float]:
    """Per generated byte after ``thoughts`` thoughts, as ``LTM.continue_text`` runs:
    ``core``: the core over all ``thoughts`` (no cache) and the head's ``steps``-step
    sample, once per unit; ``codec``: the decoder's prefix once per unit and one cached
    position per byte and for EOS. Both spread over the unit's ``L`` bytes. A ``choice``
    head evaluates its net once per hypothesis and its selector once; when the decoder
    picks (``choice_pick="decoder"``, :meth:`ltm.model.LTM.pick`) the selector is
    skipped and every hypothesis is decoded too, so the decoder runs ``K + 1`` times (and
    with ``choice_roundtrip`` or a critic the encoder ``K`` times, and the critic's MLP,
    each of its ``critic_members``, once per hypothesis). With ``choice_branches`` N each
    hypothesis is also read at N branch places (:meth:`ThoughtDecoder.branch`: one
    teacher-forced pass over each greedy reading finds them), counted as an upper bound:
    each branched reading decoded at full length, scored by one more teacher-forced pass
    of the decoder, encoded again and judged by the critic. With ``critic_recall`` the
    critic also takes the cosine of each reading with every past thought; with
    ``critic_words`` every past thought is said again by the decoder at each unit
    (``thoughts`` more greedy readings: the reference code keeps no words between
    units, as its core keeps no cache; the word comparison itself is string work, not
    counted)."""
    c, f = cfg.codec, cfg.field
    inp, core = _core(f, c, 1, thoughts)
    head = _head_evals(f, steps or f.sample_steps, loss=False) * _head_net(f, c, 1).forward
    picks = f.head == "choice" and f.choice_pick == "decoder"
    head += 0.0 if picks else _selector(f, c, 1).forward
    P1 = c.prefix_len + 1
    dec = (linear(1, c.dim, c.prefix_len * c.width)
           + block(c.width, c.mlp_hidden, c.dec_layers, 1, P1)).forward
    for j in range(L + 1):  # the logits of byte j (or EOS), then feeding byte j back
        dec += linear(1, c.width, c.vocab).forward
        if j < L:
            dec += block(c.width, c.mlp_hidden, c.dec_layers, 1, 1, keys=P1 + j + 1).forward
    branched = f.choices * f.choice_branches if picks else 0  # readings branched, at most
    found = f.choices if branched else 0  # the pass over the greedy readings that branches
    told = thoughts if picks and f.critic_width and f.critic_words else 0  # the past, said
    dec *= f.choices + 1 + found + 2 * branched + told if picks else 1  # decoded, scored
    encoded = (f.choices if picks and (f.choice_roundtrip or f.critic_width) else 0) + branched
    dec += encoded * _encoder(c, 1, L).forward  # readings encoded again
    if picks and f.critic_width:  # the critic judges every reading
        w, n = f.critic_width, f.choices + branched
        extra = (f.critic_recall + 1 if f.critic_recall else 0) + \
            (2 * f.critic_words + 1 if f.critic_words else 0)
        head += f.critic_members * (linear(n, f.width + 3 * c.dim + extra, w)
                                    + linear(n, w, w) + linear(n, w, 1)).forward
        if f.critic_recall:  # the cosine of each reading with each past thought
            head += 2 * n * thoughts * c.dim
    out = {"core": ((inp + core).forward + head) / L, "codec": dec / L}
    return {**out, "total": out["core"] + out["codec"]}
