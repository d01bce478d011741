"""The hand-written fractal thought set: valid PVQ, bilingual, nested, and losslessly joined.

``data/examples/fractal_thoughtset.yaml`` nests episode -> phases -> sentences -> clauses.
Its joining rule (stated at the top of the file): the first quote of a language in a
thought equals the first quotes of that language in its children joined by one space.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from ltm import pvq
from ltm.pvq import Record, Thought

PATH = Path(__file__).resolve().parents[1] / "data" / "examples" / "fractal_thoughtset.yaml"
LANGS = ("en", "ru")
JOIN = " "


def join_problems(t: Thought, where: str = "") -> list[str]:
    """Every place below ``t`` where a parent's first quote is not its children's joined."""
    out: list[str] = []
    if t.children:
        for lang in LANGS:
            parts = [c.quotes[lang][0] for c in t.children]
            if t.quotes[lang][0] != JOIN.join(parts):
                out.append(f"{where} [{lang}] {t.quotes[lang][0]!r} != {JOIN.join(parts)!r}")
    for j, c in enumerate(t.children):
        out.extend(join_problems(c, f"{where}.children[{j}]"))
    return out


def depth(t: Thought) -> int:
    return 1 + max((depth(c) for c in t.children), default=0)


@pytest.fixture(scope="module")
def records() -> list[Record]:
    assert pvq.validate(PATH) == [], "\n".join(map(str, pvq.validate(PATH)))
    return pvq.read(PATH)


def test_file_is_valid_with_enough_hand_records(records):
    assert len(records) >= 5
    ids = [r.id for r in records]
    assert len(set(ids)) == len(ids)
    for r in records:
        assert r.source == "hand"
        assert re.fullmatch(r"hand-\d{3}", r.id), r.id


def test_header_states_rule_and_licence():
    head = PATH.read_text(encoding="utf-8").split("\n- ", 1)[0]
    assert "ONE SPACE" in head
    assert "CC0" in head


def test_both_languages_at_every_thought(records):
    for r in records:
        for t in pvq.walk(r.thoughts):
            assert set(t.quotes) == set(LANGS), (r.id, t.quotes)
            for qs in t.quotes.values():
                for q in qs:
                    assert q == q.strip() and "  " not in q, (r.id, q)


def test_three_levels_of_nesting_in_every_record(records):
    for r in records:
        assert max(depth(t) for t in r.thoughts) >= 3, r.id
        for t in r.thoughts:  # every phase is split into its sentences
            assert t.children, (r.id, t.phase)


def test_full_arc_and_children_keep_the_phase(records):
    for r in records:
        phases = [t.phase for t in r.thoughts]
        assert phases[0] == "field" and phases[-1] == "resolution", r.id
        assert set(phases) == set(pvq.PHASES), r.id
        for top in r.thoughts:
            for t in pvq.walk(top.children):
                assert t.phase in (None, top.phase), (r.id, t.phase)


def test_joining_rule_holds_at_every_level(records):
    problems = [f"{r.id} thoughts[{i}]{p}" for r in records
                for i, t in enumerate(r.thoughts) for p in join_problems(t)]
    assert problems == [], "\n".join(problems)


def test_join_check_catches_a_typo(records):
    phase = records[0].thoughts[0]
    sent = next(s for s in phase.children if s.children)
    clause = sent.children[0]
    bad_clause = dataclasses.replace(
        clause, quotes={**clause.quotes, "ru": (clause.quotes["ru"][0] + "x",)})
    bad_sent = dataclasses.replace(sent, children=(bad_clause, *sent.children[1:]))
    bad_phase = dataclasses.replace(
        phase, children=tuple(bad_sent if s is sent else s for s in phase.children))
    assert join_problems(phase) == []
    assert len(join_problems(bad_phase)) == 1


def test_paraphrases_in_every_record(records):
    for r in records:
        assert any(all(len(s.quotes[lang]) >= 2 for lang in LANGS)
                   for t in r.thoughts for s in t.children), r.id


def test_frames_on_some_phases_and_sentences(records):
    for r in records:
        framed = [s for t in r.thoughts for s in (t, *t.children) if s.frame is not None]
        assert framed, r.id
        for s in framed:
            assert s.frame["act"]


def test_round_trips_through_both_encodings(records, tmp_path):
    for name in ("copy.thoughtset.yaml", "copy.pvq.jsonl"):
        pvq.write(tmp_path / name, records)
        assert pvq.read(tmp_path / name) == records
