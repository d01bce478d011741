"""The shared LLaMA blocks: norm, rotary, causality, masks, and the cache fast path."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltm.llama import RMSNorm, Rotary, Stack, apply_rotary

torch.set_num_threads(1)


def _stack(seed=0, layers=2):
    torch.manual_seed(seed)
    return Stack(32, 4, layers, 64).eval()


def test_rmsnorm_gives_unit_rms():
    x = torch.randn(3, 5, 16) * 7
    y = RMSNorm(16)(x)
    torch.testing.assert_close(y.pow(2).mean(-1), torch.ones(3, 5), rtol=1e-4, atol=1e-4)


@given(st.integers(0, 50), st.integers(0, 50), st.integers(1, 20))
@settings(max_examples=30)
def test_rotary_scores_depend_on_position_difference_only(i, j, shift):
    rot = Rotary(8)
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(1, 1, 1, 8, generator=g), torch.randn(1, 1, 1, 8, generator=g)

    def score(a, b):
        ca, sa = rot(torch.tensor([a]))
        cb, sb = rot(torch.tensor([b]))
        return (apply_rotary(q, ca, sa) * apply_rotary(k, cb, sb)).sum()

    torch.testing.assert_close(score(i, j), score(i + shift, j + shift), rtol=1e-4, atol=1e-4)


@given(st.integers(1, 12), st.data())
@settings(max_examples=25)
def test_causal_stack_never_looks_ahead(T, data):
    t = data.draw(st.integers(0, T - 1))
    stack = _stack()
    x = torch.randn(2, T, 32)
    y = x.clone()
    y[:, t + 1 :] = torch.randn_like(y[:, t + 1 :])
    with torch.no_grad():
        a, b = stack(x, causal=True), stack(y, causal=True)
    torch.testing.assert_close(a[:, : t + 1], b[:, : t + 1], rtol=0, atol=1e-5)


@given(st.integers(1, 10), st.integers(0, 6))
@settings(max_examples=25)
def test_padding_keys_are_invisible(n, pad):
    stack = _stack()
    x = torch.randn(1, n, 32)
    padded = torch.cat([x, torch.randn(1, pad, 32) * 5], dim=1)
    mask = (torch.arange(n + pad) < n)[None, None, None, :]
    with torch.no_grad():
        alone = stack(x, causal=False)
        inside = stack(padded, causal=False, mask=mask)
    torch.testing.assert_close(alone, inside[:, :n], rtol=0, atol=1e-5)


@given(st.integers(1, 6), st.integers(1, 8))
@settings(max_examples=20)
def test_cache_matches_full_forward(prefill, steps):
    """The incremental path (one position at a time after a prefill) against the plain
    forward over the whole sequence."""
    stack = _stack(layers=3)
    x = torch.randn(2, prefill + steps, 32)
    with torch.no_grad():
        full = stack(x, causal=True)
        caches = stack.new_caches()
        parts = [stack(x[:, :prefill], causal=True, caches=caches)]
        for i in range(prefill, prefill + steps):
            parts.append(stack(x[:, i : i + 1], causal=True, caches=caches))
    torch.testing.assert_close(torch.cat(parts, dim=1), full, rtol=0, atol=1e-5)


def test_cache_with_multi_position_chunks():
    stack = _stack()
    x = torch.randn(2, 9, 32)
    with torch.no_grad():
        full = stack(x, causal=True)
        caches = stack.new_caches()
        parts = [stack(x[:, a:b], causal=True, caches=caches) for a, b in [(0, 3), (3, 7), (7, 9)]]
    torch.testing.assert_close(torch.cat(parts, dim=1), full, rtol=0, atol=1e-5)


def test_cache_grows_past_its_first_buffer():
    """Past the first buffer (64 positions) the cache doubles and keeps the past: 50
    positions at once, then 40 one at a time, then 60 at once, against the full forward."""
    stack = _stack()
    x = torch.randn(2, 150, 32)
    with torch.no_grad():
        full = stack(x, causal=True)
        caches = stack.new_caches()
        parts = [stack(x[:, :50], causal=True, caches=caches)]
        parts += [stack(x[:, i: i + 1], causal=True, caches=caches) for i in range(50, 90)]
        parts.append(stack(x[:, 90:], causal=True, caches=caches))
    assert caches[0].length == 150
    torch.testing.assert_close(torch.cat(parts, dim=1), full, rtol=0, atol=1e-5)
