"""Acquisition functions (:mod:`tuner.acquisition.functions`) and their maximisation
(:mod:`tuner.acquisition.optimize`)."""

from __future__ import annotations

from tuner.acquisition.functions import ACQ_FUNCS, AcqConfig, make_acquisition
from tuner.acquisition.optimize import maximize_acquisition

__all__ = ["ACQ_FUNCS", "AcqConfig", "make_acquisition", "maximize_acquisition"]
