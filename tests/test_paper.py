"""The paper's numbers are generated: no measured number is typed in its results.

Issue 6: "a test fails if a results section contains a number that is not a macro
(allow section numbers, years, equation constants and citations)". The sections that
report measurements (the abstract and the results) are read with their comments,
macro calls, references, citations, labels, graphics options and math removed; any
digit left is a typed number and fails the test with its line. Experiment names (E1 to
E8), years and the few protocol constants written in words elsewhere are allowed.

The macros themselves must exist: every ``\\name{}`` the results use that looks like a
generated macro is defined in ``paper/generated/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAPER = Path(__file__).resolve().parents[1] / "paper"
REPORTING = ["00-abstract.tex", "07-results.tex"]
"""The sections that report measured numbers."""

_STRIP = [
    r"(?<!\\)%.*",                                    # comments
    r"\\(?:ref|eqref|label|cite[pt]?|citep|citet|input|includegraphics|resizebox"
    r"|IfFileExists|url|href)\s*(?:\[[^\]]*\])?\s*\{[^}]*\}",  # arguments that are names
    r"\\(?:begin|end)\{[^}]*\}(?:\[[^\]]*\])?",       # environments, with placement options
    r"\$[^$]*\$",                                     # inline math: equation constants
    r"\\\[.*?\\\]",                                   # display math
    r"\[(?:t|b|h|p|!|H)+\]",                          # float placement
    r"\b(?:E[1-8])\b",                                # experiment names
    r"recall@\d|\be5\b|L6-v2|95\\%",                  # metric and model names, 95% intervals
    r"\b(?:19|20)\d\d\b",                             # years
    r"\\[a-zA-Z]+\*?",                                # every other macro name
    r"\d*\.?\d+\\linewidth",                          # widths
]


def typed_numbers(text: str) -> list[tuple[int, str]]:
    """``(line, text)`` of every line of ``text`` with a digit left after stripping."""
    found = []
    for i, line in enumerate(text.splitlines(), 1):
        stripped = line
        for pattern in _STRIP:
            stripped = re.sub(pattern, " ", stripped)
        if re.search(r"\d", stripped):
            found.append((i, line.strip()))
    return found


def test_the_stripper_catches_a_typed_number_and_spares_the_rest():
    ok = (r"Recall is \retLtm{} (Table~\ref{tab:r2}, \citep{x2020}); see E3 and 2025."
          r" $x_{t+1} = 2 z$ % 0.95 in a comment" "\n" r"\includegraphics[width=0.6\linewidth]{f1.pdf}")
    assert typed_numbers(ok) == []
    assert typed_numbers("the baseline reaches 0.463 bits") == [(1, "the baseline reaches 0.463 bits")]


@pytest.mark.parametrize("name", REPORTING)
def test_results_sections_type_no_number(name):
    text = (PAPER / "sections" / name).read_text(encoding="utf-8")
    typed = typed_numbers(text)
    assert not typed, f"paper/sections/{name}: typed numbers (use a generated macro):\n" + \
        "\n".join(f"  line {i}: {line}" for i, line in typed)


def test_every_macro_the_results_use_is_generated():
    defined = set()
    for f in (PAPER / "generated").glob("*.tex"):
        defined |= set(re.findall(r"\\newcommand\{\\([a-zA-Z]+)\}", f.read_text()))
    defined |= set(re.findall(r"\\newcommand\{\\([a-zA-Z]+)\}",
                              (PAPER / "main.tex").read_text()))
    for tex in [*(PAPER / "sections").glob("*.tex")]:
        defined |= set(re.findall(r"\\newcommand\{\\([a-zA-Z]+)\}", tex.read_text()))
    missing = set()
    for name in REPORTING:
        used = re.findall(r"\\([a-z]+[A-Z][a-zA-Z]*)\{\}", (PAPER / "sections" / name).read_text())
        missing |= set(used) - defined
    assert not missing, f"macros used but not generated: {sorted(missing)}"


def test_every_numbered_equation_is_in_the_appendix_table():
    """Each ``eq:`` label of the paper appears in appendix A's table of equations and code,
    named or inside a range ``\\eqref{a}--\\eqref{b}`` (labels in document order)."""
    order = [m for f in sorted((PAPER / "sections").glob("*.tex"))
             for m in re.findall(r"\\label\{(eq:[^}]+)\}", f.read_text("utf-8"))]
    table = (PAPER / "sections" / "10-appendix.tex").read_text("utf-8")
    named = set(re.findall(r"\\eqref\{(eq:[^}]+)\}", table))
    for a, b in re.findall(r"\\eqref\{(eq:[^}]+)\}--\\eqref\{(eq:[^}]+)\}", table):
        named |= set(order[order.index(a):order.index(b) + 1])
    missing = [label for label in order if label not in named]
    assert not missing, f"paper/sections/10-appendix.tex: no row for {', '.join(missing)}"
