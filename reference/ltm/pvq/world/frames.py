"""Frames: the meanings of the PVQ world, and the compositional train/held-out split.

A frame is a flat dict ``{"act": ..., role: id, ...}`` with string values. Every act has
a fixed tuple of roles, and a role always holds the same kind of entity whatever the
act (``agent`` is always an agent id, ``place`` always a place id, and so on):

| role | kind | role | kind |
|---|---|---|---|
| agent | agent | object | object |
| recipient | agent | container | container |
| other | agent | mood | mood |
| place | place | weather | weather |
| other_place | place | | |

Acts fall in three groups. *Statements* set the scene (``field``): ``be_at``,
``lie_at``, ``stand_at``, ``lie_in``, ``has``, ``is_open``, ``is_closed``,
``weather_is``. *Events* change the world: ``go``, ``take``, ``drop``, ``give``,
``open``, ``close``, ``put_in``, ``take_out``, ``start_rain``, ``stop_rain``, ``feel``,
``lose``, ``find``. *Mental acts* and summaries: ``want`` and ``aim_go`` (intentions),
``recap`` (where the two agents of an episode are now).

**The compositional split.** Every agent has one held-out object and one held-out
place (:data:`HELDOUT_OBJECT`, :data:`HELDOUT_PLACE`). A frame is ``"heldout"`` when
its ``agent`` is paired with that agent's held-out ``object``, or its ``agent`` with
its held-out ``place``, or (in a recap) its ``other`` with the held-out ``other_place``.
Everything else is ``"train"``. So in training Anna never touches the ring and is never
on the bridge, though other agents do, and she handles every other object: a model
that generalises compositionally should still understand "Anna took the ring."
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product

from ltm.pvq.world.lexicon import KINDS

__all__ = ["ROLE_KINDS", "ACTS", "STATEMENTS", "EVENTS", "check_frame", "all_frames",
           "twin", "meaning_split", "HELDOUT_OBJECT", "HELDOUT_PLACE"]

ROLE_KINDS: dict[str, str] = {
    "agent": "agent", "recipient": "agent", "other": "agent",
    "place": "place", "other_place": "place",
    "object": "object", "container": "container", "mood": "mood", "weather": "weather",
}
"""Role name to the kind of entity it holds (the same in every act)."""

ACTS: dict[str, tuple[str, ...]] = {
    # statements (field)
    "be_at": ("agent", "place"),
    "lie_at": ("object", "place"),
    "stand_at": ("container", "place"),
    "lie_in": ("object", "container"),
    "has": ("agent", "object"),
    "is_open": ("container",),
    "is_closed": ("container",),
    "weather_is": ("weather",),
    # events
    "go": ("agent", "place"),
    "take": ("agent", "object"),
    "drop": ("agent", "object"),
    "give": ("agent", "object", "recipient"),
    "open": ("agent", "container"),
    "close": ("agent", "container"),
    "put_in": ("agent", "object", "container"),
    "take_out": ("agent", "object", "container"),
    "start_rain": (),
    "stop_rain": (),
    "feel": ("agent", "mood"),
    "lose": ("agent", "object"),
    "find": ("agent", "object"),
    # intentions and summaries
    "want": ("agent", "object"),
    "aim_go": ("agent", "place"),
    "recap": ("agent", "place", "other", "other_place"),
}
"""Act name to its roles, in the canonical order frames are written in."""

STATEMENTS: tuple[str, ...] = ("be_at", "lie_at", "stand_at", "lie_in", "has", "is_open",
                               "is_closed", "weather_is")
"""Acts that state a fact (used in the ``field`` phase)."""
EVENTS: tuple[str, ...] = ("go", "take", "drop", "give", "open", "close", "put_in", "take_out",
                           "start_rain", "stop_rain", "feel", "lose", "find")
"""Acts that change the world."""

# Two agents in one frame must differ (nobody gives a thing to themselves).
_DISTINCT = {"give": ("agent", "recipient"), "recap": ("agent", "other")}


def check_frame(frame: object) -> str | None:
    """Why ``frame`` is not a frame of this world, or ``None`` when it is one.

    Args:
        frame: Any value.

    Returns:
        A one-line reason, or ``None`` for a well-formed frame.
    """
    if not isinstance(frame, dict):
        return f"a frame is a dict, got {type(frame).__name__}"
    act = frame.get("act")
    roles = ACTS.get(act) if isinstance(act, str) else None
    if roles is None:
        return f"unknown act {act!r} (expected one of {', '.join(ACTS)})"
    if len(frame) != len(roles) + 1 or any(r not in frame for r in roles):
        return f"act {act!r} takes roles {list(roles)}, got {sorted(k for k in frame if k != 'act')}"
    for r in roles:
        v = frame[r]
        table = KINDS[ROLE_KINDS[r]]
        if not isinstance(v, str) or v not in table:
            return f"role {r!r} of {act!r} must be a {ROLE_KINDS[r]} id, got {v!r}"
    pair = _DISTINCT.get(act)
    if pair and frame[pair[0]] == frame[pair[1]]:
        return f"{pair[0]} and {pair[1]} of {act!r} must differ, both are {frame[pair[0]]!r}"
    return None


def all_frames(acts: tuple[str, ...] | None = None) -> Iterator[dict[str, str]]:
    """Every well-formed frame, act by act, in lexicon order.

    Args:
        acts: Restrict to these acts (default all).

    Yields:
        Frames in canonical key order.
    """
    for act in acts or tuple(ACTS):
        roles = ACTS[act]
        for values in product(*(tuple(KINDS[ROLE_KINDS[r]]) for r in roles)):
            frame = {"act": act, **dict(zip(roles, values, strict=True))}
            if check_frame(frame) is None:
                yield frame


def twin(frame: dict[str, str]) -> dict[str, str] | None:
    """The frame with two fillers of one kind exchanged, when that names another fact.

    The twin uses the same words in another binding ("Oleg gave Anna the map." for
    "Anna gave Oleg the map."; "Now Oleg is in the school and Anna is in the shop." for
    "Now Anna is in the school and Oleg is in the shop."): a meaning a pooled thought
    vector can confuse with the frame itself, and so a hard negative for its
    alignment. Roles are exchanged in the act's role order, the first pair of one kind
    whose exchange changes the fact wins. A recap names its two agents in either order
    for one fact, so its agents' exchange counts only where their places differ, and a
    recap of two agents in one place has no twin.

    Args:
        frame: A frame of this world (not re-validated).

    Returns:
        The twin frame, or ``None`` for acts without two roles of one kind and for
        frames whose exchange would name the same fact.
    """
    if frame["act"] == "recap" and frame["place"] == frame["other_place"]:
        return None  # "Now A and B are both in P.": either order, one fact
    roles = ACTS[frame["act"]]
    for i, a in enumerate(roles):
        for b in roles[i + 1:]:
            if ROLE_KINDS[a] == ROLE_KINDS[b] and frame[a] != frame[b]:
                return {**frame, a: frame[b], b: frame[a]}
    return None


# --------------------------------------------------------------------------- split

HELDOUT_OBJECT: dict[str, str] = {
    "anna": "ring", "maria": "knife", "olga": "ball", "elena": "umbrella", "irina": "coin",
    "vera": "map", "ivan": "cup", "peter": "candle", "boris": "letter", "sergei": "hat",
    "oleg": "lamp", "maxim": "book",
}
"""Agent to the one object it is never seen acting on in training."""

HELDOUT_PLACE: dict[str, str] = {
    "anna": "bridge", "maria": "cellar", "olga": "library", "elena": "beach",
    "irina": "station", "vera": "forest", "ivan": "attic", "peter": "market", "boris": "yard",
    "sergei": "school", "oleg": "park", "maxim": "shop",
}
"""Agent to the one place it is never seen at or going to in training."""


def meaning_split(frame: dict[str, str]) -> str:
    """Which side of the compositional split a frame's meaning falls on.

    Args:
        frame: A frame of this world (not re-validated).

    Returns:
        ``"heldout"`` if the frame pairs an agent with its held-out object or place
        (see the module docstring), else ``"train"``.
    """
    agent = frame.get("agent")
    if agent is not None:
        if HELDOUT_OBJECT.get(agent) == frame.get("object", ""):
            return "heldout"
        if HELDOUT_PLACE.get(agent) == frame.get("place", ""):
            return "heldout"
    other = frame.get("other")
    if other is not None and HELDOUT_PLACE.get(other) == frame.get("other_place", ""):
        return "heldout"
    return "train"
