"""Weights on disk: safetensors (no pickle) with a SHA-256 of the tensors in the header.

A safetensors file carries a JSON header and raw tensor bytes. A truncated file or a
broken header is refused by the reader, but a changed byte in the tensor data is not:
the file still loads, with other weights. :func:`save` therefore stores a SHA-256 of
every tensor's name, dtype, shape and bytes (in name order) in the header's metadata,
and :func:`load` recomputes it and refuses a file whose data no longer match, in one
line that names the file (:class:`WeightsError`).

Files written before the checksum existed (no ``sha256`` in their metadata) still load,
unchecked; ``checkpoints/paper`` is one of them. Every model class saves and loads
through this module (:meth:`ltm.model.LTM.save`, :meth:`ltm.baseline.ByteLM.save`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor

from ltm.errors import first_line

__all__ = ["WeightsError", "checksum", "load", "save"]


class WeightsError(ValueError):
    """A weights file that cannot be read or does not match its checksum (one line)."""


def checksum(state: Mapping[str, Tensor]) -> str:
    """SHA-256 (hex) over the name, dtype, shape and bytes of every tensor, in name order."""
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save(state: Mapping[str, Tensor], path: str | Path) -> None:
    """Write ``state`` to ``path`` as safetensors, with its :func:`checksum` in the header."""
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    save_file(state, str(path), metadata={"sha256": checksum(state)})


def load(path: str | Path, device: torch.device | str = "cpu") -> dict[str, Tensor]:
    """The tensors of ``path``, checked against the checksum :func:`save` stored with them.

    Raises:
        WeightsError: the file is missing, is not safetensors (truncated, broken header),
            or its tensor data differ from the data it was saved with.
    """
    from safetensors import safe_open

    p = Path(path)
    if not p.is_file():
        raise WeightsError(f"{p}: no such weights file")
    try:
        with safe_open(str(p), framework="pt", device=str(device)) as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (not a dict)
    except Exception as e:  # safetensors raises its own error classes, and OSError
        raise WeightsError(f"{p}: not a readable safetensors file ({first_line(e)})") from None
    expected = meta.get("sha256")
    if expected is not None:
        found = checksum(state)
        if found != expected:
            raise WeightsError(f"{p}: the tensor data do not match the SHA-256 saved with "
                               f"them (expected {expected[:12]}..., found {found[:12]}...); "
                               f"the file was altered or damaged")
    return state
