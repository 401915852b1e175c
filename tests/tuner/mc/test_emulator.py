"""The histogram emulator: its chi2 against a direct computation, closure on a known model, errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import qmc

from tuner.errors import TunerError
from tuner.mc.emulator import POSTERIOR_CALIBRATION, HistogramEmulator, component_cap
from tuner.mc.uncertainty import curvature_inverse, hessian

D, B = 4, 120
RNG = np.random.default_rng(7)
W1 = RNG.normal(size=(D, B))
W2 = RNG.normal(size=(D, B)) * 0.3


def histograms(x):
    """A smooth, nonlinear model of B bins (positive, like normalised distributions)."""
    x = np.atleast_2d(x)
    return np.exp(0.5 * np.tanh(x @ W1) + 0.2 * np.sin(3 * x) @ W2)


TRUTH = np.array([0.42, 0.61, 0.27, 0.73])
DATA = histograms(TRUTH)[0]
DATA_ERR = 0.003 * DATA


def evaluate(X, rng, rel=0.01):
    v = histograms(X)
    e = rel * v
    return v + rng.normal(size=v.shape) * e, e


def test_chi2_of_the_evaluations_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    X = qmc.LatinHypercube(d=D, seed=0).random(16)
    V, E = evaluate(X, rng)
    w = np.where(np.arange(B) < 60, 2.0, 1.0)  # a histogram weight of 2 on the first 60 bins
    emu = HistogramEmulator.fit(X, V, E, DATA, DATA_ERR, w)
    den = DATA_ERR**2 + np.median(E**2, axis=0)
    direct = np.sum(w * (V - DATA) ** 2 / den, axis=1)
    np.testing.assert_allclose(emu.chi2_seen, direct, rtol=1e-10)
    np.testing.assert_allclose(emu.scale**2, w / den, rtol=1e-12)  # what tune_noise.py projects with
    assert emu.components.shape == (emu.n_components, B)
    # the emulator reproduces its training histograms' chi2 up to their MC noise
    pred = emu.chi2(X)
    assert np.all(np.abs(pred - direct) < 0.1 * direct + 5 * np.sqrt(B))


def test_the_data_term_is_the_curvature_of_the_chi2_without_the_monte_carlo_error():
    # every evaluation's MC error 3x the data error: the emulator's chi2 holds 1 + 9 = 10 times the
    # data's variance in each denominator, the data-only chi2 does not
    rng = np.random.default_rng(5)
    X = qmc.LatinHypercube(d=D, seed=5).random(24)
    V = histograms(X) + rng.normal(size=(24, B)) * 3 * DATA_ERR
    E = np.broadcast_to(3 * DATA_ERR, V.shape)
    emu = HistogramEmulator.fit(X, V, E, DATA, DATA_ERR, np.ones(B))
    probe = qmc.LatinHypercube(d=D, seed=6).random(5)
    np.testing.assert_allclose(emu.chi2_data(probe), 10 * emu.chi2(probe), rtol=1e-8)
    u = emu.minimum(X[np.argsort(emu.chi2_seen)[:4]], np.array([np.zeros(D), np.ones(D)]))
    cov_data, cov_emu = emu.minimum_covariance(u)
    wide, _ = curvature_inverse(hessian(emu.chi2, u, 0.01))
    np.testing.assert_allclose(cov_data, wide / 10, rtol=1e-6, atol=1e-12)
    assert np.all(np.isfinite(cov_emu)) and np.all(np.diag(cov_emu) > 0)  # the emulator's share stays


def test_the_emulator_term_is_quoted_from_the_posterior_widened_by_its_measured_calibration():
    """The posterior's deviations are widened to POSTERIOR_CALIBRATION times its variance: the
    emulator's share of the covariance grows by that factor where the chi2's gradient is linear in
    the scores and by its square where it is quadratic (at a minimum the residual is small and the
    quadratic part counts), the data term does not move, and a factor that is no positive number
    is refused."""
    rng = np.random.default_rng(5)
    X = qmc.LatinHypercube(d=D, seed=5).random(24)
    V, E = evaluate(X, rng)
    emu = HistogramEmulator.fit(X, V, E, DATA, DATA_ERR, np.ones(B))
    u = emu.minimum(X[np.argsort(emu.chi2_seen)[:4]], np.array([np.zeros(D), np.ones(D)]))
    data1, emu1 = emu.minimum_covariance(u, calibration=1.0)
    data_q, emu_q = emu.minimum_covariance(u)  # the default: the calibration quoted
    np.testing.assert_array_equal(data_q, data1)
    assert POSTERIOR_CALIBRATION > 1
    ratio = np.trace(emu_q) / np.trace(emu1)
    assert 0.8 * POSTERIOR_CALIBRATION < ratio < 1.1 * POSTERIOR_CALIBRATION**2, ratio
    assert np.all(np.linalg.eigvalsh(emu_q - emu1) > -1e-12 * np.trace(emu1))  # wider every way
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(TunerError, match=r"calibration is a factor on the posterior variance "
                                             r"and must be > 0, got"):
            emu.minimum_covariance(u, calibration=bad)


def test_emulator_guided_search_closes_on_the_truth_with_honest_uncertainties():
    rng = np.random.default_rng(1)
    X = qmc.LatinHypercube(d=D, seed=1).random(10)
    V, E = evaluate(X, rng)
    bounds = np.array([np.zeros(D), np.ones(D)])
    for it in range(8):
        emu = HistogramEmulator.fit(X, V, E, DATA, DATA_ERR, np.ones(B), seed=it)
        # as the emulator strategy does: expected improvement and Thompson samples in turn
        x = emu.propose(bounds, seed=it)[0] if it % 2 == 0 else emu.thompson(bounds, seed=it)
        v, e = evaluate(x[None], rng)
        X, V, E = np.vstack([X, x]), np.vstack([V, v]), np.vstack([E, e])
    emu = HistogramEmulator.fit(X, V, E, DATA, DATA_ERR, np.ones(B))
    u = emu.minimum(X[np.argsort(emu.chi2_seen)[:4]], bounds)
    assert np.max(np.abs(u - TRUTH)) < 0.01  # within 1% of each range after 18 evaluations
    cov_data, cov_emu = emu.minimum_covariance(u)
    sig = np.sqrt(np.diag(cov_data + cov_emu))
    assert np.all(np.isfinite(sig)) and np.all(np.diag(cov_emu) > 0)
    assert np.all(np.abs(u - TRUTH) / sig < 3)


def test_thompson_samples_follow_the_posterior_of_the_minimum():
    rng = np.random.default_rng(3)
    bounds = np.array([np.zeros(D), np.ones(D)])
    spread = []
    for n in (8, 40):
        X = np.vstack([qmc.LatinHypercube(d=D, seed=3).random(n // 2),
                       np.clip(TRUTH + 0.15 * rng.standard_normal((n // 2, D)), 0, 1)])
        V, E = evaluate(X, rng)
        emu = HistogramEmulator.fit(X, V, E, DATA, DATA_ERR, np.ones(B))
        draws = np.array([emu.thompson(bounds, seed=s) for s in range(6)])
        assert np.all((draws >= 0) & (draws <= 1))
        assert np.allclose(emu.thompson(bounds, seed=0), draws[0])  # a seed fixes the draw
        assert len({tuple(np.round(d, 6)) for d in draws}) == 6  # each seed its own draw
        spread.append(float(np.max(np.abs(draws - TRUTH))))
    # few evaluations: the posterior allows the minimum far from the truth; many: it does not
    assert spread[1] < 0.05 and spread[0] > 2 * spread[1]


def test_propose_avoids_the_pending_point():
    rng = np.random.default_rng(2)
    X = qmc.LatinHypercube(d=D, seed=2).random(12)
    V, E = evaluate(X, rng)
    emu = HistogramEmulator.fit(X, V, E, DATA, DATA_ERR, np.ones(B))
    bounds = np.array([np.zeros(D), np.ones(D)])
    first = emu.propose(bounds, seed=0)
    second = emu.propose(bounds, X_pending=first, seed=0)
    assert first.shape == (1, D) and np.max(np.abs(first - second)) > 1e-3
    pair = emu.propose(bounds, seed=0, q=2)  # a joint batch: two distinct points
    assert pair.shape == (2, D) and np.max(np.abs(pair[0] - pair[1])) > 1e-3


def test_too_few_evaluations_is_one_clear_error():
    X = np.random.default_rng(0).random((2, D))
    V, E = evaluate(X, np.random.default_rng(0))
    with pytest.raises(TunerError, match=r"needs >= 3 evaluations .* values \(2, 120\)"):
        HistogramEmulator.fit(X, V, E, DATA, DATA_ERR, np.ones(B))


def test_far_from_its_evaluations_the_emulated_chi2_keeps_rising():
    # evaluations in a small box around the minimum (as the better half of a tune is): outside
    # it the emulator must not call the chi2 lower than inside. A constant prior mean reverts
    # every component score to the evaluations' average, whose chi2 (the residual of their
    # centroid) is about the best one seen, and far corners then look as good as the minimum
    rng = np.random.default_rng(5)
    X = np.clip(TRUTH + 0.06 * (qmc.LatinHypercube(d=D, seed=5).random(14) - 0.5), 0, 1)
    V, E = evaluate(X, rng, rel=0.002)
    emu = HistogramEmulator.fit(X, V, E, DATA, DATA_ERR, np.ones(B))
    far = rng.random((400, D))
    far = far[np.max(np.abs(far - TRUTH), axis=1) > 0.3]
    assert len(far) > 100
    assert np.min(emu.chi2(far)) > 10 * np.max(emu.chi2_seen)
    # trend=False (what the proposer fits) is the constant mean: there the far corners look as
    # good as what was seen, which is what sends its Thompson draws exploring
    flat = HistogramEmulator.fit(X, V, E, DATA, DATA_ERR, np.ones(B), trend=False)
    assert np.min(flat.chi2(far)) < 10 * np.max(flat.chi2_seen)


def test_noise_the_bins_share_is_learned_on_top_of_the_stated_errors():
    # one event sample fills every histogram, so an evaluation's MC fluctuation moves many bins
    # together, as if its parameters were slightly off; the stated errors are per bin only
    rng = np.random.default_rng(11)
    X = np.vstack([qmc.LatinHypercube(d=D, seed=11).random(12),
                   np.clip(TRUTH + 0.08 * (qmc.LatinHypercube(d=D, seed=12).random(18) - 0.5), 0, 1)])
    V, E = evaluate(X, rng, rel=0.002)
    independent = HistogramEmulator.fit(X, V, E, DATA, DATA_ERR, np.ones(B))
    shared = histograms(np.clip(X + 0.01 * rng.standard_normal(X.shape), 0, 1)) - histograms(X)
    emu = HistogramEmulator.fit(X, V + shared, E, DATA, DATA_ERR, np.ones(B))
    assert emu.noise_inflation.shape == (emu.n_components,)
    # the shared fluctuations are found where they are, on the leading components
    assert np.max(emu.noise_inflation[:3]) > 5 and np.median(independent.noise_inflation[:3]) < 3
    # and the tune's quoted uncertainty covers the truth despite the errors understating the noise
    bounds = np.array([np.zeros(D), np.ones(D)])
    u = emu.minimum(X[np.argsort(emu.chi2_seen)[:4]], bounds)
    cov_data, cov_emu = emu.minimum_covariance(u)
    assert np.all(np.abs(u - TRUTH) / np.sqrt(np.diag(cov_data + cov_emu)) < 3)


@pytest.mark.parametrize(("d", "kept"), [(2, 16), (6, 16), (10, 24)])
def test_the_components_kept_grow_with_the_parameters_above_six(d, kept):
    # residuals spanning 40 directions: the cap alone decides how many components are kept
    rng = np.random.default_rng(d)
    X = rng.random((41, d))
    V = 1.0 + 0.1 * rng.normal(size=(41, 200))
    E = np.full_like(V, 0.01)
    emu = HistogramEmulator.fit(X, V, E, np.ones(200), np.full(200, 0.01), np.ones(200))
    assert component_cap(d) == kept
    assert emu.n_components == kept == emu.components.shape[0]
    assert HistogramEmulator.fit(X, V, E, np.ones(200), np.full(200, 0.01), np.ones(200),
                                 max_components=5).n_components == 5
