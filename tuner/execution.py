"""Running objective evaluations: serially, on local processes, or on any ``Executor``.

Everything goes through :class:`concurrent.futures.Executor`: a local process pool (loky, which
ships functions with cloudpickle, so lambdas and functions defined in a notebook or in a script
without a ``__main__`` guard work), or a ``dask.distributed`` client's executor. A crashed worker
(segfault, abort) turns into a failed evaluation, and the pool is rebuilt.
"""

from __future__ import annotations

import math
import os
import traceback
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

import numpy as np

from tuner.errors import TunerError

__all__ = ["EvalOutcome", "SerialExecutor", "make_executor", "run_objective"]


class EvalOutcome(dict):  # type: ignore[type-arg]
    """What an evaluation returned: ``value`` (float or None), ``error`` (str or None), ``info``."""


def run_objective(func: Callable[..., Any], x: list[Any], kwargs: dict[str, Any]) -> EvalOutcome:
    """Call ``func(x, **kwargs)`` and catch any exception as a failure (runs on the worker).

    A return value may be a number, ``None`` (failure), or a dict with ``value`` and optional
    ``noise`` and ``info``. A NaN or infinite value is a failure too.
    """
    try:
        out = func(x, **kwargs)
    except Exception as exc:
        return EvalOutcome(value=None, noise=None, info={},
                           error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}")
    if isinstance(out, dict):
        res = EvalOutcome(value=out.get("value"), noise=out.get("noise"),
                          info=out.get("info", {}), error=out.get("error"),
                          artifact=out.get("artifact"))
    else:
        res = EvalOutcome(value=out, noise=None, info={}, error=None)
    v = res["value"]
    if isinstance(v, (float, np.floating)) and not math.isfinite(v):
        # a diverged training (NaN loss) or an overflow: a failed trial, not a crash of the search
        res["error"] = res.get("error") or f"objective returned {v}"
        res["value"] = None
    return res


class SerialExecutor(Executor):
    """Runs each submitted call at once in this process (``n_jobs=1``)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            fut.set_exception(exc)
        return fut


def make_executor(executor: Any = None, n_jobs: int = 1) -> tuple[Executor, int, bool]:
    """Resolve the executor of a run.

    Args:
        executor: ``None``, a ``concurrent.futures.Executor``, or a ``dask.distributed.Client``.
        n_jobs: Local worker processes when no executor is given (``-1``: all cores).

    Returns:
        ``(executor, number of parallel evaluations, whether we own it and must shut it down)``.

    Raises:
        TunerError: a bad ``n_jobs`` or an object that is no executor.
    """
    if executor is not None:
        if hasattr(executor, "get_executor") and hasattr(executor, "nthreads"):  # dask Client
            n = max(1, sum(executor.nthreads().values()))
            return executor.get_executor(pure=False), n, True
        if not isinstance(executor, Executor):
            raise TunerError(f"executor must be a concurrent.futures.Executor or a dask Client, "
                             f"got {executor!r}")
        n = getattr(executor, "_max_workers", None) or (n_jobs if n_jobs > 0 else os.cpu_count())
        return executor, int(n or 1), False
    if not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise TunerError(f"n_jobs must be a positive int or -1 (all cores), got {n_jobs!r}")
    n = os.cpu_count() or 1 if n_jobs == -1 else n_jobs
    if n == 1:
        return SerialExecutor(), 1, True
    from joblib.externals.loky import get_reusable_executor

    return get_reusable_executor(max_workers=n, timeout=60), n, False
