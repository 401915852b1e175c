"""The evaluation loop: results taken in submission order make a run independent of timing."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tuner import Optimizer
from tuner.execution.loop import run_trials


@pytest.mark.parametrize("ordered", [True, False])
def test_ordered_loop_takes_results_in_submission_order(ordered):
    opt = Optimizer([(0.0, 1.0)], n_initial_points=6, random_state=0)
    seen: list[int] = []
    pool = ThreadPoolExecutor(3)

    def slow_first(trial):
        # the first trial of each round of three is the slowest
        return pool.submit(lambda: (time.sleep(0.3 if trial.id % 3 == 0 else 0.0), trial.x[0])[1])

    def handle(trial, res, exc):
        seen.append(trial.id)
        opt.tell_trial(trial, (res - 0.5) ** 2)

    run_trials(opt, slow_first, restart=lambda: None, width=lambda: 3,
               remaining=lambda: 6 - len(seen), handle=handle, ordered=ordered)
    pool.shutdown()
    assert sorted(seen) == list(range(6))
    assert (seen == sorted(seen)) == ordered
