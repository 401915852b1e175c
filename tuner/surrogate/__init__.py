"""Surrogate models: exact GPs (GPyTorch/BoTorch) on the unit cube, their fit and posterior mean,
and the output warps of the values they model; scikit-learn regressors in the GP's place
(:mod:`tuner.surrogate.estimator`, the tree ensembles of :mod:`tuner.surrogate.trees`)."""

from __future__ import annotations

from tuner.surrogate.gp import (
    SurrogateConfig,
    SurrogateView,
    build_gp,
    fit_gp,
    gp_settings,
    posterior_mean,
)
from tuner.surrogate.warp import Y_WARPS, OutputWarp

__all__ = ["Y_WARPS", "OutputWarp", "SurrogateConfig", "SurrogateView", "build_gp", "fit_gp", "gp_settings",
           "posterior_mean"]
