"""Executors (serial, local processes, Dask) and the evaluation loop both searches share."""

from __future__ import annotations

from tuner.execution.executors import (
    EvalOutcome,
    SerialExecutor,
    make_executor,
    process_pool,
    run_objective,
)

__all__ = ["EvalOutcome", "SerialExecutor", "make_executor", "process_pool", "run_objective"]
