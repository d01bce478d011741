"""Where things live in a clone of the repo. Every script takes its paths from here.

The repo root is found from this file (``reference/ltm/paths.py`` is three levels down);
set ``LTM_ROOT`` to point elsewhere (for example an installed package reading a clone).
No path in the project is absolute.
"""

from __future__ import annotations

import os
from pathlib import Path


def root() -> Path:
    """The repository root."""
    env = os.environ.get("LTM_ROOT")
    return Path(env) if env else Path(__file__).resolve().parents[2]


def data() -> Path:
    """Committed data: ``data/`` (examples, corpora)."""
    return root() / "data"


def generated() -> Path:
    """Data made by ``nox -s reproduce`` and not committed: ``data/generated/``."""
    return data() / "generated"


def results() -> Path:
    """Committed experiment results: ``experiments/results/``."""
    return root() / "experiments" / "results"
