"""Surrogate models: exact GPs (GPyTorch/BoTorch) on the unit cube, their fit and posterior mean."""

from __future__ import annotations

from tuner.surrogate.gp import (
    SurrogateConfig,
    SurrogateView,
    build_gp,
    fit_gp,
    gp_settings,
    posterior_mean,
)

__all__ = ["SurrogateConfig", "SurrogateView", "build_gp", "fit_gp", "gp_settings", "posterior_mean"]
