"""The committed real-text corpora: integrity against provenance, rules, PVQ conversion.

Hermetic: reads only ``data/corpora/``, never a Debian package.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import re
from collections import Counter

import pytest

from ltm import pvq
from ltm.pvq import corpora


@pytest.fixture(scope="module")
def rows() -> dict[str, list[dict]]:
    return {name: list(corpora.load(name)) for name in corpora.NAMES}


@pytest.mark.parametrize("name", corpora.NAMES)
def test_file_matches_provenance(name: str) -> None:
    prov = corpora.provenance(name)
    data = corpora.path(name).read_bytes()
    assert prov["name"] == name and prov["file"] == corpora.path(name).name
    assert hashlib.sha256(data).hexdigest() == prov["sha256"]
    assert len(data) == prov["bytes"]
    for pkg in prov["packages"]:
        assert pkg["package"] and pkg["version"] and len(pkg["deb_sha256"]) == 64
    assert prov["licence"] and prov["rules"] and "build_corpora.py" in prov["rebuild"]


def test_committed_size_is_a_few_megabytes() -> None:
    assert sum(corpora.path(n).stat().st_size for n in corpora.NAMES) < 8_000_000


@pytest.mark.parametrize("name", corpora.NAMES)
def test_counts_match_provenance(name: str, rows: dict[str, list[dict]]) -> None:
    counts = corpora.provenance(name)["counts"]
    assert len(rows[name]) == counts["rows"]
    keys = {"austen": ("text",), "bible": ("kjv", "web"), "libreoffice": ("en", "ru")}[name]
    assert sum(len(r[k].encode()) for r in rows[name] for k in keys) == counts["text_bytes"]


def test_expected_sizes(rows: dict[str, list[dict]]) -> None:
    """The sizes the issue and ENV-NOTES promise: six novels, ~31k verses, ~15k pairs."""
    assert len({r["book"] for r in rows["austen"]}) == 6
    assert 700_000 < sum(len(r["text"].split()) for r in rows["austen"]) < 730_000
    assert 31_000 <= len(rows["bible"]) <= 31_102
    assert 15_000 <= len(rows["libreoffice"]) <= 15_500


def test_rows_follow_the_rules(rows: dict[str, list[dict]]) -> None:
    for r in rows["austen"]:
        assert r["text"] == " ".join(r["text"].split()) and re.search("[A-Za-z]", r["text"])
        assert r["chapter"] >= 1 and r["paragraph"] >= 1
    refs = [r["ref"] for r in rows["bible"]]
    assert len(set(refs)) == len(refs) and refs[0] == "Gen 1:1" and refs[-1] == "Rev 22:21"
    for r in rows["bible"]:
        for k in ("kjv", "web"):
            assert r[k] and not re.search(r"[<>\\¶]", r[k]), r["ref"]
    pairs = [(r["en"], r["ru"]) for r in rows["libreoffice"]]
    assert len(set(pairs)) == len(pairs)
    for en, ru in pairs:
        assert len(en.split()) >= 4 and re.search("[\u0400-\u04ff]", ru)
        assert not re.search(r"</?(?:span|a|p|br|img|div)\b", en + ru)  # the help's own markup



def test_smallest_converts_to_valid_pvq(tmp_path) -> None:
    out = tmp_path / "libreoffice.pvq.jsonl"
    n = corpora.convert("libreoffice", out)
    assert n == corpora.provenance("libreoffice")["counts"]["records"]
    assert pvq.validate(out) == []
    recs = pvq.read_jsonl(out)
    assert all(r.source == "corpus:libreoffice" for r in recs)
    for t in pvq.walk(t for r in recs for t in r.thoughts):
        assert t.phase is None and t.frame is None
        assert set(t.quotes) == {"en", "ru"} and len(t.texts()) == 2  # a pair: two quotes
    assert not list(tmp_path.glob("*.part"))


def test_bible_records_pair_two_english_quotes() -> None:
    recs = list(corpora.records("bible"))
    assert len(recs) == corpora.provenance("bible")["counts"]["records"]
    assert len({r.id for r in recs}) == len(recs) and recs[0].id == "bible-Gen-1"
    for r in recs:
        assert len(r.meta["refs"]) == len(r.thoughts)
        for t in r.thoughts:
            assert list(t.quotes) == ["en"] and len(t.quotes["en"]) == 2
    assert sum(len(r.thoughts) for r in recs) == corpora.provenance("bible")["counts"]["rows"]
    for obj in (recs[0].to_obj(), recs[-1].to_obj()):
        assert pvq.check_record(json.loads(json.dumps(obj))) == []


def test_austen_records_nest_sentences() -> None:
    recs = list(corpora.records("austen"))
    prov = corpora.provenance("austen")["counts"]
    assert len(recs) == prov["records"] and len({r.id for r in recs}) == len(recs)
    assert recs[0].id == "austen-sense-and-sensibility-1"
    assert sum(len(r.thoughts) for r in recs) == prov["rows"]
    assert Counter(r.meta["book"] for r in recs)["Pride and Prejudice"] == 61
    for r in recs:
        for t in r.thoughts:
            (text,) = t.quotes["en"]
            assert text and text == text.strip()
            at = 0
            for c in t.children:  # sentences: non-empty, stripped, in order inside the paragraph
                (s,) = c.quotes["en"]
                assert s and s == s.strip() and not c.children
                at = text.index(s, at) + len(s)
    assert pvq.check_record(recs[0].to_obj()) == []


def test_unknown_name_lists_the_known_ones(tmp_path) -> None:
    for call in (corpora.load, corpora.records, corpora.provenance, corpora.path):
        with pytest.raises(ValueError, match="unknown corpus 'moby'.*austen, bible, libreoffice"):
            call("moby")
    with pytest.raises(ValueError, match="unknown corpus"):
        corpora.convert("moby", tmp_path / "x.pvq.jsonl")
    assert not (tmp_path / "x.pvq.jsonl").exists()


def test_missing_file_is_one_line_naming_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LTM_DATA_DIR", str(tmp_path))
    assert corpora.data_dir() == tmp_path
    with pytest.raises(corpora.CorpusError) as e:
        corpora.convert("bible", tmp_path / "out.pvq.jsonl")
    msg = str(e.value)
    assert "\n" not in msg and str(tmp_path / "bible.jsonl.xz") in msg and "no such file" in msg
    assert not (tmp_path / "out.pvq.jsonl").exists()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "bad json"])
def test_corrupt_file_is_one_line_naming_it(tmp_path, monkeypatch, damage: str) -> None:
    good = corpora.path("libreoffice").read_bytes()
    bad = {"truncated": good[: len(good) // 2], "garbage": b"not xz at all",
           "bad json": lzma.compress(b'{"file": "a", "id": "b", "en": "c d e f", "ru": "\xd0\xb0"}\n'
                                     b"{oops\n")}[damage]
    (tmp_path / "libreoffice.jsonl.xz").write_bytes(bad)
    monkeypatch.setenv("LTM_DATA_DIR", str(tmp_path))
    with pytest.raises(corpora.CorpusError) as e:
        corpora.convert("libreoffice", tmp_path / "out.pvq.jsonl")
    msg = str(e.value)
    assert "\n" not in msg and "corrupt" in msg and "libreoffice.jsonl.xz" in msg
    assert not (tmp_path / "out.pvq.jsonl").exists()
    assert not list(tmp_path.glob("*.part"))
