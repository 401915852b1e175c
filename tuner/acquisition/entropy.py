"""Max-value entropy search (``acq_func="MES"``; Wang and Jegelka, arXiv 1703.01968).

MES values a point by the information its evaluation gives about the best value ``f*`` of the
objective. The distribution of ``f*`` is drawn once per ask: ``num_mv_samples`` values from the
Gumbel approximation over a Sobol set of candidate points and the evaluated ones (BoTorch's
``qMaxValueEntropy`` draws them). For a single point with nothing pending the information gain has
a closed form in the posterior mean ``mu`` and standard deviation ``sigma`` at ``x``: with
``g = (f* - mu) / sigma`` (maximisation convention, the model fits the negated objective),

    MES(x) = mean over the samples f* of  g phi(g) / (2 Phi(g)) - log Phi(g)

the entropy of ``f(x)`` less that of ``f(x)`` truncated at each ``f*``. :class:`FastMES`
computes it from the model's cached Cholesky factor with a closed-form gradient, as
:class:`~tuner.acquisition.functions.FastLogEI` does for log-EI: an ask costs about what a log-EI
ask costs. Batches, pending points and known noise use BoTorch's ``qMaxValueEntropy`` (the
information about ``f*`` from noisy observations, estimated by Monte Carlo, pending points as
fantasies).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from botorch.acquisition import AcquisitionFunction
from botorch.acquisition.max_value_entropy_search import qMaxValueEntropy
from botorch.models.model import Model
from botorch.utils.transforms import t_batch_mode_transform

from tuner.surrogate.cached import CachedGP

__all__ = ["FastMES", "candidate_set", "mes_value"]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def mes_value(mean: torch.Tensor, var: torch.Tensor, max_values: torch.Tensor) -> torch.Tensor:
    """The closed-form MES (module doc) at points of posterior ``mean`` and ``var`` (any shape),
    averaged over the samples ``max_values`` (1-D); the result has the shape of ``mean``."""
    sigma = var.clamp_min(1e-12).sqrt()
    g = (max_values - mean.unsqueeze(-1)) / sigma.unsqueeze(-1)
    log_cdf = torch.special.log_ndtr(g)
    ratio = torch.exp(-0.5 * g.pow(2) - _LOG_SQRT_2PI - log_cdf)  # phi(g) / Phi(g)
    return (0.5 * g * ratio - log_cdf).mean(-1)


class _MESValue(torch.autograd.Function):
    """:func:`mes_value` of a :class:`CachedGP` posterior as one autograd node: the derivatives in
    the mean and variance by autograd on those two tensors alone, chained to the inputs in closed
    form (:meth:`CachedGP.input_gradient`)."""

    @staticmethod
    def forward(ctx: Any, X: torch.Tensor, gp: CachedGP, max_values: torch.Tensor) -> torch.Tensor:
        need = ctx.needs_input_grad[0]
        with torch.no_grad():
            mean, var, Xs, w, _ = gp.mean_variance(X, gradient=need)
        m = mean.detach().requires_grad_(need)
        v = var.detach().requires_grad_(need)
        with torch.enable_grad():
            val = mes_value(m, v, max_values)
            if need:
                d_mean, d_var = torch.autograd.grad(val.sum(), [m, v])
                ctx.gp = gp
                ctx.save_for_backward(Xs, w, d_mean, d_var)
        return val.detach().squeeze(-1)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, None, None]:
        Xs, w, d_mean, d_var = ctx.saved_tensors
        g = grad.unsqueeze(-1)
        return ctx.gp.input_gradient(Xs, w, g * d_mean, g * d_var), None, None


class FastMES(AcquisitionFunction):
    """Closed-form MES of one point (module doc).

    Args:
        model: The fitted GP (it draws the samples of ``f*``).
        gp: Its :class:`CachedGP` (values and gradients of the search).
        candidates: ``n x d`` points over which ``f*`` is drawn (the evaluated ones are added).
        num_mv_samples: Samples of ``f*``.
    """

    def __init__(self, model: Model, gp: CachedGP, candidates: torch.Tensor,
                 num_mv_samples: int = 10) -> None:
        super().__init__(model)
        draws = qMaxValueEntropy(model, candidates, num_mv_samples=num_mv_samples)
        self.gp = gp
        self.max_values = draws.posterior_max_values.detach().reshape(-1)

    @t_batch_mode_transform(expected_q=1)  # type: ignore[arg-type]  # typed for the base class
    def forward(self, X: Any) -> Any:
        return _MESValue.apply(X, self.gp, self.max_values)


def candidate_set(X_baseline: torch.Tensor, n: int, grid: dict[int, list[float]] | None) -> torch.Tensor:
    """``n`` scrambled Sobol points of the unit cube (seeded from torch's generator, so under the
    ask's seed), each integer and categorical coordinate moved to its nearest allowed value of
    ``grid``; ``X_baseline`` gives the dimension, dtype and device."""
    d = X_baseline.shape[-1]
    sobol = torch.quasirandom.SobolEngine(d, scramble=True, seed=int(torch.randint(0, 2**31 - 1, ())))
    cand = sobol.draw(n).to(X_baseline)
    for i, values in (grid or {}).items():
        allowed = torch.as_tensor(values).to(cand)
        cand[:, i] = allowed[(cand[:, i, None] - allowed).abs().argmin(-1)]
    return cand
