"""Training of the baseline and the hybrid: a thin LightningModule and its data.

Issue 4 section 1. The data are :mod:`ltm.data`'s, unchanged: the same split by record
id, the same episodes (one language per episode, a random phrasing per thought) drawn
by the same step-seeded generator (batch ``k`` is a function of ``(seed, k)``, so a
resumed run continues the same stream), then laid out as byte sequences by
:func:`ltm.baseline.make_batch`. The loss is the mean next-symbol cross-entropy
(:meth:`ltm.baseline.ByteLM.loss`); one AdamW rate (``lr_decoder``) with a linear
warm-up, decay on matrices and embeddings only. The hybrid's encoder is frozen and has
no gradient, so the optimiser never sees it.

Validation reports ``val/loss`` (nats per symbol) and ``val/bpb``: the summed nats of
every unit's bytes *and its separator* over the unit bytes, in bits
(:func:`ltm.metrics.bits_per_byte`), the same count as the LTM decoder's (with EOS).

Shape legend: B episodes · S positions · N units · L unit bytes.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import lightning as L
import torch
from torch import Tensor

from ltm import schedule
from ltm.baseline import ByteLM, make_batch
from ltm.config import N_BYTES, CodecConfig, LTMConfig
from ltm.data import PVQDataModule, collate_episodes
from ltm.lit import tick

__all__ = ["EpisodeDataModule", "LitByteLM"]


class EpisodeDataModule(PVQDataModule):
    """:class:`ltm.data.PVQDataModule`'s episodes as byte sequences for ``model``."""

    def __init__(self, path: str | Path, model: ByteLM) -> None:
        c = model.config
        view = LTMConfig(codec=CodecConfig(langs=c.langs, max_bytes=c.max_bytes), train=c.train)
        super().__init__(path, view)
        self.lm_config, self.thoughts = c, model.uses_thoughts

    def layout(self, b: dict[str, Tensor]) -> dict[str, Tensor]:
        """A batch of :func:`ltm.data.collate_episodes` -> :func:`ltm.baseline.make_batch`."""
        units = [bytes(r[:n]) for r, n in zip(b["ids"].tolist(), b["lengths"].tolist(),
                                              strict=True)]
        eps, i = [], 0
        for n in b["mask"].sum(1).tolist():  # real units per episode, row-major
            eps.append(units[i: i + n])
            i += n
        return make_batch(eps, b["lang"].tolist(), self.lm_config.context, self.thoughts)

    def setup(self, stage: str | None = None) -> None:
        """As the parent's; the fixed validation batch is its episodes, laid out."""
        if self.val_batch is not None and "lm" in self.val_batch:
            return
        super().setup(stage)
        self.val_batch = {"lm": self.layout(self.val_batch["core"])}

    def train_batch(self, step: int) -> dict[str, dict]:
        """The batch of step ``step``: ``core_batch`` episodes, drawn as the LTM's are."""
        tc = self.config.train
        rng = random.Random(f"ltm-batch:{tc.seed}:{step}")
        eps = self.shard([self.episodes[rng.randrange(len(self.episodes))]
                          for _ in range(tc.core_batch)])
        return {"lm": self.layout(collate_episodes(eps, self.config, rng))}


class LitByteLM(L.LightningModule):
    """Trains a :class:`ltm.baseline.ByteLM` or :class:`ltm.hybrid.HybridLM` (``self.model``)."""

    def __init__(self, model: ByteLM) -> None:
        super().__init__()
        self.model, self.tc = model, model.config.train
        self.elapsed = 0.0
        """Seconds of training so far, over every resumed run."""
        self._tick: float | None = None

    def on_train_batch_start(self, batch: dict, batch_idx: int) -> None:
        """Count the training time (:func:`ltm.lit.tick`)."""
        tick(self)

    def training_step(self, batch: dict[str, dict], batch_idx: int) -> Tensor:
        """Mean next-symbol cross-entropy; stops at the time budget."""
        loss = self.model.loss(batch["lm"])
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {loss.item()} at step {self.global_step}; "
                                     f"the last checkpoint is kept")
        self.log("train/loss", loss.detach(), prog_bar=True,
                 batch_size=batch["lm"]["tokens"].shape[0])
        if self.tc.minutes > 0 and self.elapsed >= 60 * self.tc.minutes:
            self.trainer.should_stop = True
        return loss

    @torch.no_grad()
    def validation_step(self, batch: dict[str, dict], batch_idx: int) -> None:
        """``val/loss`` (nats per symbol) and ``val/bpb`` (SEP's nats counted, not its byte)."""
        b = batch["lm"]
        nats = self.model.unit_nats(b)  # (N,)
        targets = b["targets"]
        n_bytes = int((targets < N_BYTES).sum())
        n_symbols = int((b["owner"] >= 0).sum())
        self.log_dict({"val/loss": nats.sum() / n_symbols,
                       "val/bpb": nats.sum() / (n_bytes * math.log(2))},
                      batch_size=targets.shape[0])

    def _factor(self, step: int) -> float:
        """The rate's factor at ``step``: the warm-up, then half a cosine down to
        ``lr_final`` at the end of the run, by its steps (``total_steps``) or, in a timed
        run, by its minutes, whichever is nearer (:mod:`ltm.schedule`)."""
        tc = self.tc
        done = schedule.progress(step, (0, tc.total_steps), self.elapsed, tc.minutes, (0.0, 1.0))
        return schedule.warmup(step, 0, tc.warmup_steps) * schedule.cosine(tc.lr_final, done)

    def configure_optimizers(self) -> dict:
        """AdamW at ``lr_decoder`` (decayed matrices, undecayed norms) with a warm-up and
        the LTM's decay (:meth:`_factor`)."""
        tc = self.tc
        params = [p for p in self.model.parameters() if p.requires_grad]
        groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": tc.weight_decay},
                  {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
        opt = torch.optim.AdamW(groups, lr=tc.lr_decoder, betas=(0.9, 0.95))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, self._factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Store the elapsed time and the configuration (plain numbers only)."""
        checkpoint["ltm"] = {"elapsed": self.elapsed, "config": self.model.config_dict()}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """Restore the elapsed time."""
        self.elapsed = checkpoint.get("ltm", {}).get("elapsed", 0.0)
