"""Gaussian-process Bayesian optimisation for generator tuning and hyperparameter search.

Two wings, imports flowing one way (``tuner.mc`` uses the optimiser; the optimiser never imports
``tuner.mc``):

- the optimiser a user imports: :mod:`tuner.space` (dimensions), :mod:`tuner.surrogate` (GP
  models, or a regressor in their place), :mod:`tuner.acquisition` (acquisition functions and
  their maximisation), :mod:`tuner.optimizer` (ask/tell), :mod:`tuner.minimize`
  (scikit-optimize's ``gp_minimize``), :mod:`tuner.minimizers` (its ``forest_minimize``,
  ``gbrt_minimize``, ``dummy_minimize``),
  :mod:`tuner.storage` (trial state: in memory or SQLite), :mod:`tuner.execution` (executors and
  the evaluation loop), :mod:`tuner.hpo` (objective wrapper, pruning, search report);
- :mod:`tuner.mc`: tuning Monte Carlo generators to measured histograms.

The names below load on first use, so ``import tuner.mc.generators`` (jet samples, notebooks)
does not pay for BoTorch and GPyTorch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tuner.errors import (
    ConfigError,
    EvaluationError,
    PointSizeError,
    RefDataError,
    SettingsError,
    SpaceError,
    StorageError,
    TunerError,
)

if TYPE_CHECKING:
    from tuner.hpo import MedianPruner, Objective, write_report
    from tuner.minimize import gp_minimize
    from tuner.minimizers import dummy_minimize, forest_minimize, gbrt_minimize
    from tuner.optimizer import Optimizer
    from tuner.result import as_skopt_result
    from tuner.space import Categorical, Dimension, Integer, Real, Space
    from tuner.storage import Study, Trial

#: public name -> module that defines it (loaded on first attribute access)
_LAZY = {
    "MedianPruner": "tuner.hpo",
    "Objective": "tuner.hpo",
    "write_report": "tuner.hpo",
    "dummy_minimize": "tuner.minimizers",
    "forest_minimize": "tuner.minimizers",
    "gbrt_minimize": "tuner.minimizers",
    "gp_minimize": "tuner.minimize",
    "Optimizer": "tuner.optimizer",
    "as_skopt_result": "tuner.result",
    "Categorical": "tuner.space",
    "Dimension": "tuner.space",
    "Integer": "tuner.space",
    "Real": "tuner.space",
    "Space": "tuner.space",
    "Study": "tuner.storage",
    "Trial": "tuner.storage",
}

__all__ = [
    "Categorical",
    "ConfigError",
    "Dimension",
    "EvaluationError",
    "Integer",
    "MedianPruner",
    "Objective",
    "Optimizer",
    "PointSizeError",
    "Real",
    "RefDataError",
    "SettingsError",
    "Space",
    "SpaceError",
    "StorageError",
    "Study",
    "Trial",
    "TunerError",
    "as_skopt_result",
    "dummy_minimize",
    "forest_minimize",
    "gbrt_minimize",
    "gp_minimize",
    "write_report",
]

__version__ = "0.2.0"


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tuner' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
