"""Parse: quotes back to frames, so any text a model writes can be checked for meaning.

The parser is the renderer run backwards over the same templates
(:data:`ltm.pvq.world.render.TEMPLATES`). Each template compiles once to an anchored
regular expression: literals match themselves, a slot matches any surface form its role
can take (a named group, read back to an entity id through a reverse table), and an
agreement ``<g:m|f|n>`` matches any of its words. A match only proposes a frame; the
frame is accepted when rendering it with that same template gives back exactly the
input text. That last check is what rejects near misses such as "Анна пошёл в сад."
(wrong gender), "Anna went to the  garden." or a recap template given two places where
its wording says one, so ``parse`` returns a frame exactly for the quotes the renderer
can produce, and ``None`` for everything else.

Cost: all templates of a language are joined into one alternation, so a parse is one
C-level regex match plus one re-render (a few microseconds); only a text that matches
some template's shape but fails the re-render check (a near miss) is then tried against
each template in turn. No table of all sentences is kept in memory (the world has about
33,000 frames and 200,000 quotes).
"""

from __future__ import annotations

import re

from ltm.pvq.world.frames import ACTS, ROLE_KINDS, check_frame
from ltm.pvq.world.lexicon import KINDS
from ltm.pvq.world.render import _COMPILED, _GENDER_INDEX, _phrasings, template_key

__all__ = ["parse"]


def _cap(s: str) -> str:
    return s[0].upper() + s[1:]


def _slot_table(role: str, form: str, cap: bool, grole: str | None, lang: str) -> dict[str, str]:
    """Surface form -> entity id for one slot (all genders when the form depends on one)."""
    table: dict[str, str] = {}
    forms = [f"{form}_{g}" for g in _GENDER_INDEX] if grole else [form]
    for ent in KINDS[ROLE_KINDS[role]].values():
        for f in forms:
            s = ent.forms[lang].get(f)
            if s is None:
                continue
            s = _cap(s) if cap else s
            if table.get(s, ent.id) != ent.id:
                raise RuntimeError(f"ambiguous {lang} form {s!r} for role {role!r}")
            table[s] = ent.id
    return table


def _alt(words) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


class _Matcher:
    """One template, compiled for matching."""

    __slots__ = ("key", "index", "name", "pattern", "regex", "slots")

    def __init__(self, lang: str, key: str, index: int, parts: tuple, name: str) -> None:
        self.key, self.index, self.name = key, index, name
        self.slots: list[tuple[str, str, dict[str, str]]] = []
        pattern = []
        for p in parts:
            if p[0] == "lit":
                pattern.append(re.escape(p[1]))
            elif p[0] == "slot":
                _, role, form, cap, grole = p
                table = _slot_table(role, form, cap, grole, lang)
                group = f"{name}_{len(self.slots)}"
                self.slots.append((group, role, table))
                pattern.append(f"(?P<{group}>{_alt(table)})")
            else:
                pattern.append(f"(?:{_alt(p[2])})")
        self.pattern = "".join(pattern)
        self.regex = re.compile(self.pattern, re.DOTALL)

    def frame(self, m: re.Match) -> dict[str, str] | None:
        act = "recap" if self.key == "recap_same" else self.key
        values: dict[str, str] = {}
        for name, role, table in self.slots:
            v = table[m.group(name)]
            if values.setdefault(role, v) != v:
                return None
        if self.key == "recap_same":
            values["other_place"] = values.get("place", "")
        if set(values) != set(ACTS[act]):
            return None
        frame = {"act": act, **{r: values[r] for r in ACTS[act]}}
        return frame


def _build(lang: str) -> tuple[re.Pattern, dict[str, _Matcher]]:
    ms = [_Matcher(lang, key, i, parts, f"t{n}")
          for n, (key, i, parts) in enumerate((key, i, parts) for key, ts in _COMPILED[lang].items()
                                              for i, parts in enumerate(ts))]
    combined = re.compile("|".join(f"(?P<{m.name}>{m.pattern})" for m in ms), re.DOTALL)
    return combined, {m.name: m for m in ms}


_MATCHERS: dict[str, tuple[re.Pattern, dict[str, _Matcher]]] = {}


def _accept(mt: _Matcher, m: re.Match, text: str, lang: str) -> dict[str, str] | None:
    frame = mt.frame(m)
    if frame is None or check_frame(frame) is not None or template_key(frame) != mt.key:
        return None
    key = (frame["act"], *(frame[r] for r in ACTS[frame["act"]]))
    return frame if _phrasings(lang, key)[mt.index] == text else None


def parse(text: str, lang: str) -> dict[str, str] | None:
    """The frame a quote says, if the renderer could have written it.

    Args:
        text: Any string (arbitrary unicode is fine; non-strings give ``None``).
        lang: ``"en"`` or ``"ru"``.

    Returns:
        The frame (canonical key order) such that ``text`` is one of
        ``phrasings(frame, lang)``, or ``None`` if there is none.

    Raises:
        ValueError: If ``lang`` is not a language of the world.
    """
    built = _MATCHERS.get(lang)
    if built is None:
        if lang not in _COMPILED:
            raise ValueError(f"unknown language {lang!r} (expected one of {', '.join(_COMPILED)})")
        built = _MATCHERS[lang] = _build(lang)
    if not isinstance(text, str) or not text:
        return None
    combined, matchers = built
    m = combined.fullmatch(text)
    if m is None:
        return None
    frame = _accept(matchers[m.lastgroup], m, text, lang)
    if frame is not None:
        return frame
    # The first template that matched did not say exactly this text (a near miss, or a
    # text that another template would accept too): try every template in turn.
    for mt in matchers.values():
        m = mt.regex.fullmatch(text)
        if m is not None and (frame := _accept(mt, m, text, lang)) is not None:
            return frame
    return None
