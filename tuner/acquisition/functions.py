"""Acquisition functions (their maximisation is :mod:`tuner.acquisition.optimize`).

* ``LogEI``: analytic log expected improvement (Ament et al., arXiv 2310.20708) for a single
  point, with the incumbent taken as the best posterior mean at the observed points (robust to
  noise, equal to the best observation for an interpolating model).
* ``qLogNEI``: Monte Carlo noisy log expected improvement, for batches, for points still being
  evaluated (pending points enter as fantasies) and for objectives with known noise.
* ``auto`` (:data:`SCHEDULED`, ``gp_minimize``'s default): LogEI, and ``qLogNEI`` from half of
  the budget on (:func:`scheduled_acquisition`).
* ``LCB`` / ``PI`` for scikit-optimize users who ask for them by name.
* ``MES``: max-value entropy search (Wang and Jegelka, arXiv 1703.01968; BoTorch's
  ``qMaxValueEntropy``): the information a point gives about the value of the minimum, the
  minimum's distribution drawn (Gumbel approximation) over a Sobol set of candidate points and the
  evaluated ones; batches and pending points enter as fantasies, one point at a time. BoTorch
  estimates the information from noisy observations by Monte Carlo over the observation; that
  estimate is lower than the exact value where the posterior is wide (0.011 against 0.020 by
  quadrature at one point of a Branin run), which makes it more exploitative than the exact
  criterion, and it searched better: the exact closed form of a single point, tried and not kept,
  ended 16x further from Branin's optimum and 12x on noisy Hartmann6 (BENCHMARKS.md section 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from botorch.acquisition import (
    AcquisitionFunction,
    LogExpectedImprovement,
    UpperConfidenceBound,
    qLogNoisyExpectedImprovement,
    qProbabilityOfImprovement,
    qUpperConfidenceBound,
)
from botorch.acquisition.analytic import LogProbabilityOfImprovement, _log_ei_helper
from botorch.acquisition.max_value_entropy_search import qMaxValueEntropy
from botorch.models.model import Model
from botorch.sampling import SobolQMCNormalSampler
from botorch.utils.transforms import t_batch_mode_transform

from tuner.errors import TunerError
from tuner.surrogate.cached import CachedGP, KernelCachedGP, cached_gp
from tuner.surrogate.gp import gp_settings

__all__ = ["ACQ_FUNCS", "SCHEDULED", "AcqConfig", "FastLogEI", "make_acquisition", "max_value_entropy",
           "scheduled_acquisition"]

#: accepted ``acq_func`` names; scikit-optimize's names map onto the closest LogEI-family member
#: (``gp_hedge``: for the single points of :class:`tuner.acquisition.hedge.Hedge`'s members, and
#: LogEI's family for batches and pending points)
ACQ_FUNCS = {
    "LogEI": "LogEI", "EI": "LogEI", "gp_hedge": "LogEI",
    "qLogNEI": "qLogNEI", "LogNEI": "qLogNEI",
    "PI": "PI", "LCB": "LCB", "MES": "MES",
}

#: the acquisition of ``acq_func="auto"`` (``gp_minimize``'s default): :func:`scheduled_acquisition`
SCHEDULED = "auto"


def scheduled_acquisition(done: int, budget: int | None, xi: float) -> str:
    """The :data:`ACQ_FUNCS` name an ``acq_func="auto"`` ask uses after ``done`` evaluations of a
    ``budget`` (``None``: not known): ``"LogEI"`` for the first half of the budget,
    ``"qLogNEI"`` (noisy EI: the improvement over the best value at the evaluated points drawn
    jointly with the candidate's) from half of it on. Noisy EI at every ask was the better
    searcher on the smooth problems and the worse on the rugged ones (Rastrigin, Michalewicz);
    in the second half of a run only, better on 143 and worse on 92 of 250 paired runs over 25
    problems, worse on a steep-walled basin (BENCHMARKS.md section 1, session 35). Its asks cost
    about three times an analytic one. ``"LogEI"`` throughout where no budget is known
    (an ``Optimizer`` of its own) or a margin ``xi > 0`` is asked for (noisy EI has none)."""
    if budget is None or xi > 0 or done < budget // 2:
        return "LogEI"
    return "qLogNEI"


@dataclass(frozen=True)
class AcqConfig:
    """Options of the acquisition maximiser.

    Attributes:
        num_restarts: L-BFGS starts.
        raw_samples: quasi-random points from which the starts are chosen.
        maxiter: L-BFGS iterations per start.
        mc_samples: base samples of the Monte Carlo acquisition functions.
        kappa: exploration weight of LCB (scikit-optimize's default 1.96).
        xi: improvement margin of analytic EI and of PI, on the model's scale (the objective's,
            or its log with ``y_warp="log"``); the noisy/batch EI (qLogNEI) has none.
        incumbent_starts: best observed points from which L-BFGS starts too (a local search
            from the incumbent, as Optuna's GPSampler runs one); 0 for none.
        mes_candidates: Sobol points (besides the evaluated ones) over which ``MES`` draws the
            distribution of the maximum.
    """

    num_restarts: int = 8
    raw_samples: int = 512
    maxiter: int = 200
    mc_samples: int = 128
    kappa: float = 1.96
    xi: float = 0.0
    incumbent_starts: int = 1
    mes_candidates: int = 1000

    def __post_init__(self) -> None:
        for name in ("kappa", "xi"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v >= 0):
                raise TunerError(f"{name} must be a finite number >= 0, got {v!r}")
        m = self.mes_candidates
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise TunerError(f"mes_candidates must be an int >= 1, got {m!r}")


class _LogEIValue(torch.autograd.Function):
    """BoTorch's analytic LogEI of a :class:`CachedGP` posterior as one autograd node with a
    closed-form backward: with ``u = (mean - best) / sigma`` and ``h(u) = phi(u) + u Phi(u)``,
    ``dLogEI/dmean = Phi(u) / (sigma h(u))`` and ``dLogEI/dsigma = phi(u) / (sigma h(u))``."""

    @staticmethod
    def forward(ctx: Any, X: torch.Tensor, gp: CachedGP, best_f: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            mean, var, Xs, w, _ = gp.mean_variance(X, gradient=ctx.needs_input_grad[0])
            sigma = var.clamp_min(1e-12).sqrt()  # as BoTorch's _mean_and_sigma
            u = (mean - best_f) / sigma
            log_h = _log_ei_helper(u)
            d_mean = torch.exp(torch.special.log_ndtr(u) - log_h) / sigma
            d_sigma = torch.exp(-0.5 * u.pow(2) - 0.5 * math.log(2 * math.pi) - log_h) / sigma
            d_var = d_sigma * 0.5 / sigma * (var > 1e-12)  # BoTorch's floor: no gradient below
        ctx.gp = gp
        ctx.save_for_backward(Xs, w, d_mean, d_var)
        return (log_h + sigma.log()).squeeze(-1)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, None, None]:
        Xs, w, d_mean, d_var = ctx.saved_tensors
        g = grad.unsqueeze(-1)
        return ctx.gp.input_gradient(Xs, w, g * d_mean, g * d_var), None, None


class FastLogEI(LogExpectedImprovement):
    """:class:`~botorch.acquisition.LogExpectedImprovement` of a :class:`CachedGP`: the same
    values and gradients (to rounding; ``tests/tuner/test_model_acq.py``), without autograd
    through the posterior and the log-EI helper, which was most of the cost of an ``ask``."""

    @t_batch_mode_transform(expected_q=1)  # type: ignore[arg-type]  # typed for the base class
    def forward(self, X: Any) -> Any:
        return _LogEIValue.apply(X, self.model, self.best_f)


def make_acquisition(name: str, model: Model, X_baseline: torch.Tensor,
                     X_pending: torch.Tensor | None, q: int, known_noise: bool,
                     config: AcqConfig, Y_best: float | None = None,
                     grid: dict[int, list[float]] | None = None) -> AcquisitionFunction:
    """Build the acquisition function (maximisation convention).

    Args:
        name: One of :data:`ACQ_FUNCS`.
        model: The fitted surrogate (of the negated, possibly warped objective).
        X_baseline: Observed inputs, model space.
        X_pending: Inputs being evaluated, or ``None``.
        q: Number of points to propose jointly.
        known_noise: Whether observations carry a known noise variance.
        config: Options.
        Y_best: Best observed outcome (maximisation convention, untransformed).
        grid: The allowed model values of the integer and categorical dimensions (``MES`` draws
            its candidate points on them).

    Returns:
        The acquisition function.

    Raises:
        TunerError: an unknown name.
    """
    if name not in ACQ_FUNCS:
        raise TunerError(f"acq_func must be one of {sorted(ACQ_FUNCS)}, got {name!r}")
    kind = ACQ_FUNCS[name]
    batch = q > 1 or X_pending is not None
    if kind == "MES":
        return max_value_entropy(model, X_baseline, X_pending, config, grid)
    sampler = SobolQMCNormalSampler(sample_shape=torch.Size([config.mc_samples]))
    if batch and kind == "LCB":  # joint batch, pending points as fantasies
        return qUpperConfidenceBound(model, beta=config.kappa**2, sampler=sampler, X_pending=X_pending)
    if kind == "qLogNEI" or (kind == "LogEI" and (batch or known_noise)):
        return qLogNoisyExpectedImprovement(model, X_baseline=X_baseline, sampler=sampler,
                                            X_pending=X_pending, prune_baseline=True,
                                            cache_root=True)
    # the analytic functions read marginal means and variances only: from one cached Cholesky
    # factorisation where the model allows it (the same numbers, without GPyTorch's per-call cost)
    fast: Any = model if kind == "PI" and batch else (cached_gp(model) or model)
    # incumbent: the best posterior mean at the observed points (robust to noise; on Hartmann6 it
    # also did better than the best observed value, see BENCHMARKS.md), unless the caller says
    if Y_best is None:
        with torch.no_grad(), gp_settings():
            Y_best = (fast.mean(X_baseline) if isinstance(fast, (CachedGP, KernelCachedGP))
                      else fast.posterior(X_baseline).mean).max().item()
    best_f = Y_best
    if kind == "LogEI":
        cls = FastLogEI if isinstance(fast, CachedGP) else LogExpectedImprovement
        return cls(fast, best_f=best_f + config.xi)
    if kind == "PI" and batch:
        return qProbabilityOfImprovement(model, best_f=best_f + config.xi, sampler=sampler,
                                         X_pending=X_pending)
    if kind == "PI":
        return LogProbabilityOfImprovement(fast, best_f=best_f + config.xi)
    return UpperConfidenceBound(fast, beta=config.kappa**2)


def max_value_entropy(model: Model, X_baseline: torch.Tensor, X_pending: torch.Tensor | None,
                      config: AcqConfig, grid: dict[int, list[float]] | None = None) -> AcquisitionFunction:
    """``MES`` (module doc) on the unit cube of the model's inputs: the maximum's distribution is
    drawn over ``config.mes_candidates`` scrambled Sobol points (each integer and categorical
    coordinate moved to its nearest allowed value of ``grid``) and the evaluated ones, under the
    caller's torch seed, as every random choice of an ask. ``X_baseline`` gives the dimension."""
    d = X_baseline.shape[-1]
    sobol = torch.quasirandom.SobolEngine(d, scramble=True, seed=int(torch.randint(0, 2**31 - 1, ())))
    cand = sobol.draw(config.mes_candidates).to(X_baseline)
    for i, values in (grid or {}).items():
        allowed = torch.as_tensor(values).to(cand)
        cand[:, i] = allowed[(cand[:, i, None] - allowed).abs().argmin(-1)]
    # (BoTorch adds the model's training inputs to the candidate set)
    return qMaxValueEntropy(model, cand, X_pending=X_pending)
