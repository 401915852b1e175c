"""Maximising an acquisition function over the model space.

Multi-start L-BFGS-B from scrambled-Sobol raw samples, plus starts the caller gives (the best
points observed: a local search from the incumbent, as Optuna's GPSampler runs one); with integer
or categorical dimensions BoTorch's mixed alternating optimiser (continuous L-BFGS steps
alternating with discrete neighbourhood search) keeps every candidate on the allowed grid, so a
point is never rounded after it was chosen.
"""

from __future__ import annotations

import warnings

import torch
from botorch.acquisition import AcquisitionFunction
from botorch.exceptions.warnings import BadInitialCandidatesWarning, OptimizationWarning
from botorch.optim import optimize_acqf, optimize_acqf_mixed_alternating
from botorch.optim.initializers import gen_batch_initial_conditions

from tuner.acquisition.functions import AcqConfig
from tuner.surrogate.gp import gp_settings

__all__ = ["maximize_acquisition", "no_worse_than_starts"]


def maximize_acquisition(acq: AcquisitionFunction, bounds: torch.Tensor, q: int,
                         discrete_dims: dict[int, list[float]], cat_dims: dict[int, list[float]],
                         config: AcqConfig, starts: torch.Tensor | None = None) -> torch.Tensor:
    """Maximise ``acq`` over the model space; return ``q x d`` candidates.

    Args:
        acq: The acquisition function.
        bounds: ``2 x d`` model-space bounds.
        q: Number of candidates (chosen sequentially and greedily when ``q > 1``).
        discrete_dims: Ordered discrete dimensions and their allowed values.
        cat_dims: Categorical dimensions and their allowed values.
        config: Options.
        starts: ``k x d`` points from which L-BFGS starts too, beside the ``num_restarts``
            chosen from the raw samples (single continuous candidates only: ``q = 1`` and no
            discrete dimension).
    """
    # a dimension with one allowed value (a categorical with one category, as scikit-optimize
    # allows) is fixed: the discrete search cannot draw a neighbour from an empty set (the model
    # bounds of every dimension are [0, 1], so they do not show it; its allowed values do)
    fixed = {i: float(v[0]) for i, v in {**discrete_dims, **cat_dims}.items() if len(v) == 1}
    if len(fixed) == bounds.shape[-1]:  # the space is one point
        return torch.tensor([[fixed[i] for i in range(len(fixed))]] * q).to(bounds)
    discrete_dims = {i: v for i, v in discrete_dims.items() if i not in fixed}
    cat_dims = {i: v for i, v in cat_dims.items() if i not in fixed}
    with gp_settings(), warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizationWarning)
        warnings.simplefilter("ignore", BadInitialCandidatesWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        if discrete_dims or cat_dims:
            cand, _ = optimize_acqf_mixed_alternating(
                acq, bounds=bounds, discrete_dims=discrete_dims or None,
                cat_dims=cat_dims or None, q=q, num_restarts=config.num_restarts,
                raw_samples=config.raw_samples, fixed_features=fixed or None)
        else:
            options: dict[str, bool | float | int] = {
                "maxiter": config.maxiter, "batch_limit": config.num_restarts,
                "init_batch_limit": config.raw_samples}
            init = raw = None
            if starts is not None and len(starts) and q == 1:
                raw = gen_batch_initial_conditions(acq, bounds, q=1, num_restarts=config.num_restarts,
                                                   raw_samples=config.raw_samples, options=options)
                init = torch.cat([raw, starts.to(bounds)[:, None, :]])
                options = {**options, "batch_limit": len(init)}
            cand, _ = optimize_acqf(
                acq, bounds=bounds, q=q, num_restarts=config.num_restarts if init is None
                else len(init), raw_samples=None if init is not None else config.raw_samples,
                sequential=q > 1, options=dict(options), batch_initial_conditions=init,
                fixed_features=fixed or None)
            if raw is not None:  # not the given starts: evaluated points, an ask there is a repeat
                cand = no_worse_than_starts(acq, cand, raw)
    return cand.detach()


def no_worse_than_starts(acq: AcquisitionFunction, cand: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
    """``cand`` (``1 x d``), or the start (``k x 1 x d``) of highest acquisition value if that is
    higher: a local search must not end below where it began. On the device machine's stack
    (torch 2.11, numpy 2.5, its scipy) the L-BFGS-B search returned corners of the box at 1000 and
    3000 observations, log-EI -719 and -1858 where the best start had -2.6 and -3.9
    (BENCHMARKS.md section 1, session 23); this machine's stack did not. Not-a-number values
    count as the lowest.
    """
    with torch.no_grad(), gp_settings():
        vals = acq(torch.cat([cand[None].to(starts), starts])).reshape(-1)
    vals = torch.nan_to_num(vals, nan=-torch.inf)
    i = int(torch.argmax(vals))
    return cand if i == 0 or not bool(vals[i] > vals[0]) else starts[i - 1]
