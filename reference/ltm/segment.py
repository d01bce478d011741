"""Thought units: text cut losslessly into paragraphs, sentences and clauses.

DESIGN.md section 3, the segmenter. The LTM reads and writes *thoughts*, and a
thought is first a span of text. This module decides which spans, at three
nested scales (the *fractal* thoughts):

* **paragraph**: a block of text that ends at a blank line (two or more
  newlines, possibly with spaces or tabs between them); one topic, one scene.
* **sentence**: one complete statement inside a paragraph; never crosses a
  paragraph break.
* **clause**: one predication inside a sentence; never crosses a sentence
  boundary.

Every scale is **lossless**: ``"".join(units(text, scale)) == text`` for any
string. The codec trains on bytes, so nothing may be normalised away (spaces,
newlines, quotes and odd characters included), and a decoded trajectory of
thoughts is its text again. Whitespace that follows a unit belongs to that
unit (``"Anna left. "``), whitespace at the very start belongs to the first
unit, and no unit is empty or, before a byte limit, only whitespace.

Sentence rule. A sentence ends after a run of terminators ``. ! ? …`` (so
``...`` and ``?!`` too), any closing quotes or brackets ``» " ” ’ ' ) ]``, and
the whitespace after them, when the next character is an uppercase letter, a
digit, an opening quote or bracket ``" ' “ „ « ‘ ( [ {``, or a dash ``— – -``
that starts a new line (Russian dialogue: the dash belongs to the next
sentence). So an ellipsis before a lowercase word, ``3.14`` and ``1,000`` never
split. A single ``.`` does not end a sentence after an abbreviation of the
language (:data:`ABBREVIATIONS`, case-sensitive: ``Mr.``, ``e.g.``, ``No. 5``,
``т. е.``, ``2020 г.``) or a single capital initial (``J. Austen``,
``А. С. Пушкин``).

Clause rule (simple and predictable, on purpose). Inside a sentence a clause
ends after ``;`` or ``:`` and the whitespace after it; after ``,`` and its
whitespace when the next word is a conjunction of the language
(:data:`CONJUNCTIONS`, any case: ``, and``, ``, which``, ``, но``,
``, который``); and before a free-standing dash ``—`` or ``–`` (the whitespace
before the dash ends the clause, the dash opens the next one).

Byte limit. With ``max_bytes`` every unit longer than that many UTF-8 bytes is
:func:`cut` at the last word boundary that fits, inside a word only when one
word alone is longer than the limit, and never inside a code point. The text
must then be encodable as UTF-8 (no lone surrogates), else ``UnicodeEncodeError``
(a ``ValueError``) is raised.

Speed: one compiled-regex pass over the whole text per scale finds candidates,
and a few Python checks per candidate decide. On a 1.0 MB English text built by
repeating two sample paragraphs (CPython 3.11, best of 5 on a shared 2-core
machine): paragraphs ~300 MB/s, sentences ~13 MB/s, clauses ~9 MB/s, clauses
with ``max_bytes=64`` ~6 MB/s (about half that when the machine is busy).

Languages: ``"en"`` and ``"ru"``; any other tag raises ``ValueError`` rather
than silently applying the wrong abbreviations. Known limits, by design of the
rules: a sentence that ends in a listed abbreviation (``etc.``, ``1999 г.``)
runs on into the next; a sentence that starts in lowercase does not split off;
a dialogue line with no terminator joins the next line; only ``\\n`` breaks lines.
"""

from __future__ import annotations

import re
from itertools import pairwise

SCALES = ("paragraph", "sentence", "clause")
"""The three scales of thought units, from the largest to the smallest."""

LANGS = ("en", "ru")
"""Languages whose abbreviations and conjunctions the segmenter knows."""

EN_ABBREVIATIONS: frozenset[str] = frozenset(
    {"Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "vs", "etc", "e.g", "i.e", "Fig", "No"}
)
"""English words after whose final period a sentence does not end (case-sensitive)."""

RU_ABBREVIATIONS: frozenset[str] = frozenset(
    # "т", "е", "д", "п" are the halves of "т. е.", "т. д.", "т. п." (and "д." дом,
    # "п." пункт); as one-letter lowercase words before a period they are nothing else.
    {"т", "е", "д", "п", "т.е", "т.д", "т.п", "др", "г", "гг", "в", "вв", "ул", "им", "см"}
    | {"стр", "млн", "млрд", "тыс", "руб", "коп", "проф", "акад"}
)
"""Russian words after whose final period a sentence does not end (case-sensitive)."""

ABBREVIATIONS: dict[str, frozenset[str]] = {"en": EN_ABBREVIATIONS, "ru": RU_ABBREVIATIONS}
"""Abbreviations by language; single capital initials are added by rule, not listed."""

CONJUNCTIONS: dict[str, tuple[str, ...]] = {
    "en": (
        "and", "but", "or", "nor", "yet", "so", "because", "although", "though", "while",
        "whereas", "which", "who", "whom", "whose", "where", "when", "if", "unless",
    ),
    "ru": (
        "и", "а", "но", "или", "что", "чтобы", "потому", "поэтому", "когда", "если", "хотя",
        "где", "куда", "откуда", "пока", "как", "котор[а-яё]*",
    ),
}  # fmt: skip
"""Words (regex alternatives, matched in any case) before which ``", "`` ends a clause."""

_PARAGRAPH = re.compile(r"\n[^\S\n]*+\n\s*+")
# A run of terminators, found at its first character only (the lookbehind) so that
# long runs stay linear, then closers, then whitespace before a visible character.
_SENTENCE = re.compile(r"[.!?…](?<![.!?…][.!?…])([.!?…]*+)[»\"”’')\]]*+(\s++)(?=\S)")
_OPENERS = "\"'“„«‘([{"
_DASHES = "—–-"
# Every match ends where a clause ends: after "; " / ": ", after ", " before a
# conjunction, and just before a free-standing dash.
_CLAUSE = {
    lang: re.compile(rf"[;:]\s++(?=\S)|,\s++(?=(?i:{'|'.join(words)})\b)|\s(?=[—–](?:\s|$))")
    for lang, words in CONJUNCTIONS.items()
}
_WORD_START = re.compile(r".*\s(?=\S)", re.DOTALL)  # greedy: the last one in range
_AFTER_SPACE = re.compile(r".*\s", re.DOTALL)


def units(
    text: str, scale: str = "sentence", lang: str = "en", max_bytes: int | None = None
) -> list[str]:
    """Cut text into thought units at one scale, losslessly.

    Args:
        text: Any string; with ``max_bytes`` it must encode as UTF-8.
        scale: One of :data:`SCALES`.
        lang: ``"en"`` or ``"ru"``: which abbreviations and conjunctions apply.
        max_bytes: If given, units longer than this many UTF-8 bytes are :func:`cut`.

    Returns:
        The units in order; ``"".join(result) == text``, none is empty, and the
        empty text gives ``[]``.

    Raises:
        ValueError: For an unknown scale or language, or ``max_bytes < 4``.

    Example:
        >>> units("Mr. Smith came. He sat, and he ate.")
        ['Mr. Smith came. ', 'He sat, and he ate.']
        >>> units("Mr. Smith came. He sat, and he ate.", "clause")
        ['Mr. Smith came. ', 'He sat, ', 'and he ate.']
    """
    _check(scale, lang, max_bytes)
    cuts = _cuts(text, lang, SCALES.index(scale) + 1)[-1]
    bounds = [0, *cuts, len(text)] if text else [0]
    return _limit([text[a:b] for a, b in pairwise(bounds)], max_bytes)


def tree(text: str, lang: str = "en", max_bytes: int | None = None) -> list[list[list[str]]]:
    """Nest the three scales: paragraphs of sentences of clauses.

    Args:
        text: Any string; with ``max_bytes`` it must encode as UTF-8.
        lang: ``"en"`` or ``"ru"``.
        max_bytes: If given, over-long clauses are :func:`cut` into several leaves.

    Returns:
        ``result[p][s]`` is the list of clauses of sentence ``s`` of paragraph ``p``.
        Joining a sentence's leaves gives ``units(text, "sentence")[...]``, joining a
        paragraph's gives its paragraph, and the leaves in order are
        ``units(text, "clause", lang, max_bytes)``.

    Raises:
        ValueError: For an unknown language or ``max_bytes < 4``.

    Example:
        >>> tree("Hi; bye. Yes.\\n\\nNo.")
        [[['Hi; ', 'bye. '], ['Yes.\\n\\n']], [['No.']]]
    """
    _check("clause", lang, max_bytes)
    if not text:
        return []
    paragraph_cuts, sentence_cuts, clause_cuts = (set(c) for c in _cuts(text, lang, 3))
    paragraphs: list[list[list[str]]] = [[[]]]
    last = 0
    for c in sorted(clause_cuts):
        paragraphs[-1][-1].append(text[last:c])
        if c in paragraph_cuts:
            paragraphs.append([[]])
        elif c in sentence_cuts:
            paragraphs[-1].append([])
        last = c
    paragraphs[-1][-1].append(text[last:])
    return [[_limit(clauses, max_bytes) for clauses in p] for p in paragraphs]


def cut(unit: str, max_bytes: int) -> list[str]:
    """Cut one unit into pieces of at most ``max_bytes`` UTF-8 bytes each.

    Each piece ends at the last word start that fits (the whitespace stays with
    the piece before it); failing that, after the last whitespace character that
    fits; and only when no whitespace fits, inside a word at the last whole code
    point that fits. Pieces join back to ``unit`` and each is valid UTF-8.

    Args:
        unit: The text to cut; must encode as UTF-8.
        max_bytes: The limit, at least 4 (the longest UTF-8 code point).

    Returns:
        The non-empty pieces, ``[unit]`` if it already fits, ``[]`` for ``""``.

    Raises:
        ValueError: If ``max_bytes < 4``; ``UnicodeEncodeError`` (a ``ValueError``)
            for a lone surrogate.

    Example:
        >>> cut("one two three", 8)
        ['one two ', 'three']
    """
    _check_bytes(max_bytes)
    pieces: list[str] = []
    i, n = 0, len(unit)
    while i < n:
        window = unit[i : i + max_bytes]  # at most max_bytes code points can fit
        data = window.encode("utf-8")
        if len(data) > max_bytes:  # drop the code point that the byte cut would split
            window = data[:max_bytes].decode("utf-8", "ignore")
        j = i + len(window)
        if j == n:
            pieces.append(unit[i:])
            break
        m = _WORD_START.match(unit, i, j + 1) or _AFTER_SPACE.match(unit, i, j)
        k = m.end() if m else j
        pieces.append(unit[i:k])
        i = k
    return pieces


def _check(scale: str, lang: str, max_bytes: int | None) -> None:
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {SCALES}")
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; expected one of {LANGS}")
    if max_bytes is not None:
        _check_bytes(max_bytes)


def _check_bytes(max_bytes: int) -> None:
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 4:
        raise ValueError(
            f"max_bytes must be an int >= 4 (a code point takes up to 4 bytes), got {max_bytes!r}"
        )


def _limit(pieces: list[str], max_bytes: int | None) -> list[str]:
    if max_bytes is None:
        return pieces
    out: list[str] = []
    for p in pieces:
        if 4 * len(p) <= max_bytes or len(p.encode("utf-8")) <= max_bytes:
            out.append(p)
        else:
            out.extend(cut(p, max_bytes))
    return out


def _cuts(text: str, lang: str, depth: int) -> list[list[int]]:
    """Sorted cut positions of the first ``depth`` scales, each containing the one above.

    A position is a cut if it is strictly inside the text and after the first visible
    character, so that no unit is empty or only whitespace. Each scale is found in one
    pass over the whole text; a cut of a larger scale is a cut of every smaller one, so
    sentences never cross paragraphs and clauses never cross sentences.
    """
    n, first = len(text), len(text) - len(text.lstrip())
    levels: list[list[int]] = []
    finders = (_paragraph_cuts, _sentence_cuts, _clause_cuts)[:depth]
    for find in finders:
        found = {c for c in find(text, lang) if first < c < n}
        levels.append(sorted(found.union(levels[-1])) if levels else sorted(found))
    return levels


def _paragraph_cuts(text: str, lang: str) -> list[int]:
    return [m.end() for m in _PARAGRAPH.finditer(text)]


def _sentence_cuts(text: str, lang: str) -> list[int]:
    abbreviations = ABBREVIATIONS[lang]
    cuts = []
    for m in _SENTENCE.finditer(text):
        after = m.end()
        nxt = text[after]
        if not (
            nxt.isupper()
            or nxt.isdigit()
            or nxt in _OPENERS
            or (nxt in _DASHES and "\n" in m.group(2))
        ):
            continue
        if (
            not m.group(1)
            and text[m.start()] == "."
            and _is_abbreviation(text, m.start(), abbreviations)
        ):
            continue
        cuts.append(after)
    return cuts


def _is_abbreviation(text: str, dot: int, abbreviations: frozenset[str]) -> bool:
    """Whether the word just before the lone period ``text[dot]`` is an abbreviation."""
    lo = max(0, dot - 8)  # longer than any listed abbreviation plus an opener
    j = dot
    while j > lo and not text[j - 1].isspace():
        j -= 1
    if j == lo and j > 0 and not text[j - 1].isspace():
        return False  # the word is longer than the window
    word = text[j:dot].lstrip(_OPENERS)
    return word in abbreviations or (len(word) == 1 and word.isupper())


def _clause_cuts(text: str, lang: str) -> list[int]:
    return [m.end() for m in _CLAUSE[lang].finditer(text)]
