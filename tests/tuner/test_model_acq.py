"""Surrogate fit and acquisition maximisation on known functions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tuner.acquisition import AcqConfig, make_acquisition, maximize_acquisition
from tuner.surrogate.gp import build_gp, fit_gp


def _f(x: np.ndarray) -> np.ndarray:
    return np.sin(6 * x[:, 0]) + 0.5 * np.cos(4 * x[:, 1])


def test_gp_fit_recovers_a_smooth_function():
    rng = np.random.default_rng(0)
    X = rng.random((40, 2))
    Xt = rng.random((200, 2))
    model = fit_gp(build_gp(torch.tensor(X), torch.tensor(_f(X))[:, None]))
    with torch.no_grad():
        pred = model.posterior(torch.tensor(Xt)).mean.squeeze(-1).numpy()
    rmse = np.sqrt(np.mean((pred - _f(Xt)) ** 2))
    assert rmse < 0.05, rmse


def test_gp_learns_the_noise_level():
    rng = np.random.default_rng(1)
    X = rng.random((150, 2))
    y = _f(X) + rng.normal(0, 0.2, len(X))
    model = fit_gp(build_gp(torch.tensor(X), torch.tensor(y)[:, None]))
    # noise is learned on standardised outcomes: scale back
    noise = model.likelihood.noise.item() * model.outcome_transform.stdvs.item() ** 2
    assert 0.02 < noise < 0.08, noise  # true variance 0.04


def test_known_heteroscedastic_noise_is_used():
    X = torch.linspace(0, 1, 20, dtype=torch.float64)[:, None]
    Y = torch.sin(6 * X)
    Yvar = torch.full_like(Y, 1e-6)
    Yvar[10] = 1.0  # one very noisy observation
    Y = Y.clone()
    Y[10] += 3.0  # ...that is far off: the model must not follow it
    model = fit_gp(build_gp(X, Y, Yvar))
    with torch.no_grad():
        m = model.posterior(X[10:11]).mean.item()
    assert abs(m - torch.sin(6 * X[10]).item()) < 0.3


def test_logei_maximiser_beats_random_points_and_stays_in_bounds():
    rng = np.random.default_rng(2)
    X = torch.tensor(rng.random((12, 3)))
    Y = -torch.tensor(((X.numpy() - 0.3) ** 2).sum(1))[:, None]
    model = fit_gp(build_gp(X, Y))
    cfg = AcqConfig()
    acq = make_acquisition("LogEI", model, X, None, 1, False, cfg)
    bounds = torch.tensor([[0.0] * 3, [1.0] * 3], dtype=torch.float64)
    cand = maximize_acquisition(acq, bounds, 1, {}, {}, cfg)
    assert cand.shape == (1, 3)
    assert torch.all(cand >= 0) and torch.all(cand <= 1)
    with torch.no_grad():
        best = acq(cand[None]).item()
        rand = acq(torch.rand(2000, 1, 3, dtype=torch.float64)).max().item()
    assert best >= rand - 1e-6


def test_mixed_space_candidates_lie_on_the_grid():
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.random(10), rng.integers(0, 5, 10) / 4, rng.integers(0, 3, 10)])
    X = torch.tensor(X)
    Y = torch.tensor(-(X[:, 0] - 0.5) ** 2 - (X[:, 1] - 0.5) ** 2 + 0.1 * (X[:, 2] == 1))[:, None]
    model = fit_gp(build_gp(X, Y, cat_dims=[2]))
    cfg = AcqConfig(num_restarts=4, raw_samples=64)
    acq = make_acquisition("qLogNEI", model, X, None, 3, False, cfg)
    bounds = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 2.0]], dtype=torch.float64)
    cand = maximize_acquisition(acq, bounds, 3, {1: [0, 0.25, 0.5, 0.75, 1.0]}, {2: [0.0, 1.0, 2.0]}, cfg)
    assert cand.shape == (3, 3)
    assert set((cand[:, 1] * 4).round(decimals=9).tolist()) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    assert set(cand[:, 2].tolist()) <= {0.0, 1.0, 2.0}


def test_unknown_acquisition_name():
    from tuner import TunerError

    with pytest.raises(TunerError, match=r"acq_func must be one of .* got 'UCBX'"):
        make_acquisition("UCBX", None, None, None, 1, False, AcqConfig())  # type: ignore[arg-type]
