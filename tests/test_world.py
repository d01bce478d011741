"""The PVQ world: render/parse round trips, Russian agreement, legality, determinism,
the arc, determined thoughts, the compositional split, and argument checks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ltm import pvq
from ltm.pvq import world
from ltm.pvq.world.lexicon import CASES

# --------------------------------------------------------------------------- strategies


@st.composite
def frames(draw, acts=tuple(world.ACTS)):
    act = draw(st.sampled_from(acts))
    frame = {"act": act}
    for role in world.ACTS[act]:
        frame[role] = draw(st.sampled_from(tuple(world.KINDS[world.ROLE_KINDS[role]])))
    if act == "give" and frame["recipient"] == frame["agent"]:
        frame["recipient"] = next(a for a in world.KINDS["agent"] if a != frame["agent"])
    if act == "recap":
        if frame["other"] == frame["agent"]:
            frame["other"] = next(a for a in world.KINDS["agent"] if a != frame["agent"])
        if draw(st.booleans()):
            frame["other_place"] = frame["place"]  # the "both in one place" wording
    assert world.check_frame(frame) is None
    return frame


@pytest.fixture(scope="module")
def records():
    return list(world.generate(300, seed=7))


# --------------------------------------------------------------------------- render / parse


@given(frames())
def test_parse_inverts_render_for_every_language_and_phrasing(frame):
    for lang in world.LANGS:
        ps = world.phrasings(frame, lang)
        assert len(ps) >= 3 and len(set(ps)) == len(ps)
        for k, q in enumerate(ps):
            assert world.render(frame, lang, k) == q
            assert world.parse(q, lang) == frame


def test_parse_inverts_render_exhaustively_but_for_recaps():
    small = tuple(a for a in world.ACTS if a != "recap")  # recaps: 26k frames, left to hypothesis
    n = 0
    for frame in world.all_frames(small):
        for lang in world.LANGS:
            for q in world.phrasings(frame, lang):
                assert world.parse(q, lang) == frame, q
                n += 1
    assert n > 40_000


def test_world_size():
    sizes = {k: len(v) for k, v in world.KINDS.items()}
    assert sizes["agent"] >= 12 and sizes["place"] >= 12 and sizes["object"] >= 16
    assert len(world.EVENTS) >= 10
    assert {world.ENTITIES[a].gender for a in world.KINDS["agent"]} == {"m", "f"}


@given(st.text(max_size=60))
def test_parse_never_raises_and_only_accepts_renderable_text(text):
    for lang in world.LANGS:
        frame = world.parse(text, lang)
        assert frame is None or text in world.phrasings(frame, lang)


@given(frames(), st.data())
def test_parse_of_a_mutated_quote_is_none_or_exact(frame, data):
    lang = data.draw(st.sampled_from(world.LANGS))
    q = data.draw(st.sampled_from(world.phrasings(frame, lang)))
    i = data.draw(st.integers(0, len(q) - 1))
    how = data.draw(st.sampled_from(["drop", "insert", "swap"]))
    ch = data.draw(st.sampled_from(list("аоеиaoe .,ыя")))
    bad = {"drop": q[:i] + q[i + 1:], "insert": q[:i] + ch + q[i:],
           "swap": q[:i] + ch + q[i + 1:]}[how]
    got = world.parse(bad, lang)
    assert got is None or bad in world.phrasings(got, lang)


@pytest.mark.parametrize("text,lang", [
    ("", "en"), (" ", "ru"), ("Anna", "en"), ("Анна", "ru"),
    ("Анна пошёл в сад.", "ru"),            # wrong gender
    ("Иван пошла в сад.", "ru"),
    ("Анна пошла в саду.", "ru"),           # wrong case
    ("Анна пошла в сад", "ru"),             # no full stop
    ("Анна  пошла в сад.", "ru"),           # double space
    ("анна пошла в сад.", "ru"),            # lower case
    ("Anna went to the garden.", "ru"),     # wrong language
    ("Анна пошла в сад.", "en"),
    ("Anna went to garden.", "en"),
    ("Anna went to the garden!", "en"),
    ("Anna made his way to the garden.", "en"),
    ("Иван дал ключ Ивану.", "ru"),          # giving to oneself is no frame
    ("Now Anna is in the garden and Ivan is in the garden.", "en"),  # same-place recap wording
    ("Ивану понадобилась ключ.", "ru"),
    ("Коробка открыт.", "ru"),
    ("\x00\ud800\U0010ffff", "en"),
])
def test_parse_rejects_near_misses(text, lang):
    assert world.parse(text, lang) is None


def test_parse_non_string_is_none():
    assert world.parse(None, "en") is None  # type: ignore[arg-type]
    assert world.parse(b"Anna went to the garden.", "en") is None  # type: ignore[arg-type]


RU = [
    ({"act": "go", "agent": "anna", "place": "garden"}, 0, "Анна пошла в сад."),
    ({"act": "go", "agent": "ivan", "place": "garden"}, 0, "Иван пошёл в сад."),
    ({"act": "go", "agent": "peter", "place": "yard"}, 1, "Во двор пошёл Пётр."),
    ({"act": "be_at", "agent": "olga", "place": "kitchen"}, 0, "Ольга на кухне."),
    ({"act": "be_at", "agent": "boris", "place": "forest"}, 1, "В лесу находится Борис."),
    ({"act": "aim_go", "agent": "sergei", "place": "station"}, 0, "Сергей решил пойти на вокзал."),
    ({"act": "aim_go", "agent": "maria", "place": "bridge"}, 2, "Марии захотелось пойти на мост."),
    ({"act": "take", "agent": "vera", "object": "book"}, 1, "Книгу взяла Вера."),
    ({"act": "take", "agent": "maxim", "object": "candle"}, 0, "Максим взял свечу."),
    ({"act": "give", "agent": "elena", "object": "key", "recipient": "sergei"}, 0,
     "Елена дала ключ Сергею."),
    ({"act": "give", "agent": "oleg", "object": "map", "recipient": "maria"}, 2,
     "Олег передал Марии карту."),
    ({"act": "find", "agent": "peter", "object": "ring"}, 0, "Пётр нашёл кольцо."),
    ({"act": "find", "agent": "irina", "object": "ring"}, 0, "Ирина нашла кольцо."),
    ({"act": "lose", "agent": "ivan", "object": "letter"}, 2, "Письмо потерялось у Ивана."),
    ({"act": "want", "agent": "vera", "object": "apple"}, 1, "Вере понадобилось яблоко."),
    ({"act": "want", "agent": "boris", "object": "hat"}, 2, "Шляпа понадобилась Борису."),
    ({"act": "drop", "agent": "anna", "object": "knife"}, 2, "Нож выпал из рук Анны."),
    ({"act": "put_in", "agent": "olga", "object": "coin", "container": "cupboard"}, 0,
     "Ольга положила монету в шкаф."),
    ({"act": "take_out", "agent": "oleg", "object": "bottle", "container": "jar"}, 2,
     "Из банки Олег достал бутылку."),
    ({"act": "open", "agent": "elena", "container": "chest"}, 2, "Сундук был открыт Еленой."),
    ({"act": "close", "agent": "maxim", "container": "box"}, 2, "Коробка была закрыта Максимом."),
    ({"act": "is_closed", "container": "safe"}, 1, "Сейф стоит закрытым."),
    ({"act": "lie_in", "object": "scarf", "container": "cupboard"}, 1, "В шкафу лежит шарф."),
    ({"act": "has", "agent": "sergei", "object": "umbrella"}, 0, "У Сергея есть зонт."),
    ({"act": "feel", "agent": "ivan", "mood": "happy"}, 2, "Иван стал весёлым."),
    ({"act": "feel", "agent": "anna", "mood": "scared"}, 0, "Анна испугалась."),
    ({"act": "recap", "agent": "anna", "place": "garden", "other": "ivan",
      "other_place": "kitchen"}, 0, "Теперь Анна в саду, а Иван на кухне."),
    ({"act": "recap", "agent": "anna", "place": "park", "other": "ivan",
      "other_place": "park"}, 2, "В парке теперь и Анна, и Иван."),
    ({"act": "start_rain"}, 0, "Пошёл дождь."),
]

EN = [
    ({"act": "go", "agent": "anna", "place": "garden"}, 2, "Anna made her way to the garden."),
    ({"act": "go", "agent": "ivan", "place": "station"}, 2, "Ivan made his way to the station."),
    ({"act": "give", "agent": "elena", "object": "key", "recipient": "sergei"}, 1,
     "Elena gave Sergei the key."),
    ({"act": "has", "agent": "boris", "object": "scarf"}, 2, "The scarf is in Boris's hands."),
    ({"act": "be_at", "agent": "olga", "place": "bridge"}, 1, "On the bridge is Olga."),
    ({"act": "take_out", "agent": "oleg", "object": "apple", "container": "safe"}, 2,
     "The apple was taken out of the safe by Oleg."),
]


@pytest.mark.parametrize("frame,k,expected", RU)
def test_russian_agreement(frame, k, expected):
    assert world.render(frame, "ru", k) == expected
    assert world.parse(expected, "ru") == frame


@pytest.mark.parametrize("frame,k,expected", EN)
def test_english_spot_checks(frame, k, expected):
    assert world.render(frame, "en", k) == expected
    assert world.parse(expected, "en") == frame


def test_lexicon_declines_every_russian_noun_explicitly():
    for ent in world.ENTITIES.values():
        assert set(ent.forms) == {"en", "ru"}
        if ent.kind in ("agent", "place", "object", "container"):
            assert all(ent.forms["ru"][c] for c in CASES)
        if ent.kind in ("place", "container"):
            r = ent.forms["ru"]
            assert r["in"].split()[0] in ("в", "во", "на") and r["from"].split()[0] in (
                "из", "с", "со")


# --------------------------------------------------------------------------- records


def test_same_seed_same_bytes_different_seed_different_data(tmp_path):
    a, b, c = tmp_path / "a.pvq.jsonl", tmp_path / "b.pvq.jsonl", tmp_path / "c.pvq.jsonl"
    assert world.write_world(a, 50, 3) == 50
    world.write_world(b, 50, 3)
    world.write_world(c, 50, 4)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    first = [pvq.dumps_record(r) for r in world.generate(20, 3)]
    assert first == a.read_text(encoding="utf-8").splitlines()[:20]


def test_records_validate_and_follow_the_arc(records, tmp_path):
    path = tmp_path / "w.pvq.jsonl"
    pvq.write_jsonl(path, records)
    assert pvq.validate(path) == []
    assert pvq.read_jsonl(path) == records
    for i, rec in enumerate(records):
        assert rec.id == f"world-{i:06d}" and rec.source == "world"
        phases = [t.phase for t in rec.thoughts]
        n = len(phases)
        k = phases.index("perturbation")
        assert k >= 1 and set(phases[:k]) == {"field"}
        assert phases[k + 1] == "intention"
        assert phases[-1] == "resolution" and n - k - 3 >= 1
        assert set(phases[k + 2:-1]) == {"transition"}


def test_every_episode_replays_legally(records):
    for rec in records:
        state: dict[str, str] = {}
        for t in rec.thoughts:
            assert world.legal(t.frame, state), (rec.id, t.frame, state)
            state = world.apply(t.frame, state)
            assert state == t.state
            assert all(isinstance(v, str) for v in state.values())
        assert not any(k.endswith(".goal") for k in state), "the resolution meets the aim"


def test_apply_does_not_mutate_and_refuses_illegal_acts():
    s0 = {"anna.at": "garden"}
    s1 = world.apply({"act": "go", "agent": "anna", "place": "kitchen"}, s0)
    assert s0 == {"anna.at": "garden"} and s1 == {"anna.at": "kitchen"}
    assert not world.legal({"act": "go", "agent": "anna", "place": "garden"}, s0)
    assert not world.legal({"act": "take", "agent": "anna", "object": "key"}, s0)
    with pytest.raises(ValueError, match="not legal"):
        world.apply({"act": "stop_rain"}, s0)


def test_determined_thoughts_are_exactly_what_the_rules_predict(records):
    seen = set()
    for rec in records:
        for i, t in enumerate(rec.thoughts):
            predicted = world.determined_next(rec.thoughts[:i])
            if predicted is None:
                assert not t.determined, (rec.id, i)
            else:
                assert t.determined and predicted == (t.phase, t.frame), (rec.id, i)
                seen.add((t.phase, t.frame["act"]))
        assert rec.thoughts[-1].determined  # every resolution follows from the past
    assert {("resolution", "find"), ("resolution", "give"), ("resolution", "take_out"),
            ("resolution", "go"), ("transition", "recap"), ("intention", "want"),
            ("intention", "aim_go")} <= seen


def test_determined_rules_by_hand():
    past = [("field", {"act": "be_at", "agent": "anna", "place": "garden"}),
            ("field", {"act": "be_at", "agent": "ivan", "place": "kitchen"}),
            ("field", {"act": "has", "agent": "anna", "object": "key"})]
    assert world.determined_next(past) is None  # the field is free
    past.append(("perturbation", {"act": "lose", "agent": "anna", "object": "key"}))
    want = {"act": "want", "agent": "anna", "object": "key"}
    assert world.determined_next(past) == ("intention", want)
    past.append(("intention", want))
    assert world.determined_next(past) is None  # at least one transition comes first
    past.append(("transition", {"act": "feel", "agent": "anna", "mood": "sad"}))
    assert world.determined_next(past) == (
        "resolution", {"act": "find", "agent": "anna", "object": "key"})
    rain = past[:3] + [("perturbation", {"act": "start_rain"})]
    assert world.determined_next(rain) is None  # where to shelter is a free choice


def test_recap_says_where_both_agents_are(records):
    n = 0
    for rec in records:
        for prev, t in zip(rec.thoughts, rec.thoughts[1:], strict=False):
            if t.frame["act"] == "recap":
                n += 1
                f = t.frame
                assert prev.state[f"{f['agent']}.at"] == f["place"]
                assert prev.state[f"{f['other']}.at"] == f["other_place"]
    assert n > 10


def test_quotes_are_all_phrasings_in_every_language(records):
    for rec in records[:50]:
        for t in rec.thoughts:
            assert list(t.quotes) == ["en", "ru"]
            for lang, qs in t.quotes.items():
                assert len(set(qs)) == len(qs) >= 3
                assert list(qs) == world.phrasings(t.frame, lang)
                assert world.parse(qs[-1], lang) == t.frame


def test_langs_restrict_the_quotes():
    for langs in (("ru",), "ru", ["ru"], " ru "):
        rec = next(world.generate(1, 0, langs=langs))
        assert all(list(t.quotes) == ["ru"] for t in rec.thoughts)
    rec = next(world.generate(1, 0, langs="ru,en"))
    assert list(rec.thoughts[0].quotes) == ["ru", "en"]


# --------------------------------------------------------------------------- split


def test_meaning_split_examples():
    assert world.meaning_split({"act": "take", "agent": "anna", "object": "ring"}) == "heldout"
    assert world.meaning_split({"act": "take", "agent": "ivan", "object": "ring"}) == "train"
    assert world.meaning_split({"act": "go", "agent": "anna", "place": "bridge"}) == "heldout"
    assert world.meaning_split({"act": "be_at", "agent": "anna", "place": "garden"}) == "train"
    assert world.meaning_split({"act": "recap", "agent": "ivan", "place": "garden",
                                "other": "anna", "other_place": "bridge"}) == "heldout"
    assert world.meaning_split({"act": "start_rain"}) == "train"
    held = sum(world.meaning_split(f) == "heldout" for f in world.all_frames())
    assert 0 < held < 0.25 * sum(1 for _ in world.all_frames())


def test_twin_exchanges_two_fillers_of_one_kind_and_names_another_fact():
    def fact(f):  # a recap names one fact in either order of its agents
        if f["act"] != "recap":
            return tuple(sorted(f.items()))
        return frozenset({(f["agent"], f["place"]), (f["other"], f["other_place"])})

    twins = 0
    for f in world.all_frames():
        t = world.twin(f)
        if t is None:
            kinds = [world.ROLE_KINDS[r] for r in world.ACTS[f["act"]]]
            assert len(set(kinds)) == len(kinds) or (
                f["act"] == "recap" and f["place"] == f["other_place"]), f
            continue
        twins += 1
        assert world.check_frame(t) is None and t.keys() == f.keys() and fact(t) != fact(f)
        differ = [r for r in f if f[r] != t[r]]
        assert len(differ) == 2 and {f[r] for r in differ} == {t[r] for r in differ}
        # in English a twin says the same words in another order: a bag of words is blind
        for a, b in zip(world.phrasings(f, "en"), world.phrasings(t, "en"), strict=True):
            assert a != b and sorted(a.strip(".").split()) == sorted(b.strip(".").split())
    assert twins > 0
    give = {"act": "give", "agent": "anna", "object": "map", "recipient": "oleg"}
    assert world.twin(give) == {**give, "agent": "oleg", "recipient": "anna"}
    recap = {"act": "recap", "agent": "anna", "place": "school", "other": "oleg",
             "other_place": "shop"}
    assert world.render(world.twin(recap), "en", 0) == (
        "Now Oleg is in the school and Anna is in the shop.")
    assert world.twin({**recap, "other_place": "school"}) is None  # both in one place
    assert world.twin({"act": "go", "agent": "anna", "place": "garden"}) is None


def test_generate_split_partitions_the_stream():
    train = list(world.generate(40, 5, split="train"))
    held = list(world.generate(40, 5, split="heldout"))
    assert all(world.meaning_split(t.frame) == "train" for r in train for t in r.thoughts)
    assert all(any(world.meaning_split(t.frame) == "heldout" for t in r.thoughts) for r in held)
    assert all(world.record_split(r) == "heldout" for r in held)
    assert not {r.id for r in train} & {r.id for r in held}
    everything = {r.id: r for r in world.generate(200, 5)}
    for r in train + held:
        if r.id in everything:
            assert everything[r.id] == r


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize("kwargs,match", [
    ({"episodes": -1, "seed": 0}, "episodes"),
    ({"episodes": "3", "seed": 0}, "episodes"),
    ({"episodes": True, "seed": 0}, "episodes"),
    ({"episodes": 1, "seed": "x"}, "seed"),
    ({"episodes": 1, "seed": 0, "langs": ("de",)}, "unknown language"),
    ({"episodes": 1, "seed": 0, "langs": ()}, "empty"),
    ({"episodes": 1, "seed": 0, "langs": None}, "langs must be"),
    ({"episodes": 1, "seed": 0, "split": "test"}, "split"),
])
def test_generate_refuses_bad_arguments_at_the_call(kwargs, match):
    with pytest.raises(ValueError, match=match):
        world.generate(**kwargs)


def test_write_world_refuses_before_touching_the_file(tmp_path):
    out = tmp_path / "w.pvq.jsonl"
    with pytest.raises(ValueError, match="episodes"):
        world.write_world(out, -5, 0)
    assert not out.exists()
    assert world.write_world(out, 0, 0) == 0


def test_render_parse_legal_refuse_bad_arguments():
    go = {"act": "go", "agent": "anna", "place": "garden"}
    with pytest.raises(ValueError, match="unknown language"):
        world.render(go, "de")
    with pytest.raises(ValueError, match="phrasing"):
        world.render(go, "en", 3)
    with pytest.raises(ValueError, match="unknown act"):
        world.render({"act": "fly", "agent": "anna"}, "en")
    with pytest.raises(ValueError, match="must be a place"):
        world.phrasings({"act": "go", "agent": "anna", "place": "moon"}, "ru")
    with pytest.raises(ValueError, match="must differ"):
        world.render({"act": "give", "agent": "anna", "object": "key", "recipient": "anna"},
                     "en")
    with pytest.raises(ValueError, match="unknown language"):
        world.parse("Anna went to the garden.", "de")
    with pytest.raises(ValueError, match="takes roles"):
        world.legal({"act": "go", "agent": "anna"}, {})
