"""Professor's method (arXiv 0907.2973) as a peer: per-bin polynomials, chi2 minimised on them.

Every bin of every selected histogram is fitted, by linear least squares (SVD), with a polynomial
in the parameters (unit-cube coordinates centred on 0.5) of order 3 when the runs number at least
twice its coefficients, else order 2 (at least as many runs as coefficients). The chi2 of the
polynomial histograms, with a flat relative interpolation error added to the data errors as
Professor users do, is minimised by L-BFGS-B from many starts; the covariance is ``2 H^-1`` there.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from tuner.errors import TunerError
from tuner.mc.uncertainty import hessian
from tuner.surrogate.mll import one_blas_thread

__all__ = ["INTERPOLATION_ERROR", "PolynomialHistograms", "polynomial_order"]

#: flat relative interpolation error added in quadrature to the data errors (Professor: 2-3%)
INTERPOLATION_ERROR = 0.02


def _n_coefficients(d: int, order: int) -> int:
    return math.comb(d + order, order)


def polynomial_order(n_runs: int, d: int) -> int:
    """3 if the runs over-determine a cubic twice, else 2 if they determine a quadratic.

    Raises:
        TunerError: too few runs even for a quadratic.
    """
    if n_runs >= 2 * _n_coefficients(d, 3):
        return 3
    if n_runs >= _n_coefficients(d, 2):
        return 2
    raise TunerError(f"Professor's polynomials need >= {_n_coefficients(d, 2)} runs in {d} "
                     f"parameters, got {n_runs}")


def _features(U: np.ndarray, order: int) -> np.ndarray:
    C = np.atleast_2d(U) - 0.5
    cols = [np.ones(len(C))]
    for k in range(1, order + 1):
        for idx in itertools.combinations_with_replacement(range(C.shape[1]), k):
            cols.append(np.prod(C[:, list(idx)], axis=1))
    return np.stack(cols, axis=1)


@dataclass
class PolynomialHistograms:
    """Per-bin polynomials of the selected histograms and the chi2 they give against the data."""

    coefficients: np.ndarray  # (n_coefficients, n_bins)
    order: int
    data: np.ndarray
    denominator_data: np.ndarray  # data error^2 + model-error floor^2 per bin
    weights: np.ndarray

    @classmethod
    def fit(cls, U: np.ndarray, values: np.ndarray, data: np.ndarray, data_errors: np.ndarray,
            weights: np.ndarray, model_error: float = 0.0) -> PolynomialHistograms:
        """Least-squares polynomials through the runs ``values`` (``n x B``) at unit points ``U``."""
        order = polynomial_order(len(U), U.shape[1])
        coef, *_ = np.linalg.lstsq(_features(U, order), values, rcond=None)
        return cls(coef, order, data, data_errors**2 + (model_error * data) ** 2, weights)

    def values(self, U: np.ndarray) -> np.ndarray:
        return _features(U, self.order) @ self.coefficients

    def chi2(self, U: np.ndarray) -> np.ndarray:
        """Chi2 of the polynomial histograms at unit points ``U`` (rows), one value per row."""
        p = self.values(U)
        den = self.denominator_data + (INTERPOLATION_ERROR * p) ** 2
        ok = den > 0
        r = np.where(ok, (p - self.data) ** 2 / np.where(ok, den, 1.0), 0.0)
        return (r * self.weights).sum(axis=1)

    def minimum(self, starts: np.ndarray) -> tuple[np.ndarray, float]:
        """The lowest minimum from L-BFGS-B runs started at each row of ``starts`` (unit cube)."""
        best_u, best_f = starts[0], math.inf
        bounds = [(0.0, 1.0)] * starts.shape[1]
        with one_blas_thread():
            for s in starts:
                r = minimize(lambda u: float(self.chi2(u[None])[0]), s, method="L-BFGS-B",
                             bounds=bounds)
                if r.fun < best_f:
                    best_u, best_f = np.asarray(r.x), float(r.fun)
        return best_u, best_f

    def covariance(self, u: np.ndarray, h: float = 1e-3) -> np.ndarray:
        """``2 H^-1`` of the polynomial chi2 at ``u`` (unit cube); NaN where not convex."""
        H = hessian(self.chi2, u, h)
        try:
            return 2 * np.linalg.inv(H) if np.all(np.linalg.eigvalsh(H) > 0) else np.full(H.shape, np.nan)
        except np.linalg.LinAlgError:
            return np.full(H.shape, np.nan)
