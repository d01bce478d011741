"""Shared test settings: hypothesis profiles (``HYPOTHESIS_PROFILE=ci`` in nox), and
the small world most training tests read."""

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from ltm.pvq import world

settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "ci", max_examples=100, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session")
def data(tmp_path_factory):
    """A PVQ world of 40 episodes (seed 0), written once per test session; read only.
    A module that needs another world defines its own ``data``."""
    path = tmp_path_factory.mktemp("world") / "w.pvq.jsonl"
    world.write_world(path, 40, seed=0)
    return path


@pytest.fixture
def trains_but_ships_no_aid():
    """The check that a training aid (a probe trained beside the model, weighed by a
    ``w_*`` field) did its part in a run and stays out of the shipped weights:
    ``check(run_dir, metrics, term, weight_field, name_part)``."""
    def check(run: Path, metrics: dict, term: str, weight_field: str, name_part: str) -> None:
        from safetensors.torch import load_file

        assert 0.0 <= metrics[f"val/{term}_acc"] <= 1.0
        log = next(run.glob("logs/version_*/metrics.csv")).read_text()
        assert f"train/{term}" in log.splitlines()[0]
        names = load_file(run / "model.safetensors").keys()
        assert not any(name_part in n for n in names)
        assert json.loads((run / "config.json").read_text())["train"][weight_field] == 1.0
    return check
