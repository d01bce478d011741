"""Shared test settings: hypothesis profiles (``HYPOTHESIS_PROFILE=ci`` in nox), and
the small world most training tests read."""

import os

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
