"""Appendix, hyperparameters: every size and training setting of the three model presets.

    python experiments/tab_hparams.py [--preset smoke|paper|gpu]

Nothing is trained or measured: the table is read from the configs, so it is the same
for every ``--preset`` (which decides only where it is written). Columns are the LTM
presets ``tiny``, ``paper`` and ``gpu`` (:func:`ltm.presets.preset`); rows are the
codec, the field core and head, and the training of each, as the preset sets them, then
the steps the experiments give the runs of that preset (:data:`common.STEPS` and
:data:`common.CORE_STEPS`, which replace the preset's own time and step limits), then the byte baselines matched
to each preset in parameters and in training FLOPs
(:func:`ltm.baseline_config.baseline_preset`; the baseline trains with the preset's
``TrainConfig``, at ``lr_decoder``). Parameters are counted on the built modules
(:class:`ltm.model.LTM`, :class:`ltm.baseline.ByteLM`; the sum of ``p.numel()``, built
on the ``meta`` device so that no weight is allocated); training FLOPs per byte are
:func:`ltm.flops.ltm_train_per_byte` (the run) and
:func:`ltm.flops.baseline_train_per_byte`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import common  # noqa: E402

PRESETS = ("tiny", "paper", "gpu")
"""The LTM presets, one column each."""
EXPERIMENT = {m: e for e, m in common.MODEL_PRESET.items()}
"""The experiment preset that trains each model preset (``tiny`` -> ``smoke``)."""

CODEC = (("width", "width"), ("heads", "attention heads"), ("enc_layers", "encoder layers"),
         ("dec_layers", "decoder layers"), ("ngram_max", "byte n-grams up to n"),
         ("ngram_buckets", "rows per n-gram table"), ("max_bytes", "longest unit in bytes"),
         ("meaning_dim", "meaning part"), ("surface_dim", "surface part"),
         ("surface_norm", "norm of the surface part"), ("pool_slots", "pooling queries K"),
         ("prefix_len", "decoder prefix P"), ("center", "centring"))
FIELD = (("width", "width"), ("heads", "attention heads"), ("layers", "layers L"),
         ("memory_slots", "scene memory slots"), ("head", "tension head"),
         ("head_width", "head width"), ("head_layers", "head blocks"),
         ("sample_steps", "ODE steps when sampling"), ("sample_method", "ODE integrator"),
         ("source_noise", "source noise of the flow"))
TRAIN = (("codec_batch", "codec batch, thought groups"), ("core_batch", "core batch, episodes"),
         ("max_thoughts", "longest episode, thoughts"), ("lr_encoder", "learning rate, encoder"),
         ("lr_decoder", "learning rate, decoder"), ("lr_core", "learning rate, core and head"),
         ("weight_decay", "AdamW weight decay"), ("warmup_steps", "warm-up steps per stage"),
         ("lr_final", "final rate, share of the peak"), ("grad_clip", "gradient clipping norm"), ("w_rec", "weight, reconstruction"),
         ("w_align", "weight, alignment"), ("w_cross", "weight, cross-language"),
         ("w_noise", "weight, noised decoding"), ("noise_sigma", "decoding noise sigma"),
         ("w_roles", "weight, role supervision"), ("align_temperature", "alignment temperature"),
         ("w_head", "weight, head's loss"), ("w_next", "weight, next unit"),
         ("minutes", "time budget, minutes"), ("codec_share", "codec share of the time"),
         ("seed", "seed"))
BASELINE = (("width", "width"), ("heads", "attention heads"), ("layers", "layers"),
            ("context", "training context, positions"))
"""``(config field, row label)`` of each block, in the order of the table."""
NAMES = {"params": "params", "flops": "FLOPs"}
"""How the table names each matching of the baseline."""


def value(x) -> str:
    """A config value as a table cell: thousands separated, small floats in e-notation."""
    if isinstance(x, bool):
        return "on" if x else "off"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:.0e}".replace("e-0", "e-") if 0 < abs(x) < 1e-2 else f"{x:g}"
    return str(x)


def params(module) -> int:
    """Parameters of a module: the sum of ``p.numel()``."""
    return sum(p.numel() for p in module.parameters())


def main(preset: str = "paper") -> str:
    """Read the presets, count, and write the table (and its JSON) for ``preset``."""
    import torch

    from ltm import flops
    from ltm.baseline import ByteLM
    from ltm.baseline_config import baseline_preset
    from ltm.model import LTM
    from ltm.presets import preset as ltm_preset

    cfgs = {m: ltm_preset(m) for m in PRESETS}
    bases = {(m, match): baseline_preset(m, match) for m in PRESETS
             for match in ("params", "flops")}
    counts: dict = {}
    with torch.device("meta"):
        for m in PRESETS:
            ltm = LTM(cfgs[m])
            counts[m] = {"LTM": {part: params(getattr(ltm, part))
                                 for part in ("encoder", "decoder", "core", "head")},
                         **{f"baseline-{match}": params(ByteLM(bases[(m, match)]))
                            for match in ("params", "flops")}}
            counts[m]["LTM"]["total"] = params(ltm)
    train_flops = {m: {"LTM": flops.ltm_train_per_byte(cfgs[m])["run"],
                       **{f"baseline-{match}": flops.baseline_train_per_byte(bases[(m, match)])
                          for match in ("params", "flops")}} for m in PRESETS}

    rows: list[list[str]] = []

    def block(group: str, pairs, get) -> None:
        for name, label in pairs:
            field = "" if label == name else f" ({name})"
            rows.append([f"{group}: {label}{field}"]
                        + [value(getattr(get(m), name)) for m in PRESETS])

    block("codec", CODEC, lambda m: cfgs[m].codec)
    block("field", FIELD, lambda m: cfgs[m].field)
    block("train", TRAIN, lambda m: cfgs[m].train)
    steps = lambda t: f"{value(t.codec_steps)} + {value(t.core_steps)}"  # noqa: E731
    rows.append(["train: codec + core steps, at most"] + [steps(cfgs[m].train) for m in PRESETS])
    exp = {m: common.ltm_config(EXPERIMENT[m]).train for m in PRESETS}
    rows.append([f"experiments ({'/'.join(EXPERIMENT[m] for m in PRESETS)}): LTM codec + "
                 "core steps"] + [steps(exp[m]) for m in PRESETS])
    for key, label in (("baseline", "baseline"), ("hybrid", "hybrid"),
                       ("flops", "baseline (FLOPs)"), ("warmup", "warm-up")):
        rows.append([f"experiments: {label} steps"]
                    + [value(common.STEPS[EXPERIMENT[m]][key]) for m in PRESETS])
    rows.append(["experiments: core-variant steps (E4, E5)"]
                + [value(common.CORE_STEPS[EXPERIMENT[m]]) for m in PRESETS])
    for match in ("params", "flops"):
        block(f"baseline ({NAMES[match]})", BASELINE, lambda m, match=match: bases[(m, match)])
    for part in ("encoder", "decoder", "core", "head", "total"):
        rows.append([f"parameters: LTM {part}"] + [value(counts[m]["LTM"][part]) for m in PRESETS])
    for match in ("params", "flops"):
        rows.append([f"parameters: baseline ({NAMES[match]})"]
                    + [value(counts[m][f"baseline-{match}"]) for m in PRESETS])
    for name, label in (("LTM", "LTM run"), ("baseline-params", "baseline (params)"),
                        ("baseline-flops", "baseline (FLOPs)")):
        rows.append([f"training MFLOP per byte: {label}"]
                    + [f"{train_flops[m][name] / 1e6:.2f}" for m in PRESETS])

    numbers = {"configs": {m: cfgs[m].to_dict() for m in PRESETS},
               "baselines": {f"{m}-{match}": b.to_dict()["model"]
                             for (m, match), b in bases.items()},
               "params": counts, "train_flops_per_byte": train_flops,
               "experiments": {m: {"preset": EXPERIMENT[m], **common.STEPS[EXPERIMENT[m]],
                                   "core_variant": common.CORE_STEPS[EXPERIMENT[m]]}
                               for m in PRESETS}}
    header = ["setting (config field)", *PRESETS]
    caption = ("Every size and training setting of the three model presets "
               "(ltm.presets, ltm.baseline_config), the budget the experiments give each, "
               "parameters counted on the built modules and training FLOPs per byte "
               "(ltm.flops). The experiments replace a preset's own step and time limits by "
               "the steps of experiments/common.py.")
    big = lambda n: f"{n:,}".replace(",", "{,}")  # noqa: E731
    macros = {"hpParamsLtmPaper": big(counts["paper"]["LTM"]["total"]),
              "hpParamsBasePaper": big(counts["paper"]["baseline-params"])}
    common.write_result("tab_hparams", preset, numbers, header, rows, caption, macros)
    return ", ".join(f"{m}: LTM {counts[m]['LTM']['total']:,}, baseline "
                     f"{counts[m]['baseline-params']:,} / {counts[m]['baseline-flops']:,}"
                     for m in PRESETS)


if __name__ == "__main__":
    common.command_line(main, __doc__)
