"""The PVQ schema: records, thoughts, and the checks the spec asks for.

PVQ is the thought-trajectory format (``*.pvq.jsonl`` and ``*.thoughtset.yaml``).

One :class:`Record` is one episode of thinking; each step of it is a :class:`Thought`
with a **P**hase in the arc ``field -> perturbation -> intention -> transition -> resolution``,
a meaning **V**ector given as a structured ``frame`` (ground truth for evaluation), and
**Q**uotes: the surface texts that say it, per language. The full specification is
``shared/pvq-spec.md`` (rendered in the docs under *Concepts*).

Two optional keys extend the spec for the generated world, so that evaluation is well
defined: ``state`` (the world state after the thought, a flat string-to-string map) and
``determined`` (true when the thought follows from the past alone). A record may carry a
free ``meta`` object (for example the book, chapter and verse of a corpus pair).

Reading never raises a traceback at the user and never drops data silently: every
problem becomes one line ``FILE:LINE: PATH: reason`` and a file with any problem is
refused whole (:class:`PVQError`) unless ``skip_bad=True``, in which case each skipped
record is still reported. JSONL is streamed: validating a file of any size needs memory
for one record plus the set of ids seen so far.

This module is pure Python and imports no torch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ltm.langs import ISO_639_1

__all__ = ["PHASES", "Problem", "PVQError", "Thought", "Record", "walk", "record_from_obj",
           "check_record"]

PHASES: tuple[str, ...] = ("field", "perturbation", "intention", "transition", "resolution")
"""The arc, in order. ``field`` and ``transition`` may repeat; the others appear at most once."""

_REPEATABLE = {"field", "transition"}
_RECORD_KEYS = {"pvq", "id", "source", "thoughts", "meta"}
_THOUGHT_KEYS = {"phase", "frame", "quotes", "children", "state", "determined"}
VERSION = 1
"""The format version this module reads and writes."""


# --------------------------------------------------------------------------- objects


@dataclass(frozen=True, kw_only=True)
class Thought:
    """One step of an episode: phase, meaning frame and quotes.

    Attributes:
        quotes: Language code (ISO 639-1) to a non-empty tuple of non-empty texts.
        phase: One of :data:`PHASES`, or ``None`` where the source has no arc.
        frame: ``{"act": ..., role: value, ...}`` with string values, or ``None``.
        children: Finer thoughts that together make this one (fractal nesting).
        state: World state after this thought (flat ``key -> value``), or ``None``.
        determined: ``True`` if the thought follows from the past alone.
    """

    quotes: dict[str, tuple[str, ...]]
    phase: str | None = None
    frame: dict[str, str] | None = None
    children: tuple[Thought, ...] = ()
    state: dict[str, str] | None = None
    determined: bool = False

    def to_obj(self) -> dict[str, Any]:
        """The JSON-ready dict of this thought (optional keys only when set)."""
        obj: dict[str, Any] = {
            "phase": self.phase,
            "frame": None if self.frame is None else dict(self.frame),
            "quotes": {lang: list(qs) for lang, qs in self.quotes.items()},
        }
        if self.children:
            obj["children"] = [c.to_obj() for c in self.children]
        if self.state is not None:
            obj["state"] = dict(self.state)
        if self.determined:
            obj["determined"] = True
        return obj

    def texts(self, lang: str | None = None) -> list[str]:
        """All quotes, or those of one language."""
        if lang is not None:
            return list(self.quotes.get(lang, ()))
        return [q for qs in self.quotes.values() for q in qs]


@dataclass(frozen=True, kw_only=True)
class Record:
    """One episode: an id, a source (``world``, ``hand`` or ``corpus:<name>``) and thoughts."""

    id: str
    source: str
    thoughts: tuple[Thought, ...]
    meta: dict[str, Any] | None = None

    def to_obj(self) -> dict[str, Any]:
        """The JSON-ready dict of this record."""
        obj: dict[str, Any] = {
            "pvq": VERSION,
            "id": self.id,
            "source": self.source,
            "thoughts": [t.to_obj() for t in self.thoughts],
        }
        if self.meta is not None:
            obj["meta"] = self.meta
        return obj

    @property
    def languages(self) -> set[str]:
        """Languages quoted anywhere in the record."""
        return {lang for t in walk(self.thoughts) for lang in t.quotes}


def walk(thoughts: Iterable[Thought]) -> Iterator[Thought]:
    """Every thought and, depth first, its children."""
    for t in thoughts:
        yield t
        yield from walk(t.children)


def finer(records: Iterable[Record], window: int) -> Iterator[Record]:
    """The records one level of the fractal down, cut into windows of ``window`` thoughts.

    Every top-level thought is replaced by its children in order (a thought without
    children stands for itself; the children keep their own), so a record of
    paragraphs becomes a record of sentences; then the sequence is cut into records of at most ``window`` thoughts,
    ids ``<id>-w<k>`` (``k`` from 0), with ``meta.parent`` naming the source record.
    The corpora's records run to hundreds of sentences; windows keep an episode within
    what the models read at once (``TrainConfig.max_thoughts``, the baseline's context).
    """
    if not isinstance(window, int) or window < 1:
        raise ValueError(f"finer: window must be an int >= 1, got {window!r}")
    for r in records:
        units = [c for t in r.thoughts for c in (t.children or (t,))]
        for k in range(0, len(units), window):
            yield Record(id=f"{r.id}-w{k // window}", source=r.source,
                         thoughts=tuple(units[k:k + window]),
                         meta={"parent": r.id})


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class Problem:
    """One validation problem, printed as ``FILE:LINE: PATH: reason``."""

    file: str
    line: int
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.reason}"


class PVQError(ValueError):
    """A PVQ file was refused; ``problems`` holds every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}")


LineOf = Callable[[str], int]


def _type_name(v: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "bool", int: "int",
            float: "number", type(None): "null"}.get(type(v), type(v).__name__)


def check_record(obj: Any, line_of: LineOf | int = 0) -> list[tuple[int, str, str]]:
    """Check one decoded record against the spec.

    Args:
        obj: The decoded JSON or YAML value.
        line_of: The line of every path (JSONL) or a function from path to line (YAML).

    Returns:
        ``(line, path, reason)`` for every problem; empty when the record is valid.
    """
    where: LineOf = line_of if callable(line_of) else (lambda _p, n=line_of: n)
    out: list[tuple[int, str, str]] = []

    def bad(path: str, reason: str) -> None:
        out.append((where(path), path, reason))

    if not isinstance(obj, dict):
        bad("(record)", f"expected an object, found {_type_name(obj)}")
        return out
    for k in obj:
        if k not in _RECORD_KEYS:
            bad(str(k), f"unknown key {k!r} (expected one of {sorted(_RECORD_KEYS)})")
    v = obj.get("pvq", None)
    if "pvq" not in obj:
        bad("pvq", "missing format version (expected 1)")
    elif type(v) is not int or v != VERSION:
        bad("pvq", f"unsupported format version {v!r} (expected 1)")
    rid = obj.get("id")
    if not isinstance(rid, str) or not rid:
        bad("id", "missing" if "id" not in obj else f"expected a non-empty string, found {rid!r}")
    src = obj.get("source")
    if not isinstance(src, str) or not (src in ("world", "hand") or
                                        (src.startswith("corpus:") and len(src) > 7)):
        bad("source", f"expected 'world', 'hand' or 'corpus:<name>', found {src!r}")
    if "meta" in obj and not isinstance(obj["meta"], dict):
        bad("meta", f"expected an object, found {_type_name(obj['meta'])}")
    ths = obj.get("thoughts")
    if not isinstance(ths, list) or not ths:
        bad("thoughts", "missing" if "thoughts" not in obj else
            f"expected a non-empty list, found {_type_name(ths) if ths != [] else 'an empty list'}")
        return out
    for i, t in enumerate(ths):
        _check_thought(t, f"thoughts[{i}]", bad)
    _check_arc([t for t in ths if isinstance(t, dict)], "thoughts", bad, top=True)
    return out


def _check_thought(t: Any, path: str, bad: Callable[[str, str], None]) -> None:
    if not isinstance(t, dict):
        bad(path, f"expected an object, found {_type_name(t)}")
        return
    for k in t:
        if k not in _THOUGHT_KEYS:
            bad(f"{path}.{k}", f"unknown key {k!r} (expected one of {sorted(_THOUGHT_KEYS)})")
    ph = t.get("phase")
    if "phase" not in t:
        bad(f"{path}.phase", "missing (use null where the source has no arc)")
    elif ph is not None and ph not in PHASES:
        bad(f"{path}.phase", f"unknown phase {ph!r} (expected one of {', '.join(PHASES)} or null)")
    fr = t.get("frame")
    if "frame" not in t:
        bad(f"{path}.frame", "missing (use null where the meaning is not known)")
    elif fr is not None:
        if not isinstance(fr, dict):
            bad(f"{path}.frame", f"expected an object or null, found {_type_name(fr)}")
        else:
            if not isinstance(fr.get("act"), str) or not fr.get("act"):
                bad(f"{path}.frame.act", "missing or not a non-empty string")
            for k, v in fr.items():
                if not isinstance(v, str):
                    bad(f"{path}.frame.{k}", f"role values are strings, found {_type_name(v)}")
    q = t.get("quotes")
    if not isinstance(q, dict) or not q:
        bad(f"{path}.quotes", "missing" if "quotes" not in t else
            f"expected a non-empty object of language -> texts, found {_type_name(q)}")
    else:
        for lang, texts in q.items():
            qp = f"{path}.quotes.{lang}"
            if lang not in ISO_639_1:
                bad(qp, f"unknown language code {lang!r} (expected ISO 639-1, e.g. 'en', 'ru')")
            if not isinstance(texts, list) or not texts:
                bad(qp, f"expected a non-empty list of texts, found {_type_name(texts)}")
                continue
            for j, s in enumerate(texts):
                if not isinstance(s, str):
                    bad(f"{qp}[{j}]", f"expected a string, found {_type_name(s)}")
                elif not s:
                    bad(f"{qp}[{j}]", "empty quote")
    st = t.get("state")
    if st is not None and (not isinstance(st, dict) or
                           not all(isinstance(v, str) for v in st.values())):
        bad(f"{path}.state", "expected an object of string values or null")
    if "determined" in t and not isinstance(t["determined"], bool):
        bad(f"{path}.determined", f"expected a bool, found {_type_name(t['determined'])}")
    ch = t.get("children")
    if ch is not None:
        if not isinstance(ch, list) or not ch:
            bad(f"{path}.children", "expected a non-empty list of thoughts")
        else:
            for j, c in enumerate(ch):
                _check_thought(c, f"{path}.children[{j}]", bad)
                if isinstance(c, dict) and c.get("phase") not in (None, ph):
                    bad(f"{path}.children[{j}].phase",
                        f"a child's phase is null or its parent's ({ph!r}), found {c.get('phase')!r}")


def _check_arc(ths: list[dict], path: str, bad: Callable[[str, str], None], top: bool) -> None:
    phases = [t.get("phase") for t in ths]
    known = [p for p in phases if p in PHASES]
    if not known:
        return
    if len(known) != len(phases):
        i = next(i for i, p in enumerate(phases) if p not in PHASES)
        if phases[i] is None:
            bad(f"{path}[{i}].phase", "null phase in a record whose other thoughts have phases")
        return
    if phases[0] != "field":
        bad(f"{path}[0].phase", f"the arc starts with 'field', found {phases[0]!r}")
    seen: Counter[str] = Counter()
    for i, p in enumerate(phases):
        seen[p] += 1
        if p not in _REPEATABLE and seen[p] > 1:
            bad(f"{path}[{i}].phase", f"{p!r} appears more than once")
        if i and PHASES.index(p) < PHASES.index(phases[i - 1]):
            bad(f"{path}[{i}].phase", f"{p!r} after {phases[i - 1]!r} breaks the arc order")


def _thought_from_obj(t: dict) -> Thought:
    return Thought(
        phase=t["phase"],
        frame=None if t["frame"] is None else dict(t["frame"]),
        quotes={lang: tuple(qs) for lang, qs in t["quotes"].items()},
        children=tuple(_thought_from_obj(c) for c in t.get("children") or ()),
        state=None if t.get("state") is None else dict(t["state"]),
        determined=bool(t.get("determined", False)),
    )


def record_from_obj(obj: dict) -> Record:
    """Build a :class:`Record` from a dict that :func:`check_record` accepted."""
    return Record(id=obj["id"], source=obj["source"],
                  thoughts=tuple(_thought_from_obj(t) for t in obj["thoughts"]),
                  meta=obj.get("meta"))
