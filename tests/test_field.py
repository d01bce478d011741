"""The field core and scene memory: causality, padding, batch-order invariance."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltm.codec import to_sphere
from ltm.field import FieldCore
from ltm.memory import SceneMemory
from ltm.presets import preset

torch.set_num_threads(1)
CFG = preset("tiny")
Z = CFG.codec.dim


def thoughts(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return to_sphere(torch.randn(*shape, Z, generator=g), CFG.codec.meaning_dim,
                     CFG.codec.surface_norm)


@pytest.fixture(scope="module")
def core():
    torch.manual_seed(0)
    return FieldCore(CFG.field, CFG.codec).eval()


@given(st.integers(1, 10), st.data())
@settings(max_examples=30)
def test_core_is_causal(core, T, data):
    """Changing thoughts after position t never changes the context at or before t."""
    t = data.draw(st.integers(0, T - 1))
    x = thoughts(2, T, seed=data.draw(st.integers(0, 1000)))
    y = x.clone()
    y[:, t + 1 :] = thoughts(2, T - t - 1, seed=7)
    with torch.no_grad():
        a, _ = core(x)
        b, _ = core(y)
    torch.testing.assert_close(a[:, : t + 1], b[:, : t + 1], rtol=0, atol=1e-5)


@given(st.lists(st.integers(1, 8), min_size=1, max_size=4))
@settings(max_examples=20)
def test_padded_episodes_match_alone(core, lengths):
    T = max(lengths)
    x = thoughts(len(lengths), T, seed=sum(lengths))
    mask = torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]  # (B, T)
    with torch.no_grad():
        ctx, slots = core(x, mask)
        for i, n in enumerate(lengths):
            c1, s1 = core(x[i : i + 1, :n])
            torch.testing.assert_close(c1[0], ctx[i, :n], rtol=0, atol=1e-5)
            torch.testing.assert_close(s1[0], slots[i], rtol=0, atol=1e-5)


@given(st.permutations(range(5)))
@settings(max_examples=15)
def test_memory_update_does_not_depend_on_batch_order(perm):
    torch.manual_seed(0)
    mem = SceneMemory(32, 4, 4)
    x = torch.randn(5, 6, 32)
    keep = torch.rand(5, 6) > 0.3
    slots = torch.tanh(torch.randn(5, 4, 32))
    perm = torch.tensor(perm)
    with torch.no_grad():
        a = mem.scan(x, keep, slots)
        b = mem.scan(x[perm], keep[perm], slots[perm])
    torch.testing.assert_close(a[perm], b, rtol=0, atol=1e-6)


def test_memory_skips_padded_writes_and_stays_bounded():
    torch.manual_seed(0)
    mem = SceneMemory(16, 3, 2)
    slots = mem.initial(2)
    new = mem.write(slots, torch.randn(2, 16) * 100, keep=torch.tensor([True, False]))
    torch.testing.assert_close(new[1], slots[1])
    assert not torch.allclose(new[0], slots[0])
    assert new.abs().max() <= 1.0


def test_slots_carry_over_between_calls(core):
    x = thoughts(1, 4)
    with torch.no_grad():
        _, s1 = core(x[:, :2])
        fresh, _ = core(x[:, 2:])
        carried, _ = core(x[:, 2:], slots=s1)
    assert not torch.allclose(fresh, carried)


def test_empty_episode(core):
    ctx, slots = core(thoughts(2, 0))
    assert ctx.shape == (2, 0, CFG.field.width)
    assert slots.shape == (2, CFG.field.memory_slots, CFG.field.width)
