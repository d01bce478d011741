"""Episodes: the arc field -> perturbation -> intention -> transition(s) -> resolution.

Every episode has two agents: the *protagonist*, whose aim it is, and the *other*. It is
built from one of six scripts, named by its perturbation:

| script | field (besides where the agents are) | perturbation | intention |
|---|---|---|---|
| lose | the protagonist holds a thing | ``lose`` | ``want`` it back |
| snatch | both agents and a thing in one place | the other ``take``s it | ``want`` it |
| shut | a thing in an open container where the other is | the other ``close``s it | ``want`` it |
| leave | agents in two places | the other ``go``es to a third | ``aim_go`` there too |
| rain | clear sky, protagonist outdoors | ``start_rain`` | ``aim_go`` indoors (free choice) |
| clear | rain, protagonist indoors | ``stop_rain`` | ``aim_go`` outdoors (free choice) |

The field may add a weather fact, a spare thing (lying by the protagonist or held), and
a spare container. Transitions are steps of a plan toward the aim (go where the thing
is, open its container, follow its holder) mixed with at most two distractions (a mood,
the other walking off, picking up or putting down the spare thing).

**Which thoughts are determined** (``Thought.determined``): exactly those that
:func:`determined_next` predicts from the past thoughts' phases and frames alone, by
three rules that every episode obeys:

1. *Intention.* After ``lose(A, X)`` comes ``want(A, X)``; after ``take(B, X)`` or
   ``close(B, C)`` (with exactly one thing X in C) comes ``want(A, X)``, where A is the
   episode's other agent; after ``go(B, P)`` comes ``aim_go(A, P)``. Rain and clearing
   leave the aim's place free, so those intentions are not determined.
2. *Resolution.* After each transition, if one legal act now fulfils the protagonist's
   aim (:func:`ltm.pvq.world.sim.achiever`, unique), the next thought is the resolution
   and it is that act.
3. *Recap.* Otherwise, after a transition in which someone went somewhere, the next
   thought is a recap: ``recap(protagonist, place, other, other place)`` from the state.

Everything else (the field, the perturbation, plan steps and distractions) is free.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from ltm.pvq.world.frames import meaning_split
from ltm.pvq.world.lexicon import AGENTS, CONTAINERS, INDOOR, MOODS, OBJECTS, OUTDOOR, PLACES
from ltm.pvq.world.sim import _apply, _legal, achiever

__all__ = ["SCRIPTS", "determined_next", "episode_frames", "split_of"]

SCRIPTS: tuple[str, ...] = ("lose", "snatch", "shut", "leave", "rain", "clear")
"""The six episode scripts, named by their perturbation (see the module docstring)."""

Step = tuple[str, dict[str, str], bool, dict[str, str]]  # phase, frame, determined, state after


def _other(agents: list[str], b: str) -> str | None:
    rest = [x for x in agents if x != b]
    return rest[0] if len(agents) == 2 and len(rest) == 1 else None


def _rule(phase: str, frame: dict[str, str], state: dict[str, str], agents: list[str],
          hero: str | None) -> tuple[str, dict[str, str]] | None:
    """The three rules of the module docstring, given the last thought and the state."""
    act = frame["act"]
    if phase == "perturbation":
        if act == "lose":
            return "intention", {"act": "want", "agent": frame["agent"], "object": frame["object"]}
        a = _other(agents, frame.get("agent", ""))
        if a is None:
            return None
        if act == "take":
            return "intention", {"act": "want", "agent": a, "object": frame["object"]}
        if act == "close":
            inside = [k[:-3] for k, v in state.items() if k.endswith(".in") and
                      v == frame["container"]]
            if len(inside) == 1:
                return "intention", {"act": "want", "agent": a, "object": inside[0]}
        if act == "go":
            return "intention", {"act": "aim_go", "agent": a, "place": frame["place"]}
        return None
    if phase == "transition" and hero is not None:
        goal = state.get(f"{hero}.goal")
        if goal is not None:
            done = achiever(hero, goal, state)
            if done is not None:
                return "resolution", done
        other = _other(agents, hero)
        if act == "go" and other is not None:
            return "transition", {"act": "recap", "agent": hero, "place": state[f"{hero}.at"],
                                  "other": other, "other_place": state[f"{other}.at"]}
    return None


def determined_next(past: Sequence) -> tuple[str, dict[str, str]] | None:
    """The next thought's phase and frame, when the world's rules fix it.

    Args:
        past: The episode so far: :class:`~ltm.pvq.schema.Thought` objects or
            ``(phase, frame)`` pairs, legal in order.

    Returns:
        ``(phase, frame)`` of the next thought if the past alone determines it (the
        three rules of the module docstring), else ``None``.
    """
    state: dict[str, str] = {}
    agents: list[str] = []
    hero = None
    phase = frame = None
    for item in past:
        phase, frame = (item.phase, item.frame) if hasattr(item, "frame") else item
        if frame["act"] == "be_at" and frame["agent"] not in agents:
            agents.append(frame["agent"])
        if phase == "intention":
            hero = frame["agent"]
        state = _apply(frame, state)
    if frame is None:
        return None
    return _rule(phase, frame, state, agents, hero)


# --------------------------------------------------------------------------- generation


def _plan(hero: str, goal: str, s: dict[str, str]) -> dict[str, str] | None:
    """The next step toward the goal, or ``None`` when one act already reaches it."""
    if achiever(hero, goal, s) is not None:
        return None
    kind, _, what = goal.partition(":")
    if kind != "have":
        return None
    here = s[f"{hero}.at"]
    if f"{what}.at" in s:
        return {"act": "go", "agent": hero, "place": s[f"{what}.at"]}
    if f"{what}.holder" in s:
        return {"act": "go", "agent": hero, "place": s[f"{s[what + '.holder']}.at"]}
    c = s[f"{what}.in"]
    if s[f"{c}.at"] != here:
        return {"act": "go", "agent": hero, "place": s[f"{c}.at"]}
    return {"act": "open", "agent": hero, "container": c}


def _distraction(rng: random.Random, hero: str, other: str, spare: str | None,
                 s: dict[str, str]) -> dict[str, str]:
    r = rng.random()
    if spare is not None and r < 0.3:
        if s.get(f"{spare}.holder") == hero:
            return {"act": "drop", "agent": hero, "object": spare}
        if s.get(f"{spare}.at") == s[f"{hero}.at"]:
            return {"act": "take", "agent": hero, "object": spare}
    if r < 0.6:
        who = hero if rng.random() < 0.6 else other
        mood = rng.choice([m for m in MOODS if m != s.get(f"{who}.mood")])
        return {"act": "feel", "agent": who, "mood": mood}
    here = s[f"{other}.at"]
    return {"act": "go", "agent": other, "place": rng.choice([p for p in PLACES if p != here])}


def _field(rng: random.Random, script: str, a: str, b: str):
    """Field frames, the perturbation, the intention if free, and the spare thing."""
    thing = rng.choice(OBJECTS)
    pa, pb = rng.choice(PLACES), rng.choice(PLACES)
    first: list[dict[str, str]] = []
    rest: list[dict[str, str]] = []
    aim = None
    if script == "lose":
        rest.append({"act": "has", "agent": a, "object": thing})
        pert = {"act": "lose", "agent": a, "object": thing}
    elif script == "snatch":
        pb = pa
        rest.append({"act": "lie_at", "object": thing, "place": pa})
        pert = {"act": "take", "agent": b, "object": thing}
    elif script == "shut":
        c = rng.choice(CONTAINERS)
        first.append({"act": "stand_at", "container": c, "place": pb})
        rest += [{"act": "is_open", "container": c},
                 {"act": "lie_in", "object": thing, "container": c}]
        pert = {"act": "close", "agent": b, "container": c}
    elif script == "leave":
        pa, pb, x = rng.sample(PLACES, 3)
        pert = {"act": "go", "agent": b, "place": x}
    else:
        rain = script == "rain"
        pa = rng.choice(OUTDOOR if rain else INDOOR)
        rest.append({"act": "weather_is", "weather": "clear" if rain else "rain"})
        pert = {"act": "start_rain" if rain else "stop_rain"}
        aim = {"act": "aim_go", "agent": a, "place": rng.choice(INDOOR if rain else OUTDOOR)}
    if script not in ("rain", "clear") and rng.random() < 0.3:
        rest.append({"act": "weather_is", "weather": rng.choice(("rain", "clear"))})
    spare = None
    if rng.random() < 0.5:
        spare = rng.choice([o for o in OBJECTS if o != thing])
        rest.append({"act": "has", "agent": a, "object": spare} if rng.random() < 0.5 else
                    {"act": "lie_at", "object": spare, "place": pa})
    if script != "shut" and rng.random() < 0.25:
        c = rng.choice(CONTAINERS)
        first.append({"act": "stand_at", "container": c, "place": rng.choice(PLACES)})
        rest.append({"act": rng.choice(("is_open", "is_closed")), "container": c})
    agents = [{"act": "be_at", "agent": a, "place": pa}, {"act": "be_at", "agent": b, "place": pb}]
    rng.shuffle(agents)
    rng.shuffle(rest)
    return agents + first + rest, pert, aim, spare


def episode_frames(rng: random.Random, max_transitions: int = 12) -> list[Step]:
    """One episode as ``(phase, frame, determined, state after)`` steps.

    Args:
        rng: The random source (a local ``random.Random``; nothing global is touched).
        max_transitions: A guard: more transitions than this is a bug, not bad luck.

    Returns:
        The steps, every frame legal in the state before it.
    """
    script = rng.choice(SCRIPTS)
    a, b = rng.sample(AGENTS, 2)
    field, pert, aim, spare = _field(rng, script, a, b)
    steps: list[Step] = []
    state: dict[str, str] = {}
    agents: list[str] = []
    hero = None

    def emit(phase: str, frame: dict[str, str], det: bool) -> None:
        nonlocal state
        if not _legal(frame, state):
            raise RuntimeError(f"world bug: {frame} is illegal in {state}")
        state = _apply(frame, state)
        steps.append((phase, frame, det, state))

    for f in field:
        if f["act"] == "be_at":
            agents.append(f["agent"])
        emit("field", f, False)
    emit("perturbation", pert, False)
    ruled = _rule("perturbation", pert, state, agents, None)
    if ruled is not None:
        emit("intention", ruled[1], True)
    else:
        emit("intention", aim, False)
    hero = a
    goal = state[f"{a}.goal"]
    distractions = transitions = 0
    while True:
        if transitions:
            ruled = _rule(steps[-1][0], steps[-1][1], state, agents, hero)
            if ruled is not None:
                emit(ruled[0], ruled[1], True)
                if ruled[0] == "resolution":
                    return steps
                transitions += 1
                continue
        if transitions >= max_transitions:
            raise RuntimeError(f"world bug: no resolution after {transitions} transitions")
        step = _plan(hero, goal, state)
        if step is None or (distractions < 2 and rng.random() < 0.35):
            step = _distraction(rng, hero, b, spare, state)
            distractions += 1
        emit("transition", step, False)
        transitions += 1


def split_of(frames) -> str:
    """``"heldout"`` if any frame is held out (:func:`~ltm.pvq.world.frames.meaning_split`),
    else ``"train"``."""
    for f in frames:
        if meaning_split(f) == "heldout":
            return "heldout"
    return "train"
