"""Configs: validation names the bad field; presets state their parameter counts."""

import dataclasses
import re

import pytest

from ltm.config import (
    CodecConfig,
    FieldConfig,
    LTMConfig,
    config_overrides,
    train_overrides,
    with_overrides,
)
from ltm.presets import PRESETS, preset


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_parameter_count_matches_docstring(name):
    from ltm.model import LTM

    doc = PRESETS[name].__doc__
    stated = re.search(r"Parameters: ([\d,]+) \(encoder ([\d,]+); decoder ([\d,]+); "
                       r"core ([\d,]+);\s+head ([\d,]+)\)", doc)
    assert stated, f"preset {name} docstring does not state its parameter count"
    total, *parts = (int(x.replace(",", "")) for x in stated.groups())
    model = LTM(preset(name))
    counts = [sum(p.numel() for p in getattr(model, m).parameters())
              for m in ("encoder", "decoder", "core", "head")]
    assert sum(p.numel() for p in model.parameters()) == total
    assert counts == parts


def test_unknown_preset_lists_names():
    with pytest.raises(ValueError, match="tiny, paper, gpu"):
        preset("huge")


@pytest.mark.parametrize("kind,kwargs,field", [
    (CodecConfig, {"width": 0}, "width"),
    (CodecConfig, {"width": 64, "heads": 3}, "heads"),
    (CodecConfig, {"surface_dim": -1}, "surface_dim"),
    (CodecConfig, {"ngram_max": 1}, "ngram_max"),
    (CodecConfig, {"ngram_max": True}, "ngram_max"),
    (CodecConfig, {"decoder_ngrams": True}, "decoder_ngrams needs ngram_max"),
    (CodecConfig, {"ngram_buckets": 0}, "ngram_buckets"),
    (CodecConfig, {"surface_norm": 1.5}, "surface_norm"),
    (CodecConfig, {"surface_dim": 0}, "surface_norm"),
    (CodecConfig, {"langs": ("en", "xx")}, "langs"),
    (CodecConfig, {"max_bytes": 2.5}, "max_bytes"),
    (FieldConfig, {"head": "diffusion"}, "head"),
    (FieldConfig, {"sample_method": "rk4"}, "sample_method"),
    (FieldConfig, {"energy_samples": 1}, "energy_samples"),
    (FieldConfig, {"layers": 0}, "layers"),
])
def test_validation_names_the_field(kind, kwargs, field):
    with pytest.raises(ValueError, match=field):
        kind(**kwargs)


def test_dict_round_trip_and_unknown_keys():
    cfg = preset("paper")
    assert LTMConfig.from_dict(cfg.to_dict()) == cfg
    bad = cfg.to_dict()
    bad["codec"]["widht"] = 3
    with pytest.raises(ValueError, match="widht"):
        LTMConfig.from_dict(bad)


def test_configs_are_frozen():
    cfg = CodecConfig()
    with pytest.raises(AttributeError):
        cfg.width = 3  # type: ignore[misc]


def test_config_overrides_type_each_value_as_its_field_and_name_the_option():
    field, train = preset("paper").field, preset("paper").train
    assert config_overrides(field, ["head=mse", "sample_steps=4", "source_noise=0.5"],
                            "--field") == {"head": "mse", "sample_steps": 4,
                                           "source_noise": 0.5}
    assert train_overrides(train, ["exclude_heldout=FALSE", "teacher_share=0.4"]) == {
        "exclude_heldout": False, "teacher_share": 0.4}
    for cfg, pair, option, says in [
            (field, "nope=1", "--field", "--field 'nope=1': expected FIELD=VALUE with a "
                                         "FieldConfig field"),
            (field, "sample_steps=2.5", "--field", "'2.5' is not a int"),
            (train, "exclude_heldout=yes", "--set", "--set 'exclude_heldout=yes': 'yes' is "
                                                    "not true/false/1/0"),
            (train, "teacher_share", "--set", "with a TrainConfig field")]:
        with pytest.raises(ValueError, match=re.escape(says)):
            config_overrides(cfg, [pair], option)


def test_with_overrides_sends_plain_fields_to_train_and_dotted_ones_to_their_part():
    cfg = preset("paper")
    got = with_overrides(cfg, ["byte_dropout=0.1", "field.head_width=384", "codec.width=192",
                               "codec.heads=6"])
    assert got.train.byte_dropout == 0.1 and got.field.head_width == 384
    assert (got.codec.width, got.codec.heads) == (192, 6)
    assert dataclasses.replace(got.train, byte_dropout=0.0) == cfg.train
    assert dataclasses.replace(got.field, head_width=cfg.field.head_width) == cfg.field
    assert dataclasses.replace(got.codec, width=cfg.codec.width, heads=cfg.codec.heads) == cfg.codec
    assert with_overrides(cfg, []) == cfg
    assert with_overrides(cfg, ["train.lr_final=0.5", "seed=3"]).train == dataclasses.replace(
        cfg.train, lr_final=0.5, seed=3)
    for pair, says in [
            ("model.width=3", "--set 'model.width=3': 'model' is not a part of LTMConfig, "
                              "one of codec, field, train"),
            ("field.nope=1", "--set 'field.nope=1': expected field.FIELD=VALUE with a "
                             "FieldConfig field"),
            ("field.choices=many", "--set 'field.choices=many': 'many' is not a int"),
            ("codec.langs=en", "--set 'codec.langs=en': langs is a tuple, which --set "
                               "cannot give"),
            ("train.nope=1", "--set 'train.nope=1': expected train.FIELD=VALUE"),
            ("field.head=bogus", "FieldConfig.head must be one of")]:
        with pytest.raises(ValueError, match=re.escape(says)):
            with_overrides(cfg, [pair])


def test_ltm_fit_set_reaches_every_part_of_the_config():
    """``ltm fit --set`` goes through the same parser and flags as a run: ``--head`` and
    ``--critic`` first, then plain fields to training and ``PART.FIELD`` to its part."""
    from ltm.cli import build_parser
    from ltm.cli_model import _fit_config

    args = build_parser().parse_args([
        "fit", "--preset", "tiny", "--data", "w.pvq.jsonl", "--out", "o", "--head", "choice",
        "--critic", "16", "--seed", "3", "--set", "field.head_width=40", "--set",
        "codec.surface_norm=0.5", "--set", "lr_final=0.5"])
    cfg = _fit_config(args)
    tiny = preset("tiny")
    assert (cfg.field.head, cfg.field.critic_width, cfg.field.head_width) == ("choice", 16, 40)
    assert cfg.codec == dataclasses.replace(tiny.codec, surface_norm=0.5)
    assert cfg.train == dataclasses.replace(tiny.train, seed=3, lr_final=0.5)
