"""Named presets of the whole model: ``tiny``, ``paper`` and ``gpu``.

``tiny`` trains in seconds on a CPU and is what the tests use; ``paper`` is sized for the
CPU runs of the paper; ``gpu`` scales up. Each docstring states the preset's parameter
count and ``tests/test_config.py`` checks it against a freshly built
:class:`ltm.model.LTM`.
"""

from __future__ import annotations

from ltm.config import CodecConfig, FieldConfig, LTMConfig, TrainConfig

__all__ = ["tiny", "paper", "gpu", "PRESETS", "preset"]


def tiny() -> LTMConfig:
    """Trains in seconds on a CPU; the tests use it.

    Parameters: 469,440 (encoder 100,352; decoder 150,720; core 150,464; head 67,904).
    """
    return LTMConfig(codec=CodecConfig(center=True), field=FieldConfig(head_width=64),
                     train=TrainConfig(val_groups=16, val_episodes=8))


def paper() -> LTMConfig:
    """The CPU runs of the paper (at most 45 minutes on 2 cores; the shipped model used
    44, at half these peak rates: ``--set lr_encoder=1.5e-4 --set lr_decoder=1.5e-3``,
    which at 800 codec steps raised exact reconstruction from 0.56 / 0.38 to 0.71 / 0.59,
    experiments/LOG.md, session 13; and with ``--set codec_occurrence=0.25``, which at 44
    minutes raised seen units' exact reconstruction as they occur from 0.939 / 0.948 to
    0.995 / 0.988, session 24; the preset keeps its rates and uniform draws so that the
    short runs of E3 to E5 stay as measured). Width 128 for speed: on this CPU the codec's byte
    throughput, not its size, limits what 45 minutes can learn (experiments/LOG.md, probes p1-p6). Hashed byte
    n-grams (n = 2..5) in the encoder: without them it did not learn to bind a quote's
    roles at CPU step counts (experiments/LOG.md, session 6). Each stage's rates fall by
    half a cosine to 5% of their peak (``lr_final``): at 800 codec steps that nearly
    doubled exact reconstruction over a constant rate (experiments/LOG.md, session 9).

    Parameters: 3,031,200 (encoder 1,108,224; decoder 551,296; core 805,504; head 566,176);
    524,288 of the encoder's are its n-gram tables.
    """
    return LTMConfig(
        codec=CodecConfig(width=128, heads=4, enc_layers=2, dec_layers=2, meaning_dim=128,
                          surface_dim=32, pool_slots=4, prefix_len=4, max_bytes=128,
                          ngram_max=5, ngram_buckets=1024, center=True),
        field=FieldConfig(width=128, heads=4, layers=3, memory_slots=8, head_width=192,
                          head_layers=2),
        train=TrainConfig(codec_batch=64, core_batch=16, warmup_steps=100, lr_final=0.05,
                          w_align=1.0, w_cross=1.0, codec_steps=1_000_000, core_steps=1_000_000,
                          minutes=45.0, codec_share=0.7, val_every=1000, val_groups=256,
                          val_episodes=64, ckpt_every=100),
    )


def gpu() -> LTMConfig:
    """Scaled up for one GPU.

    Parameters: 145,164,544 (encoder 32,717,824; decoder 21,347,840; core 63,534,336;
    head 27,564,544); 16,777,216 of the encoder's are its n-gram tables.
    """
    return LTMConfig(
        codec=CodecConfig(width=512, heads=8, enc_layers=4, dec_layers=6, meaning_dim=384,
                          surface_dim=128, pool_slots=8, prefix_len=8, max_bytes=512,
                          ngram_max=5, ngram_buckets=8192, center=True),
        field=FieldConfig(width=768, heads=12, layers=8, memory_slots=16, head_width=1024,
                          head_layers=4),
        train=TrainConfig(codec_batch=128, core_batch=64, lr_encoder=2e-4, lr_decoder=2e-3,
                          lr_core=6e-4, warmup_steps=1000, codec_steps=100_000,
                          core_steps=100_000, val_every=2000, val_groups=512,
                          val_episodes=128, ckpt_every=1000),
    )


PRESETS = {"tiny": tiny, "paper": paper, "gpu": gpu}
"""Named presets, each a function returning a fresh :class:`LTMConfig`."""


def preset(name: str) -> LTMConfig:
    """The preset called ``name``; ``ValueError`` lists the known names."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}")
    return PRESETS[name]()
