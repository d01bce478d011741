"""The simulator: world state, which acts are legal in it, and what they do to it.

The state is what the episode has *established* so far, as a flat ``str -> str`` map (it
starts empty and the ``field`` statements fill it; this is what a scene memory should
hold). Keys, by entity:

| key | value | set by |
|---|---|---|
| ``<agent>.at`` | place id | ``be_at``, ``go`` |
| ``<agent>.mood`` | mood id | ``feel`` |
| ``<agent>.goal`` | ``have:<object>`` or ``at:<place>`` | ``want``, ``aim_go``; dropped once met |
| ``<object>.at`` / ``.holder`` / ``.in`` / ``.lost`` | place / agent / container / ``true`` | exactly one of the four |
| ``<container>.at`` | place id | ``stand_at`` |
| ``<container>.open`` | ``true`` or ``false`` | ``is_open``, ``is_closed``, ``open``, ``close`` |
| ``weather`` | ``rain`` or ``clear`` | ``weather_is``, ``start_rain``, ``stop_rain`` |

A statement is legal when it agrees with what is known (it may add a fact, never contradict
one); an event is legal when its preconditions hold (you take a thing lying where you
stand, open a closed container where you stand, give a thing you hold to someone beside
you, ...). :func:`apply` never mutates its argument.
"""

from __future__ import annotations

from ltm.pvq.world.frames import check_frame

__all__ = ["legal", "apply", "achiever", "LOC_KEYS"]

LOC_KEYS: tuple[str, ...] = ("at", "holder", "in", "lost")
"""The four mutually exclusive location keys of an object."""


def _loc(state: dict[str, str], obj: str) -> tuple[str, str] | None:
    for k in LOC_KEYS:
        v = state.get(f"{obj}.{k}")
        if v is not None:
            return k, v
    return None


def _legal(f: dict[str, str], s: dict[str, str]) -> bool:
    act = f["act"]
    a = f.get("agent")
    here = s.get(f"{a}.at") if a else None
    if a and here is None and act != "be_at":
        return False  # every agent is placed in the scene before it does anything
    if act == "be_at":
        return s.get(f"{a}.at", f["place"]) == f["place"]
    if act in ("lie_at", "lie_in", "has"):
        want = {"lie_at": ("at", f.get("place")), "lie_in": ("in", f.get("container")),
                "has": ("holder", a)}[act]
        if act == "lie_in" and f"{f['container']}.at" not in s:
            return False
        loc = _loc(s, f["object"])
        return loc is None or loc == want
    if act == "stand_at":
        return s.get(f"{f['container']}.at", f["place"]) == f["place"]
    if act in ("is_open", "is_closed"):
        c = f["container"]
        flag = "true" if act == "is_open" else "false"
        return f"{c}.at" in s and s.get(f"{c}.open", flag) == flag
    if act == "weather_is":
        return s.get("weather", f["weather"]) == f["weather"]
    if act in ("go", "aim_go"):
        return here != f["place"] and (act == "go" or f"{a}.goal" not in s)
    if act == "take":
        return s.get(f"{f['object']}.at") == here
    if act in ("drop", "lose", "put_in") or act == "give":
        if s.get(f"{f['object']}.holder") != a:
            return False
        if act == "give":
            return s.get(f"{f['recipient']}.at") == here
        if act == "put_in":
            c = f["container"]
            return s.get(f"{c}.at") == here and s.get(f"{c}.open") == "true"
        return True
    if act in ("open", "close"):
        c = f["container"]
        return (s.get(f"{c}.at") == here and
                s.get(f"{c}.open") == ("false" if act == "open" else "true"))
    if act == "take_out":
        c = f["container"]
        return (s.get(f"{f['object']}.in") == c and s.get(f"{c}.at") == here and
                s.get(f"{c}.open") == "true")
    if act == "start_rain":
        return s.get("weather") != "rain"
    if act == "stop_rain":
        return s.get("weather") == "rain"
    if act == "feel":
        return s.get(f"{a}.mood") != f["mood"]
    if act == "find":
        return s.get(f"{f['object']}.lost") == "true"
    if act == "want":
        o = f["object"]
        return (f"{a}.goal" not in s and _loc(s, o) is not None and
                s.get(f"{o}.holder") != a)
    if act == "recap":
        return (here == f["place"] and s.get(f"{f['other']}.at") == f["other_place"])
    raise AssertionError(f"unhandled act {act!r}")  # pragma: no cover


def _put(s: dict[str, str], obj: str, key: str, value: str) -> None:
    for k in LOC_KEYS:
        s.pop(f"{obj}.{k}", None)
    s[f"{obj}.{key}"] = value


def _goal_met(goal: str, agent: str, s: dict[str, str]) -> bool:
    kind, _, what = goal.partition(":")
    if kind == "have":
        return s.get(f"{what}.holder") == agent
    return s.get(f"{agent}.at") == what


def _apply(f: dict[str, str], s: dict[str, str]) -> dict[str, str]:
    s = dict(s)
    act = f["act"]
    a = f.get("agent")
    if act in ("be_at", "go"):
        s[f"{a}.at"] = f["place"]
    elif act == "lie_at":
        _put(s, f["object"], "at", f["place"])
    elif act == "lie_in":
        _put(s, f["object"], "in", f["container"])
    elif act in ("has", "take", "find", "take_out"):
        _put(s, f["object"], "holder", a)
    elif act == "stand_at":
        s[f"{f['container']}.at"] = f["place"]
    elif act in ("is_open", "open"):
        s[f"{f['container']}.open"] = "true"
    elif act in ("is_closed", "close"):
        s[f"{f['container']}.open"] = "false"
    elif act == "weather_is":
        s["weather"] = f["weather"]
    elif act == "drop":
        _put(s, f["object"], "at", s[f"{a}.at"])
    elif act == "give":
        _put(s, f["object"], "holder", f["recipient"])
    elif act == "put_in":
        _put(s, f["object"], "in", f["container"])
    elif act == "start_rain":
        s["weather"] = "rain"
    elif act == "stop_rain":
        s["weather"] = "clear"
    elif act == "feel":
        s[f"{a}.mood"] = f["mood"]
    elif act == "lose":
        _put(s, f["object"], "lost", "true")
    elif act == "want":
        s[f"{a}.goal"] = f"have:{f['object']}"
    elif act == "aim_go":
        s[f"{a}.goal"] = f"at:{f['place']}"
    # A goal is met only when its agent arrives somewhere or comes to hold something, so
    # only that agent's goal needs checking.
    gainer = (a if act in ("be_at", "go", "has", "take", "find", "take_out") else
              f["recipient"] if act == "give" else None)
    if gainer is not None:
        goal = s.get(f"{gainer}.goal")
        if goal is not None and _goal_met(goal, gainer, s):
            del s[f"{gainer}.goal"]
    return s


def legal(frame: dict[str, str], state: dict[str, str]) -> bool:
    """Whether ``frame`` can happen (or be said) in ``state``.

    Args:
        frame: A frame of this world.
        state: The established state (see the module docstring).

    Returns:
        ``True`` if the act's preconditions hold, or the statement agrees with the state.

    Raises:
        ValueError: If ``frame`` is not a frame of this world.
    """
    why = check_frame(frame)
    if why:
        raise ValueError(f"not a frame of the PVQ world: {why}")
    return _legal(frame, state)


def apply(frame: dict[str, str], state: dict[str, str]) -> dict[str, str]:
    """The state after ``frame``; the argument is left untouched.

    Args:
        frame: A frame of this world, legal in ``state``.
        state: The established state.

    Returns:
        A new state dict. Goals an agent has reached are dropped from it.

    Raises:
        ValueError: If the frame is malformed or not legal in ``state``.
    """
    if not legal(frame, state):
        raise ValueError(f"{frame} is not legal in state {state}")
    return _apply(frame, state)


def achiever(agent: str, goal: str, state: dict[str, str]) -> dict[str, str] | None:
    """The one act that fulfils ``agent``'s goal now, if a single legal act can.

    For ``have:<object>`` that act depends on where the object is: ``find`` if lost,
    ``take`` if it lies where the agent stands, ``take_out`` if it is in an open container
    there, ``give`` (by the holder) if someone beside the agent holds it. For
    ``at:<place>`` it is ``go``. The object has one location, so the act is unique.

    Args:
        agent: The agent whose goal it is.
        goal: ``have:<object>`` or ``at:<place>``.
        state: The established state.

    Returns:
        The frame of that act, or ``None`` if no single act reaches the goal yet.
    """
    kind, _, what = goal.partition(":")
    here = state.get(f"{agent}.at")
    if kind == "at":
        return {"act": "go", "agent": agent, "place": what} if here != what else None
    loc = _loc(state, what)
    if loc is None:
        return None
    k, v = loc
    if k == "lost":
        return {"act": "find", "agent": agent, "object": what}
    if k == "at" and v == here:
        return {"act": "take", "agent": agent, "object": what}
    if k == "in" and state.get(f"{v}.open") == "true" and state.get(f"{v}.at") == here:
        return {"act": "take_out", "agent": agent, "object": what, "container": v}
    if k == "holder" and v != agent and state.get(f"{v}.at") == here:
        return {"act": "give", "agent": v, "object": what, "recipient": agent}
    return None
