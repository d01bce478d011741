"""The LightningModule: the training stages of one LTM in one run.

DESIGN.md section 3, issue 3 section 2. The model math is in plain modules and the
losses in :mod:`ltm.losses`; this file only weighs the terms, picks the stage, groups
the parameters and logs. With ``w_*`` and ``tau`` from :class:`ltm.train_config.TrainConfig`:

**Stage teacher** (optional: the first ``teacher_share`` of the codec stage), on the
framed thought groups: the decoder and a teacher code ``t(frame, p)`` (:mod:`ltm.teacher`)
alone, the encoder unused:

    L = w_rec   CE(dec(t(frame_q, p_q), lang_q), q)           each quote from its teacher code
      + w_cross CE(dec(meaning_only(t(frame_q)), lang'), canon(lang'))
      + w_noise  as below, on the teacher code

**Stage codec** (steps ``0 .. codec_steps``, after the teacher stage when there is one),
on thought groups (:mod:`ltm.data`):

    L = w_rec   CE(dec(z_q, lang_q), q)                     each quote from its own thought
      + w_align InfoNCE_tau(meaning(z) ; quotes of one thought)
      + w_cross CE(dec(meaning_only(z_q), lang'), canon(lang'))   the other language
      + w_noise CE(dec(sphere(z_q + sigma eps), lang_q), q)   on a random half of the rows,
                                                              the rest give the w_rec term
      + w_roles mean_r CE(W_r meaning(z_q), filler_r(q))      where the data give frames
                                                              (:mod:`ltm.roles`)
      + w_distill d(z_q, t(frame_q, p_q))                     after a teacher stage, whose
                                                              decoder is then frozen
                                                              (:func:`ltm.teacher.distill_loss`)

and with ``byte_dropout`` every ``dec`` of these two stages reads its teacher-forced
input with that share of the bytes hidden (:func:`ltm.losses.drop_bytes`).

**Stage core** (the encoder and decoder frozen), on episodes:

    L = w_head head.loss(c_t, z_t -> z_{t+1}) + w_next CE(dec(head.fit_prediction(...)), u_{t+1})
      + w_state mean_k CE(W_k unit(c_t), state_k(t))          where the data give states

where the next-unit term back-propagates through the frozen decoder into the head's
prediction, a one-step sample (for ``choice``, the hypothesis nearest the truth):
SONAR-LLM's and CALM's lesson, keep a byte-level signal.

AdamW runs three parameter groups (encoder, decoder, core + head), each split into
decayed matrices and undecayed norms and biases: the encoder at about 1/10 of the
decoder's rate, because with one rate the codec collapses every thought onto one line
in a few steps. Frozen parameters get no gradient, so AdamW leaves them alone. Each
part warms its rate up linearly from the stage where it starts to train, and each
stage's rates fall by half a cosine to ``lr_final`` of their peak at its end
(:mod:`ltm.schedule`).

Resume: every noise draw uses a generator seeded by ``(seed, step)``, the batches are a
function of the step too, and the stage switch and elapsed time go into the
checkpoint, so a run restarted from ``last.ckpt`` continues the same computation.

Shape legend: B rows · T thoughts · L bytes · N pairs · Z thought dim · C core width.
"""

from __future__ import annotations

import time

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor

from ltm import schedule
from ltm.codec import decoder_targets, meaning_only, meaning_part
from ltm.config import PAD, LTMConfig
from ltm.losses import alignment_loss, drop_bytes, next_pairs, noise_thoughts, reconstruction_loss
from ltm.model import LTM
from ltm.roles import RoleProbe, RoleVocab
from ltm.teacher import TeacherCode, distill_loss, framed

__all__ = ["LitLTM", "tick"]


def tick(module: L.LightningModule) -> None:
    """Add the time since the last step to ``module.elapsed``. Under data parallelism
    every process takes rank 0's clock, so all of them switch stages and stop on the
    same step (a process that stopped alone would hang the others)."""
    now = time.monotonic()
    if module._tick is not None:
        module.elapsed += now - module._tick
    module._tick = now
    trainer = module._trainer
    if trainer is not None and trainer.world_size > 1:
        module.elapsed = float(trainer.strategy.broadcast(module.elapsed, src=0))


STAGE_CODE = {"teacher": -1.0, "codec": 0.0, "core": 1.0}
"""What ``train/stage`` logs for each stage."""


class LitLTM(L.LightningModule):
    """Trains an :class:`ltm.model.LTM` (``self.model``): stage ``teacher`` (when
    ``teacher_share > 0``), ``codec``, then ``core``. ``roles`` and ``phrasings`` size
    the role classifiers and the teacher code (:attr:`ltm.data.PVQDataModule.roles`,
    :attr:`~ltm.data.PVQDataModule.phrasings`)."""

    def __init__(self, config: LTMConfig, roles: RoleVocab | None = None,
                 phrasings: int = 1, states: RoleVocab | None = None) -> None:
        super().__init__()
        self.config, self.tc = config, config.train
        self.minutes = config.stage_minutes  # the critic stage, if any, runs after
        self.model = LTM(config)
        if config.train.compile:
            self.model.encoder.compile(dynamic=True)
            self.model.decoder.compile(dynamic=True)
        self.role_probe = (RoleProbe(config.codec.meaning_dim, roles)
                           if roles and config.train.w_roles else None)
        """The role classifiers (training only, not part of the shipped model), built
        when ``w_roles > 0`` and the data's frames give a role vocabulary ``roles``."""
        self.state_probe = (RoleProbe(config.field.width, states)
                            if states and config.train.w_state else None)
        """The state classifiers over the core's context (training only, not shipped),
        built when ``w_state > 0`` and the data's states give a key vocabulary
        ``states`` (:attr:`ltm.data.PVQDataModule.state_vocab`)."""
        if config.train.uses_teacher and not roles:
            raise ValueError("teacher_share > 0 needs the role vocabulary of framed "
                             "training data (roles)")
        self.teacher = (TeacherCode(config.codec, roles, max(1, phrasings),
                                    fixed=config.train.teacher_fixed)
                        if config.train.uses_teacher else None)
        """The teacher code (training only, not shipped), when the run has a teacher
        stage (:attr:`ltm.train_config.TrainConfig.uses_teacher`)."""
        self.teacher_step: int | None = None
        """Step at which the teacher stage ended (``None``: in it, or there is none)."""
        self.switch_step: int | None = None
        """Step at which the core stage began (``None``: still in the codec stage)."""
        self.elapsed = 0.0
        """Seconds of training so far, over every resumed run."""
        self._tick: float | None = None

    @property
    def stage(self) -> str:
        """``"teacher"``, ``"codec"`` or ``"core"``."""
        if self.switch_step is not None:
            return "core"
        return "teacher" if self.teacher is not None and self.teacher_step is None else "codec"

    def _generator(self, step: int, salt: int = 0) -> torch.Generator:
        return torch.Generator().manual_seed((self.tc.seed * 1_000_003 + step) * 8 + salt)

    # ------------------------------------------------------------------ losses

    def byte_terms(self, z: Tensor, ids: Tensor, lengths: Tensor, lang: Tensor,
                   g: torch.Generator) -> dict[str, Tensor]:
        """``rec`` and ``noise``: the quotes ``ids`` (B, L) decoded from their thoughts
        ``z`` (B, Z), a random half of the rows from noised thoughts."""
        dec, tc, cfg = self.model.decoder, self.tc, self.config.codec
        targets = decoder_targets(ids, lengths)  # (B, L+1)
        # One decoder pass serves reconstruction and noised decoding: a random half of
        # the rows is decoded from a noised thought (half the cost of two passes).
        noisy = torch.zeros(len(z), dtype=torch.bool)
        if tc.w_noise and len(z) > 1:
            noisy = torch.rand(len(z), generator=g) < 0.5  # (B,)
            if noisy.all() or not noisy.any():  # keep both halves non-empty
                noisy[0] = ~noisy[0]
        zin = torch.where(noisy[:, None], noise_thoughts(z, tc.noise_sigma, cfg.meaning_dim,
                                                         cfg.surface_norm, g), z)  # (B, Z)
        logits = dec(zin, drop_bytes(ids, tc.byte_dropout, g), lang)  # (B, L+1, V)
        out = {"rec": reconstruction_loss(logits, targets.masked_fill(noisy[:, None], PAD))}
        if noisy.any():
            out["noise"] = reconstruction_loss(logits, targets.masked_fill(~noisy[:, None], PAD))
        return out

    def cross_term(self, z: Tensor, ids: Tensor, lengths: Tensor, lang: Tensor,
                   g: torch.Generator) -> Tensor:
        """The quotes ``ids`` (C, L') decoded from the meaning-only thoughts of ``z``."""
        logits = self.model.decoder(meaning_only(z, self.config.codec),
                                    drop_bytes(ids, self.tc.byte_dropout, g), lang)
        return reconstruction_loss(logits, decoder_targets(ids, lengths))  # over (C, L'+1)

    def teacher_losses(self, b: dict[str, Tensor], g: torch.Generator) -> dict[str, Tensor]:
        """The teacher-stage terms (unweighted) on the framed rows of one batch of
        :func:`ltm.data.collate_groups` (a batch without any gives a zero loss). With
        :attr:`~ltm.train_config.TrainConfig.teacher_fixed`, also the encoder's ``distill``."""
        keep = framed(b["roles"])  # (B,)
        if not keep.any():
            return {"rec": sum(p.sum() for p in self.model.decoder.parameters()) * 0.0}
        rows = keep.nonzero().squeeze(1)  # (K,)
        t = self.teacher(b["roles"][rows], b["phrasing"][rows])  # (K, Z)
        out = self.byte_terms(t, b["ids"][rows], b["lengths"][rows], b["lang"][rows], g)
        if self.tc.teacher_fixed:  # the target does not move: the encoder learns it now
            z = self.model.encoder(b["ids"][rows], b["lengths"][rows])  # (K, Z)
            out["distill"] = distill_loss(z, t, self.config.codec)
        cross = b["cross_rows"]
        pick = keep[cross]  # (C,)
        if self.tc.w_cross and pick.any():
            at = torch.full((len(keep),), -1, dtype=torch.long)
            at[rows] = torch.arange(len(rows))
            out["cross"] = self.cross_term(t[at[cross[pick]]], b["cross_ids"][pick],
                                           b["cross_lengths"][pick], b["cross_lang"][pick], g)
        return out

    def codec_losses(self, b: dict[str, Tensor], g: torch.Generator) -> dict[str, Tensor]:
        """The codec terms (unweighted) on one batch of :func:`ltm.data.collate_groups`."""
        tc, cfg = self.tc, self.config.codec
        z = self.model.encoder(b["ids"], b["lengths"])  # (B, Z)
        out = self.byte_terms(z, b["ids"], b["lengths"], b["lang"], g)
        if self.teacher is not None:
            keep = framed(b["roles"])  # (B,)
            if keep.any():
                with torch.no_grad():
                    t = self.teacher(b["roles"][keep], b["phrasing"][keep])  # (K, Z)
                out["distill"] = distill_loss(z[keep], t, cfg)
        if tc.w_align:
            out["align"] = alignment_loss(z, b["group"], cfg.meaning_dim, tc.align_temperature)
        if self.role_probe is not None and "roles" in b:
            out["roles"] = self.role_probe.loss(meaning_part(z, cfg.meaning_dim), b["roles"])
        if tc.w_cross and len(b["cross_rows"]):
            out["cross"] = self.cross_term(z[b["cross_rows"]], b["cross_ids"],
                                           b["cross_lengths"], b["cross_lang"], g)
        return out

    def episode_thoughts(self, b: dict[str, Tensor]) -> Tensor:
        """Thoughts (B, T, Z) of one batch of :func:`ltm.data.collate_episodes`
        (encoder without gradient; zeros at padding)."""
        mask = b["mask"]
        with torch.no_grad():
            flat = self.model.encoder(b["ids"], b["lengths"])  # (N, Z)
        thoughts = flat.new_zeros(*mask.shape, flat.shape[-1])  # (B, T, Z)
        thoughts[mask] = flat
        return thoughts

    def core_losses(self, b: dict[str, Tensor], g: torch.Generator) -> dict[str, Tensor]:
        """The core terms (unweighted): the head's loss and the next unit's byte CE."""
        m, tc, mask = self.model, self.tc, b["mask"]
        thoughts = self.episode_thoughts(b)  # (B, T, Z)
        context, _ = m.core(thoughts, mask)  # (B, T, C)
        c, cur, nxt = next_pairs(context, thoughts, mask)  # (N, C), (N, Z), (N, Z)
        out = {"head": m.head.loss(c, cur, nxt, g)}
        if tc.w_next:
            B, T = mask.shape
            flat = mask.flatten().cumsum(0).view(B, T) - 1  # unit row of each position
            both = mask[:, :-1] & mask[:, 1:]  # (B, T-1)
            rows = flat[:, 1:][both]  # (N,) rows of the true next units
            lang = b["lang"][:, None].expand(B, T - 1)[both]  # (N,)
            pred = m.head.fit_prediction(c, cur, nxt, g)  # (N, Z), graph kept
            ids, lengths = b["ids"][rows], b["lengths"][rows]
            out["next"] = reconstruction_loss(m.decoder(pred, ids, lang),
                                              decoder_targets(ids, lengths))
        if self.state_probe is not None and "state" in b:
            out["state"] = self.state_probe.loss(F.normalize(context[mask], dim=-1),
                                                 b["state"])
        return out

    # ------------------------------------------------------------------ stages

    def _freeze(self, *parts: torch.nn.Module | None) -> None:
        for part in parts:
            if part is not None:
                part.requires_grad_(False)
                part.eval()

    def _freeze_codec(self) -> None:
        self._freeze(self.model.encoder, self.model.decoder, self.teacher)

    def _teacher_end(self) -> tuple[int, float]:
        """Where the teacher stage is due to end: its last step (exclusive) and its share
        of the minutes; ``(0, 0.0)`` without a teacher."""
        tc = self.tc
        if self.teacher is None:
            return 0, 0.0
        return round(tc.codec_steps * tc.teacher_share), tc.codec_share * tc.teacher_share

    def _teacher_done(self) -> bool:
        steps, share = self._teacher_end()
        over_time = self.minutes > 0 and self.elapsed >= 60 * self.minutes * share
        return self.global_step >= steps or over_time

    def _codec_done(self) -> bool:
        tc = self.tc
        over_time = self.minutes > 0 and self.elapsed >= 60 * self.minutes * tc.codec_share
        return self.global_step >= tc.codec_steps or over_time

    def on_train_batch_start(self, batch: dict, batch_idx: int) -> None:
        """Count the time, and switch to the next stage when one is over."""
        tick(self)
        if self.stage == "teacher" and self._teacher_done():
            self.teacher_step = self.global_step
        if self.teacher_step is not None:  # the encoder learns the frozen decoder's code
            self._freeze(self.model.decoder, self.teacher)
        if self.switch_step is None and self._codec_done() and self.tc.core_steps:
            self.switch_step = self.global_step
        if self.switch_step is not None:
            self._freeze_codec()

    def _last_step(self) -> bool:
        tc, step = self.tc, self.global_step + 1
        if self.minutes > 0 and self.elapsed >= 60 * self.minutes:
            return True
        if self.switch_step is None:
            return tc.core_steps == 0 and (step >= tc.codec_steps or self._codec_done())
        return step - self.switch_step >= tc.core_steps

    def training_step(self, batch: dict[str, dict], batch_idx: int) -> Tensor:
        """One step of the current stage; logs every term and the weighted total."""
        tc, g = self.tc, self._generator(self.global_step)
        if self.stage == "teacher":
            terms = self.teacher_losses(batch.get("teacher", batch["codec"]), g)
            weights = {"rec": tc.w_rec, "cross": tc.w_cross, "noise": tc.w_noise,
                       "distill": tc.w_distill}
        elif self.stage == "codec":
            terms = self.codec_losses(batch["codec"], g)
            weights = {"rec": tc.w_rec, "align": tc.w_align, "cross": tc.w_cross,
                       "noise": tc.w_noise, "roles": tc.w_roles, "distill": tc.w_distill}
        else:
            terms = self.core_losses(batch["core"], g)
            weights = {"head": tc.w_head, "next": tc.w_next, "state": tc.w_state}
        loss = sum(weights[k] * v for k, v in terms.items())
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {loss.item()} at step {self.global_step} "
                                     f"({self.stage} stage); the last checkpoint is kept")
        nan = torch.tensor(float("nan"))  # terms of the other stage: not computed
        optional = {"roles": self.role_probe is not None, "distill": self.teacher is not None,
                    "state": self.state_probe is not None}
        self.log_dict({f"train/{k}": terms[k].detach() if k in terms else nan
                       for k in ("rec", "align", "cross", "noise", "roles", "distill", "head",
                                 "next", "state") if optional.get(k, True)})
        self.log("train/loss", loss.detach(), prog_bar=True)
        self.log("train/stage", STAGE_CODE[self.stage])
        if self._last_step():
            self.trainer.should_stop = True
        return loss

    # ------------------------------------------------------------------ validation

    @torch.no_grad()
    def validation_step(self, batch: dict[str, dict], batch_idx: int) -> None:
        """Reconstruction byte accuracy and exact match, cross-language exact match,
        alignment recall@1 in the batch, and next-thought cosine."""
        m, cfg, b = self.model, self.config.codec, batch["codec"]
        ids, lengths, lang = b["ids"], b["lengths"], b["lang"]
        z = m.encoder(ids, lengths)  # (B, Z)
        targets = decoder_targets(ids, lengths)  # (B, L+1)
        hit = m.decoder(z, ids, lang).argmax(-1) == targets  # (B, L+1)
        real = targets != PAD
        limit = int(lengths.max()) + 1
        said = m.decoder.generate(z, lang, max_bytes=limit)
        truth = [bytes(r[:n]) for r, n in zip(ids.tolist(), lengths.tolist(), strict=True)]
        sim = meaning_part(z, cfg.meaning_dim) @ meaning_part(z, cfg.meaning_dim).T  # (B, B)
        sim.fill_diagonal_(float("-inf"))
        group = b["group"]
        partner = (group[:, None] == group[None, :]).sum(-1) > 1  # (B,)
        recall = (group[sim.argmax(-1)] == group)[partner].float().mean()
        metrics = {"byte_acc": hit[real].float().mean(),
                   "exact": torch.tensor(sum(map(bytes.__eq__, said, truth)) / len(truth)),
                   "recall1": recall}
        if self.role_probe is not None and "roles" in b:
            metrics["roles_acc"] = self.role_probe.accuracy(meaning_part(z, cfg.meaning_dim),
                                                            b["roles"])
        rows = b["cross_rows"]
        if len(rows):
            cross = m.decoder.generate(meaning_only(z[rows], cfg), b["cross_lang"],
                                       max_bytes=int(b["cross_lengths"].max()) + 1)
            want = [bytes(r[:n]) for r, n in zip(b["cross_ids"].tolist(),
                                                  b["cross_lengths"].tolist(), strict=True)]
            metrics["cross_exact"] = torch.tensor(
                sum(map(bytes.__eq__, cross, want)) / len(want))
        e = batch["core"]
        thoughts = self.episode_thoughts(e)  # (B, T, Z)
        context, _ = m.core(thoughts, e["mask"])
        c, cur, nxt = next_pairs(context, thoughts, e["mask"])
        pred = m.head.sample(c, cur, generator=self._generator(0, salt=7))  # (N, Z)
        metrics["next_cos"] = (pred * nxt).sum(-1).mean()
        metrics["head"] = m.head.loss(c, cur, nxt, self._generator(0, salt=7))
        if self.state_probe is not None and "state" in e:
            metrics["state_acc"] = self.state_probe.accuracy(
                F.normalize(context[e["mask"]], dim=-1), e["state"])
        self.log_dict({f"val/{k}": v for k, v in metrics.items()}, prog_bar=False)

    # ------------------------------------------------------------------ optimiser

    def _warmup(self, step: int, start: int) -> float:
        return schedule.warmup(step, start, self.tc.warmup_steps)

    def _progress(self, stage: str, step: int) -> float:
        """How much of ``stage`` is done at ``step``, in [0, 1]: the larger of its share
        of the stage's steps and (in a timed run) of its share of the minutes."""
        tc = self.tc
        split, t_split = self._teacher_end()
        if stage == "teacher":
            (s0, s1), (t0, t1) = (0, split), (0.0, t_split)
        elif stage == "encoder":  # a fixed teacher: the encoder trains in both stages
            (s0, s1), (t0, t1) = (0, tc.codec_steps), (0.0, tc.codec_share)
        elif stage == "codec":
            start = self.teacher_step if self.teacher_step is not None else split
            (s0, s1), (t0, t1) = (start, tc.codec_steps), (t_split, tc.codec_share)
        else:
            start = self.switch_step if self.switch_step is not None else tc.codec_steps
            (s0, s1), (t0, t1) = (start, start + tc.core_steps), (tc.codec_share, 1.0)
        return schedule.progress(step, (s0, s1), self.elapsed, self.minutes, (t0, t1))

    def _decay(self, stage: str, step: int) -> float:
        """The cosine factor of :attr:`ltm.train_config.TrainConfig.lr_final` at ``step``."""
        return schedule.cosine(self.tc.lr_final, self._progress(stage, step))

    def _encoder_start(self, step: int) -> int:
        """The step the encoder starts to train at: 0 (no teacher, or a fixed one), or
        the end of the teacher stage (not yet known during it, when the encoder is idle:
        ``step + 1``)."""
        if self.teacher is None or self.tc.teacher_fixed:
            return 0
        return self.teacher_step if self.teacher_step is not None else step + 1

    def configure_optimizers(self) -> dict:
        """AdamW over six groups (encoder, decoder with the role probe and the teacher
        code, core + head with the state probe; decayed or not) and a linear warm-up of each from the stage
        where it starts, stepped every step."""
        tc, m = self.tc, self.model
        aids = [x for x in (self.role_probe, self.teacher) if x is not None]
        teacher_or_codec = "codec" if self.teacher is None else "teacher"
        parts = {"encoder": ([m.encoder], tc.lr_encoder),
                 "decoder": ([m.decoder, *aids], tc.lr_decoder),
                 "core": ([m.core, m.head, *([self.state_probe] if self.state_probe
                                             else [])], tc.lr_core)}
        groups, lambdas = [], []
        for name, (mods, lr) in parts.items():
            params = [p for mod in mods for p in mod.parameters()]
            for decay in (True, False):
                groups.append({"name": f"{name}{'' if decay else '_nodecay'}", "lr": lr,
                               "weight_decay": tc.weight_decay if decay else 0.0,
                               "params": [p for p in params if (p.ndim >= 2) == decay]})
                if name == "core":
                    lambdas.append(lambda s: self._decay("core", s) * self._warmup(
                        s, self.switch_step if self.switch_step is not None
                        else tc.codec_steps))
                elif name == "encoder":
                    enc_stage = "encoder" if self.tc.teacher_fixed and self.teacher else "codec"
                    lambdas.append(lambda s, stage=enc_stage: self._decay(stage, s)
                                   * self._warmup(s, self._encoder_start(s)))
                else:  # the decoder trains in the teacher stage when there is one
                    lambdas.append(lambda s, stage=teacher_or_codec: self._decay(stage, s)
                                   * self._warmup(s, 0))
        opt = torch.optim.AdamW(groups, betas=(0.9, 0.95))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambdas)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    # ------------------------------------------------------------------ checkpoints

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Store the stage switches and the elapsed time (plain numbers only)."""
        checkpoint["ltm"] = {"switch_step": self.switch_step, "elapsed": self.elapsed,
                             "teacher_step": self.teacher_step,
                             "config": self.config.to_dict()}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """Restore what :meth:`on_save_checkpoint` stored."""
        state = checkpoint.get("ltm", {})
        self.switch_step, self.elapsed = state.get("switch_step"), state.get("elapsed", 0.0)
        self.teacher_step = state.get("teacher_step")
        if self.teacher_step is not None:
            self._freeze(self.model.decoder, self.teacher)
        if self.switch_step is not None:
            self._freeze_codec()
