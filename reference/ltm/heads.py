"""The tension heads: from the context state ``c`` at the current thought ``z_t`` to the next.

DESIGN.md section 3 and the comparison of section 5.4. All heads share one interface:
``loss(context, current, target) -> scalar`` and ``sample(context, current, steps,
method, generator) -> next thought on the field``. Rows are flattened positions:
context (N, C), current and target (N, Z).

- ``flow`` (the main model): conditional flow matching (Lipman et al., 2023) on the
  straight path from the current thought to the next,

      x_s = (1 - s) z_t + s z_{t+1},      L = E_s || v(x_s, s | c, z_t) - (z_{t+1} - z_t) ||^2

  so the learned velocity field *is* the semantic tension that carries one thought to
  the next. Sampling integrates ``dx/ds = v`` from ``x_0 = z_t`` with Euler or Heun
  steps and maps the end back onto the field (:func:`ltm.codec.to_sphere`). With
  ``source_noise > 0`` the path starts at ``z_t`` plus noise, put back on the field: a
  flow from a point mass is a deterministic map (it can only learn the conditional
  mean), a flow from a small cloud around ``z_t`` can spread over the possible next
  thoughts.
- ``flow-noise``: the same from ``x_0 ~ N(0, I)``, as diffusion LCMs do.
- ``mse``: direct regression ``L = || f(c, z_t) - z_{t+1} ||^2`` (Base-LCM), which is
  known to predict the mean of the possible next thoughts.
- ``energy``: CALM's energy score (Shao et al., 2025), a strictly proper scoring rule
  over samples ``x_i = g(c, z_t, eps_i)``:

      L = 2/n sum_i ||x_i - y|| - 2/(n(n-1)) sum_{i < j} ||x_i - x_j||

- ``choice``: multiple-choice learning (Guzman-Rivera et al., 2012; the relaxed
  winner-takes-all of Rupprecht et al., 2017). The network says ``K`` hypotheses
  ``y_k = g(c, z_t, e_k)``, one learned code ``e_k`` each; only the nearest to the truth
  is trained (the others with weight ``RELAX``), and a selector learns which one wins:

      k* = argmin_k ||y_k - z_{t+1}||^2,   L = ||y_k* - z_{t+1}||^2 + CE(sel(c, z_t), k*)

  Each hypothesis becomes the mean of one mode of the next thoughts, not of all of
  them, so a pick is a thought the decoder can say, where a flow from a point mass
  and a regression give the mean over modes, a blend of several sentences.

All networks are the same residual SwiGLU MLP over ``[c; z_t; x; time features]``.
``sample`` keeps the graph (no ``no_grad``), so a training loss can go through it.

Shape legend: N rows · C context width · Z thought dim · F time features · W head width.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from ltm.codec import to_sphere
from ltm.config import CodecConfig, FieldConfig
from ltm.llama import RMSNorm, SwiGLU, init_weights

__all__ = ["VectorNet", "TensionHead", "FlowHead", "RegressionHead", "EnergyHead", "ChoiceHead",
           "integrate", "HEADS", "register_head", "build_head"]

N_TIME = 32


def time_features(s: Tensor) -> Tensor:
    """Sinusoidal features (N, F) of path times ``s`` (N, 1) in [0, 1]."""
    freqs = torch.exp(torch.linspace(0.0, math.log(1000.0), N_TIME // 2, device=s.device))
    angles = s * freqs[None, :]  # (N, F/2)
    return torch.cat([angles.sin(), angles.cos()], dim=-1)  # (N, F)


class VectorNet(nn.Module):
    """Residual SwiGLU MLP: ``[c; z_t; x; time]`` -> a vector of size Z."""

    def __init__(self, context: int, dim: int, width: int, layers: int) -> None:
        super().__init__()
        self.inp = nn.Linear(context + 2 * dim + N_TIME, width)
        self.norms = nn.ModuleList(RMSNorm(width) for _ in range(layers))
        self.mlps = nn.ModuleList(SwiGLU(width, 2 * width) for _ in range(layers))
        self.norm = RMSNorm(width)
        self.out = nn.Linear(width, dim)

    def forward(self, context: Tensor, current: Tensor, x: Tensor, s: Tensor) -> Tensor:
        h = self.inp(torch.cat([context, current, x, time_features(s)], dim=-1))  # (N, W)
        for norm, mlp in zip(self.norms, self.mlps, strict=True):
            h = h + mlp(norm(h))
        return self.out(self.norm(h))  # (N, Z)


def integrate(velocity: Callable[[Tensor, Tensor], Tensor], x0: Tensor, steps: int,
              method: str) -> Tensor:
    """Integrate ``dx/ds = velocity(x, s)`` from ``s = 0`` to 1 in ``steps`` equal steps
    of Euler or Heun (trapezoidal predictor-corrector). ``x0`` (N, Z) -> (N, Z)."""
    if method not in ("euler", "heun"):
        raise ValueError(f"method must be 'euler' or 'heun', got {method!r}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    x, h = x0, 1.0 / steps
    for i in range(steps):
        s = x.new_full((x.shape[0], 1), i * h)  # (N, 1)
        v = velocity(x, s)
        if method == "euler":
            x = x + h * v
        else:
            v_end = velocity(x + h * v, s + h)
            x = x + 0.5 * h * (v + v_end)
    return x


class TensionHead(nn.Module):
    """Base of the heads: the shared network and the map back onto the field."""

    def __init__(self, cfg: FieldConfig, codec: CodecConfig) -> None:
        super().__init__()
        self.cfg, self.codec = cfg, codec
        self.net = VectorNet(cfg.width, codec.dim, cfg.head_width, cfg.head_layers)
        init_weights(self, cfg.head_layers)

    def project(self, v: Tensor) -> Tensor:
        """Any vector (..., Z) -> a thought on the field."""
        return to_sphere(v, self.codec.meaning_dim, self.codec.surface_norm)

    def loss(self, context: Tensor, current: Tensor, target: Tensor,
             generator: torch.Generator | None = None) -> Tensor:
        """The training loss (a scalar) of moving ``current`` (N, Z) to ``target`` (N, Z)
        given ``context`` (N, C); it may draw noise from ``generator``."""
        raise NotImplementedError

    def sample(self, context: Tensor, current: Tensor, steps: int | None = None,
               method: str | None = None, generator: torch.Generator | None = None) -> Tensor:
        """A next thought (N, Z) on the field; ``steps`` and ``method`` are for heads that
        integrate a path (default: the config's)."""
        raise NotImplementedError

    def fit_prediction(self, context: Tensor, current: Tensor, target: Tensor,
                       generator: torch.Generator | None = None) -> Tensor:
        """The prediction (N, Z), graph kept, that training decodes into the true next
        unit (the byte loss ``w_next``): a one-step :meth:`sample` unless a head knows
        better (``choice`` gives the hypothesis nearest ``target``)."""
        return self.sample(context, current, steps=1, generator=generator)


def _take(rows: Tensor, index: Tensor) -> Tensor:
    """Entry ``index[n]`` of every row: (N, K, ...) and (N,) -> (N, ...)."""
    return rows[torch.arange(rows.shape[0], device=rows.device), index]


def _sq_dist(a: Tensor, b: Tensor) -> Tensor:
    """Mean over rows of the squared distance ``||a - b||^2``."""
    return (a - b).pow(2).sum(-1).mean()


class FlowHead(TensionHead):
    """Flow matching on the straight path from ``z_t`` (or from noise) to ``z_{t+1}``."""

    def __init__(self, cfg: FieldConfig, codec: CodecConfig, from_noise: bool = False) -> None:
        super().__init__(cfg, codec)
        self.from_noise = from_noise

    def source(self, current: Tensor, generator: torch.Generator | None) -> Tensor:
        """Start of the path: the current thought (plus noise of expected norm
        ``source_noise``, put back on the field, when that is set), or Gaussian noise
        for ``flow-noise``."""
        if self.from_noise:
            return torch.randn(current.shape, generator=generator, device=current.device)
        sigma = self.cfg.source_noise
        if sigma == 0.0:
            return current
        eps = torch.randn(current.shape, generator=generator, device=current.device)
        return self.project(current + eps * (sigma / current.shape[-1] ** 0.5))  # (N, Z)

    def velocity(self, context: Tensor, current: Tensor, x: Tensor, s: Tensor) -> Tensor:
        """The tension ``v(x, s | c, z_t)``: (N, Z)."""
        return self.net(context, current, x, s)

    def loss(self, context: Tensor, current: Tensor, target: Tensor,
             generator: torch.Generator | None = None) -> Tensor:
        x0 = self.source(current, generator)  # (N, Z)
        s = torch.rand((x0.shape[0], 1), generator=generator, device=x0.device)  # (N, 1)
        xs = (1 - s) * x0 + s * target  # (N, Z)
        return _sq_dist(self.velocity(context, current, xs, s), target - x0)

    def sample(self, context: Tensor, current: Tensor, steps: int | None = None,
               method: str | None = None, generator: torch.Generator | None = None) -> Tensor:
        x = integrate(lambda x, s: self.velocity(context, current, x, s),
                      self.source(current, generator), steps or self.cfg.sample_steps,
                      method or self.cfg.sample_method)
        return self.project(x)


class RegressionHead(TensionHead):
    """Direct regression of the next thought (Base-LCM's MSE)."""

    def predict(self, context: Tensor, current: Tensor) -> Tensor:
        zeros = torch.zeros_like(current[:, :1])  # (N, 1): no path time
        return self.net(context, current, torch.zeros_like(current), zeros)  # (N, Z)

    def loss(self, context: Tensor, current: Tensor, target: Tensor,
             generator: torch.Generator | None = None) -> Tensor:
        return _sq_dist(self.predict(context, current), target)

    def sample(self, context: Tensor, current: Tensor, steps: int | None = None,
               method: str | None = None, generator: torch.Generator | None = None) -> Tensor:
        return self.project(self.predict(context, current))


class EnergyHead(TensionHead):
    """A generator ``g(c, z_t, eps)`` trained with the energy score (CALM)."""

    def draw(self, context: Tensor, current: Tensor,
             generator: torch.Generator | None) -> Tensor:
        eps = torch.randn(current.shape, generator=generator, device=current.device)
        zeros = torch.zeros_like(current[:, :1])  # (N, 1)
        return self.net(context, current, eps, zeros)  # (N, Z)

    def loss(self, context: Tensor, current: Tensor, target: Tensor,
             generator: torch.Generator | None = None) -> Tensor:
        n = self.cfg.energy_samples
        N = context.shape[0]
        x = self.draw(context.repeat(n, 1), current.repeat(n, 1), generator)  # (n*N, Z)
        x = x.view(n, N, -1)  # (n, N, Z)
        fit = (x - target[None]).norm(dim=-1).mean(0)  # (N,)
        i, j = torch.triu_indices(n, n, offset=1, device=x.device)  # pairs i < j
        spread = (x[i] - x[j]).norm(dim=-1).mean(0)  # (N,), no zero-distance diagonal
        return (2 * fit - spread).mean()

    def sample(self, context: Tensor, current: Tensor, steps: int | None = None,
               method: str | None = None, generator: torch.Generator | None = None) -> Tensor:
        return self.project(self.draw(context, current, generator))


class ChoiceHead(TensionHead):
    """``K`` hypotheses of the next thought and a selector among them (multiple-choice
    learning): each hypothesis learns one mode of the next thoughts."""

    RELAX = 0.05
    """Weight the hypotheses that did not win share in the loss, so none is left
    untrained (the relaxed winner-takes-all)."""

    def __init__(self, cfg: FieldConfig, codec: CodecConfig) -> None:
        super().__init__(cfg, codec)
        K, Z = cfg.choices, codec.dim
        self.codes = nn.Parameter(torch.randn(K, Z))  # (K, Z): unit-variance, distinct
        self.select = nn.Sequential(nn.Linear(cfg.width + Z, cfg.head_width), nn.SiLU(),
                                    nn.Linear(cfg.head_width, K))
        init_weights(self.select, 1)

    def hypotheses(self, context: Tensor, current: Tensor) -> Tensor:
        """Every hypothesis on the field: (N, K, Z)."""
        N, K = context.shape[0], self.cfg.choices
        rows = lambda t: t[:, None].expand(N, K, t.shape[-1]).reshape(N * K, -1)  # noqa: E731
        codes = self.codes[None].expand(N, K, -1).reshape(N * K, -1)  # (N*K, Z)
        zeros = codes.new_zeros(N * K, 1)  # no path time
        y = self.net(rows(context), rows(current), codes, zeros)  # (N*K, Z)
        return self.project(y).view(N, K, -1)

    def logits(self, context: Tensor, current: Tensor) -> Tensor:
        """The selector's scores of the hypotheses: (N, K)."""
        return self.select(torch.cat([context, current], dim=-1))

    def mean(self, context: Tensor, current: Tensor) -> Tensor:
        """The hypotheses weighted by the selector's probabilities (N, Z), off the sphere:
        the head's estimate of the mean next thought ``E[z_{t+1}]``, since each
        probability estimates how often its hypothesis wins. Minus the current thought it
        is what a flow head's velocity at path time 0 estimates, the mean move."""
        probs = torch.softmax(self.logits(context, current).float(), dim=-1)  # (N, K)
        return (probs[..., None] * self.hypotheses(context, current).float()).sum(1)

    def _winner(self, hyps: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        d = (hyps - target[:, None]).pow(2).sum(-1)  # (N, K)
        return d, d.argmin(1)  # (N, K), (N,)

    def loss(self, context: Tensor, current: Tensor, target: Tensor,
             generator: torch.Generator | None = None) -> Tensor:
        d, win = self._winner(self.hypotheses(context, current), target)
        best = _take(d, win)  # (N,)
        rest = (d.sum(1) - best) / (d.shape[1] - 1)  # (N,)
        fit = (1 - self.RELAX) * best + self.RELAX * rest
        pick = nn.functional.cross_entropy(self.logits(context, current), win)
        return fit.mean() + pick

    def fit_prediction(self, context: Tensor, current: Tensor, target: Tensor,
                       generator: torch.Generator | None = None) -> Tensor:
        hyps = self.hypotheses(context, current)  # (N, K, Z)
        _, win = self._winner(hyps.detach(), target)
        return _take(hyps, win)  # (N, Z)

    def sample(self, context: Tensor, current: Tensor, steps: int | None = None,
               method: str | None = None, generator: torch.Generator | None = None) -> Tensor:
        hyps = self.hypotheses(context, current)  # (N, K, Z)
        logits = self.logits(context, current)  # (N, K)
        temperature = self.cfg.choice_temperature
        if temperature == 0.0:
            pick = logits.argmax(1)
        else:
            probs = torch.softmax(logits.float() / temperature, dim=-1)
            pick = torch.multinomial(probs, 1, generator=generator)[:, 0]
        return _take(hyps, pick)  # (N, Z)


HEADS: dict[str, Callable[[FieldConfig, CodecConfig], TensionHead]] = {
    "flow": FlowHead,
    "flow-noise": lambda cfg, codec: FlowHead(cfg, codec, from_noise=True),
    "mse": RegressionHead,
    "energy": EnergyHead,
    "choice": ChoiceHead,
}
"""Every head by the name ``FieldConfig.head`` gives it; :func:`register_head` adds one."""


def register_head(name: str) -> Callable[[type[TensionHead]], type[TensionHead]]:
    """Class decorator: make a :class:`TensionHead` subclass the head called ``name``
    (a new name only), so that ``FieldConfig(head=name)`` builds it. The docs' tutorial
    "Fork it: add a new tension head" shows one end to end."""
    def add(cls: type[TensionHead]) -> type[TensionHead]:
        if name in HEADS:
            raise ValueError(f"a tension head called {name!r} exists already")
        if not (isinstance(cls, type) and issubclass(cls, TensionHead)):
            raise TypeError(f"head {name!r}: {cls!r} is not a TensionHead subclass")
        HEADS[name] = cls
        return cls
    return add


def build_head(cfg: FieldConfig, codec: CodecConfig) -> TensionHead:
    """The head named by ``cfg.head`` (one of :data:`HEADS`)."""
    return HEADS[cfg.head](cfg, codec)
