"""The PVQ format: round trips, every kind of bad input, streaming, and the CLI."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ltm import pvq
from ltm.cli import main

# --------------------------------------------------------------------------- strategies

text = st.text(min_size=1, max_size=30)
langs = st.sampled_from(["en", "ru", "de", "fr", "uk"])
quotes = st.dictionaries(langs, st.lists(text, min_size=1, max_size=3).map(tuple),
                         min_size=1, max_size=3)
frames = st.none() | st.fixed_dictionaries(
    {"act": st.text(min_size=1, max_size=10)},
    optional={"agent": st.text(max_size=10), "place": st.text(max_size=10)})
states = st.none() | st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=4)


def thoughts_for(phase: str | None, depth: int = 2):
    children = (st.lists(thoughts_for(None, depth - 1), max_size=2).map(tuple)
                if depth else st.just(()))
    return st.builds(pvq.Thought, quotes=quotes, phase=st.just(phase), frame=frames,
                     children=children, state=states, determined=st.booleans())


@st.composite
def records(draw, rid: str = "r-0"):
    if draw(st.booleans()):
        phases = [None] * draw(st.integers(1, 4))
    else:
        phases = ["field"] * draw(st.integers(1, 2))
        phases += [p for p in ("perturbation", "intention") if draw(st.booleans())]
        phases += ["transition"] * draw(st.integers(0, 2))
        phases += ["resolution"] * draw(st.integers(0, 1))
    ths = tuple(draw(thoughts_for(p)) for p in phases)
    source = draw(st.sampled_from(["world", "hand", "corpus:austen"]))
    meta = draw(st.none() | st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))
    return pvq.Record(id=rid, source=source, thoughts=ths, meta=meta)


record_lists = st.lists(records(), min_size=1, max_size=4).map(
    lambda rs: [pvq.Record(id=f"r-{i}", source=r.source, thoughts=r.thoughts, meta=r.meta)
                for i, r in enumerate(rs)])


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", ["x.pvq.jsonl", "x.thoughtset.yaml"])
@given(recs=record_lists)
def test_round_trip(tmp_path_factory, name, recs):
    f = tmp_path_factory.mktemp("rt") / name
    pvq.write(f, recs)
    assert pvq.validate(f) == []
    assert pvq.read(f) == recs


@pytest.mark.parametrize("name", ["x.pvq.jsonl", "x.thoughtset.yaml"])
def test_write_makes_missing_folders(tmp_path, name):
    recs = pvq.read(_write_lines(tmp_path / "a.pvq.jsonl", [_record()]))
    f = tmp_path / "not" / "yet" / name
    assert pvq.write(f, recs) == 1
    assert pvq.read(f) == recs and sorted(p.name for p in f.parent.iterdir()) == [name]


def _record(**over) -> dict:
    obj = {"pvq": 1, "id": "a", "source": "world", "thoughts": [
        {"phase": "field", "frame": {"act": "be_at", "agent": "anna", "place": "garden"},
         "quotes": {"en": ["Anna is in the garden."], "ru": ["Анна в саду."]}},
        {"phase": "perturbation", "frame": {"act": "start_rain"},
         "quotes": {"en": ["It starts to rain."]}}]}
    obj.update(over)
    return obj


def _write_lines(path: Path, objs: list) -> Path:
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs), "utf-8")
    return path


def test_spec_example_is_valid(tmp_path):
    f = _write_lines(tmp_path / "ok.pvq.jsonl", [_record()])
    assert pvq.validate(f) == []
    (rec,) = pvq.read(f)
    assert rec.thoughts[0].quotes["ru"] == ("Анна в саду.",)
    assert rec.languages == {"en", "ru"}


# --------------------------------------------------------------------------- bad input

BAD_THOUGHTS = [
    ([{"phase": "intention", "frame": None, "quotes": {"en": ["x"]}}],
     "thoughts[0].phase: the arc starts with 'field', found 'intention'"),
    ([{"phase": "field", "frame": None, "quotes": {"en": ["x"]}},
      {"phase": "transition", "frame": None, "quotes": {"en": ["y"]}},
      {"phase": "intention", "frame": None, "quotes": {"en": ["z"]}}],
     "thoughts[2].phase: 'intention' after 'transition' breaks the arc order"),
    ([{"phase": "field", "frame": None, "quotes": {"en": ["x"]}},
      {"phase": "resolution", "frame": None, "quotes": {"en": ["y"]}},
      {"phase": "resolution", "frame": None, "quotes": {"en": ["z"]}}],
     "thoughts[2].phase: 'resolution' appears more than once"),
    ([{"phase": "field", "frame": None, "quotes": {"xx": ["x"]}}],
     "thoughts[0].quotes.xx: unknown language code 'xx'"),
    ([{"phase": "field", "frame": None, "quotes": {"en": [3]}}],
     "thoughts[0].quotes.en[0]: expected a string, found int"),
    ([{"phase": "field", "frame": None, "quotes": {"en": [""]}}],
     "thoughts[0].quotes.en[0]: empty quote"),
    ([{"phase": "field", "frame": {"agent": "anna"}, "quotes": {"en": ["x"]}}],
     "thoughts[0].frame.act: missing or not a non-empty string"),
    ([{"phase": "field", "frame": {"act": "go", "n": 1}, "quotes": {"en": ["x"]}}],
     "thoughts[0].frame.n: role values are strings, found int"),
    ([{"phase": "dawn", "frame": None, "quotes": {"en": ["x"]}}],
     "thoughts[0].phase: unknown phase 'dawn'"),
    ([{"phase": "field", "frame": None, "quotes": {"en": ["x"]}},
      {"phase": None, "frame": None, "quotes": {"en": ["y"]}}],
     "thoughts[1].phase: null phase in a record whose other thoughts have phases"),
    ([{"frame": None, "quotes": {"en": ["x"]}}], "thoughts[0].phase: missing"),
    ([{"phase": None, "frame": None, "quotes": {"en": ["x"]}, "colour": "red"}],
     "thoughts[0].colour: unknown key 'colour'"),
    ([{"phase": "field", "frame": None, "quotes": {"en": ["x"]},
       "children": [{"phase": "resolution", "frame": None, "quotes": {"en": ["x"]}}]}],
     "thoughts[0].children[0].phase: a child's phase is null or its parent's"),
]


@pytest.mark.parametrize(("thoughts", "message"), BAD_THOUGHTS)
def test_bad_thoughts_are_reported_with_file_line_and_path(tmp_path, thoughts, message):
    good = _record(id="good")
    f = _write_lines(tmp_path / "t.pvq.jsonl", [good, _record(id="bad", thoughts=thoughts)])
    problems = [str(p) for p in pvq.validate(f)]
    assert any(p.startswith(f"{f}:2: {message}") for p in problems), problems
    with pytest.raises(pvq.PVQError):
        pvq.read(f)
    skipped = []
    assert [r.id for r in pvq.read(f, skip_bad=True, on_problem=skipped.append)] == ["good"]
    assert skipped and all(p.line == 2 for p in skipped)


@pytest.mark.parametrize(("over", "message"), [
    ({"pvq": 2}, "pvq: unsupported format version 2"),
    ({"id": ""}, "id: expected a non-empty string"),
    ({"source": "web"}, "source: expected 'world', 'hand' or 'corpus:<name>'"),
    ({"thoughts": []}, "thoughts: expected a non-empty list"),
    ({"meta": 3}, "meta: expected an object"),
])
def test_bad_record_keys(tmp_path, over, message):
    f = _write_lines(tmp_path / "t.pvq.jsonl", [_record(**over)])
    assert any(str(p).startswith(f"{f}:1: {message}") for p in pvq.validate(f))


def test_duplicate_ids_and_non_objects(tmp_path):
    f = _write_lines(tmp_path / "t.pvq.jsonl", [_record(), [1, 2], _record()])
    assert [str(p) for p in pvq.validate(f)] == [
        f"{f}:2: (record): expected an object, found list",
        f"{f}:3: id: duplicate id 'a'",
    ]


def test_file_level_problems(tmp_path):
    empty = tmp_path / "empty.pvq.jsonl"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.pvq.jsonl"
    blank.write_bytes(b"\n \n")
    utf = tmp_path / "utf.pvq.jsonl"
    utf.write_bytes(json.dumps(_record()).encode() + b"\n\xff\xfe{}\n")
    trunc = tmp_path / "trunc.pvq.jsonl"
    trunc.write_bytes(json.dumps(_record()).encode() + b"\n" + json.dumps(_record())[:30].encode())
    bad_json = tmp_path / "bad.pvq.jsonl"
    bad_json.write_bytes(b"{nope}\n")
    cases = {
        empty: "0: (file): empty file",
        blank: "0: (file): no records",
        utf: "2: (record): invalid UTF-8 at byte 0",
        trunc: "2: (record): truncated last line",
        bad_json: "1: (record): not valid JSON",
        tmp_path / "missing.pvq.jsonl": "0: (file): no such file",
        tmp_path: "0: (file): is a directory",
    }
    for path, msg in cases.items():
        problems = [str(p) for p in pvq.validate(path)]
        assert problems and problems[0].startswith(f"{path}:{msg}"), problems
        with pytest.raises(pvq.PVQError):
            pvq.read(path)


def test_last_line_without_newline_is_fine_when_complete(tmp_path):
    f = tmp_path / "x.pvq.jsonl"
    f.write_text(json.dumps(_record()), "utf-8")
    assert pvq.validate(f) == []


def test_yaml_problems_point_at_their_line(tmp_path):
    f = tmp_path / "t.thoughtset.yaml"
    f.write_text(
        "- pvq: 1\n  id: a\n  source: hand\n  thoughts:\n"
        "  - phase: field\n    frame: null\n    quotes:\n      en: [Hello.]\n"
        "  - phase: field\n    frame: null\n    quotes:\n      zz: [Hi.]\n", "utf-8")
    assert [str(p) for p in pvq.validate(f)] == [
        f"{f}:12: thoughts[1].quotes.zz: unknown language code 'zz' "
        "(expected ISO 639-1, e.g. 'en', 'ru')"]
    bad = tmp_path / "b.thoughtset.yaml"
    bad.write_text("- pvq: 1\n  id: [unclosed\n", "utf-8")
    (p,) = pvq.validate(bad)
    assert str(p).startswith(f"{bad}:3: (file): not valid YAML")


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(tmp_path_factory, blob):
    d = tmp_path_factory.mktemp("fuzz")
    for name in ("x.pvq.jsonl", "x.thoughtset.yaml"):
        f = d / name
        f.write_bytes(blob)
        for p in pvq.validate(f):
            assert str(p).startswith(f"{f}:")


# --------------------------------------------------------------------------- streaming


def test_validation_streams_in_constant_memory(tmp_path):
    f = tmp_path / "big.pvq.jsonl"
    quote = "Anna walks slowly through the long wet garden. " * 20  # ~1 kB
    with open(f, "w", encoding="utf-8") as fh:
        for i in range(3000):
            rec = _record(id=f"r{i}")
            rec["thoughts"][0]["quotes"]["en"] = [quote] * 3
            fh.write(json.dumps(rec) + "\n")
    size = f.stat().st_size
    assert size > 8_000_000
    tracemalloc.start()
    assert pvq.validate(f) == []
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < size / 20, f"peak {peak:,} bytes for a {size:,}-byte file"


# --------------------------------------------------------------------------- CLI


def test_cli_validate_and_stats(tmp_path, capsys):
    ok = _write_lines(tmp_path / "ok.pvq.jsonl", [_record()])
    bad = _write_lines(tmp_path / "bad.pvq.jsonl", [_record(pvq=7)])
    assert main(["data", "validate", str(ok)]) == 0
    assert main(["data", "validate", str(ok), str(bad), str(tmp_path / "none.pvq.jsonl")]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:1: pvq: unsupported format version 7" in out
    assert f"{tmp_path / 'none.pvq.jsonl'}:0: (file): no such file" in out
    assert main(["data", "stats", "--json", str(ok)]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["records"] == 1 and s["thoughts"] == 2 and s["languages"] == {"en": 2, "ru": 1}
    assert s["phases"] == {"field": 1, "perturbation": 1}
    assert main(["data", "stats", str(bad)]) == 1
    assert main(["data", "stats", "--skip-bad", str(bad)]) == 0


def test_finer_moves_one_level_down_in_windows():
    from ltm.pvq import Record, Thought, finer

    s = [Thought(quotes={"en": (f"S{i}.",)}) for i in range(5)]
    para = Thought(quotes={"en": ("S0. S1. S2.",)}, children=tuple(s[:3]))
    alone = Thought(quotes={"en": ("Alone.",)})
    last = Thought(quotes={"en": ("S3. S4.",)}, children=tuple(s[3:]))
    r = Record(id="book-1", source="corpus:x", thoughts=(para, alone, last))
    out = list(finer([r], 4))
    assert [x.id for x in out] == ["book-1-w0", "book-1-w1"]
    assert [t.quotes["en"][0] for x in out for t in x.thoughts] == \
        ["S0.", "S1.", "S2.", "Alone.", "S3.", "S4."]
    assert all(x.meta == {"parent": "book-1"} and x.source == "corpus:x" for x in out)
    assert all(not pvq.check_record(x.to_obj()) for x in out)
    with pytest.raises(ValueError, match="window"):
        list(finer([r], 0))
