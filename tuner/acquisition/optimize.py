"""Maximising an acquisition function over the model space.

Multi-start L-BFGS-B from scrambled-Sobol raw samples; with integer or categorical dimensions
BoTorch's mixed alternating optimiser (continuous L-BFGS steps alternating with discrete
neighbourhood search) keeps every candidate on the allowed grid, so a point is never rounded after
it was chosen.
"""

from __future__ import annotations

import warnings

import torch
from botorch.acquisition import AcquisitionFunction
from botorch.exceptions.warnings import BadInitialCandidatesWarning, OptimizationWarning
from botorch.optim import optimize_acqf, optimize_acqf_mixed_alternating

from tuner.acquisition.functions import AcqConfig
from tuner.surrogate.gp import gp_settings

__all__ = ["maximize_acquisition"]


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
                options={"maxiter": config.maxiter, "batch_limit": config.num_restarts,
                         "init_batch_limit": config.raw_samples})
    return cand.detach()
