"""Uncertainty helpers: the jackknife and the curvature of a chi2."""

from __future__ import annotations

import numpy as np
import pytest

from tuner.mc.uncertainty import envelope, hessian, jackknife_covariance, robust_jackknife
from tuner.mc.workflow import TuneRun


def test_jackknife_of_a_mean_is_the_variance_of_the_mean():
    rng = np.random.default_rng(3)
    data = rng.normal(size=(40, 2)) * [1.0, 3.0]
    res = jackknife_covariance(lambda keep: data[keep].mean(axis=0), len(data), 2)
    # for the sample mean the plain jackknife variance equals s^2 / n exactly
    np.testing.assert_allclose(res.classic, np.cov(data, rowvar=False) / len(data), rtol=1e-12)
    assert res.n_failed == 0 and res.minima.shape == (40, 2)


def test_jackknife_in_groups_beyond_the_limit():
    """Beyond ``groups`` evaluations the delete-d jackknife of interleaved groups: for the mean of
    equal groups it is again the variance of the mean, from ``groups`` refits only."""
    rng = np.random.default_rng(4)
    data = rng.normal(size=(120, 2)) * [1.0, 3.0]
    left_out = []

    def refit(keep):
        left_out.append(np.flatnonzero(~keep))
        return data[keep].mean(axis=0)

    res = jackknife_covariance(refit, len(data), 2, groups=30)
    assert len(left_out) == 30 and res.minima.shape == (30, 2)
    assert [list(idx) for idx in left_out[:2]] == [[0, 30, 60, 90], [1, 31, 61, 91]]
    group_means = data.reshape(4, 30, 2).mean(axis=0)  # the mean of each interleaved group
    expected = np.cov(group_means, rowvar=False) / 30  # the jackknife of the 30 group means
    np.testing.assert_allclose(res.classic, expected, rtol=1e-12)
    assert np.all(np.diag(res.classic) / (np.diag(np.cov(data, rowvar=False)) / 120) < 2.5)


def test_the_robust_jackknife_is_blind_to_one_influential_evaluation():
    """For normally spread refits the robust jackknife agrees with the plain one, correlations
    included; one evaluation whose removal moves the fit far sets the plain variance, not the
    robust one (what over-covered the embedded closure)."""

    rng = np.random.default_rng(5)
    L = np.array([[1.0, 0.0], [0.6, 0.8]])
    data = rng.normal(size=(400, 2)) @ L.T
    clean = jackknife_covariance(lambda keep: data[keep].mean(axis=0), 400, 2, groups=400)
    assert np.allclose(np.diag(clean.covariance) / np.diag(clean.classic), 1, atol=0.2)
    corr = clean.covariance[0, 1] / np.sqrt(clean.covariance[0, 0] * clean.covariance[1, 1])
    assert corr == pytest.approx(0.6, abs=0.08)
    data[0] = [400.0, -400.0]  # the evaluation the fit hinges on
    bad = jackknife_covariance(lambda keep: data[keep].mean(axis=0), 400, 2, groups=400)
    assert np.all(np.diag(bad.classic) > 50 * np.diag(clean.classic))
    np.testing.assert_allclose(np.diag(bad.covariance), np.diag(clean.covariance), rtol=0.1)
    # a parameter pinned at a range end in most refits (MAD 0) keeps the plain variance
    pinned = np.zeros((10, 2))
    pinned[:3, 0] = [0.1, 0.2, 0.3]
    pinned[:, 1] = np.linspace(0, 1, 10)
    robust, plain = robust_jackknife(pinned)
    assert robust[0, 0] == pytest.approx(plain[0, 0]) and robust[0, 0] > 0


def test_jackknife_leaves_out_refits_that_fail():
    def refit(keep):
        if not keep[0]:
            raise RuntimeError("cannot fit")
        return np.array([keep.sum() * 1.0])

    res = jackknife_covariance(refit, 5, 1)
    assert res.n_failed == 1 and len(res.minima) == 4
    none = jackknife_covariance(lambda keep: (_ for _ in ()).throw(RuntimeError("no fit")), 3, 2)
    assert none.minima.shape == (0, 2) and np.isnan(none.covariance).all()


def _random_covariance(rng: np.random.Generator, d: int, rank: int) -> np.ndarray:
    L = rng.normal(size=(d, rank)) * rng.uniform(0.01, 3.0, size=rank)
    return L @ L.T


@pytest.mark.parametrize("rank_a,rank_b", [(4, 4), (2, 4), (4, 1), (2, 2)])
def test_the_envelope_of_two_covariances_is_at_least_each_along_every_direction(rank_a, rank_b):
    """``envelope(A, B)`` gives every linear combination at least the variance of each and at most
    their sum; it is the elementwise maximum where the two share their eigenvectors, and ``A``
    itself where ``A`` contains ``B``."""
    rng = np.random.default_rng(rank_a * 10 + rank_b)
    for _ in range(20):
        A, B = _random_covariance(rng, 4, rank_a), _random_covariance(rng, 4, rank_b)
        C = envelope(A, B)
        np.testing.assert_allclose(C, C.T, atol=1e-12)
        tol = 1e-9 * np.trace(A + B)
        for lower in (A, B):
            assert np.linalg.eigvalsh(C - lower).min() > -tol
        assert np.linalg.eigvalsh(A + B - C).min() > -tol
        v = rng.normal(size=(200, 4))  # the same, direction by direction
        var_a, var_b, var_c = (np.einsum("ij,jk,ik->i", v, M, v) for M in (A, B, C))
        assert np.all(var_c >= np.maximum(var_a, var_b) - tol)
    Q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    a, b = np.array([1.0, 0.2, 3.0, 0.0]), np.array([0.5, 0.7, 3.0, 0.0])
    np.testing.assert_allclose(envelope((Q * a) @ Q.T, (Q * b) @ Q.T), (Q * np.maximum(a, b)) @ Q.T,
                               atol=1e-12)
    A = _random_covariance(rng, 3, 3)
    np.testing.assert_allclose(envelope(A, 0.3 * A), A, atol=1e-12)
    np.testing.assert_array_equal(envelope(np.zeros((2, 2)), np.zeros((2, 2))), np.zeros((2, 2)))


def test_hessian_of_a_quadratic_chi2_gives_its_covariance():
    C = np.array([[0.04, -0.01], [-0.01, 0.09]])
    Ci = np.linalg.inv(C)
    x0 = np.array([0.3, -0.2])

    def chi2(X):
        D = X - x0
        return np.einsum("ni,ij,nj->n", D, Ci, D)

    np.testing.assert_allclose(2 * np.linalg.inv(hessian(chi2, x0, 1e-3)), C, rtol=1e-6)


def test_an_interval_wider_than_the_range_is_capped_and_flagged_unconstrained():
    from tuner.mc.uncertainty import cap_to_range

    lo, hi = np.array([0.0, 0.0, 0.0]), np.array([1.0, 12.0, 2.0])
    cov = np.array([[0.01, 0.005, 0.0], [0.005, 169.0, 0.0], [0.0, 0.0, np.nan]])
    out, free = cap_to_range(cov, lo, hi)
    assert free.tolist() == [False, True, True]
    np.testing.assert_allclose(np.sqrt(np.diag(out)), [0.1, 12 / np.sqrt(12), 2 / np.sqrt(12)])
    # the correlation of the first two is kept
    corr = out[0, 1] / np.sqrt(out[0, 0] * out[1, 1])
    np.testing.assert_allclose(corr, 0.005 / (0.1 * 13.0))


def test_eigentunes_move_the_tune_by_one_sigma_along_each_eigenvector():
    from tuner.mc.uncertainty import eigentunes

    lo, hi = np.array([0.0, 0.0]), np.array([2.0, 0.1])
    best = np.array([1.0, 0.05])
    cov = np.array([[0.04, 0.0], [0.0, 1e-6]])
    et = eigentunes(best, cov, lo, hi)
    assert [(e.index, e.sign) for e in et] == [(1, "+"), (1, "-"), (2, "+"), (2, "-")]
    # range-scaled eigenvalues: 0.04 / 4 = 0.01 for the first parameter, 1e-6 / 0.01 = 1e-4
    np.testing.assert_allclose([et[0].eigenvalue, et[2].eigenvalue], [0.01, 1e-4])
    np.testing.assert_allclose(np.abs(et[0].point - best), [0.2, 0.0], atol=1e-12)
    np.testing.assert_allclose(np.abs(et[2].point - best), [0.0, 0.001], atol=1e-12)
    # a variation beyond the range is clipped and flagged
    far = eigentunes(best, np.array([[4.0, 0.0], [0.0, 1e-6]]), lo, hi)
    assert far[0].clipped and far[0].point[0] in (0.0, 2.0)


def test_a_flat_direction_leaves_the_curved_ones_constrained():
    from tuner.mc.uncertainty import cap_to_range, curvature_inverse

    # chi2 = 400 (u0 - 0.5)^2 + 0 * u1: u1 is flat, and the finite differences saw a tiny
    # negative curvature there
    H = np.diag([800.0, -1e-9])
    cov, pinv = curvature_inverse(H)
    assert cov[0, 0] == pytest.approx(2 / 800) and cov[1, 1] == pytest.approx(1 / 12)
    assert pinv[1, 1] == 0 and pinv[0, 0] == pytest.approx(1 / 800)
    _, free = cap_to_range(cov, np.zeros(2), np.ones(2))
    assert list(free) == [False, True]  # only the flat parameter is unconstrained
    # a positive-definite Hessian gives exactly 2 H^-1
    H2 = np.array([[300.0, 40.0], [40.0, 90.0]])
    np.testing.assert_allclose(curvature_inverse(H2)[0], 2 * np.linalg.inv(H2), rtol=1e-12)


def test_polynomial_minimum_finds_the_point_the_histograms_were_made_at():
    from tuner.mc.recommend import polynomial_minimum

    rng = np.random.default_rng(3)
    d, nb = 2, 12
    A, B = rng.normal(size=(d, nb)), rng.normal(size=(d, nb))

    def hist(U: np.ndarray) -> np.ndarray:  # quadratic in u, as the polynomials assume
        return 5.0 + (U - 0.5) @ A + ((U - 0.5) ** 2) @ B

    truth = np.array([0.3, 0.65])
    data = hist(truth[None])[0]
    U = rng.random((8, d))
    vec = (data, np.full(nb, 0.05), np.ones(nb))
    u = polynomial_minimum(U, hist(U), vec, 0.0, np.array([0.5, 0.5]))
    assert u is not None
    np.testing.assert_allclose(u, truth, atol=2e-3)
    # five runs do not determine a quadratic in two parameters (six coefficients)
    assert polynomial_minimum(U[:5], hist(U[:5]), vec, 0.0, np.array([0.5, 0.5])) is None


def test_the_quoted_covariance_is_the_sum_of_its_terms(embedded_tune):
    """An emulator tune quotes (by default) the data term, the emulator's posterior spread and
    the shift to Professor's polynomials (``s s^T``), exactly their sum, mapped from the unit cube
    to the parameters; ``jackknife=True`` quotes the envelope of the robust jackknife and the
    posterior spread in the posterior's place, and so does a configuration that says
    ``uncertainty: jackknife``."""
    from tuner.mc.recommend import covariance_terms, recommend
    from tuner.mc.uncertainty import cap_to_range, envelope

    out, _, cfg = embedded_tune
    run = TuneRun.load(out)
    try:
        state = run.state()
        res = {False: recommend(run.opt, run.setup, state.vectors)}  # the default
        run.setup.config.uncertainty = "jackknife"  # as `uncertainty: jackknife` reads
        res[True] = recommend(run.opt, run.setup, state.vectors)
        explicit = recommend(run.opt, run.setup, state.vectors, jackknife=False)
        done = [t for t in run.opt.complete if t.id in state.vectors]
        best = sorted(done, key=lambda t: float(t.y))[:5]
        starts = [run.opt.recommend(search=True)[0]] + [t.x for t in best]
        terms = covariance_terms(run.opt, run.setup, state.vectors, starts)
    finally:
        run.close()
    assert terms.jackknife is not None and len(terms.jackknife.minima) == cfg.budget
    u = np.asarray(run.opt.space.to_unit([[res[True].best[p.name] for p in cfg.parameters]]))[0]
    np.testing.assert_allclose(terms.u, u, atol=1e-9)  # the same minimum
    shift = np.zeros_like(terms.u) if terms.shift is None else terms.shift
    lo, hi = (np.array([getattr(p, k) for p in cfg.parameters]) for k in ("low", "high"))
    assert np.all(np.linalg.eigvalsh(terms.posterior) > 0)  # a term that adds something
    spreads = {True: envelope(terms.jackknife.covariance, terms.posterior), False: terms.posterior}
    for j, spread in spreads.items():
        unit = terms.data + spread + np.outer(shift, shift)
        expected, _ = cap_to_range(unit * np.outer(hi - lo, hi - lo), lo, hi)  # linear ranges
        np.testing.assert_allclose(np.asarray(res[j].covariance), expected, rtol=1e-9)
    assert "robust jackknife" in res[True].uncertainty_method
    np.testing.assert_allclose(explicit.covariance, res[False].covariance, rtol=1e-9)  # the argument wins
    assert "jackknife" not in res[False].uncertainty_method
    assert all("over the emulator's posterior" in res[j].uncertainty_method for j in (True, False))
