"""The evaluation loop shared by :func:`tuner.gp_minimize` and :func:`tuner.mc.workflow.run_tune`.

ask a batch -> submit each trial to an executor -> wait for the first to finish -> tell ->
refit -> ask again, until the budget is spent or a callback stops the run.

A worker that dies hard (segfault, abort, ``os._exit``, the OOM killer) breaks a local process
pool and takes every call in flight with it, so the pool cannot say whose fault it was. Every
trial caught in a broken pool becomes a *suspect* and is re-run on a fresh pool, alone: a suspect
that breaks the pool again while running alone is the culprit and fails; the others complete.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, wait
from typing import Any

from tuner.errors import TunerError
from tuner.optimizer import Optimizer
from tuner.storage import Trial

__all__ = ["run_trials"]

#: a fresh loky pool can still report the old crash; attempts to submit before giving up
SUBMIT_ATTEMPTS = 5


def run_trials(opt: Optimizer, submit: Callable[[Trial], Future[Any]], *,
               restart: Callable[[], None], width: Callable[[], int],
               remaining: Callable[[], int],
               handle: Callable[[Trial, Any, BaseException | None], None],
               after_round: Callable[[], bool] | None = None,
               ask: Callable[[int], list[Trial]] | None = None, ordered: bool = False) -> None:
    """Evaluate trials asked from ``opt`` until ``remaining()`` reaches 0 or ``after_round`` stops it.

    Args:
        opt: The optimiser to ask; ``handle`` tells it.
        submit: Starts one trial on the executor and returns its future.
        restart: Replaces a broken executor by a fresh one (``submit`` uses the new one).
        width: How many trials may run at once (the number of workers, or the batch size).
        remaining: How much of the budget is left after the trials told so far (the loop
            subtracts those in flight).
        handle: Called once per finished trial with its result, or with the exception that
            ended it (``BrokenExecutor`` only for a trial that broke a pool running alone).
            It is expected to ``opt.tell`` the outcome without refitting.
        after_round: Called after each round of results (after the refit); returning True stops
            asking: trials already running are finished, nothing new starts.
        ask: Proposes ``n`` new trials; default ``opt.ask_trials``.
        ordered: Take results in the order the trials were submitted (wait for the oldest in
            flight). Every ask then sees the same completed and pending trials whatever the
            workers' timing, so a seed reproduces the run exactly; a fast trial behind a slow one
            waits for it. Otherwise results are taken as they come (more throughput when trial
            durations vary).

    Raises:
        TunerError: the executor stays broken after a restart.
    """
    in_flight: dict[Future[Any], Trial] = {}
    suspects: list[Trial] = []
    alone: set[int] = set()
    stop = False

    def start(trial: Trial) -> None:
        for attempt in range(SUBMIT_ATTEMPTS):
            try:
                in_flight[submit(trial)] = trial
                return
            except BrokenExecutor:  # loky may hand out the pool a crash has just broken
                time.sleep(0.2 * attempt)
                restart()
        raise TunerError(f"could not restart the worker pool after a worker crash "
                         f"({SUBMIT_ATTEMPTS} attempts to submit trial {trial.id})")

    try:
        while True:
            if suspects:
                if not in_flight:  # a suspect runs alone on a fresh pool
                    trial = suspects.pop(0)
                    alone.add(trial.id)
                    start(trial)
            elif not stop:
                room = min(width() - len(in_flight), remaining() - len(in_flight))
                if room > 0:
                    for trial in (ask or opt.ask_trials)(room):
                        start(trial)
            if not in_flight:
                break
            done, _ = wait([next(iter(in_flight))] if ordered else list(in_flight),
                           return_when=FIRST_COMPLETED)
            told = False
            broken = False
            for fut in done:
                trial = in_flight.pop(fut)
                exc = fut.exception()
                if isinstance(exc, BrokenExecutor) and trial.id not in alone:
                    if not broken:
                        restart()
                        broken = True
                    suspects.append(trial)
                    continue
                handle(trial, None if exc is not None else fut.result(), exc)
                told = True
            if not told:
                continue
            opt.fit()
            if after_round is not None and after_round():
                stop = True
    finally:
        for fut in in_flight:
            fut.cancel()
