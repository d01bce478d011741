"""The critic's word inputs (``ltm.novelty``) and a critic that reads them."""

import dataclasses

import pytest
import torch

from ltm import novelty
from ltm.critic import Critic, fit_critic, label_transitions
from ltm.model import LTM, prefixes
from ltm.presets import preset
from ltm.pvq import world

torch.set_num_threads(1)


def words_config(**field):
    cfg = preset("tiny")
    return dataclasses.replace(cfg, field=dataclasses.replace(
        cfg.field, head="choice", choices=4, critic_width=16, **field))


@pytest.fixture(scope="module")
def episodes():
    return list(world.generate(6, seed=0))


def test_stems_are_lowercased_words_of_three_letters_or_more_cut_to_four():
    assert novelty.stems("Ivan gave the candle to Vera.") == ["ivan", "gave", "the", "cand",
                                                              "vera"]
    # a Russian name's endings do not make it another word
    assert novelty.stems("Максим")[0] == novelty.stems("Максиму")[0] == "макс"
    assert novelty.stems("") == [] and novelty.stems("a, b; ok.") == []


def test_word_inputs_flag_new_words_and_how_recently_the_others_were_said():
    past = ["Ivan is in the yard.", "Vera took the cup.", "Ivan felt happy."]
    got = novelty.word_inputs("Ivan wanted the candle.", past, 6)
    assert len(got) == novelty.width(6) == 13
    new, near, share = got[:6], got[6:12], got[12]
    assert new == [0.0, 1.0, 0.0, 1.0, 0.0, 0.0]  # ivan, want, the, cand, padding
    assert near[0] == 1.0  # "Ivan": said by the latest unit
    assert near[2] == pytest.approx(1 / 2)  # "the": last said two units back
    assert near[1] == near[3] == 0.0  # never said
    assert share == pytest.approx(2 / 4)
    # nothing said before: every word is new; no words: all zero
    assert novelty.word_inputs("Ivan left.", [], 2) == [1.0, 1.0, 0.0, 0.0, 1.0]
    assert novelty.word_inputs("", past, 2) == [0.0] * 5
    # words past the n-th count in the share only
    assert novelty.word_inputs("one two three four", ["one"], 1) == [0.0, 1.0, 3 / 4]


def test_novelty_reads_each_row_against_its_own_past():
    got = novelty.novelty(["Anna sat.", "Boris sat.", "Anna sat.", "Boris sat."],
                          [["Anna came."], ["Boris came."]], 2, 3)
    assert got.shape == (2, 2, 7)
    assert got[0, 0, 0] == 0 and got[0, 1, 0] == 1  # Anna known in row 0, Boris not
    assert got[1, 0, 0] == 1 and got[1, 1, 0] == 0
    with pytest.raises(ValueError, match="3 readings for 2 rows of 2"):
        novelty.novelty(["a", "b", "c"], [[], []], 2, 3)


def test_said_reads_each_past_thought_once_in_its_rows_language():
    torch.manual_seed(0)
    m = LTM(words_config()).eval()
    z = torch.nn.functional.normalize(torch.randn(3, m.config.codec.dim), dim=-1)
    past, mask = prefixes(z)  # rows: thoughts 0..j
    ids = m.lang_ids(["en", "ru", "en"], 3)
    calls = []
    read = m.decoder.read

    def counting(thoughts, lang):
        calls.append(len(thoughts))
        return read(thoughts, lang)

    m.decoder.read = counting
    got = novelty.said(m.decoder, past, mask, ids)
    assert [len(r) for r in got] == [1, 2, 3]
    assert calls == [5]  # thought 0 and 1 in both languages, thought 2 in English
    m.decoder.read = read
    one = [x.decode("utf-8", "replace") for x in read(z, m.lang_ids("en", 3))[0]]
    assert got[2] == one and got[0] == one[:1]
    assert novelty.said(m.decoder, past, torch.zeros_like(mask), ids) == [[], [], []]


def test_a_critic_that_reads_words_needs_them_everywhere_it_judges(episodes):
    with pytest.raises(ValueError, match="critic_words needs a critic"):
        dataclasses.replace(preset("tiny").field, critic_words=4)
    with pytest.raises(ValueError, match="critic_words must be an int >= 0"):
        dataclasses.replace(words_config().field, critic_words=-1)
    critic = Critic(8, 5, 12, words=3)
    args = (torch.randn(2, 8), torch.randn(2, 5), torch.randn(2, 4, 5), torch.randn(2, 4, 5))
    with pytest.raises(ValueError, match="reads the past's words"):
        critic(*args)
    assert critic(*args, worded=torch.rand(2, 4, 7)).shape == (2, 4)
    torch.manual_seed(0)
    m = LTM(words_config(critic_words=5)).eval()
    data = label_transitions(m, episodes, 10, seed=0)
    assert data["words"].shape == (10, 4, 11)
    assert ((data["words"] >= 0) & (data["words"] <= 1)).all()
    plain = label_transitions(LTM(words_config()).eval(), episodes, 2, seed=0)
    assert plain["words"].shape == (2, 4, 0)
    before = [p.clone() for p in m.critic.parameters()]
    summary = fit_critic(m, episodes, transitions=10, epochs=1, seed=0)
    assert summary["pairs"] == 40
    assert any(not torch.equal(a, b) for a, b in zip(before, m.critic.parameters(), strict=True))
    ctx, cur = data["context"][:2], data["current"][:2]
    with torch.no_grad(), pytest.raises(ValueError, match="give past and past_mask"):
        m.pick_scores(data["hypotheses"][:2], "en", context=ctx, current=cur)
    # along an episode the pick (greedy, and with branches) judges every position's words
    z = m.encode([t.quotes["en"][0] for t in episodes[0].thoughts])  # (T, Z)
    with torch.no_grad():
        context, _ = m.core(z[None])
        past, past_mask = prefixes(z[:-1])
        for branches in (0, 2):
            m.config = dataclasses.replace(m.config, field=dataclasses.replace(
                m.config.field, choice_branches=branches))
            along = m.next_thought(context[0, :-1], z[:-1], lang="en", past=past,
                                   past_mask=past_mask)  # (T-1, Z)
            for t in (1, len(z) - 1):
                torch.testing.assert_close(m.predict_next(z[:t], lang="en"), along[t - 1],
                                           atol=1e-5, rtol=1e-5)


def test_the_stage_reads_the_words_the_pick_reads(episodes, monkeypatch):
    cfg = words_config(critic_words=4)
    cfg = dataclasses.replace(cfg, codec=dataclasses.replace(cfg.codec, langs=("en",)))
    torch.manual_seed(0)
    m = LTM(cfg).eval()
    ep = episodes[0]
    seen, inner = [], novelty.novelty

    def spy(readings, pasts, k, n):
        seen.extend(pasts)
        return inner(readings, pasts, k, n)

    monkeypatch.setattr(novelty, "novelty", spy)
    data = label_transitions(m, [ep], 100, seed=0)
    monkeypatch.setattr(novelty, "novelty", inner)
    T = len(ep.thoughts)
    assert data["where"][:, 1].tolist() == list(range(1, T))
    past, mask = prefixes(data["current"])  # row t - 1: thoughts 0..t-1, the current last
    with torch.no_grad():
        told = novelty.said(m.decoder, past, mask, m.lang_ids("en", T - 1))
        for t in range(1, T):
            texts, _ = m.decoder.read(data["hypotheses"][t - 1], m.lang_ids("en", 4))
            want = novelty.novelty([x.decode("utf-8", "replace") for x in texts],
                                   [told[t - 1]], 4, 4)[0]
            torch.testing.assert_close(data["words"][t - 1], want)
    assert [len(r) for r in told] == list(range(1, T))
    assert seen == told  # transition t - 1 -> t: units 0..t-1 as said, the current last


def test_a_critic_refuses_word_inputs_of_the_wrong_width():
    critic = Critic(8, 5, 12, words=3)
    args = (torch.randn(2, 8), torch.randn(2, 5), torch.randn(2, 4, 5), torch.randn(2, 4, 5))
    with pytest.raises(ValueError, match="reads 7 word inputs per reading .* got 5"):
        critic(*args, worded=torch.rand(2, 4, 5))
