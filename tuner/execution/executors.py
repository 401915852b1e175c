"""Running objective evaluations: serially, on local processes, or on any ``Executor``.

Everything goes through :class:`concurrent.futures.Executor`: a local process pool (loky, which
ships functions with cloudpickle, so lambdas and functions defined in a notebook or in a script
without a ``__main__`` guard work), or a ``dask.distributed`` client's executor. A crashed worker
(segfault, abort) turns into a failed evaluation, and the pool is rebuilt.
"""

from __future__ import annotations

import math
import os
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

import numpy as np

from tuner.errors import TunerError

__all__ = ["POOL_IDLE_TIMEOUT", "EvalOutcome", "SerialExecutor", "make_executor", "process_pool",
           "run_objective"]


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
    """Runs each submitted call at once in this process (``n_jobs=1``).

    Ctrl-C (``KeyboardInterrupt``) and ``SystemExit`` propagate: they stop the run, they are not a
    failed evaluation."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except (KeyboardInterrupt, SystemExit):
            raise
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
    return process_pool(n), n, False


#: seconds an idle worker of the local pool waits for work before it exits
POOL_IDLE_TIMEOUT = 60


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:  # the parent died (kill -9): its workers go with it
            os._exit(1)


def _die_with_parent(parent: int) -> None:
    """Worker initialiser: exit when ``parent``, the process that made the pool, is gone (also
    when it died before this worker got here: its parent id then is no longer ``parent``)."""
    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                     name="tuner-parent-watch").start()


def process_pool(n_workers: int) -> Executor:
    """The local process pool of every run (loky's reusable executor: lambdas and notebook
    functions travel with cloudpickle; a pool broken by a crash is replaced on the next call).

    One timeout policy: idle workers exit after :data:`POOL_IDLE_TIMEOUT` seconds, and every
    worker exits within about a second of its parent's death, so a ``kill -9`` of a tune leaves
    no generator running.
    """
    from joblib.externals.loky import get_reusable_executor

    return get_reusable_executor(max_workers=n_workers, timeout=POOL_IDLE_TIMEOUT,
                                 initializer=_die_with_parent, initargs=(os.getpid(),))
