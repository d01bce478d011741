"""``fit``: train a model on a PVQ file into a run directory (the body of ``ltm fit``).

The model is an LTM (:class:`ltm.config.LTMConfig`, :mod:`ltm.lit`), the byte baseline
or the hybrid (:class:`ltm.baseline_config.BaselineConfig`, :mod:`ltm.lit_baseline`);
the run directory, checkpoints and determinism are the same for all three.

A run directory holds everything of one run:

    DIR/config.json          the whole config (model and training); written first,
                             so a second run into DIR with another config is refused
    DIR/checkpoints/last.ckpt  Lightning checkpoint (weights, AdamW, loop, stage, time),
                             replaced atomically every ``ckpt_every`` steps and at the end
    DIR/logs/version_N/metrics.csv   every loss term per step and the validation metrics
    DIR/tb/                  the same for TensorBoard, when tensorboard is installed
    DIR/model.safetensors    the final weights (:meth:`ltm.model.LTM.save`,
                             :meth:`ltm.baseline.ByteLM.save`)
    DIR/metrics.json         the final validation metrics, steps, training seconds, and
                             the CPU threads and machine type it trained on

Determinism: :func:`lightning.seed_everything` before the model is built, Lightning's
``deterministic=True`` (``torch.use_deterministic_algorithms``), fp32, and batches and
noise that are functions of ``(seed, step)`` (:mod:`ltm.data`, :mod:`ltm.lit`). So the
same command on the same machine gives the same numbers, and ``resume=True`` after an
interruption (even SIGKILL: the checkpoint is written to a temporary file and renamed)
ends where an uninterrupted run would.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import nn

from ltm.baseline_config import BaselineConfig
from ltm.config import CONFIG_IGNORED_ON_RESUME, LTMConfig
from ltm.data import PVQDataModule, split_records
from ltm.errors import first_line
from ltm.lit import LitLTM
from ltm.model import CONFIG, WEIGHTS

__all__ = ["FitError", "LastCheckpoint", "check_checkpoint", "critic_records", "critic_stage", "fit",
           "LAST"]

LAST = "checkpoints/last.ckpt"
"""Where the resumable checkpoint lives inside a run directory."""


class FitError(ValueError):
    """A problem with the arguments of :func:`fit`, said in one line."""


class LastCheckpoint(L.Callback):
    """Writes ``last.ckpt`` every ``every`` steps and at the last step: to a temporary
    file first, then renamed over the old one, so a kill never leaves a torn file."""

    def __init__(self, path: Path, every: int) -> None:
        self.path, self.every = path, every

    def save(self, trainer: L.Trainer) -> None:
        """Write the checkpoint now (every process calls it; rank 0 writes)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        trainer.save_checkpoint(tmp, weights_only=False)  # the full state: resume needs the optimizer
        if trainer.is_global_zero:
            os.replace(tmp, self.path)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        step = trainer.global_step
        if step % self.every == 0 or trainer.should_stop or step >= trainer.max_steps:
            self.save(trainer)


class MinutesBar(L.Callback):
    """Progress of a time-budgeted run (``train.minutes > 0``) in minutes, not steps:
    a step count cannot tell when a run that stops on time will end."""

    def __init__(self, minutes: float) -> None:
        self.minutes, self.bar = minutes, None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=round(self.minutes * 60), unit="s", desc="fit",
                        bar_format="{desc} {bar} {n:.0f}/{total:.0f} s{postfix}")

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        elapsed = getattr(pl_module, "elapsed", 0.0)
        self.bar.update(min(elapsed, self.bar.total) - self.bar.n)
        loss = trainer.callback_metrics.get("train/loss")
        self.bar.set_postfix_str(f"step {trainer.global_step}, "
                                 f"stage {getattr(pl_module, 'stage', '-')}, "
                                 f"loss {float(loss):.3f}" if loss is not None else "")

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.bar is not None:
            self.bar.close()


def _defaults() -> dict[str, dict]:
    """Every part of a stored config (``config.json``) with its fields' defaults."""
    from dataclasses import asdict

    from ltm.config import CodecConfig, FieldConfig, TrainConfig

    parts = {"codec": asdict(CodecConfig()), "field": asdict(FieldConfig()),
             "train": asdict(TrainConfig()), "model": BaselineConfig().to_dict()["model"]}
    return json.loads(json.dumps(parts))


def _comparable(d: dict) -> dict:
    """``d`` as JSON, each part completed with the defaults of fields added since it was
    written (so a run stored before a new field resumes), without the fields a resumed
    run may change."""
    d = json.loads(json.dumps(d))
    for part, defaults in _defaults().items():
        if isinstance(d.get(part), dict):
            d[part] = {**defaults, **d[part]}
    for key in CONFIG_IGNORED_ON_RESUME:
        d.get("train", {}).pop(key, None)
    return d


def _differences(old: dict, new: dict) -> list[str]:
    """Dotted names of the entries that differ between two config dicts."""
    out = []
    for part in sorted(set(old) | set(new)):
        a, b = old.get(part), new.get(part)
        if isinstance(a, dict) and isinstance(b, dict):
            out += [f"{part}.{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif a != b:
            out.append(part)
    return out


def _check_out(config: dict, out: Path, resume: bool) -> None:
    stored = out / CONFIG
    if stored.exists():
        try:
            old = _comparable(json.loads(stored.read_text()))
        except (ValueError, OSError) as e:
            raise FitError(f"{stored}: unreadable config ({e})") from None
        new = _comparable(config)
        if old != new:
            diff = _differences(old, new)
            raise FitError(f"{out} holds a run with a different config (differs in "
                           f"{', '.join(diff) or 'its layout'}); use another --out")
    if resume and not (out / LAST).exists():
        raise FitError(f"nothing to resume: {out / LAST} does not exist")
    if resume:
        check_checkpoint(out / LAST)


def check_checkpoint(path: Path) -> None:
    """Refuse, in one line, a ``last.ckpt`` that is torn, tampered or not a checkpoint of
    this program: it must load with ``weights_only=True`` and hold weights, optimiser
    state and the loop's step."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # zip, pickle, unsafe-global errors: all one line
        raise FitError(f"{path}: cannot resume, not a readable checkpoint "
                       f"({first_line(e)})") from None
    missing = [k for k in ("state_dict", "optimizer_states", "global_step")
               if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        raise FitError(f"{path}: cannot resume, the checkpoint lacks {', '.join(missing)}")


def _trained_codec(config: LTMConfig, codec: Path) -> dict:
    """The encoder and decoder weights of the LTM in ``codec``, checked to fit ``config``."""
    from ltm.model import LTM

    if config.train.codec_steps != 0:
        raise FitError(f"--codec {codec}: a run on a trained codec trains the core only; "
                       f"set codec_steps to 0 (got {config.train.codec_steps})")
    if not (codec / WEIGHTS).is_file() or not (codec / CONFIG).is_file():
        raise FitError(f"{codec}: no LTM here (expected {WEIGHTS} and {CONFIG})")
    try:
        trained = LTM.load(codec)
    except (ValueError, RuntimeError, KeyError) as e:
        raise FitError(f"{codec}: cannot load its LTM ({first_line(e)})") from None
    if trained.config.codec != config.codec:
        raise FitError(f"{codec}: its codec config differs from this run's; the codec "
                       f"blocks of the two configs must be equal")
    return {k: v for k, v in trained.state_dict().items()
            if k.startswith(("encoder.", "decoder."))}


def _build(config: LTMConfig | BaselineConfig, data: Path, ltm: str | Path | None,
           codec: str | Path | None = None) -> tuple[L.LightningModule, PVQDataModule, dict]:
    """The LightningModule, the data module and the ``config.json`` of one run: an LTM
    for an :class:`LTMConfig` (with ``codec``, its encoder and decoder taken from that
    trained LTM); a baseline, or with ``ltm`` a hybrid, for a
    :class:`~ltm.baseline_config.BaselineConfig`."""
    if isinstance(config, LTMConfig):
        if ltm is not None:
            raise FitError("--ltm applies to --model hybrid only")
        datamodule = PVQDataModule(data, config)
        roles, phrasings, states, tc = None, 0, None, config.train
        if tc.w_roles or tc.uses_teacher or tc.w_state:  # the training aids (role and
            try:                          # state classifiers, teacher code) are sized by
                datamodule.setup()        # the data's frames and states
            except ValueError as e:  # too little data, or no world frames to draw from
                raise FitError(str(e)) from None
        if tc.w_roles or tc.uses_teacher:
            roles, phrasings = datamodule.roles, datamodule.phrasings
            if tc.uses_teacher and not roles:
                raise FitError(f"{data}: teacher_share needs thoughts with frames (world "
                               f"data), and this file has none; set teacher_share to 0")
        if tc.w_state:
            states = datamodule.state_vocab
            if not states:
                raise FitError(f"{data}: w_state needs thoughts with a state (world data), "
                               f"and this file has none; set w_state to 0")
        lit = LitLTM(config, roles, phrasings, states)
        if codec is not None:
            lit.model.load_state_dict(_trained_codec(config, Path(codec)), strict=False)
        return lit, datamodule, config.to_dict()
    if codec is not None:
        raise FitError("--codec applies to --model ltm only")
    from ltm.baseline import ByteLM
    from ltm.hybrid import HybridLM
    from ltm.lit_baseline import EpisodeDataModule, LitByteLM

    if ltm is None:
        model = ByteLM(config)
    else:
        ltm = Path(ltm)
        if not (ltm / WEIGHTS).is_file() or not (ltm / CONFIG).is_file():
            raise FitError(f"{ltm}: no LTM here (expected {WEIGHTS} and {CONFIG}; "
                           f"train one with ltm fit --model ltm)")
        try:
            model = HybridLM.from_ltm(config, ltm)
        except (ValueError, RuntimeError, KeyError) as e:
            raise FitError(f"{ltm}: cannot load its LTM ({first_line(e)})") from None
    return LitByteLM(model), EpisodeDataModule(data, model), model.config_dict()


def critic_records(config: LTMConfig | BaselineConfig, data: Path) -> list | None:
    """The training records the critic stage labels (:mod:`ltm.critic`), or ``None``
    when the run has no critic; a one-line error, before any training, when the data
    has no world episodes to label."""
    if not isinstance(config, LTMConfig) or not config.field.critic_width:
        return None
    from ltm.critic import labelable
    from ltm.pvq import iter_records

    tc = config.train
    records, _ = split_records(list(iter_records(data)), tc.val_fraction, tc.exclude_heldout)
    if not labelable(records, config.codec.langs):
        raise FitError(f"{data}: the critic stage needs world episodes whose thoughts have "
                       f"frames and states, and this file has none; set critic_width to 0")
    return records


def critic_stage(model, records: list, *, progress: bool = True) -> dict:
    """The last stage of :func:`fit` on ``model`` (an LTM with a critic) and the records
    of :func:`critic_records`: :func:`ltm.critic.fit_critic` with the config's cap,
    epochs and seed, in ``train.minutes * train.critic_share`` minutes when the run is
    timed. Returns the stage's summary."""
    from ltm.critic import fit_critic

    tc = model.config.train
    return fit_critic(model, records, transitions=tc.critic_transitions,
                      epochs=tc.critic_epochs, seed=tc.seed, progress=progress,
                      hypotheses=tc.critic_hypotheses, label_share=tc.critic_label_share,
                      seconds=60 * tc.minutes * tc.critic_share if tc.minutes > 0 else None)


def fit(config: LTMConfig | BaselineConfig, data: str | Path, out: str | Path, *,
        resume: bool = False, max_steps: int | None = None, progress: bool = True,
        callbacks: Sequence[L.Callback] = (),
        ltm: str | Path | None = None, codec: str | Path | None = None,
        accelerator: str = "cpu", devices: int | str = 1,
        strategy: str = "auto", num_nodes: int = 1) -> tuple[nn.Module, dict[str, float]]:
    """Train ``config`` on the PVQ file ``data`` into the run directory ``out``.

    Args:
        config: Model and training configuration (``config.train`` sets the stages):
            an :class:`LTMConfig` trains an LTM, a
            :class:`~ltm.baseline_config.BaselineConfig` the baseline (or the hybrid).
        data: A ``*.pvq.jsonl`` or ``*.thoughtset.yaml`` file.
        out: The run directory (created).
        resume: Continue from ``out/checkpoints/last.ckpt``.
        max_steps: Stop after this many steps in all, as if interrupted (the stage
            schedule is unchanged; the tests use it to cut a run in two).
        progress: Show Lightning's progress bar.
        callbacks: Extra Lightning callbacks.
        ltm: With a ``BaselineConfig``: the directory of a trained LTM whose frozen
            encoder gives the thoughts; the run trains the hybrid.
        codec: With an ``LTMConfig`` whose ``train.codec_steps`` is 0: the directory of
            a trained LTM with the same codec config, whose encoder and decoder this run
            takes (frozen) and trains only the core and head on, so that variants of
            the core (the heads of E4, no memory in E5) share one codec.
        accelerator: Lightning's accelerator (``"cpu"``, ``"gpu"``, ``"auto"``).
        devices: Processes (CPU) or GPUs per machine. Under data parallelism every
            process takes its share of each step's batch
            (:meth:`ltm.data.PVQDataModule.shard`), so the step sees the same data as on
            one process, and rank 0 writes the files.
        strategy: Lightning's strategy (``"auto"``, ``"ddp"``, ``"fsdp"``, ...); for
            example ``"gpu", 8, "ddp"``, or ``"cpu", 2, "ddp"`` as the DDP test runs.
        num_nodes: Machines.

    Returns:
        The trained model and the final validation metrics.

    Raises:
        FitError: A missing data file, or ``out`` holding another config, or nothing to
            resume.
    """
    data, out = Path(data), Path(out)
    if not data.is_file():
        raise FitError(f"{data}: no such data file")
    tc = config.train
    L.seed_everything(tc.seed, workers=True, verbose=False)
    labelled = critic_records(config, data)
    lit, datamodule, stored = _build(config, data, ltm, codec)
    _check_out(stored, out, resume)
    out.mkdir(parents=True, exist_ok=True)
    (out / CONFIG).write_text(json.dumps(stored, indent=2) + "\n")
    loggers: list = [L.pytorch.loggers.CSVLogger(out, name="logs")]
    if importlib.util.find_spec("tensorboard") is not None:
        loggers.append(L.pytorch.loggers.TensorBoardLogger(out, name="tb"))
    last = LastCheckpoint(out / LAST, tc.ckpt_every)
    timed = progress and tc.minutes > 0
    if timed:
        callbacks = [*callbacks, MinutesBar(config.stage_minutes if isinstance(config, LTMConfig)
                                            else tc.minutes)]
    if strategy == "ddp" and isinstance(config, LTMConfig):
        # each stage leaves the other's parameters without gradient
        strategy = "ddp_find_unused_parameters_true"
    trainer = L.Trainer(
        accelerator=accelerator, devices=devices, strategy=strategy, num_nodes=num_nodes,
        precision="32-true", deterministic=True,
        max_epochs=-1, max_steps=tc.total_steps if max_steps is None else max_steps,
        val_check_interval=tc.val_every, check_val_every_n_epoch=None,
        num_sanity_val_steps=0, gradient_clip_val=tc.grad_clip or None,
        logger=loggers, callbacks=[last, *callbacks], enable_checkpointing=False,
        enable_progress_bar=progress and not timed, enable_model_summary=False, log_every_n_steps=1)
    # weights_only: the checkpoint holds tensors and plain types only, so resuming never
    # unpickles arbitrary objects (a tampered last.ckpt cannot run code)
    trainer.fit(lit, datamodule=datamodule, ckpt_path=str(out / LAST) if resume else None,
                weights_only=True)
    final = trainer.validate(lit, datamodule=datamodule, verbose=False)[0]
    metrics = {k: float(v) for k, v in sorted(final.items())}
    summary = {"steps": trainer.global_step, "teacher_step": getattr(lit, "teacher_step", None),
               "switch_step": getattr(lit, "switch_step", None),
               "train_seconds": round(lit.elapsed, 3), "threads": torch.get_num_threads(),
               "machine": platform.machine(), "val": metrics}
    if labelled is not None and trainer.is_global_zero:
        summary["critic"] = critic_stage(lit.model, labelled, progress=progress)
    if trainer.is_global_zero:
        (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
        lit.model.save(out)
    return lit.model, metrics
