"""GP-Hedge (``acq_func="gp_hedge"``): a real portfolio of log-EI, PI and LCB."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from botorch.models import SingleTaskGP

from tuner import Optimizer, gp_minimize
from tuner.acquisition.hedge import HEDGE_MEMBERS, Hedge


def _f(x):
    return (x[0] - 0.3) ** 2 + 0.5 * (x[1] - 0.6) ** 2


def _told(acq_func):
    """An optimiser past its design of 3 points, 8 points told."""
    opt = Optimizer([(0.0, 1.0), (0.0, 1.0)], n_initial_points=3, random_state=3, acq_func=acq_func)
    xs = opt.ask(3) + [[a, b] for a, b in np.random.default_rng(0).uniform(size=(5, 2))]
    opt.tell(xs, [_f(x) for x in xs])
    return opt


def test_the_hedge_evaluates_the_nominee_of_the_member_it_draws():
    members = {m: _told(m).ask() for m in HEDGE_MEMBERS}
    hedged = _told("gp_hedge")
    x = hedged.ask()
    hedge = hedged._step.hedge
    assert len(hedge.nominees) == 1 and hedge.nominees[0].shape == (3, 2)
    assert x == members[HEDGE_MEMBERS[hedge.chosen[-1]]]
    # the nominees it remembers are the members' own points
    for m, row in zip(HEDGE_MEMBERS, hedge.nominees[0], strict=True):
        np.testing.assert_allclose(row, hedged.space.to_unit([members[m]])[0], atol=1e-12)
    assert len({repr(v) for v in members.values()}) >= 2  # the members do disagree here


def _gp(scale):
    X = torch.linspace(0, 1, 8, dtype=torch.float64)[:, None]
    return SingleTaskGP(X, scale * X.clone()), X


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_the_member_whose_nominees_the_model_rates_best_gains_most_in_any_units(scale):
    model, X = _gp(scale)  # the mean rises with x (maximisation convention)
    hedge = Hedge()
    assert np.allclose(hedge.probabilities(model, X), 1 / 3)  # nothing nominated yet: uniform
    for _ in range(3):
        hedge.nominees.append(np.array([[0.9], [0.5], [0.1]]))
    p = hedge.probabilities(model, X)
    assert p[0] > p[1] > p[2] and abs(p.sum() - 1) < 1e-12
    ref = Hedge()
    ref.nominees = list(hedge.nominees)
    np.testing.assert_allclose(p, ref.probabilities(*_gp(1.0)), rtol=1e-6)  # units do not matter


def test_a_hedged_search_is_reproducible_and_minimises():
    runs = [gp_minimize(_f, [(0.0, 1.0), (0.0, 1.0)], n_calls=14, n_initial_points=5, random_state=4,
                        acq_func="gp_hedge", progress=False) for _ in range(2)]
    assert runs[0].x_iters == runs[1].x_iters
    assert runs[0].fun < 0.01


def test_the_default_acquisition_is_not_the_hedge_and_gp_hedge_is_asked_for_by_name():
    res = gp_minimize(_f, [(0.0, 1.0), (0.0, 1.0)], n_calls=8, n_initial_points=5, random_state=0,
                      progress=False)
    assert res.specs["args"]["acq_func"] == "auto"  # LogEI, then noisy EI (test_optimizer.py)
    for acq in ("LogEI", "auto"):
        opt = _told(acq)
        opt.ask()
        assert opt._step.hedge.nominees == []  # log-EI alone never consults the portfolio


def test_a_hedged_study_resumed_from_sqlite_keeps_its_portfolio(tmp_path):
    """The nominees are kept in the study: a resumed hedged search continues as the one never
    stopped would (same gains, same draw, same point)."""
    def run(opt, n):
        for _ in range(n):
            x = opt.ask()
            opt.tell(x, _f(x))

    kw = dict(n_initial_points=3, random_state=5, acq_func="gp_hedge")
    whole = Optimizer([(0.0, 1.0), (0.0, 1.0)], **kw)
    run(whole, 7)
    db = str(tmp_path / "hedge.db")
    first = Optimizer([(0.0, 1.0), (0.0, 1.0)], storage=db, **kw)
    run(first, 7)
    first.storage.close()
    resumed = Optimizer([(0.0, 1.0), (0.0, 1.0)], storage=db, **kw)
    assert len(resumed._step.hedge.nominees) == 4 and resumed._step.hedge.chosen == whole._step.hedge.chosen
    np.testing.assert_allclose(np.concatenate(resumed._step.hedge.nominees),
                               np.concatenate(whole._step.hedge.nominees))
    assert resumed.ask() == whole.ask()
    resumed.storage.close()
