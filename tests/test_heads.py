"""The tension heads: the flow follows the straight path, samples lie on the field."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltm.codec import to_sphere
from ltm.config import FieldConfig
from ltm.heads import ChoiceHead, FlowHead, build_head, integrate
from ltm.presets import preset

torch.set_num_threads(1)
CODEC = preset("tiny").codec
Z = CODEC.dim
KINDS = ["flow", "flow-noise", "mse", "energy", "choice"]


def points(n, seed):
    g = torch.Generator().manual_seed(seed)
    return to_sphere(torch.randn(n, Z, generator=g), CODEC.meaning_dim, CODEC.surface_norm)


@given(st.integers(1, 20), st.sampled_from(["euler", "heun"]), st.integers(0, 100))
@settings(max_examples=30)
def test_oracle_velocity_lands_on_target(steps, method, seed):
    """On the straight path the true velocity is the constant x1 - x0, so any number of
    Euler or Heun steps lands exactly on x1."""
    x0, x1 = points(4, seed), points(4, seed + 1)
    end = integrate(lambda x, s: x1 - x0, x0, steps, method)
    torch.testing.assert_close(end, x1, rtol=0, atol=1e-5)


def test_flow_head_with_oracle_velocity_samples_the_target():
    head = FlowHead(FieldConfig(head="flow"), CODEC)
    cur, nxt = points(3, 0), points(3, 1)
    head.velocity = lambda c, z, x, s: nxt - cur
    out = head.sample(torch.zeros(3, head.cfg.width), cur, steps=3, method="heun")
    torch.testing.assert_close(out, nxt, rtol=0, atol=1e-5)


def test_flow_loss_is_zero_for_the_true_velocity():
    head = FlowHead(FieldConfig(head="flow"), CODEC)
    cur, nxt = points(5, 0), points(5, 1)
    head.velocity = lambda c, z, x, s: nxt - z
    assert head.loss(torch.zeros(5, head.cfg.width), cur, nxt).item() < 1e-10


@pytest.mark.parametrize("kind", KINDS)
def test_heads_sample_on_the_field_and_learn(kind):
    torch.manual_seed(0)
    cfg = FieldConfig(width=16, head=kind, head_width=32, head_layers=1)
    head = build_head(cfg, CODEC)
    ctx, cur, nxt = torch.randn(8, 16), points(8, 0), points(8, 1)
    g = torch.Generator().manual_seed(0)
    out = head.sample(ctx, cur, generator=g)
    assert out.shape == (8, Z)
    torch.testing.assert_close(out.norm(dim=-1), torch.ones(8), rtol=0, atol=1e-5)
    opt = torch.optim.Adam(head.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        loss = head.loss(ctx, cur, nxt, torch.Generator().manual_seed(1))
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first


def test_sample_keeps_the_graph():
    cfg = FieldConfig(width=16, head_width=32, head_layers=1)
    head = build_head(cfg, CODEC)
    ctx = torch.randn(2, 16, requires_grad=True)
    head.sample(ctx, points(2, 0), steps=2).sum().backward()
    assert ctx.grad is not None


def test_integrate_rejects_bad_arguments():
    with pytest.raises(ValueError, match="rk4"):
        integrate(lambda x, s: x, torch.zeros(1, 2), 2, "rk4")
    with pytest.raises(ValueError, match="steps"):
        integrate(lambda x, s: x, torch.zeros(1, 2), 0, "euler")


def test_flow_source_noise_spreads_the_start_on_the_field():
    """``source_noise`` 0 starts at the thought itself; > 0 starts at a seeded point of
    the field near it, so the flow is no longer a deterministic map of the context."""
    cur = points(64, 0)
    plain = FlowHead(FieldConfig(head="flow"), CODEC)
    assert plain.source(cur, None) is cur
    noisy = FlowHead(FieldConfig(head="flow", source_noise=0.3), CODEC)
    a = noisy.source(cur, torch.Generator().manual_seed(1))
    b = noisy.source(cur, torch.Generator().manual_seed(1))
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a.norm(dim=-1), torch.ones(64))
    dist = (a - cur).norm(dim=-1)
    assert 0.05 < dist.mean().item() < 0.5
    c = torch.zeros(64, noisy.cfg.width)
    s1 = noisy.sample(c, cur, steps=2, generator=torch.Generator().manual_seed(1))
    s2 = noisy.sample(c, cur, steps=2, generator=torch.Generator().manual_seed(2))
    assert not torch.allclose(s1, s2)
    with pytest.raises(ValueError, match="source_noise"):
        FieldConfig(source_noise=-0.1)


def test_register_head_adds_a_head_the_config_can_name(monkeypatch):
    """The fork tutorial's path: a TensionHead subclass registered by a new name is
    built by FieldConfig(head=name); a taken name and a non-head are refused."""
    from ltm import heads

    monkeypatch.setattr(heads, "HEADS", dict(heads.HEADS))  # leave the real registry alone

    @heads.register_head("zero-move")
    class Stay(heads.TensionHead):
        def loss(self, context, current, target, generator=None):
            return ((current - target) ** 2).sum(-1).mean() + 0 * self.net.out.weight.sum()

        def sample(self, context, current, steps=None, method=None, generator=None):
            return self.project(current)

    cfg = FieldConfig(head="zero-move")
    head = build_head(cfg, CODEC)
    assert isinstance(head, Stay)
    cur = points(3, 0)
    torch.testing.assert_close(head.sample(torch.zeros(3, cfg.width), cur), cur)
    with pytest.raises(ValueError, match="exists already"):
        heads.register_head("flow")(Stay)
    with pytest.raises(TypeError, match="not a TensionHead"):
        heads.register_head("other")(int)
    with pytest.raises(ValueError, match="'zero-move'"):  # the message lists it
        FieldConfig(head="nope")


def _train(head, ctx, cur, nxt, steps, lr=1e-2):
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    for i in range(steps):
        loss = head.loss(ctx, cur, nxt, torch.Generator().manual_seed(i))
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_choice_head_learns_both_modes_where_regression_learns_their_mean():
    """One context, two possible next thoughts A and B, half the rows each: the
    regression lands between them (nearer neither), the choice head's pick on one of
    them, and its selector splits its belief between the two."""
    torch.manual_seed(0)
    a, b = points(2, 3)
    n = 32
    ctx, cur = torch.zeros(n, 16), points(1, 4).expand(n, Z)
    nxt = torch.stack([a, b] * (n // 2))
    got = {}
    for kind in ("mse", "choice"):
        head = build_head(FieldConfig(width=16, head=kind, head_width=32, head_layers=1,
                                      choices=4), CODEC)
        _train(head, ctx, cur, nxt, 300)
        with torch.no_grad():
            pick = head.sample(ctx[:1], cur[:1])[0]
        got[kind] = min((pick - a).norm().item(), (pick - b).norm().item())
        if kind == "choice":
            with torch.no_grad():
                hyps = head.hypotheses(ctx[:1], cur[:1])[0]  # (K, Z)
                p = torch.softmax(head.logits(ctx[:1], cur[:1])[0], -1)
            near = [(hyps - t).norm(dim=-1).argmin().item() for t in (a, b)]
            assert near[0] != near[1]  # two hypotheses, one per mode
            assert 0.3 < p[near[0]].item() < 0.7 and 0.3 < p[near[1]].item() < 0.7
            with torch.no_grad():  # its mean, as regression's draw, lies between the modes
                mean = head.mean(ctx[:1], cur[:1])[0]
            assert (mean - (a + b) / 2).norm() < 0.2 * (a - b).norm()
    assert got["choice"] < 0.1, got
    assert got["mse"] > 0.5 * (a - b).norm().item(), got


def test_choice_fit_prediction_is_the_nearest_hypothesis_with_its_graph():
    torch.manual_seed(0)
    head = ChoiceHead(FieldConfig(width=16, head="choice", head_width=32, head_layers=1,
                                  choices=5), CODEC)
    ctx, cur, nxt = torch.randn(6, 16, requires_grad=True), points(6, 0), points(6, 1)
    pred = head.fit_prediction(ctx, cur, nxt)
    hyps = head.hypotheses(ctx, cur).detach()
    nearest = hyps[torch.arange(6), (hyps - nxt[:, None]).norm(dim=-1).argmin(1)]
    torch.testing.assert_close(pred.detach(), nearest, rtol=0, atol=0)
    pred.sum().backward()
    assert ctx.grad is not None and head.codes.grad is not None


def test_choice_temperature_draws_reproducibly_and_zero_picks_the_argmax():
    torch.manual_seed(0)
    cfg = FieldConfig(width=16, head="choice", head_width=32, head_layers=1, choices=8,
                      choice_temperature=5.0)
    head = ChoiceHead(cfg, CODEC)
    ctx, cur = torch.randn(64, 16), points(64, 0)
    draw = lambda seed: head.sample(ctx, cur, generator=torch.Generator().manual_seed(seed))  # noqa: E731
    torch.testing.assert_close(draw(1), draw(1), rtol=0, atol=0)
    assert not torch.equal(draw(1), draw(2))
    head.cfg = FieldConfig(width=16, head="choice", head_width=32, head_layers=1, choices=8)
    hyps, best = head.hypotheses(ctx, cur), head.logits(ctx, cur).argmax(1)
    torch.testing.assert_close(head.sample(ctx, cur), hyps[torch.arange(64), best])


def test_choice_mean_weights_the_hypotheses_by_the_selector():
    torch.manual_seed(0)
    head = ChoiceHead(FieldConfig(width=16, head="choice", head_width=32, head_layers=1,
                                  choices=4), CODEC)
    ctx, cur = torch.randn(3, 16), points(3, 0)
    with torch.no_grad():
        head.select[-1].weight.zero_()
        head.select[-1].bias.copy_(torch.tensor([0.0, 60.0, 0.0, 0.0]))  # all on k=1
        torch.testing.assert_close(head.mean(ctx, cur), head.hypotheses(ctx, cur)[:, 1])
        head.select[-1].bias.zero_()  # uniform: the plain average
        torch.testing.assert_close(head.mean(ctx, cur), head.hypotheses(ctx, cur).mean(1))


@pytest.mark.parametrize("bad", [{"choices": 1}, {"choices": 0}, {"choice_temperature": -1.0},
                                 {"choice_pick": "best"}, {"choice_roundtrip": -0.1}])
def test_choice_config_is_validated(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        FieldConfig(head="choice", **bad)
