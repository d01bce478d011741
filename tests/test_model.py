"""The composed LTM: text in and out, padded episodes, save/load, no Lightning."""

import pathlib

import pytest
import torch

from ltm.codec import decoder_targets, pack
from ltm.config import EOS
from ltm.model import LTM
from ltm.presets import preset
from ltm.readings import READING_SEARCH, reading_rounds

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return LTM(preset("tiny")).eval()


def test_encode_any_input(model):
    z = model.encode(["", "Hello.", b"\xff\xfe\xc3", "ж" * 1000, "\x00"])
    assert z.shape == (5, model.config.codec.dim)
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(5), rtol=0, atol=1e-5)
    assert model.encode("one unit").shape == (1, model.config.codec.dim)


def test_encode_of_a_large_mixed_batch_is_each_unit_alone(model, monkeypatch):
    """LTM.encode encodes each distinct unit once, in batches of units of about one
    length (forced small here), and gives every unit its vector in its place."""
    import ltm.model

    monkeypatch.setattr(ltm.model, "_ENCODE_BYTES", 64)
    units = ["A cat.", "", "The long grey wall of the old house.", "A cat.", b"\xff",
             "Кот.", "x" * 500, "", "A cat."]
    with torch.no_grad():
        z = model.encode(units)
        alone = torch.cat([model.encoder(*ltm.model.pack([u], model.config.codec.max_bytes))
                           for u in units])
    torch.testing.assert_close(z, alone, rtol=0, atol=1e-5)
    assert model.encode([]).shape == (0, model.config.codec.dim)


def test_decode_gives_text_per_vector(model):
    z = model.encode(["A cat.", "Кот."])
    out = model.decode(z, lang="ru", max_bytes=8)
    assert len(out) == 2 and all(isinstance(s, str) for s in out)
    with pytest.raises(ValueError, match="xx"):
        model.decode(z, lang="xx")


def _gaps(model, z, lang, unit: bytes, limit: int):
    """By hand: per place of ``unit`` (its bytes, then the end), the gap between the
    log-probability of the token written there and of the decoder's best other token,
    that other token and its log-probability; the places before ``limit``."""
    x, n = pack([unit], limit)
    logp = model.decoder(z[None], x, lang).masked_fill(~model.decoder.writable,
                                                       float("-inf")).log_softmax(-1)[0]
    target = decoder_targets(x, n)[0]
    out = []
    for p in range(min(len(unit) + 1, limit)):
        row = logp[p].clone()
        written = float(row[target[p]])
        row[target[p]] = float("-inf")
        out.append((written - float(row.max()), int(row.argmax()), float(row.max())))
    return out


def test_branch_says_a_unit_again_with_another_token_at_its_least_sure_places(model):
    with torch.no_grad():
        texts = ["A cat.", "Кот.", "The sky is clear.", "x", ""]
        z = model.encode(texts)
        langs = ["en", "ru", "en", "ru", "en"]
        for lang in (langs, None):
            ids = None if lang is None else model.lang_ids(lang, 5)
            units = model.decoder.generate(z, ids, max_bytes=12) if lang else \
                [t.encode() for t in texts]  # written or not, any unit can branch
            # a floor in the middle of the other tokens' log-probabilities: some places
            # branch and some do not
            floors = sorted(o for b in range(5) for *_, o in _gaps(
                model, z[b], None if ids is None else ids[b:b + 1], units[b], 12))
            m = next(i for i in range(len(floors) // 2, len(floors) - 1)
                     if floors[i + 1] - floors[i] > 1e-3)  # clear of float noise
            floor = (floors[m] + floors[m + 1]) / 2
            rows, more = model.decoder.branch(z, ids, units, 3, floor, max_bytes=12)
            assert (rows, more) == model.decoder.branch(z, ids, units, 3, floor, max_bytes=12)
            for b in range(5):
                unit = units[b][:12]  # as branch packs it
                gaps = _gaps(model, z[b], None if ids is None else ids[b:b + 1], unit, 12)
                eligible = sorted(g for g, _, o in gaps if o >= floor)
                mine = [t for r, t in zip(rows, more, strict=True) if r == b]
                assert len(mine) == min(3, len(eligible))  # k places, if there are k
                places = []
                for text in mine:
                    p = next((i for i, (u, t) in enumerate(zip(unit, text, strict=False))
                              if u != t), min(len(unit), len(text)))  # where it branched
                    places.append(p)
                    gap, other, logp = gaps[p]
                    assert gap <= eligible[len(mine) - 1] + 1e-4  # among the least sure
                    assert logp >= floor - 1e-4  # above the floor
                    assert (len(text) == p) if other == EOS else text[p] == other
                    if len(text) > p + 1 and len(text) < 12:  # greedy after it
                        x, n = pack([text], 12)
                        best = model.decoder(z[b:b + 1], x, None if ids is None else
                                             ids[b:b + 1]).masked_fill(
                            ~model.decoder.writable, float("-inf")).argmax(-1)[0]
                        assert best[p + 1: len(text) + 1].tolist() == \
                            decoder_targets(x, n)[0][p + 1: len(text) + 1].tolist()
                assert len(set(places)) == len(places)  # each place once
            assert any(len(mine) for mine in ([t for r, t in zip(rows, more, strict=True)
                                               if r == b] for b in range(5)))
        # no other token is sure (log-probability 0): nothing branches
        assert model.decoder.branch(z, ids, units, 3, 0.0, max_bytes=12) == ([], [])


def test_decode_with_readings_keeps_the_reading_the_encoder_puts_nearest(model):
    with torch.no_grad():
        z = model.encode(["A cat.", "Кот.", "The sky is clear.", "x"])
        langs = ["en", "ru", "en", "ru"]
        ids = model.lang_ids(langs, 4)
        greedy = model.decoder.generate(z, ids, max_bytes=10)
        assert model.decode_bytes(z, langs, readings=1, max_bytes=10) == greedy

        def nearest(said, k):  # one round by hand: branch every unit, keep the nearest
            rows, more = model.decoder.branch(z, ids, said, k, READING_SEARCH["min_logp"],
                                              max_bytes=10)
            out = list(said)
            near = [float(v) for v in (model.encode(said) * z).sum(-1)]
            for b, text in zip(rows, more, strict=True):
                score = float((model.encode([text])[0] * z[b]).sum())
                if score > near[b]:
                    out[b], near[b] = text, score
            return out

        assert reading_rounds(2) == (1, 1) and reading_rounds(5) == (2, 2)
        once = nearest(greedy, 1)  # readings=2: one round of one branch
        assert any(w != g for w, g in zip(once, greedy, strict=True))  # the test can fail
        assert model.decode_bytes(z, langs, readings=2, max_bytes=10) == once
        twice = nearest(nearest(greedy, 2), 2)  # readings=5: two rounds of two, the
        got = model.decode_bytes(z, langs, readings=5, max_bytes=10)  # second from the first
        assert got == twice and got == model.decode_bytes(z, langs, readings=5, max_bytes=10)
        # more readings never keep one farther from the thought than the greedy one
        near = (model.encode(greedy) * z).sum(-1)
        for r in (4, 16):
            kept = model.encode(model.decode_bytes(z, langs, readings=r, max_bytes=10))
            assert bool(((kept * z).sum(-1) >= near - 1e-5).all())
        with pytest.raises(ValueError, match="readings must be at least 1, got 0"):
            model.decode(z, "en", readings=0)
        # the search settings of one call: one round of four branches is ``nearest`` once
        defaults = dict(READING_SEARCH)
        assert reading_rounds(5, 1) == (1, 4)
        one = model.decode_bytes(z, langs, readings=5, max_bytes=10, search={"rounds": 1})
        assert one == nearest(greedy, 4) and one != twice  # not the default search
        # a bound no other byte reaches branches nowhere: the greedy reading stays
        assert model.decode_bytes(z, langs, readings=16, max_bytes=10,
                                  search={"min_logp": 1.0}) == greedy
        assert READING_SEARCH == defaults  # a call's settings leave the defaults alone
        for bad, why in (({"round": 1}, "unknown reading search settings"),
                         ({"rounds": 0}, "search rounds must be an integer of at least 1"),
                         ({"rounds": True}, "search rounds must be an integer of at least 1"),
                         ({"min_logp": "x"}, "search min_logp must be a number")):
            with pytest.raises(ValueError, match=why):
                model.decode(z, "en", readings=1, search=bad)


def _two_episodes(model):
    """Thoughts of episodes of 3 and 2 units, alone and right-padded into one batch."""
    a = model.encode(["One.", "Two.", "Three."])
    b = model.encode(["Four.", "Five."])
    batch = torch.zeros(2, 3, a.shape[-1])
    batch[0], batch[1, :2] = a, b
    return a, b, batch, torch.tensor([[True, True, True], [True, True, False]])


def test_predict_next_padded_batch_matches_alone(model):
    with torch.no_grad():
        a, b, batch, mask = _two_episodes(model)
        both = model.predict_next(batch, mask)
        torch.testing.assert_close(both[0], model.predict_next(a), rtol=0, atol=1e-5)
        torch.testing.assert_close(both[1], model.predict_next(b), rtol=0, atol=1e-5)
    assert both.shape == (2, a.shape[-1])
    torch.testing.assert_close(both.norm(dim=-1), torch.ones(2), rtol=0, atol=1e-5)


def test_continue_text(model):
    out = model.continue_text("Anna came home. She sat down.", 2, lang="en", max_bytes=6)
    assert isinstance(out, str) and len(out.encode()) <= 12 * 3
    out = model.continue_text(["Anna came home. "], 1, reencode=True, max_bytes=4)
    assert isinstance(out, str)
    with pytest.raises(ValueError):
        model.continue_text("", 1)


@pytest.mark.parametrize("head", ["flow", "flow-noise", "mse", "energy", "choice"])
def test_save_load_round_trip(tmp_path, head):
    import dataclasses

    cfg = preset("tiny")
    cfg = dataclasses.replace(cfg, field=dataclasses.replace(cfg.field, head=head))
    torch.manual_seed(0)
    model = LTM(cfg).eval()
    model.save(tmp_path)
    again = LTM.load(tmp_path).eval()
    assert again.config == cfg
    texts = ["A red book.", "", b"\xff"]
    with torch.no_grad():
        za, zb = model.encode(texts), again.encode(texts)
        assert torch.equal(za, zb)
        pa = model.predict_next(za, generator=torch.Generator().manual_seed(0))
        pb = again.predict_next(zb, generator=torch.Generator().manual_seed(0))
        assert torch.equal(pa, pb)
    assert model.decode(za, max_bytes=10) == again.decode(zb, max_bytes=10)
    assert {p.name for p in tmp_path.iterdir()} == {"model.safetensors", "config.json"}


def test_model_code_imports_no_lightning():
    root = pathlib.Path(__file__).resolve().parents[1] / "reference" / "ltm"
    for name in ["llama", "codec", "memory", "field", "heads", "model", "config", "losses"]:
        assert "lightning" not in (root / f"{name}.py").read_text()


def test_batched_generation_equals_each_episode_alone(model):
    """Right-padded episodes thought together give each episode's units alone, and the
    same as thinking one thought after another (:meth:`LTM._think`)."""
    episodes = [["Anna came home.", "She sat down.", "Ivan left."], [""], ["Кот спит."]]
    langs = ["en", "ru", "ru"]
    together = model.generate_batch(episodes, 3, langs=langs, max_bytes=6)
    alone = [model.generate_units(ep, 3, lang=lang, max_bytes=6)
             for ep, lang in zip(episodes, langs, strict=True)]
    assert together == alone
    with torch.no_grad():
        stepwise = [model._think(model.encode(ep), 3, lang, max_bytes=6)
                    for ep, lang in zip(episodes, langs, strict=True)]
    assert together == stepwise
    assert model.generate_batch(episodes, 0) == [[], [], []]
    with pytest.raises(ValueError, match="every episode"):
        model.generate_batch([["a"], []], 1)
    with pytest.raises(ValueError, match="1 language tags for 2"):
        model.generate_batch([["a"], ["b"]], 1, langs=["en"])
    with pytest.raises(ValueError, match="n_units must be at least 0"):
        model.generate_batch([["a"]], -2)


def _teacher_forced_nats(model, z, units, lang, limit):
    """Mean nats per written token of ``units`` read back by the decoder, EOS counted
    unless a unit was cut at ``limit``."""
    from ltm.codec import decoder_targets, pack

    ids, lengths = pack(units, limit)
    logits = model.decoder(z, ids, model.lang_ids(lang, len(units)))
    logits = logits.masked_fill(~model.decoder.writable, float("-inf"))
    nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), decoder_targets(ids, lengths),
                                            ignore_index=256, reduction="none")  # (B, L+1)
    out = []
    for i, n in enumerate(lengths.tolist()):
        count = n if n == limit else n + 1  # a cut unit has no EOS
        out.append(nll[i, :count].sum() / count)
    return torch.stack(out)


def test_read_gives_the_greedy_units_and_how_surely_they_are_written(model):
    with torch.no_grad():
        z = model.encode(["A cat.", "Кот.", "", "The long grey wall of the old house."])
        for limit in (3, 12):
            units, nats = model.decoder.read(z, model.lang_ids("en", 4), max_bytes=limit)
            assert units == model.decode_bytes(z, "en", max_bytes=limit)
            torch.testing.assert_close(nats, _teacher_forced_nats(model, z, units, "en", limit),
                                       rtol=1e-4, atol=1e-4)


def test_pick_takes_the_candidate_the_decoder_reads_most_surely(model):
    with torch.no_grad():
        cands = model.encode(["One.", "Two two.", "Three.", "Four!", "Five.", "Six six."])
        cands = cands.view(2, 3, -1)  # (B, K, Z)
        got = model.pick(cands, ["en", "ru"])
        for b, lang in enumerate(["en", "ru"]):
            _, nats = model.decoder.read(cands[b], model.lang_ids(lang, 3))
            assert torch.equal(got[b], cands[b, nats.argmin()])
            torch.testing.assert_close(model.pick_scores(cands, ["en", "ru"])[b], nats)
        with pytest.raises(ValueError, match="3 languages for 2 rows"):
            model.pick(cands, ["en", "ru", "en"])


def test_choice_head_predicts_by_the_decoders_pick_or_by_its_selector():
    import dataclasses

    cfg = preset("tiny")
    cfg = dataclasses.replace(cfg, field=dataclasses.replace(cfg.field, head="choice", choices=4))
    torch.manual_seed(0)
    m = LTM(cfg).eval()
    with torch.no_grad():
        a, b, batch, mask = _two_episodes(m)
        both = m.predict_next(batch, mask, lang=["en", "ru"])
        torch.testing.assert_close(both[0], m.predict_next(a, lang="en"), rtol=0, atol=1e-5)
        torch.testing.assert_close(both[1], m.predict_next(b, lang="ru"), rtol=0, atol=1e-5)
        context, _ = m.core(a[None])
        c, cur = context[0, -1:], a[-1:]
        torch.testing.assert_close(both[0], m.pick(m.head.hypotheses(c, cur), "en")[0])
        torch.testing.assert_close(m.next_thought(c, cur, lang="en")[0], both[0])
        assert m.decoder_picks
        nats = m.score_units(["One.", "Two.", "Three."], "en", samples=3)
        assert nats[0] != nats[0] and all(0 < x < float("inf") for x in nats[1:])
        assert nats[1:] == m.score_units(["One.", "Two.", "Three."], "en", samples=1)[1:]
        m.config = dataclasses.replace(cfg, field=dataclasses.replace(cfg.field,
                                                                      choice_pick="selector"))
        torch.testing.assert_close(m.predict_next(a), m.head.sample(c, cur)[0])
        assert not m.decoder_picks


def test_choice_roundtrip_pick_takes_nats_minus_the_weighted_cosine_of_the_reread():
    import dataclasses

    cfg = preset("tiny")
    torch.manual_seed(0)
    m = LTM(dataclasses.replace(cfg, field=dataclasses.replace(
        cfg.field, head="choice", choices=6, choice_roundtrip=5.0))).eval()
    with torch.no_grad():
        cands = torch.nn.functional.normalize(torch.randn(3, 6, cfg.codec.dim), dim=-1)
        texts, nats = m.decoder.read(cands.reshape(18, -1), m.lang_ids("en", 18))
        score = nats - 5.0 * (m.encode(texts) * cands.reshape(18, -1)).sum(-1)
        assert not torch.equal(score.view(3, 6).argmin(1), nats.view(3, 6).argmin(1))
        want = cands[torch.arange(3), score.view(3, 6).argmin(1)]
        torch.testing.assert_close(m.pick(cands, "en"), want, rtol=0, atol=0)
        m.config = dataclasses.replace(m.config, field=dataclasses.replace(
            m.config.field, choice_roundtrip=0.0))  # nats alone
        torch.testing.assert_close(m.pick(cands, "en"),
                                   cands[torch.arange(3), nats.view(3, 6).argmin(1)])
