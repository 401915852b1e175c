"""Hyperparameter search from scripts: the objective wrapper, median pruning and the search report."""

from __future__ import annotations

from tuner.hpo.objective import MedianPruner, Objective, Reporter
from tuner.hpo.report import (
    SearchReport,
    partial_dependence,
    plot_convergence,
    plot_objective,
    surrogate_mean,
    trials_table,
    write_report,
)

__all__ = [
    "MedianPruner",
    "Objective",
    "Reporter",
    "SearchReport",
    "partial_dependence",
    "plot_convergence",
    "plot_objective",
    "surrogate_mean",
    "trials_table",
    "write_report",
]
