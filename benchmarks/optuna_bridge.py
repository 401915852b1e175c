"""The bridge from this project's search spaces to Optuna's, for the benchmarks that run both."""

from __future__ import annotations

from typing import Any

from tuner import Categorical, Integer

__all__ = ["suggest"]


def suggest(trial: Any, space: list) -> dict[str, Any]:
    """The parameters of an Optuna trial drawn from the distributions of ``space`` (tuner dimensions)."""
    params: dict[str, Any] = {}
    for d in space:
        if isinstance(d, Categorical):
            params[d.name] = trial.suggest_categorical(d.name, list(d.categories))
        elif isinstance(d, Integer):
            params[d.name] = trial.suggest_int(d.name, d.low, d.high)
        else:
            params[d.name] = trial.suggest_float(d.name, d.low, d.high, log=d.prior == "log-uniform")
    return params
