"""The PVQ world: thought trajectories whose meaning, state and language are all known.

A small simulated world (12 agents, 14 places, 16 things, 6 containers, moods and
weather; 24 acts) generates episodes that follow the PVQ arc
``field -> perturbation -> intention -> transition(s) -> resolution``. Every thought
carries its meaning as a frame, the world state after it, whether the past determines
it, and three phrasings in English and in Russian (Russian with hand-declined nouns and
gender agreement). A parser maps every quote back to its frame, so text written by any
model can be checked for meaning and legality against the true state.

Modules, in reading order:

- :mod:`~ltm.pvq.world.lexicon`: entities and every word form they have;
- :mod:`~ltm.pvq.world.frames`: acts and roles, frame checks, the compositional split;
- :mod:`~ltm.pvq.world.render` / :mod:`~ltm.pvq.world.parse`: frames to quotes and back;
- :mod:`~ltm.pvq.world.sim`: the state, ``legal`` and ``apply``;
- :mod:`~ltm.pvq.world.episode`: the arc scripts and the rules of determined thoughts;
- :mod:`~ltm.pvq.world.stream`: ``generate`` and ``write_world``.

Example::

    from ltm.pvq import world
    world.render({"act": "go", "agent": "anna", "place": "garden"}, "ru", 0)  # 'Анна пошла в сад.'
    world.parse("Иван пошёл в сад.", "ru")  # {'act': 'go', 'agent': 'ivan', 'place': 'garden'}
    world.write_world("world.pvq.jsonl", episodes=1000, seed=0)
"""

from ltm.pvq.world.episode import SCRIPTS, determined_next
from ltm.pvq.world.frames import (
    ACTS,
    EVENTS,
    HELDOUT_OBJECT,
    HELDOUT_PLACE,
    ROLE_KINDS,
    STATEMENTS,
    all_frames,
    check_frame,
    meaning_split,
    twin,
)
from ltm.pvq.world.lexicon import ENTITIES, KINDS
from ltm.pvq.world.parse import parse
from ltm.pvq.world.render import LANGS, phrasings, render
from ltm.pvq.world.sim import achiever, apply, legal
from ltm.pvq.world.stream import SPLITS, generate, record_split, write_world

__all__ = [
    "ACTS", "EVENTS", "STATEMENTS", "ROLE_KINDS", "KINDS", "ENTITIES", "LANGS", "SCRIPTS",
    "SPLITS", "HELDOUT_OBJECT", "HELDOUT_PLACE", "all_frames", "check_frame", "meaning_split",
    "twin", "render", "phrasings", "parse", "legal", "apply", "achiever", "determined_next",
    "generate", "write_world", "record_split",
]
