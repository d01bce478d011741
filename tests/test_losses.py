"""The training losses: masks respected, gradients where they should be."""

import pytest
import torch
import torch.nn.functional as F

from ltm.codec import ThoughtDecoder, decoder_targets, pack, to_sphere
from ltm.config import PAD, FieldConfig
from ltm.heads import build_head
from ltm.losses import (
    alignment_loss,
    drop_bytes,
    head_loss,
    next_pairs,
    next_unit_loss,
    noise_thoughts,
    noised_decoding_loss,
    reconstruction_loss,
)
from ltm.presets import preset

torch.set_num_threads(1)
CODEC = preset("tiny").codec
M, Z = CODEC.meaning_dim, CODEC.dim


def sphere(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return to_sphere(torch.randn(*shape, Z, generator=g), M, CODEC.surface_norm)


def test_reconstruction_loss_ignores_padding():
    ids, lengths = pack([b"abc", b"x"], 16)
    targets = decoder_targets(ids, lengths)
    logits = torch.randn(2, 4, CODEC.vocab)
    manual = torch.cat([F.cross_entropy(logits[0], targets[0], reduction="none"),
                        F.cross_entropy(logits[1, :2], targets[1, :2], reduction="none")])
    torch.testing.assert_close(reconstruction_loss(logits, targets), manual.mean())


def test_drop_bytes_hides_bytes_as_pad_only_when_asked():
    """``p == 0`` gives the input itself and draws nothing; otherwise about ``p`` of the
    bytes become PAD, nothing else changes, and one seed gives one mask."""
    ids, _ = pack([b"Anna is in the garden.", b"Ivan left.", b"It rains."] * 32, 32)
    g = torch.Generator().manual_seed(0)
    assert drop_bytes(ids, 0.0, g) is ids
    assert torch.equal(g.get_state(), torch.Generator().manual_seed(0).get_state())
    out = drop_bytes(ids, 0.25, torch.Generator().manual_seed(1))
    hidden = out != ids
    assert (out[hidden] == PAD).all()
    real = ids != PAD
    assert (out[~real] == PAD).all() and (~real).any()  # padding stays padding
    assert 0.2 < hidden[real].float().mean().item() < 0.3
    assert torch.equal(out, drop_bytes(ids, 0.25, torch.Generator().manual_seed(1)))
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\), got 1.0"):
        drop_bytes(ids, 1.0)


def test_alignment_prefers_aligned_quotes():
    base = sphere(4, seed=0)
    aligned = torch.cat([base, base])
    scrambled = torch.cat([base, sphere(4, seed=1)])
    groups = torch.arange(4).repeat(2)
    assert alignment_loss(aligned, groups, M) < alignment_loss(scrambled, groups, M)
    lonely = sphere(3, seed=2).requires_grad_()
    loss = alignment_loss(lonely, torch.arange(3), M)
    assert loss.item() == 0.0
    loss.backward()


def test_alignment_ignores_the_surface_part():
    z = sphere(4, seed=0)
    w = z.clone()
    w[:, M:] = -w[:, M:]
    groups = torch.arange(4).repeat(2)
    same = alignment_loss(torch.cat([z, z]), groups, M)
    torch.testing.assert_close(alignment_loss(torch.cat([z, w]), groups, M), same)


def test_noise_stays_on_the_field_and_decoding_loss_runs():
    z = sphere(3)
    noisy = noise_thoughts(z, 0.5, M, CODEC.surface_norm, torch.Generator().manual_seed(5))
    torch.testing.assert_close(noisy.norm(dim=-1), torch.ones(3), rtol=0, atol=1e-5)
    assert not torch.allclose(noisy, z)
    dec = ThoughtDecoder(CODEC)
    ids, lengths = pack(["ab", "cde", ""], 16)
    loss = noised_decoding_loss(dec, z, ids, lengths, None, 0.3)
    assert loss.dim() == 0 and torch.isfinite(loss)


def test_next_pairs_and_head_loss_use_only_real_pairs():
    ctx, th = torch.randn(2, 4, 8), sphere(2, 4)
    mask = torch.tensor([[True, True, True, False], [True, True, False, False]])
    c, cur, nxt = next_pairs(ctx, th, mask)
    assert c.shape == (3, 8)
    torch.testing.assert_close(nxt[2], th[1, 1])
    torch.testing.assert_close(cur[2], th[1, 0])
    head = build_head(FieldConfig(width=8, head="mse", head_width=16, head_layers=1), CODEC)
    torch.testing.assert_close(head_loss(head, ctx, th, mask), head.loss(c, cur, nxt))


def test_next_unit_loss_reaches_the_prediction():
    dec = ThoughtDecoder(CODEC).requires_grad_(False)
    pred = sphere(2).requires_grad_()
    ids, lengths = pack(["next one.", "x"], 32)
    next_unit_loss(dec, pred, ids, lengths).backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0


def test_one_training_step_reaches_every_parameter():
    """All the loss terms together, as lit.py will sum them, give every parameter of the
    tiny LTM a finite gradient (no dead module)."""
    from ltm.model import LTM

    torch.manual_seed(0)
    model = LTM(preset("tiny"))
    episodes = [["Anna came. ", "She sat. ", "Boris left."], ["Кот спит. ", "Dog ran."]]
    flat = [u for ep in episodes for u in ep]
    ids, lengths = pack(flat, CODEC.max_bytes)
    z = model.encoder(ids, lengths)  # (U, Z)
    lang = torch.full((len(flat),), CODEC.lang_id("en"))
    loss = reconstruction_loss(model.decoder(z, ids, lang), decoder_targets(ids, lengths))
    loss = loss + alignment_loss(z, torch.tensor([0, 1, 2, 0, 3]), M)
    loss = loss + noised_decoding_loss(model.decoder, z, ids, lengths, lang, 0.2)
    thoughts = torch.zeros(2, 3, Z)
    thoughts[0], thoughts[1, :2] = z[:3], z[3:]
    mask = torch.tensor([[True, True, True], [True, True, False]])
    context, _ = model.core(thoughts, mask)
    loss = loss + head_loss(model.head, context, thoughts, mask)
    c, cur, _ = next_pairs(context, thoughts, mask)
    pred = model.head.sample(c, cur, steps=1)
    nxt_ids, nxt_len = pack([flat[1], flat[2], flat[4]], CODEC.max_bytes)
    loss = loss + next_unit_loss(model.decoder, pred, nxt_ids, nxt_len)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
