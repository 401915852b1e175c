"""EIps / PIps: results told as (value, seconds), a GP of the log time, improvement per second."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tuner import Optimizer, gp_minimize
from tuner.acquisition.per_second import PerSecond
from tuner.errors import EvaluationError
from tuner.space import Real


def _f(x):
    return (x[0] - 0.3) ** 2


def _costly(x):
    """The value, and a time that grows 400-fold across the range."""
    return _f(x), float(math.exp(1.5 * x[0]))


@pytest.mark.parametrize("acq", ["EIps", "PIps"])
def test_results_are_value_and_seconds_and_the_log_times_are_kept(acq, tmp_path):
    db = tmp_path / "study.db"
    opt = Optimizer([(-2.0, 2.0)], acq_func=acq, n_initial_points=2, random_state=0, storage=str(db))
    x1 = opt.ask()
    opt.tell(x1, (_f(x1), 1.0))
    x2 = opt.ask()
    res = opt.tell(x2, [_f(x2), 2.5])
    assert res.func_vals.tolist() == [_f(x1), _f(x2)]
    np.testing.assert_allclose(res.log_time, [0.0, math.log(2.5)])
    for bad, match in [(0.5, r"needs each result as \(value, seconds\), got 0.5"),
                       ((0.5, 0.0), r"time must be a finite number of seconds > 0, got 0.0"),
                       ((0.5, -1.0), r"got -1.0"), ((0.5, True), r"got True"),
                       ((0.5, "fast"), r"got 'fast'"), ((0.5, 1.0, 2.0), r"got \(0.5, 1.0, 2.0\)")]:
        with pytest.raises(TypeError, match=match) as info:  # scikit-optimize raises TypeError
            opt.tell(x2, bad)
        assert isinstance(info.value, EvaluationError)
    assert len(opt.complete) == 2  # nothing recorded by the refused tells
    xs = opt.ask(n_points=2)
    opt.tell(xs, [_costly(x) for x in xs])
    opt.tell(opt.ask(), None)  # a failed evaluation needs no time
    resumed = Optimizer([(-2.0, 2.0)], acq_func=acq, n_initial_points=2, random_state=0,
                        storage=str(db))
    np.testing.assert_allclose(resumed.get_result().log_time,
                               [0.0, math.log(2.5), *(1.5 * x[0] for x in xs)])
    copied = opt.copy()
    np.testing.assert_allclose(copied.get_result().log_time, opt.get_result().log_time)


def test_the_acquisition_is_the_log_improvement_minus_the_expected_log_inverse_time():
    """The value at any point: the base log-acquisition plus ``-m + v / 2`` of the time GP."""
    opt = Optimizer([(-2.0, 2.0), (0.0, 1.0)], acq_func="EIps", n_initial_points=6, random_state=3)
    for _ in range(8):
        x = opt.ask()
        opt.tell(x, ((x[0] - 0.3) ** 2 + x[1], float(np.exp(x[0] + 0.5 * x[1]))))
    X = torch.as_tensor(np.asarray(opt.ledger.units(opt.complete)), dtype=torch.float64)
    state = opt._ask_state(X, None)
    acq = opt._step.acquisition(opt.model, state, 1)
    assert isinstance(acq, PerSecond)
    pts = torch.rand(5, 1, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        post = opt._step.time_model(state.timed).posterior(pts.squeeze(1))
        expected = acq.base(pts) - post.mean.squeeze(-1) + 0.5 * post.variance.squeeze(-1)
        torch.testing.assert_close(acq(pts), expected)


def _symmetric(acq: str, steepness: float) -> Optimizer:
    """An optimiser told x^2 at six points placed symmetrically about its minimum, with a time
    of exp(steepness * x) when it is per second."""
    pts = [[-1.0], [-0.6], [-0.2], [0.2], [0.6], [1.0]]
    opt = Optimizer([(-1.0, 1.0)], acq_func=acq, n_initial_points=0, random_state=0)
    ys = [x[0] ** 2 for x in pts]
    opt.tell(pts, [(y, math.exp(steepness * x[0])) for x, y in zip(pts, ys, strict=True)]
             if acq.endswith("ps") else ys)
    return opt


@pytest.mark.parametrize("acq", ["EIps", "PIps"])
def test_of_two_equal_improvements_the_cheaper_side_is_asked(acq):
    """On a symmetric problem EI and PI ask the minimum itself; per second, the next point lies
    on the cheap side, the further the steeper the time grows."""
    assert abs(_symmetric(acq[:2], 2.0).ask()[0]) < 0.01
    x = {k: _symmetric(acq, k).ask()[0] for k in (2.0, 4.0)}
    assert x[4.0] < x[2.0] < -0.02


@pytest.mark.parametrize("acq", ["EIps", "PIps"])
def test_batches_and_pending_points_take_the_constant_liar(acq):
    """A joint batch would send every point after the first to the cheapest corner (its
    improvement is already had): the batch is chosen point by point, near the minimum."""
    opt = _symmetric(acq, 4.0)
    batch = opt.ask(n_points=3)
    assert len({x[0] for x in batch}) == 3 and all(abs(x[0]) < 0.2 for x in batch)
    opt.tell(batch[:1], [_costly(batch[0])])  # two still pending
    x = opt.ask()
    assert x not in batch and x[0] < 0.05  # beside the pending points, on the cheap side
    if acq == "EIps":  # and on parallel workers, where the pending points come from gp_minimize
        res = gp_minimize(_costly, [Real(-2.0, 2.0)], n_calls=10, n_initial_points=4, n_jobs=2,
                          random_state=1, acq_func=acq, progress=False)
        # the order results arrive in varies between runs: check what does not depend on it
        assert len(res.func_vals) == 10 and not res.failed
        assert len({x[0] for x in res.x_iters}) == 10
        np.testing.assert_allclose(res.log_time, [1.5 * x[0] for x in res.x_iters])
