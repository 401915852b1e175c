"""Uncertainties of a tune: curvature of its chi2, and the (robust) jackknife of the whole fit.

A tune's minimum moves for three reasons: the data fluctuate within their errors, every
evaluation carries Monte Carlo noise, and the surrogate built on a few noisy evaluations
interpolates between them. The curvature term ``2 H^-1`` (the delta-chi2 = 1 ellipse) covers only
the first. Measured on the embedded closure (16 seeds), the procedure alone moved the tune by 3-5
times that term, and a parametric bootstrap of the Monte Carlo noise at fixed evaluation points
moved it by less than the curvature term: what the tune does not know is mostly *which* points it
happened to evaluate. :func:`jackknife_covariance` measures that: the surrogate is refitted with each
evaluation left out in turn and minimised again, and the spread of those minima (the jackknife
variance, ``(n - 1) / n sum (u_i - mean)^2``) is added to the curvature term. Above
:data:`JACKKNIFE_GROUPS` evaluations the evaluations are left out in that many interleaved groups
(the delete-d jackknife, ``(g - 1) / g sum (u_k - mean)^2`` over the g group refits), so that a
long tune's final recommendation costs at most that many refits: left out one at a time, the 240
evaluations of a reference tune took 240 refits of the emulator, each slower than the last.

The spread is measured robustly (:func:`robust_jackknife`): leaving out one early design point
can move the refitted minimum far further than the noise does, and the plain jackknife's variance,
a sum of squares, is then set by those few refits (it is biased upward for such statistics, the
Efron-Stein inequality). Measured on 40 seeds of the embedded closure (BENCHMARKS.md section 3),
the plain jackknife put the truth inside 89% of the 1-sigma intervals (RMS pulls 0.72 / 0.75);
with each parameter's spread from the median absolute deviation of the refitted minima, 81% (RMS
0.79 / 0.89). The emulator's posterior spread instead, which needs no refit, gave 61% but RMS
pulls of 1.5 / 1.3 with a pull of 7 on one seed: too sure of itself when a tune has missed.

Both estimate the same thing, how far the few noisy evaluations leave the minimum uncertain, and
each misses what the other sees: the jackknife is blind where leaving one evaluation out hardly
moves the minimum (a sparse design: 6 parameters and 40 evaluations, where it alone quoted pulls of
2.0-2.6 on three of five fresh closure truths, and a joint distance of 45 on 6 degrees of freedom
along a combination it claimed to know 100 times better than the widest), the posterior where the
emulator's hyperparameters are too sure. Sessions 49-50 quoted their :func:`envelope`, the larger
of the two along every direction, not their sum, which would count the same uncertainty twice (on
56 seeds of the 2-parameter default the sum put the truth inside 81% of the 1-sigma intervals with
RMS pulls 0.91 / 0.89, the envelope 79% with 0.99 / 0.99, the jackknife alone 78%;
BENCHMARKS.md section 3, "Session 49"). Since session 51 a tune quotes the posterior spread alone,
its variance widened to what covers the truth (:data:`tuner.mc.emulator.POSTERIOR_CALIBRATION`),
and the envelope is :func:`tuner.mc.recommend.recommend`'s ``jackknife=True``: over 86 closure
tunes of the 2-parameter default the jackknife's spread was nearly uncorrelated with how far the
tune was off (correlation 0.10 and 0.14 with the error of aLund and alpha_s; the polynomial
shift's 0.41 and 0.65), so it widened the quote on tunes that were close as much as on those that
were not, and the envelope over-covered (84% of the intervals, RMS pulls 0.82 / 0.84;
BENCHMARKS.md section 3, "Session 51").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["EIGENTUNE_RULE", "JACKKNIFE_GROUPS", "MAD_TO_SIGMA", "Eigentune", "JackknifeResult",
           "cap_to_range", "curvature_inverse", "eigentunes", "envelope", "hessian", "jackknife_covariance",
           "jackknife_refits", "profile", "robust_jackknife"]


def hessian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: np.ndarray | float) -> np.ndarray:
    """Central-difference Hessian at ``x`` of ``f`` (rows of points -> one value per row), with step
    ``h`` per coordinate: the curvature a chi2's ``2 H^-1`` uncertainties come from."""
    d = len(x)
    E = np.diag(np.broadcast_to(np.asarray(h, dtype=float), (d,)))
    H = np.zeros((d, d))
    for i in range(d):
        for j in range(i, d):
            c = f(np.stack([x + E[i] + E[j], x + E[i] - E[j], x - E[i] + E[j], x - E[i] - E[j]]))
            H[i, j] = H[j, i] = (c[0] - c[1] - c[2] + c[3]) / (4 * E[i, i] * E[j, j])
    return H


def curvature_inverse(H: np.ndarray, flat_variance: float = 1.0 / 12.0) -> tuple[np.ndarray, np.ndarray]:
    """``H^-1`` of a chi2's Hessian in unit-cube coordinates, tolerant of flat directions.

    Along an eigenvector of ``H`` whose eigenvalue is not positive (a direction where the chi2
    is flat, or the finite differences saw only noise) the data say nothing: there ``2 H^-1`` is
    replaced by ``flat_variance``, the variance of a flat distribution over the unit interval,
    and the Newton steps of the emulator term do not move. The other directions keep their
    curvature, so a tune is not declared unconstrained in every parameter because one direction
    is flat.

    Returns:
        ``(2 H^-1 with flat directions filled in, the pseudo-inverse H^+)``.
    """
    w, V = np.linalg.eigh(H)
    pos = w > 0
    var = np.where(pos, 2.0 / np.where(pos, w, 1.0), flat_variance)
    pinv = np.where(pos, 1.0 / np.where(pos, w, 1.0), 0.0)
    return (V * var) @ V.T, (V * pinv) @ V.T


@dataclass
class JackknifeResult:
    """Minima of the surrogate refitted without one evaluation each.

    Attributes:
        minima: ``n_ok x d`` minima (unit cube) of the refits that succeeded.
        covariance: The robust jackknife covariance of the minimum (``d x d``, unit cube;
            :func:`robust_jackknife`), the one a tune quotes.
        classic: The plain jackknife covariance, ``(m - 1) / m sum (u_i - mean)(u_i - mean)^T``.
        n_failed: Refits that failed (left out).
    """

    minima: np.ndarray
    covariance: np.ndarray
    n_failed: int
    classic: np.ndarray


#: the most refits the jackknife makes: up to this many evaluations each is left out on its own
#: (every tune of the benchmarks and examples, budgets up to 60), beyond it groups are
JACKKNIFE_GROUPS = 60


def jackknife_refits(n: int, groups: int = JACKKNIFE_GROUPS) -> int:
    """How many refits :func:`jackknife_covariance` makes for ``n`` evaluations."""
    return max(1, min(n, groups))


def jackknife_covariance(refit_minimum: Callable[[np.ndarray], np.ndarray],
                         n: int, dims: int, groups: int = JACKKNIFE_GROUPS,
                         step: Callable[[], Any] | None = None) -> JackknifeResult:
    """Jackknife of a fit's minimum: leave-one-out up to ``groups`` evaluations, else delete-d
    with ``groups`` interleaved groups (evaluation i in group ``i % groups``, so each group spans
    the whole run, design and refinement alike).

    Args:
        refit_minimum: ``f(keep) -> u``: refit the surrogate to the evaluations where the boolean
            mask ``keep`` (length ``n``) is true and return its minimum.
        n: Number of evaluations.
        dims: Number of coordinates of a minimum.
        groups: The most refits to make.
        step: Called after each refit (a progress bar's update).

    The covariance is :func:`robust_jackknife`'s (the plain one is kept beside it). Fewer than
    three successful refits give a NaN covariance (too few to measure a spread).
    """
    g = jackknife_refits(n, groups)
    minima, failed = [], 0
    for i in range(g):
        keep = np.arange(n) % g != i
        try:
            minima.append(np.asarray(refit_minimum(keep), dtype=float))
        except Exception:  # a subset the surrogate cannot be fitted to says nothing
            failed += 1
        if step is not None:
            step()
    M = np.array(minima, dtype=float).reshape(len(minima), dims)
    if len(M) < 3:
        nan = np.full((dims, dims), np.nan)
        return JackknifeResult(M, nan, failed, nan)
    robust, classic = robust_jackknife(M)
    return JackknifeResult(M, robust, failed, classic)


#: the median absolute deviation of a normal distribution times this is its standard deviation
MAD_TO_SIGMA = 1.4826


def robust_jackknife(minima: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The jackknife covariance of ``m`` refitted minima (``m x d``, one per left-out evaluation
    or group), robust and plain.

    Plain: ``(m - 1) / m sum (u_i - mean)(u_i - mean)^T``, that is ``m - 1`` times the spread of
    the minima. Robust: each coordinate's spread is ``MAD_TO_SIGMA`` times the median absolute
    deviation from the median (the same for normally spread minima, blind to the few refits
    whose left-out evaluation moved the minimum far), times ``m - 1``; the correlations are the
    plain ones. Where more than half the minima coincide (MAD 0: a parameter pinned at a range
    end), the plain variance is kept.

    Returns:
        ``(robust, plain)``, ``d x d`` each.
    """
    M = np.asarray(minima, dtype=float)
    m = len(M)
    D = M - M.mean(axis=0)
    plain = (m - 1) / m * (D.T @ D)
    mad = MAD_TO_SIGMA * np.median(np.abs(M - np.median(M, axis=0)), axis=0)
    sd = np.sqrt(np.clip(np.diag(plain), 0.0, None))
    sig = np.where(mad > 0, np.sqrt(m - 1) * mad, sd)  # MAD > 0 implies sd > 0
    scale = sig / np.where(sd > 0, sd, 1.0)  # plain correlations, robust spreads
    return plain * np.outer(scale, scale), plain


def envelope(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The larger of two covariances along every direction: ``C >= A`` and ``C >= B`` (Loewner
    order, so every linear combination of the parameters has at least the variance of each).

    In coordinates where ``A + B`` is the identity the two are diagonal in one basis, ``A = Q L Q^T``
    and ``B = Q (1 - L) Q^T``; the envelope is ``Q max(L, 1 - L) Q^T`` mapped back. It is at most
    their sum, equals either where it contains the other (``A >= B`` gives ``A``) and their
    elementwise maximum where they share their eigenvectors. Directions where both vanish stay
    zero.
    """
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    w, V = np.linalg.eigh(A + B)
    keep = w > max(float(w.max()), 0.0) * 1e-12
    if not np.any(keep):
        return np.zeros_like(A)
    root = (V[:, keep] * np.sqrt(w[keep])) @ V[:, keep].T
    inv_root = (V[:, keep] / np.sqrt(w[keep])) @ V[:, keep].T
    lam, Q = np.linalg.eigh(inv_root @ A @ inv_root)
    C = root @ (Q * np.maximum(lam, 1.0 - lam)) @ Q.T @ root
    return (C + C.T) / 2


def cap_to_range(cov: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A covariance whose standard deviations do not exceed ``(high - low) / sqrt(12)``, that of a
    flat distribution over each parameter's range, and which parameters were capped (or had no
    finite positive variance): those the data leave unconstrained.

    Correlations are kept; non-finite entries become 0.
    """
    cov = np.array(cov, dtype=float)
    flat = (np.asarray(high, float) - np.asarray(low, float)) / np.sqrt(12.0)
    var = np.diag(cov).copy()
    bad = ~(np.isfinite(var) & (var > 0))
    sig = np.where(bad, flat, np.sqrt(np.where(bad, 1.0, var)))
    free = bad | (sig >= flat * (1 - 1e-9))  # a flat direction gives exactly that, up to rounding
    shrink = np.minimum(1.0, flat / sig)
    out = np.where(np.isfinite(cov), cov, 0.0) * np.outer(shrink, shrink)
    out[np.diag_indices_from(out)] = (sig * shrink) ** 2
    return out, free


#: the rule of the eigentunes, written into summary.json
EIGENTUNE_RULE = (
    "eigentune k+/-: the tune moved by +/- sqrt(delta_chi2 * lambda_k) v_k, with (lambda_k, v_k) the "
    "eigenpairs of the quoted covariance in range-scaled coordinates ((x - low) / (high - low)), so "
    "that each variation changes a chi2 whose covariance is the quoted one by delta_chi2; clipped to "
    "the parameter ranges (flagged)")


@dataclass
class Eigentune:
    """One Professor-style eigentune: the tune moved along an eigenvector of its covariance."""

    index: int
    sign: str
    eigenvalue: float
    point: np.ndarray
    clipped: bool


def eigentunes(best: np.ndarray, cov: np.ndarray, low: np.ndarray, high: np.ndarray,
               delta_chi2: float = 1.0) -> list[Eigentune]:
    """The ``+`` and ``-`` eigentunes of every eigenvector, largest eigenvalue first
    (:data:`EIGENTUNE_RULE`)."""
    span = np.asarray(high, float) - np.asarray(low, float)
    lam, V = np.linalg.eigh(np.asarray(cov, float) / np.outer(span, span))
    out = []
    for k, j in enumerate(np.argsort(lam)[::-1]):
        step = np.sqrt(delta_chi2 * max(float(lam[j]), 0.0)) * V[:, j] * span
        for sign, s in (("+", 1.0), ("-", -1.0)):
            x = np.asarray(best, float) + s * step
            clipped = bool(np.any(x < low) or np.any(x > high))
            out.append(Eigentune(k + 1, sign, float(lam[j]), np.clip(x, low, high), clipped))
    return out


def profile(minimum_with: Callable[[int, float], float], dims: int, grid: np.ndarray) -> np.ndarray:
    """The profile of a chi2: for each coordinate ``i`` and grid value ``g`` the minimum over the
    other coordinates with ``i`` held at ``g`` (``minimum_with(i, g)``); ``dims x len(grid)``."""
    return np.array([[minimum_with(i, float(g)) for g in grid] for i in range(dims)])
