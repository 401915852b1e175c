"""The recommended tune and its uncertainties (:class:`TuneResult`, :func:`recommend`)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import qmc
from tqdm.auto import tqdm

from tuner.errors import TunerError
from tuner.mc.emulator import MIN_EVALUATIONS, POSTERIOR_CALIBRATION, HistogramEmulator
from tuner.mc.generators.cutoffs import PTMIN_RULE, ptmin_floor, ptmin_setting
from tuner.mc.professor import INTERPOLATION_ERROR, PolynomialHistograms
from tuner.mc.setup import TuneSetup
from tuner.mc.uncertainty import (
    JackknifeResult,
    cap_to_range,
    envelope,
    hessian,
    jackknife_covariance,
    jackknife_refits,
    profile,
)
from tuner.optimizer import Optimizer

__all__ = ["NEAR_FLOOR_RULE", "PROFILE_GRID", "UNCONSTRAINED_RULE", "CovarianceTerms", "TuneResult",
           "covariance_terms", "emulator_starts", "polynomial_minimum", "quote_at_floor", "recommend"]

#: where the profiles are computed, as a fraction of each parameter's range (unit cube)
PROFILE_GRID = np.linspace(0.0, 1.0, 13)

#: the rule written into summary.json
UNCONSTRAINED_RULE = ("unconstrained: the standard deviation is at least (high - low) / sqrt(12), that "
                      "of a flat distribution over the whole range; it is quoted as that value")


@dataclass
class TuneResult:
    """Outcome of a tune.

    Attributes:
        best: The tune, by parameter name.
        uncertainties: One standard deviation per parameter (square roots of the diagonal of
            ``covariance``).
        covariance: Full covariance matrix, rows and columns in the order of ``best``.
        uncertainty_method: How ``covariance`` was obtained, in words.
        uncertainty_curvature: The curvature-only term ``sqrt(diag(2 H^-1))`` (delta-chi2 = 1 of
            the predicted chi2 against the data errors alone: how far the data's own fluctuations
            move the tune), for comparison.
        chi2_surrogate: Predicted chi2 at the tune.
        chi2_best_evaluated: Lowest chi2 of a single evaluation.
        at_edge: Parameters within 1% of an end of their range.
        validation: Filled by the workflow (:class:`tuner.mc.validation.Validation`).
        unconstrained: Parameters the tune does not constrain: their standard deviation would be
            at least that of a flat distribution over the whole range, ``(high - low) / sqrt(12)``;
            it is quoted as that (:data:`UNCONSTRAINED_RULE`).
        profiles: Per parameter, the emulated chi2 minus its minimum, minimised over the other
            parameters, on a grid across the range (``x``, ``delta_chi2``); empty without the
            emulator. Its denominators include one evaluation's typical Monte Carlo error.
        raised: Tuned settings whose minimum lay where Pythia raises the value to a floor (every
            value below it gives the same events: :mod:`tuner.mc.generators.cutoffs`), or less
            than one standard deviation above it (:func:`quote_at_floor`): per setting ``name``,
            the surrogate's ``minimum``, the ``floor`` Pythia runs with there (capped at the
            range's high end), the ``upper`` limit quoted (the floor, or the minimum plus one
            standard deviation) and the ``rule``. The data say only that the setting lies between
            its range's low end and that limit: the tune quotes the mean and standard deviation
            of that interval, ``(low + upper) / 2 +- (upper - low) / sqrt(12)``, uncorrelated
            with the others (Pythia runs it as the floor; a truth anywhere in the interval lies
            within sqrt(3) standard deviations).
    """

    best: dict[str, float]
    uncertainties: dict[str, float]
    chi2_surrogate: float
    chi2_best_evaluated: float
    at_edge: list[str]
    validation: Any = None
    n_evaluations: int = 0
    n_failed: int = 0
    events_generated: int = 0
    surrogate: str = "chi2 GP"
    covariance: list[list[float]] = field(default_factory=list)
    uncertainty_method: str = ""
    uncertainty_curvature: dict[str, float] = field(default_factory=dict)
    unconstrained: list[str] = field(default_factory=list)
    profiles: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    raised: list[dict[str, Any]] = field(default_factory=list)

    @property
    def correlation(self) -> list[list[float]]:
        """The correlation matrix of ``covariance``."""
        C = np.asarray(self.covariance, dtype=float)
        s = np.sqrt(np.clip(np.diag(C), 1e-300, None))
        return (C / np.outer(s, s)).tolist()


def _jacobian(opt: Optimizer, u: np.ndarray) -> np.ndarray:
    """d(parameter)/d(unit coordinate) at ``u`` (diagonal: each parameter maps on its own)."""
    n, eps = len(u), 1e-6
    shifted = np.array(opt.space.from_unit(np.concatenate([u + eps * np.eye(n), u - eps * np.eye(n)])),
                       dtype=float)
    return np.diag(shifted[:n] - shifted[n:]) / (2 * eps)


#: the data term of the emulator's covariance, in words
_DATA_TERM = ("2 H^-1 at the minimum of the chi2 of the emulated histograms against the data errors "
              "and model-error floor alone (delta-chi2 = 1: the data's own fluctuations)")


@dataclass
class CovarianceTerms:
    """The separate terms of an emulator tune's covariance, unit cube (:func:`covariance_terms`).

    Attributes:
        emulator: The emulator fitted to every evaluation.
        u: Its minimum.
        data: ``2 H^-1`` of :meth:`HistogramEmulator.chi2_data` at ``u``.
        posterior: The spread of the minimum over the emulator's posterior.
        jackknife: The leave-one-out refits (``None`` when not asked for).
        shift: ``u`` minus the minimum of Professor's polynomials (``None``: too few runs).
    """

    emulator: HistogramEmulator
    u: np.ndarray
    data: np.ndarray
    posterior: np.ndarray
    jackknife: JackknifeResult | None
    shift: np.ndarray | None


def covariance_terms(opt: Optimizer, setup: TuneSetup,
                     vectors: dict[int, tuple[np.ndarray, np.ndarray]], starts: list[list[Any]],
                     jackknife: bool = True, progress: bool = False) -> CovarianceTerms:
    """Fit the emulator to every evaluation with histograms in ``vectors``, minimise its chi2 from
    ``starts`` (points in parameter space) and compute each term :func:`recommend` may quote."""
    cfg = setup.config
    done = [t for t in opt.complete if t.id in vectors]
    X = np.asarray(opt.space.to_unit([t.x for t in done]))
    vecs = [vectors[t.id] for t in done]
    emu = setup.emulator(X, vecs, seed=cfg.seed)
    bounds = opt.space.model_bounds
    u = emu.minimum(np.asarray(opt.space.to_unit(starts)), bounds, seed=cfg.seed)
    cov_d, cov_e = emu.minimum_covariance(u, seed=cfg.seed)
    best_x = np.asarray(opt.space.to_unit([min(done, key=lambda t: float(t.y or 0.0)).x]))

    def refit_minimum(keep: np.ndarray) -> np.ndarray:
        rep = setup.emulator(X[keep], [v for v, k in zip(vecs, keep, strict=True) if k], seed=cfg.seed)
        return rep.minimum(np.concatenate([u[None], best_x]), bounds, seed=cfg.seed)

    jack = None
    if jackknife:
        with tqdm(total=jackknife_refits(len(done)), desc="uncertainty", unit="refit",
                  disable=not progress) as bar:
            jack = jackknife_covariance(refit_minimum, len(done), len(u), step=bar.update)
    poly = polynomial_minimum(X, np.stack([v[0] for v in vecs]), setup.data_vector(), cfg.model_error,
                              u, seed=cfg.seed)
    return CovarianceTerms(emu, u, cov_d, cov_e, jack, None if poly is None else u - poly)


#: how the method text names the posterior's calibration
_CALIBRATED = (f" (its variance widened {POSTERIOR_CALIBRATION:g} times, the factor at which this quote's "
               "pulls over closure tunes have a mean square of 1)")


def _emulated(opt: Optimizer, setup: TuneSetup, vectors: dict[int, tuple[np.ndarray, np.ndarray]],
              starts: list[list[Any]], jackknife: bool, progress: bool = False
              ) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, str, np.ndarray]:
    """Minimum of the emulated chi2 (unit cube), its chi2, the total covariance and the
    curvature covariance (unit cube), the method in words, and the profile of the emulated chi2
    minus its minimum on :data:`PROFILE_GRID` (one row per parameter)."""
    cfg = setup.config
    terms = covariance_terms(opt, setup, vectors, starts, jackknife, progress)
    emu, u, jack = terms.emulator, terms.u, terms.jackknife
    bounds = opt.space.model_bounds
    f0 = float(emu.chi2(u)[0])

    with tqdm(total=len(u) * len(PROFILE_GRID), desc="profiles", unit="point",
              disable=not progress) as bar:

        def minimum_with(i: int, g: float) -> float:
            b = np.array(bounds, dtype=float)
            b[:, i] = b[0, i] + g * (b[1, i] - b[0, i])
            start = np.clip(u, b[0], b[1])
            bar.update()
            return float(emu.chi2(emu.minimum(start[None], b, seed=cfg.seed))[0]) - f0

        prof = profile(minimum_with, len(u), PROFILE_GRID)
    if jack is not None and np.all(np.isfinite(jack.covariance)):
        post = terms.posterior if np.all(np.isfinite(terms.posterior)) else np.zeros_like(terms.data)
        cov = terms.data + envelope(jack.covariance, post)
        method = (f"{_DATA_TERM} plus the robust jackknife covariance of that minimum over the "
                  f"evaluations ({len(jack.minima)} refits, each without one evaluation: which points "
                  "the tune happened to evaluate; each parameter's spread of the refitted minima from "
                  "the median absolute deviation, so that the few evaluations whose removal moves the "
                  "minimum far do not set it) or the spread of that minimum over the emulator's "
                  f"posterior{_CALIBRATED} (what it does not know between the evaluations), whichever "
                  "is larger along each direction")
    else:
        cov = terms.data + terms.posterior
        method = (f"{_DATA_TERM} plus the spread of that minimum over the emulator's "
                  f"posterior{_CALIBRATED}: what the emulator does not know, the Monte Carlo noise "
                  "of the evaluations and the interpolation between them")
    if terms.shift is not None:
        cov = cov + np.outer(terms.shift, terms.shift)
        method += (", plus the interpolation systematic: the outer product of the shift between that "
                   "minimum and the minimum of Professor's per-bin polynomials (order 2, or 3 where the "
                   "runs allow) fitted to the same evaluations")
    lead = ", ".join(f"{v:.1f}" for v in emu.noise_inflation[:3])
    method += (f"; the emulator's noise on its leading components is {lead} times the Monte Carlo "
               "noise propagated from the bin errors as if independent (learned: the bins of an "
               "evaluation share its events)")
    return u, f0, cov, terms.data, method, prof


def polynomial_minimum(U: np.ndarray, values: np.ndarray,
                       data_vector: tuple[np.ndarray, np.ndarray, np.ndarray],
                       model_error: float, u: np.ndarray, seed: int = 0) -> np.ndarray | None:
    """The minimum (unit cube) of the chi2 of Professor's per-bin polynomials (order 2, or 3 where
    the runs allow: :func:`tuner.mc.professor.polynomial_order`) fitted to runs ``values``
    (``n x B``) at unit points ``U``, searched from ``u``, every run and 16 Sobol points; ``None``
    when the runs are too few for a quadratic.

    Args:
        data_vector: Data values, errors and bin weights (:meth:`TuneSetup.data_vector`).
    """
    try:
        poly = PolynomialHistograms.fit(U, values, *data_vector, model_error)
    except TunerError:  # too few runs for a quadratic (polynomial_order's rule)
        return None
    sobol = qmc.Sobol(U.shape[1], seed=seed).random(16)
    return poly.minimum(np.concatenate([np.asarray(u, float)[None], U, sobol]))[0]


def _professor(opt: Optimizer, setup: TuneSetup, vectors: dict[int, tuple[np.ndarray, np.ndarray]]
               ) -> tuple[np.ndarray, float, np.ndarray, str, str]:
    """Professor's recommendation: the minimum of the chi2 of per-bin polynomials, ``2 H^-1``."""
    cfg = setup.config
    done = [t for t in opt.complete if t.id in vectors]
    U = np.asarray(opt.space.to_unit([t.x for t in done]))
    values = np.stack([vectors[t.id][0] for t in done])
    poly = PolynomialHistograms.fit(U, values, *setup.data_vector(), cfg.model_error)
    starts = np.concatenate([U, np.asarray(opt.space.to_unit(
        opt.space.rvs(16, random_state=cfg.seed, method="sobol")))])
    u, f0 = poly.minimum(starts)
    method = (f"2 H^-1 of the chi2 of per-bin polynomials of order {poly.order} (least squares through "
              f"{len(done)} runs, {INTERPOLATION_ERROR:.0%} interpolation error), delta-chi2 = 1")
    return u, f0, poly.covariance(u), method, f"Professor polynomials (order {poly.order})"


#: why a minimum just above Pythia's pTmin floor is quoted as an upper limit (:func:`quote_at_floor`)
NEAR_FLOOR_RULE = ("the minimum lies less than one standard deviation above that floor (delta-chi2 < 1 "
                   "there), so every value below the floor describes the data as well: quoted as at "
                   "most the minimum plus one standard deviation")


def quote_at_floor(fixed: dict[str, Any], preset: str | None, names: list[str], x: np.ndarray,
                   cov: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> list[dict[str, Any]]:
    """Quote a tuned pTmin that the data cannot tell from Pythia's floor (under ``fixed`` and
    ``preset``, at the other values of ``x``) as an upper limit, in place (``x`` and ``cov``, as
    :class:`TuneResult`'s ``raised`` says); return that entry (none or one).

    Below the floor, the limit is the floor (every lower value gives the same events). Above it
    by less than its standard deviation, the limit is the minimum plus one standard deviation:
    the floor, and with it every value below, lies inside the quoted interval's delta-chi2 of 1,
    which a value and a symmetric error would deny (a closure truth at 0.72 GeV below a floor of
    1.38 was quoted 1.40 +- 0.06, pull 10.9; BENCHMARKS.md section 3, session 48). Either way the
    setting is quoted as the mean and standard deviation of the interval from its range's low end
    to the limit, uncorrelated with the others."""
    name = ptmin_setting(names)
    if name is None:
        return []
    i = names.index(name)
    floor = min(ptmin_floor({**fixed, **dict(zip(names, x.tolist(), strict=True))}, preset), hi[i])
    sigma = float(np.sqrt(max(cov[i, i], 0.0)))
    if x[i] < floor:
        upper, rule = floor, PTMIN_RULE
    elif floor > lo[i] and x[i] - sigma <= floor:
        upper, rule = min(x[i] + sigma, hi[i]), f"{PTMIN_RULE}; {NEAR_FLOOR_RULE}"
    else:
        return []
    entry = {"name": names[i], "minimum": float(x[i]), "floor": float(floor), "upper": float(upper),
             "rule": rule}
    x[i] = 0.5 * (lo[i] + upper)
    cov[i, :] = cov[:, i] = 0.0
    cov[i, i] = (upper - lo[i]) ** 2 / 12.0
    return [entry]


def emulator_starts(opt: Optimizer, start: list[Any]) -> list[list[Any]]:
    """Where the emulated chi2's minimum is searched from (parameter space): ``start`` (the
    optimiser's recommendation) and the five best evaluations."""
    return [start] + [t.x for t in sorted(opt.complete, key=lambda t: float(t.y or 0.0))[:5]]


def _interpolated(opt: Optimizer, setup: TuneSetup,
                  vectors: dict[int, tuple[np.ndarray, np.ndarray]] | None,
                  professor: tuple[Any, ...] | None, start: list[Any], jackknife: bool,
                  progress: bool) -> tuple[Any, ...]:
    """The tune where the histograms are interpolated: by Professor's polynomials when
    ``professor`` holds their result, else by the histogram emulator (its minimum searched from
    ``start`` and the five best evaluations, with its profiles). Returns ``(x, chi2 there,
    covariance, curvature-only sigmas, method, surrogate, profiles)`` in the parameters' units."""
    names = [p.name for p in setup.config.parameters]
    if professor is not None:
        u, f0, cov_u, method, surrogate = professor
        curv_u, profiles = cov_u, {}
    else:
        assert vectors is not None
        surrogate = "histogram emulator"
        u, f0, cov_u, curv_u, method, prof = _emulated(opt, setup, vectors, emulator_starts(opt, start),
                                                       jackknife, progress)
        mb = np.asarray(opt.space.model_bounds)
        X = np.asarray(opt.space.from_unit(mb[0] + np.outer(PROFILE_GRID, mb[1] - mb[0])),
                       dtype=float)
        profiles = {nm: {"x": X[:, i].tolist(), "delta_chi2": prof[i].tolist()}
                    for i, nm in enumerate(names)}
    # unit cube -> parameters (each parameter maps on its own: a diagonal Jacobian)
    x = np.array(opt.space.from_unit(u[None])[0], dtype=float)
    jac = _jacobian(opt, u)
    cov = jac[:, None] * cov_u * jac[None, :]
    curv = np.sqrt(np.abs(np.diag(curv_u))) * np.abs(jac)
    return x, f0, cov, curv, method, surrogate, profiles


def _from_chi2_gp(opt: Optimizer, x: np.ndarray, lo: np.ndarray,
                  hi: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, str]:
    """The tune from the chi2 GP alone, at its recommended point ``x``: ``(chi2 there,
    2 H^-1 of its posterior mean (NaN where singular), its sigmas, method)``."""
    def f(V: np.ndarray) -> np.ndarray:
        return np.asarray(opt.unwarp(opt.predict(np.clip(V, lo, hi).tolist())[0]))

    f0 = float(f(x[None])[0])
    try:
        cov = 2 * np.linalg.inv(hessian(f, x, 1e-3 * (hi - lo)))
    except np.linalg.LinAlgError:
        cov = np.full((len(x), len(x)), np.nan)
    curv = np.sqrt(np.abs(np.diag(cov)))
    return f0, cov, curv, "2 H^-1 of the chi2 surrogate's posterior mean at its minimum (delta-chi2 = 1)"


def recommend(opt: Optimizer, setup: TuneSetup,
              vectors: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
              jackknife: bool | None = None, progress: bool = False) -> TuneResult:
    """The tune: the minimiser of the predicted chi2, with uncertainties (``progress``: bars
    over the profiles' minimisations and the jackknife's refits, if asked for; ``jackknife``:
    ``None`` follows the configuration's ``uncertainty:``, ``posterior`` unless it says
    ``jackknife``).

    With the emulator on in the configuration and the histograms of at least
    ``MIN_EVALUATIONS`` trials in ``vectors`` (trial id -> :meth:`TuneSetup.vector`), the
    predicted chi2 is the one of the emulated histograms and the covariance is the sum of its
    curvature term (``2 H^-1`` against the data errors, delta-chi2 = 1), the spread of the
    minimum over the emulator's posterior (what it does not know: the Monte Carlo noise of the
    evaluations and the interpolation between them; its variance widened by
    :data:`~tuner.mc.emulator.POSTERIOR_CALIBRATION`, the factor at which this quote's pulls over
    closure tunes have a mean square of 1) and an interpolation systematic: ``s s^T`` for the
    shift ``s`` between the emulator's minimum and :func:`polynomial_minimum` of the same evaluations (two
    interpolations of the same runs that disagree by ``s`` do not place the minimum better than
    that; left out when the runs are too few for a quadratic). Coverage over 156 tunes of the
    embedded closure (96 at its truth, 60 at random truths: 79% inside 1 sigma, RMS pulls 1.08
    and 0.93; too wide at its truth, too sure in the tails at random truths) and the 6-parameter
    truths in BENCHMARKS.md. ``jackknife=True`` puts the envelope of the robust jackknife of
    :mod:`tuner.mc.uncertainty` (which evaluations the tune happened to make; one refit per
    evaluation) and that posterior spread in the posterior's place: wider. Sessions 49-50 quoted
    that envelope (with the posterior widened 1.7 times) and it over-covered (85% of the 1-sigma
    intervals of the same tunes, RMS pulls 0.79 and 0.82): the jackknife's spread is nearly
    uncorrelated with how far a tune is off. In ten parameters it can see what the posterior does
    not (one measured truth: a weakly constrained parameter 18% of its range off, pull 2.7
    without it, 1.6 with it).
    Otherwise the chi2 surrogate's posterior mean is minimised within a trust region around the
    best evaluation and the covariance is ``2 H^-1`` there. A parameter whose variance is not
    positive, or larger than that of a flat distribution over its range, is reported as
    unconstrained (see :class:`TuneResult`); one whose minimum lies where Pythia raises the
    value to a floor is quoted as the interval below that floor (:class:`TuneResult`'s
    ``raised``).

    Raises:
        TunerError: no successful evaluation.
    """
    cfg = setup.config
    if jackknife is None:
        jackknife = cfg.uncertainty == "jackknife"
    names = [p.name for p in cfg.parameters]
    done = opt.complete
    if opt.model is None or not done:
        failed = [t for t in opt.trials if t.state == "failed"]
        first = (str(failed[0].error or "no error recorded").strip().splitlines() or ["?"])[-1]
        why = f" ({len(failed)} failed; the first: {first})" if failed else ""
        raise TunerError(f"no successful evaluation{why}: nothing to recommend")
    rec = opt.recommend(search=True)
    assert rec is not None
    lo = np.array([p.low for p in cfg.parameters])
    hi = np.array([p.high for p in cfg.parameters])
    use_emulator = cfg.emulator and vectors is not None and len(vectors) >= MIN_EVALUATIONS
    professor = None
    if cfg.strategy == "professor" and vectors is not None:
        try:
            professor = _professor(opt, setup, vectors)
        except TunerError as exc:  # too few runs for the polynomials: the emulator recommends
            warnings.warn(f"Professor's polynomials cannot be fitted ({exc}); the histogram emulator "
                          "recommends the tune", RuntimeWarning, stacklevel=2)
    if professor is not None or use_emulator:
        x, f0, cov, curv, method, surrogate, profiles = _interpolated(
            opt, setup, vectors, professor, rec[0], jackknife, progress)
    else:
        x = np.array(rec[0], dtype=float)
        f0, cov, curv, method = _from_chi2_gp(opt, x, lo, hi)
        surrogate, profiles = "chi2 GP", {}
    raised = quote_at_floor(cfg.fixed, cfg.preset, names, x, cov, lo, hi)
    cov, free = cap_to_range(cov, lo, hi)
    sig = np.sqrt(np.diag(cov))
    unconstrained = [nm for nm, f in zip(names, free, strict=True) if f]
    edge = [nm for nm, v, a, b in zip(names, x, lo, hi, strict=True)
            if min(v - a, b - v) < 0.01 * (b - a)]
    return TuneResult(best=dict(zip(names, x.tolist(), strict=True)),
                      uncertainties=dict(zip(names, sig.tolist(), strict=True)),
                      chi2_surrogate=f0, chi2_best_evaluated=float(min(opt.yi)), at_edge=edge,
                      n_evaluations=len(done), n_failed=sum(t.state == "failed" for t in opt.trials),
                      events_generated=int(sum(t.info.get("events", 0) for t in opt.trials
                                               if t.state != "pending")),
                      surrogate=surrogate,
                      covariance=cov.tolist(), uncertainty_method=method,
                      uncertainty_curvature=dict(zip(names, curv.tolist(), strict=True)),
                      unconstrained=unconstrained, profiles=profiles, raised=raised)
