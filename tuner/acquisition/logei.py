"""Acquisition functions and their maximisation.

* ``LogEI``: analytic log expected improvement (Ament et al., arXiv 2310.20708) for a single
  point, with the incumbent taken as the best posterior mean at the observed points (robust to
  noise, equal to the best observation for an interpolating model).
* ``qLogNEI``: Monte Carlo noisy log expected improvement, for batches, for points still being
  evaluated (pending points enter as fantasies) and for objectives with known noise.
* ``LCB`` / ``PI`` for scikit-optimize users who ask for them by name.

Maximisation is multi-start L-BFGS-B from scrambled-Sobol raw samples; with integer or
categorical dimensions BoTorch's mixed alternating optimiser (continuous L-BFGS steps alternating
with discrete neighbourhood search) keeps every candidate on the allowed grid, so a point is never
rounded after it was chosen.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from botorch.acquisition import (
    AcquisitionFunction,
    LogExpectedImprovement,
    UpperConfidenceBound,
    qLogNoisyExpectedImprovement,
)
from botorch.acquisition.analytic import LogProbabilityOfImprovement
from botorch.exceptions.warnings import BadInitialCandidatesWarning, OptimizationWarning
from botorch.models.model import Model
from botorch.optim import optimize_acqf, optimize_acqf_mixed_alternating
from botorch.sampling import SobolQMCNormalSampler

from tuner.errors import TunerError
from tuner.models.gp import gp_settings

__all__ = ["ACQ_FUNCS", "AcqConfig", "make_acquisition", "maximize_acquisition"]

#: accepted ``acq_func`` names; scikit-optimize's names map onto the closest LogEI-family member
ACQ_FUNCS = {
    "LogEI": "LogEI", "EI": "LogEI", "gp_hedge": "LogEI", "EIps": "LogEI",
    "qLogNEI": "qLogNEI", "LogNEI": "qLogNEI",
    "PI": "PI", "PIps": "PI", "LCB": "LCB",
}


@dataclass(frozen=True)
class AcqConfig:
    """Options of the acquisition maximiser.

    Attributes:
        num_restarts: L-BFGS starts.
        raw_samples: quasi-random points from which the starts are chosen.
        maxiter: L-BFGS iterations per start.
        mc_samples: base samples of the Monte Carlo acquisition functions.
        kappa: exploration weight of LCB (scikit-optimize's default 1.96).
        xi: improvement margin of EI/PI, in standardised units.
    """

    num_restarts: int = 8
    raw_samples: int = 512
    maxiter: int = 200
    mc_samples: int = 128
    kappa: float = 1.96
    xi: float = 0.0


def make_acquisition(name: str, model: Model, X_baseline: torch.Tensor,
                     X_pending: torch.Tensor | None, q: int, known_noise: bool,
                     config: AcqConfig, Y_best: float | None = None) -> AcquisitionFunction:
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

    Returns:
        The acquisition function.

    Raises:
        TunerError: an unknown name.
    """
    if name not in ACQ_FUNCS:
        raise TunerError(f"acq_func must be one of {sorted(ACQ_FUNCS)}, got {name!r}")
    kind = ACQ_FUNCS[name]
    batch = q > 1 or X_pending is not None
    if kind == "qLogNEI" or (kind == "LogEI" and (batch or known_noise)):
        sampler = SobolQMCNormalSampler(sample_shape=torch.Size([config.mc_samples]))
        return qLogNoisyExpectedImprovement(model, X_baseline=X_baseline, sampler=sampler,
                                            X_pending=X_pending, prune_baseline=True,
                                            cache_root=True)
    # incumbent: the best posterior mean at the observed points (robust to noise; on Hartmann6 it
    # also did better than the best observed value, see BENCHMARKS.md), unless the caller says
    if Y_best is None:
        with torch.no_grad(), gp_settings():
            Y_best = model.posterior(X_baseline).mean.max().item()  # type: ignore[attr-defined]
    best_f = Y_best
    if kind == "LogEI":
        return LogExpectedImprovement(model, best_f=best_f + config.xi)
    if kind == "PI":
        return LogProbabilityOfImprovement(model, best_f=best_f + config.xi)
    return UpperConfidenceBound(model, beta=config.kappa**2)


def maximize_acquisition(acq: AcquisitionFunction, bounds: torch.Tensor, q: int,
                         discrete_dims: dict[int, list[float]], cat_dims: dict[int, list[float]],
                         config: AcqConfig) -> torch.Tensor:
    """Maximise ``acq`` over the model space; return ``q x d`` candidates.

    Args:
        acq: The acquisition function.
        bounds: ``2 x d`` model-space bounds.
        q: Number of candidates (chosen sequentially and greedily when ``q > 1``).
        discrete_dims: Ordered discrete dimensions and their allowed values.
        cat_dims: Categorical dimensions and their allowed values.
        config: Options.
    """
    with gp_settings(), warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizationWarning)
        warnings.simplefilter("ignore", BadInitialCandidatesWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        if discrete_dims or cat_dims:
            cand, _ = optimize_acqf_mixed_alternating(
                acq, bounds=bounds, discrete_dims=discrete_dims or None,
                cat_dims=cat_dims or None, q=q, num_restarts=config.num_restarts,
                raw_samples=config.raw_samples)
        else:
            cand, _ = optimize_acqf(
                acq, bounds=bounds, q=q, num_restarts=config.num_restarts,
                raw_samples=config.raw_samples, sequential=q > 1,
                options={"maxiter": config.maxiter, "batch_limit": config.num_restarts})
    return cand.detach()
