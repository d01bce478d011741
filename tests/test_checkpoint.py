"""The shipped model: loads from safetensors right after set-up and says thoughts."""

import json
from pathlib import Path

import torch

from ltm import paths
from ltm.cli import main
from ltm.model import LTM

CKPT = paths.root() / "checkpoints" / "paper"


def test_shipped_model_loads_and_matches_its_card():
    model = LTM.load(CKPT)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    n = sum(p.numel() for p in model.parameters())
    assert f"parameters: {n:,}" in (CKPT / "MODEL_CARD.md").read_text("utf-8")
    metrics = json.loads((CKPT / "metrics.json").read_text())
    assert metrics["train_seconds"] <= 45 * 60  # the budget


def test_shipped_model_generates_in_both_languages(capsys):
    torch.set_num_threads(1)
    for extra in ([], ["--lang", "ru"]):
        assert main(["generate", "--model", str(CKPT), "Anna is in the garden.",
                     "--thoughts", "2", *extra]) == 0
        lines = capsys.readouterr().out.strip().splitlines()
        assert len(lines) == 2 and all(line and "\ufffd" not in line for line in lines)
    assert not Path(CKPT / "model.safetensors").read_bytes().startswith(b"\x80")  # no pickle
