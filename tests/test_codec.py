"""The thought codec: unit-norm thoughts for any bytes, padding invariance (with and
without hashed byte n-grams), the n-gram buckets, the decoder's cache path against
teacher forcing, and an overfit of a handful of sentences."""

import dataclasses

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltm.codec import (
    ThoughtDecoder,
    ThoughtEncoder,
    decoder_targets,
    meaning_part,
    ngram_ids,
    pack,
    to_sphere,
)
from ltm.config import BOS, EOS, PAD, CodecConfig
from ltm.losses import reconstruction_loss
from ltm.presets import preset

torch.set_num_threads(1)
CFG = preset("tiny").codec


@pytest.fixture(scope="module", params=[0, 4], ids=["bytes", "ngrams"])
def encoder(request):
    """The tiny encoder, plain and with hashed byte n-grams (n = 2..4, 64 buckets so
    that buckets collide)."""
    torch.manual_seed(0)
    cfg = dataclasses.replace(CFG, ngram_max=request.param, ngram_buckets=64)
    return ThoughtEncoder(cfg).eval()


tokens_st = st.lists(st.integers(0, 258), min_size=1, max_size=40)


@given(tokens_st, st.integers(2, 6), st.data())
@settings(max_examples=40)
def test_ngram_ids_see_only_the_last_n_tokens(tokens, n, data):
    """A position's bucket depends on the n tokens ending there and on nothing else:
    not on later tokens (right padding is free), not on tokens further back."""
    x = torch.tensor([tokens])
    ids = ngram_ids(x, n, 97)
    assert ids.shape == x.shape and int(ids.min()) >= 0 and int(ids.max()) < 97
    t = data.draw(st.integers(0, len(tokens) - 1))
    later = torch.tensor([tokens[: t + 1] + [BOS - 1] * 5])
    assert torch.equal(ngram_ids(later, n, 97)[0, : t + 1], ids[0, : t + 1])
    front = data.draw(st.lists(st.integers(0, 258), max_size=5))
    shifted = torch.tensor([front + tokens])
    tail = ngram_ids(shifted, n, 97)[0, len(front):]
    start = min(n - 1, len(tokens))  # from here on, the n tokens lie inside ``tokens``
    assert torch.equal(tail[start:], ids[0, start:])


def test_ngram_ids_tell_apart_ngrams_that_end_alike():
    a, b = torch.tensor([[1, 2, 3]]), torch.tensor([[9, 2, 3]])
    assert ngram_ids(a, 2, 1 << 20)[0, 2] == ngram_ids(b, 2, 1 << 20)[0, 2]
    assert ngram_ids(a, 3, 1 << 20)[0, 2] != ngram_ids(b, 3, 1 << 20)[0, 2]


@pytest.fixture(scope="module", params=[False, True], ids=["bytes", "ngrams"])
def decoder(request):
    """The tiny decoder, plain and with hashed n-gram inputs (n = 2..4, 64 buckets)."""
    torch.manual_seed(1)
    cfg = dataclasses.replace(CFG, ngram_max=4 * request.param, ngram_buckets=64,
                              decoder_ngrams=request.param)
    return ThoughtDecoder(cfg).eval()


@given(st.lists(st.binary(max_size=300) | st.text(max_size=80), min_size=1, max_size=4))
@settings(max_examples=25)
def test_thoughts_have_unit_norm_for_any_bytes(encoder, units):
    units = units + [b"", b"\xff\xfe\x80", "é" * 300]  # empty, invalid UTF-8, over max_bytes
    with torch.no_grad():
        z = encoder(*pack(units, CFG.max_bytes))
    assert len(encoder.ngrams) == max(encoder.cfg.ngram_max - 1, 0)
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(len(units)), rtol=0, atol=1e-5)
    m = z[:, : CFG.meaning_dim].norm(dim=-1)
    torch.testing.assert_close(m, torch.full_like(m, (1 - CFG.surface_norm**2) ** 0.5))
    assert torch.isfinite(z).all()


@given(st.binary(max_size=120), st.lists(st.binary(max_size=300), max_size=5), st.data())
@settings(max_examples=40)
def test_vector_same_alone_and_in_padded_batch(encoder, unit, others, data):
    at = data.draw(st.integers(0, len(others)))
    batch = others[:at] + [unit] + others[at:]
    with torch.no_grad():
        alone = encoder(*pack([unit], CFG.max_bytes))[0]
        inside = encoder(*pack(batch, CFG.max_bytes))[at]
    torch.testing.assert_close(alone, inside, rtol=0, atol=1e-5)


def test_truncation_to_max_bytes(encoder):
    long = b"a" * (CFG.max_bytes + 50)
    with torch.no_grad():
        a, b = encoder(*pack([long, long[: CFG.max_bytes]], CFG.max_bytes))
    torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_to_sphere_handles_zero_and_no_surface():
    z = to_sphere(torch.zeros(2, 10), 6, 0.3)
    assert torch.isfinite(z).all()
    w = to_sphere(torch.randn(3, 8), 8, 0.0)
    torch.testing.assert_close(w.norm(dim=-1), torch.ones(3))
    torch.testing.assert_close(meaning_part(w, 8), w)


def test_decoder_targets_place_eos():
    ids, lengths = pack([b"ab", b"", b"xyz"], 16)
    t = decoder_targets(ids, lengths)
    assert t.tolist() == [[97, 98, EOS, PAD], [EOS, PAD, PAD, PAD], [120, 121, 122, EOS]]


@given(st.lists(st.binary(min_size=1, max_size=30), min_size=1, max_size=4))
@settings(max_examples=15)
def test_decoder_logits_ignore_right_padding(decoder, units):
    ids, lengths = pack(units, CFG.max_bytes)
    z = to_sphere(torch.randn(len(units), CFG.dim), CFG.meaning_dim, CFG.surface_norm)
    with torch.no_grad():
        batch = decoder(z, ids)
        for i, u in enumerate(units):
            alone = decoder(z[i : i + 1], ids[i : i + 1, : len(u)])[0]
            torch.testing.assert_close(alone, batch[i, : len(u) + 1], rtol=0, atol=1e-5)


def test_greedy_generation_matches_teacher_forcing(decoder):
    """The cached generation loop (fast path) against one teacher-forced forward pass."""
    torch.manual_seed(3)
    z = to_sphere(torch.randn(4, CFG.dim), CFG.meaning_dim, CFG.surface_norm)
    lang = torch.tensor([CFG.lang_id("en"), CFG.lang_id(None), CFG.lang_id("ru"),
                         CFG.lang_id("en")])
    outs = decoder.generate(z, lang, max_bytes=12)
    for i, out in enumerate(outs):
        ids, _ = pack([out], CFG.max_bytes)
        with torch.no_grad():
            logits = decoder(z[i : i + 1], ids, lang[i : i + 1])[0]  # (L+1, V)
        logits = logits.masked_fill(~decoder.writable, float("-inf"))
        best = logits.argmax(-1).tolist()
        assert best[: len(out)] == list(out)
        assert len(out) == 12 or best[len(out)] == EOS


@pytest.fixture
def stopping(decoder):
    """The decoder, made to write EOS wherever the first feature of its last state is
    above 1 (about one step in six, at a different step for each thought), so that the
    rows of a batch finish at different times."""
    eos = torch.zeros(decoder.out.out_features)
    eos[EOS] = 50.0

    def hook(module, inputs, output):
        return output + (inputs[0][..., :1] > 1.0).float() * eos

    handle = decoder.out.register_forward_hook(hook)
    yield decoder
    handle.remove()


def test_rows_that_finish_early_leave_the_batch_without_changing_the_others(stopping):
    """The decoding loop drops finished rows; every row reads as it reads alone."""
    torch.manual_seed(5)
    z = to_sphere(torch.randn(8, CFG.dim), CFG.meaning_dim, CFG.surface_norm)
    units, nats = stopping.read(z, max_bytes=30)
    assert len({len(u) for u in units}) > 2 and min(len(u) for u in units) < 30
    for i in range(len(z)):
        alone, alone_nats = stopping.read(z[i: i + 1], max_bytes=30)
        assert alone == [units[i]]
        torch.testing.assert_close(alone_nats, nats[i: i + 1], rtol=0, atol=1e-5)


def test_nucleus_draws_of_a_row_do_not_depend_on_when_the_others_finish(stopping):
    torch.manual_seed(6)
    z = to_sphere(torch.randn(12, CFG.dim), CFG.meaning_dim, CFG.surface_norm)
    outs = [stopping.generate(torch.stack([z[0], other]), method="nucleus", max_bytes=30,
                              generator=torch.Generator().manual_seed(0)) for other in z[1:]]
    assert len({len(o[1]) for o in outs}) > 2  # the other row ended at different steps
    assert all(o[0] == outs[0][0] for o in outs)


def test_nucleus_with_tiny_top_p_is_greedy(decoder):
    z = to_sphere(torch.randn(3, CFG.dim), CFG.meaning_dim, CFG.surface_norm)
    g = torch.Generator().manual_seed(0)
    assert decoder.generate(z, max_bytes=10, method="nucleus", top_p=1e-6, generator=g) == \
        decoder.generate(z, max_bytes=10)


def test_unknown_language_raises():
    with pytest.raises(ValueError, match="xx"):
        CFG.lang_id("xx")


SENTENCES = ["Anna gave Boris the red book.", "The cat sat under the table.",
             "Кот спит на окне.", "Boris took the apple.", "It rains in the garden.",
             "The small dog ran home."]


def test_tiny_codec_overfits_a_handful_of_sentences():
    torch.manual_seed(0)
    cfg = CodecConfig()
    enc, dec = ThoughtEncoder(cfg), ThoughtDecoder(cfg)
    # The encoder at the decoder's rate collapses every thought onto one line within a
    # few steps (the decoder first wants a shared unigram shift, and Adam moves the small
    # initial weights coherently); a 10x lower encoder rate avoids it.
    opt = torch.optim.Adam([{"params": enc.parameters(), "lr": 3e-4},
                            {"params": dec.parameters()}], lr=3e-3)
    ids, lengths = pack(SENTENCES, cfg.max_bytes)
    targets = decoder_targets(ids, lengths)
    for _ in range(200):
        loss = reconstruction_loss(dec(enc(ids, lengths), ids), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
    enc.eval()
    dec.eval()
    with torch.no_grad():
        out = dec.generate(enc(ids, lengths))
    assert [o.decode() for o in out] == SENTENCES, f"loss {loss.item():.4f}"


def test_centering_keeps_thoughts_apart_in_training():
    """The collapse the Centering module prevents: a few Adam steps of reconstruction and
    alignment on world quotes put every thought on one line without it (mean pairwise
    cosine -> 1.0, experiments/LOG.md); with it the thoughts stay spread."""
    import random

    from ltm.codec import Centering, ThoughtDecoder, ThoughtEncoder, decoder_targets, pack
    from ltm.losses import alignment_loss, reconstruction_loss
    from ltm.presets import preset
    from ltm.pvq import world

    torch.manual_seed(0)
    rng = random.Random(0)
    cfg = preset("tiny").codec
    enc, dec = ThoughtEncoder(cfg), ThoughtDecoder(cfg)
    assert isinstance(enc.center, Centering)
    thoughts = [t for r in world.generate(30, 0) for t in r.thoughts]
    opt = torch.optim.AdamW([{"params": enc.parameters(), "lr": 3e-4},
                             {"params": dec.parameters(), "lr": 3e-3}])
    for _ in range(15):
        batch = rng.sample(thoughts, 16)
        texts = [t.quotes["en"][0] for t in batch] + [t.quotes["ru"][0] for t in batch]
        ids, lengths = pack(texts, cfg.max_bytes)
        z = enc(ids, lengths)
        lang = torch.tensor([cfg.lang_id("en")] * 16 + [cfg.lang_id("ru")] * 16)
        loss = reconstruction_loss(dec(z, ids, lang), decoder_targets(ids, lengths))
        loss = loss + 0.5 * alignment_loss(z, torch.arange(16).repeat(2), cfg.meaning_dim)
        opt.zero_grad()
        loss.backward()
        opt.step()
    enc.eval()
    with torch.no_grad():
        z = enc(*pack([t.quotes["en"][0] for t in thoughts[:40]], cfg.max_bytes))
    cos = z @ z.T
    off = cos[~torch.eye(len(z), dtype=torch.bool)]
    assert off.mean() < 0.9, f"thoughts collapsed: mean cosine {off.mean():.3f}"
