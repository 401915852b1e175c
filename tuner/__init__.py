"""Gaussian-process Bayesian optimisation for generator tuning and hyperparameter search."""

from __future__ import annotations

from tuner.errors import (
    ConfigError,
    EvaluationError,
    RefDataError,
    SettingsError,
    SpaceError,
    StorageError,
    TunerError,
)
from tuner.hpo import MedianPruner, Objective
from tuner.minimize import gp_minimize
from tuner.optimizer import Optimizer
from tuner.search_report import write_report
from tuner.space import Categorical, Dimension, Integer, Real, Space
from tuner.study import Study, Trial

__all__ = [
    "Categorical",
    "ConfigError",
    "Dimension",
    "EvaluationError",
    "Integer",
    "MedianPruner",
    "Objective",
    "Optimizer",
    "Real",
    "RefDataError",
    "SettingsError",
    "Space",
    "SpaceError",
    "StorageError",
    "Study",
    "Trial",
    "TunerError",
    "gp_minimize",
    "write_report",
]

__version__ = "0.1.0"
