"""A Gaussian-process emulator of the histograms themselves, for tunes that see every bin.

A scalar surrogate of the chi2 learns one number per evaluation, and the chi2 is a steep, nearly
quadratic bowl spanning orders of magnitude. Each evaluation in fact measures hundreds of bins, each
of which moves smoothly with the parameters. Professor (arXiv 0907.2973) interpolates every bin with
a polynomial; here the bins are emulated by Gaussian processes, and the chi2 is computed from the
emulated histograms (Bayesian optimisation of a composite function, Astudillo and Frazier,
arXiv 1906.01537):

1. scaled residuals ``z_b = sqrt(w_h) (mc_b - data_b) / s_b`` with ``s_b^2`` the data error, the
   typical MC error and the model-error floor, so that ``chi2 ~ |z|^2``;
2. principal components of the residual vectors of the evaluations (SVD); the first ``k`` keep all
   but ``1e-6`` of their variance, at most :func:`component_cap` of them for the recommendation
   (16, and ``2 d + 4`` above 6 parameters) and 16 for the proposals;
3. one GP per component score (BoTorch ``SingleTaskGP``, batched), with the MC variance of each
   score, propagated from the bin errors, as known noise plus a learned one for the MC
   fluctuations the bins share (:func:`_fit_with_correlated_noise`), and a linear prior mean (``trend``,
   the default) or a constant one. Residuals are close to linear in the parameters near a
   minimum (the Gauss-Newton picture; Professor fits polynomials for the same reason), so away
   from the evaluations a linear mean keeps the chi2 rising as a bowl does; the tune is
   recommended from that emulator. A constant mean reverts every score to the average of the
   evaluations there, whose chi2 (the residual of their centroid) is small, so its draws often
   land far from every evaluation. Which of the two should *propose* was measured end to end
   (BENCHMARKS.md section 3): proposing with the linear mean wasted almost no evaluations but
   walked down the nearest valley and ended further from the truth in the full-size closure;
   the constant mean's far-flung draws found the basin more often, so the proposer uses it;
4. ``chi2(x) = b + |a + c(x)|^2`` for component scores ``c``: the chi2 of the posterior-mean
   histograms is minimised for the tune. New evaluations are proposed either by the expected
   improvement of the chi2 over posterior samples of the scores (:meth:`propose`), or by Thompson
   sampling of the minimum (:meth:`thompson`): the minimiser of the chi2 of one posterior draw of
   the whole emulated histograms (Wilson et al.'s pathwise sampling, arXiv 2002.09309).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from botorch.acquisition import AcquisitionFunction, qLogExpectedImprovement
from botorch.acquisition.objective import GenericMCObjective
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.transforms import Standardize
from botorch.optim import optimize_acqf
from botorch.sampling.pathwise import draw_matheron_paths
from gpytorch.constraints import GreaterThan
from gpytorch.likelihoods import FixedNoiseGaussianLikelihood
from gpytorch.means import LinearMean
from gpytorch.mlls import ExactMarginalLogLikelihood
from scipy.optimize import minimize as scipy_minimize
from scipy.stats import qmc

from tuner.errors import TunerError
from tuner.mc.uncertainty import curvature_inverse, hessian
from tuner.surrogate.gp import gp_settings
from tuner.surrogate.mll import one_blas_thread

__all__ = ["MAX_COMPONENTS", "POSTERIOR_CALIBRATION", "HistogramEmulator", "component_cap"]

#: fraction of the residuals' variance the dropped principal components may hold
PCA_TOLERANCE = 1e-6
#: fewest evaluations an emulator is fitted to
MIN_EVALUATIONS = 3
#: the cap on the principal components up to 6 parameters (:func:`component_cap`)
MAX_COMPONENTS = 16
#: How much wider the emulator's posterior of the component scores is quoted than the fitted GPs
#: give it (a factor on the variance, for :meth:`HistogramEmulator.minimum_covariance`).
#: Hyperparameters fitted by maximum likelihood to a few dozen noisy evaluations give too narrow a
#: posterior, and the evaluations themselves cannot show it (at an evaluated point the Monte Carlo
#: noise dominates the leave-one-out residuals, which come out calibrated). Measured
#: (``benchmarks/emulator_calibration.py``, BENCHMARKS.md section 3) at the truth of stored closure
#: tunes against high-statistics Monte Carlo there, the scores alone need 1.7-2.0 (2-parameter
#: default, 56 tunes) and 2.0-2.4 (6 parameters, five tunes). The quoted minimum needs more: its
#: spread is propagated by one linear (Newton) step from the scores, and the components the
#: emulator leaves out carry no posterior at all. 3.0 is the factor at which the quote of
#: :func:`tuner.mc.recommend.recommend` (this posterior spread of the minimum, the data term and
#: the polynomial shift) has a mean squared pull of 1 over 66 stored closure tunes of the
#: 2-parameter default (RMS pulls 1.11 and 0.93; 79% of the 1-sigma intervals hold the truth, the
#: pulls having heavier tails than a normal distribution's). Checked where it was not chosen: 30
#: tunes at random truths (80%, RMS 0.95 and 0.84) and seven 6-parameter truths (every pull below
#: 1.3).
POSTERIOR_CALIBRATION = 3.0


def component_cap(d: int) -> int:
    """The most principal components the emulator keeps for ``d`` parameters: 16, and ``2 d + 4``
    above 6 parameters.

    Near a minimum each parameter moves the histograms along its own direction, and curvature
    adds more, so the components that carry the tune grow with the number of parameters. 16 was
    measured on the 6-parameter closure (BENCHMARKS.md section 3); refitting the stored
    10-parameter closures with more components (session 47, the same evaluations) moved the
    minimum closer to the truth at 20-26 components on three truths of four and away again from
    28 on, where components that hold mostly noise enter. The tune is recommended (and its
    jackknife, when asked for, refitted) with this cap; the proposals keep :data:`MAX_COMPONENTS`
    (:mod:`tuner.mc.proposers.histograms`): proposing with 24 of ten parameters gave one better
    and one worse tune of two fresh ones.
    """
    return max(MAX_COMPONENTS, 2 * d + 4)


class _NegChi2(AcquisitionFunction):
    """Minus the chi2 of the emulated histograms at single points (``b x 1 x d``)."""

    def __init__(self, emu: HistogramEmulator) -> None:
        super().__init__(emu.model)
        self.emu = emu

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return -self.emu.chi2_tensor(X.squeeze(-2))


def _linear_trend(X: np.ndarray, C: np.ndarray) -> LinearMean:
    """The prior mean of the component GPs: per component, the least-squares plane through the
    scores ``C`` (``n x k``) at ``X`` (``n x d``), on the scale ``Standardize`` gives the GP,
    held fixed in the hyperparameter fit (learned with them, 7 x 16 more parameters made each
    fit of a 6-parameter tune 5-20x slower). With fewer than ``d + 2`` evaluations the plane is
    not determined and the mean is the constant one (the plane's slope is 0)."""
    n, d = X.shape
    std = C.std(axis=0, ddof=1)
    Cs = (C - C.mean(axis=0)) / np.where(std >= 1e-8, std, 1.0)  # as Standardize scales them
    A = np.column_stack([X, np.ones(n)])
    coef = np.linalg.lstsq(A, Cs, rcond=None)[0] if n >= d + 2 else np.zeros((d + 1, C.shape[1]))
    mean = LinearMean(d, batch_shape=torch.Size([C.shape[1]]))
    with torch.no_grad():
        mean.weights.copy_(torch.as_tensor(coef[:d].T[..., None]))
        mean.bias.copy_(torch.as_tensor(coef[d])[:, None])
    mean.weights.requires_grad_(False)
    mean.bias.requires_grad_(False)
    return mean


def _fit_with_correlated_noise(model: SingleTaskGP, seed: int) -> np.ndarray:
    """Fit the component GPs' hyperparameters with a learned noise on top of the known one, and
    leave the model with their sum as its fixed noise; returns, per component, the total noise
    over the known one.

    The known noise of a score is propagated from the bin errors as if the bins were independent.
    They are not: every histogram of an evaluation is filled from the same events (a fluctuation in
    the number of three-jet events moves thrust, C-parameter, jet rates and multiplicities
    together) and normalisation ties the bins of a histogram. Measured with 12 replicas of one
    100k-event point of the 6-parameter closure, the propagated variance is right along random
    directions (0.94 of the observed) but 2-13 times too small along the leading principal
    components, which are exactly such physics directions (BENCHMARKS.md section 3). An emulator
    that trusts the propagated noise reads fluctuations of clustered evaluations as slopes: it put
    the chi2 at a closure truth at 8 000, 30 times its minimum, where evaluations on the line
    between the two measure the same chi2 within their noise, and its posterior excluded it. So
    each component gets an additional homoskedastic noise, learned by the marginal likelihood
    with the lengthscales (every evaluation has the same number of events). It is then folded
    into the fixed noise, because BoTorch's pathwise (Thompson) draws read only the likelihood's
    first noise term.
    """
    known = model.likelihood.noise_covar.noise.detach().clone()  # k x n, standardised
    batch = known.shape[:-1]  # one GP per component
    model.likelihood = FixedNoiseGaussianLikelihood(noise=known, learn_additional_noise=True,
                                                    batch_shape=batch,
                                                    noise_constraint=GreaterThan(1e-6))
    extra = model.likelihood.second_noise_covar
    assert extra is not None
    extra.initialize(noise=known.mean(-1, keepdim=True).clamp_min(2e-6))  # start at twice the known
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    with torch.random.fork_rng(devices=[]), gp_settings(), warnings.catch_warnings():
        torch.manual_seed(seed)
        warnings.simplefilter("ignore")
        fit_gpytorch_mll(mll)
    added = extra.noise.detach().reshape(-1, 1)
    model.likelihood = FixedNoiseGaussianLikelihood(noise=known + added, batch_shape=batch)
    model.eval()
    return ((known + added).mean(-1) / known.mean(-1)).numpy()


@dataclass
class HistogramEmulator:
    """Emulated histograms of a tune, fitted to the evaluations so far.

    Build it with :meth:`fit`. Points are in the unit cube of the search space.

    Attributes:
        model: Batched GP over the ``k`` component scores.
        a: Projection of the mean residual onto the components (``k``).
        b: Squared norm of the part of the mean residual outside the components.
        chi2_seen: Emulator-scale chi2 of each evaluation (``|z|^2``).
        n_components: ``k``.
        bin_weights: The histogram weight of each bin it was fitted with.
        noise_inflation: Per component, the noise the fit settled on over the noise propagated
            from the bin errors (:func:`_fit_with_correlated_noise`).
        scale: Per bin, the factor that makes a residual ``mc - data`` a scaled residual (item 1
            of the module's docstring; 0 for bins left out).
        components: The principal components, ``k x B``: scores are ``(z - centre) @ components.T``.
        centre: The mean scaled residual of the evaluations (``B``).
        data_share: Per bin, the chi2's denominator over its data-only part (data error and
            model-error floor, without the Monte Carlo error of an evaluation): ``|z|^2`` weighted by
            it is the chi2 an infinitely precise simulation would have (:meth:`chi2_data`); 1 in a
            bin whose data error and floor are both 0.
    """

    model: SingleTaskGP
    a: torch.Tensor
    b: float
    chi2_seen: np.ndarray
    n_components: int
    bin_weights: np.ndarray
    noise_inflation: np.ndarray
    scale: np.ndarray
    components: np.ndarray
    centre: np.ndarray
    data_share: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray, values: np.ndarray, errors: np.ndarray, data: np.ndarray,
            data_errors: np.ndarray, bin_weights: np.ndarray, model_error: float = 0.0,
            max_components: int | None = None, seed: int = 0,
            trend: bool = True) -> HistogramEmulator:
        """Fit the emulator.

        Args:
            X: Evaluated points in the unit cube, ``n x d``.
            values: Their normalised histograms, concatenated over the selected histograms
                (``n x B``).
            errors: Statistical errors of ``values``.
            data: Reference values (``B``); ``data_errors`` their errors.
            bin_weights: Weight of each bin's histogram in the chi2 (``B``).
            model_error: Relative model-error floor of the chi2.
            max_components: At most this many principal components (and at most ``n - 1``);
                ``None``: :func:`component_cap` of the number of parameters.
            seed: Seed of the hyperparameter fit.
            trend: A linear prior mean (:func:`_linear_trend`) for the component GPs; ``False``:
                a constant one, learned with the hyperparameters.

        Raises:
            TunerError: fewer than 3 evaluations, or arrays that do not line up.
        """
        n, nb = values.shape
        if n < MIN_EVALUATIONS or X.shape[0] != n or errors.shape != values.shape or data.shape != (nb,):
            raise TunerError(f"the emulator needs >= {MIN_EVALUATIONS} evaluations with one value "
                             f"and error per bin; got X {X.shape}, values {values.shape}, "
                             f"errors {errors.shape}, data {data.shape}")
        den_data = data_errors**2 + (model_error * data) ** 2
        den = den_data + np.median(errors**2, axis=0)
        ok = (den > 0) & (bin_weights > 0)
        scale = np.zeros(nb)
        scale[ok] = np.sqrt(bin_weights[ok] / den[ok])
        share = np.where(ok & (den_data > 0), den / np.where(den_data > 0, den_data, 1.0), 1.0)
        Z = (values - data) * scale
        Zvar = (errors * scale) ** 2
        centre = Z.mean(axis=0)
        _, S, Vt = np.linalg.svd(Z - centre, full_matrices=False)
        frac = np.cumsum(S**2) / max(float(np.sum(S**2)), 1e-300)
        cap = component_cap(X.shape[1]) if max_components is None else max_components
        k = int(min(np.searchsorted(frac, 1.0 - PCA_TOLERANCE) + 1, cap, n - 1))
        V = Vt[:k]
        C = (Z - centre) @ V.T
        # GPyTorch rounds standardised noise below 1e-6 up (with a warning): floor it there
        Cvar = np.maximum(Zvar @ (V.T**2), 1.01e-6 * np.maximum(C.var(axis=0, ddof=1), 1e-300))
        a = V @ centre
        b = float(centre @ centre - a @ a)
        tX = torch.as_tensor(X, dtype=torch.float64)
        model = SingleTaskGP(tX, torch.as_tensor(C), train_Yvar=torch.as_tensor(Cvar),
                             mean_module=_linear_trend(X, C) if trend else None,
                             outcome_transform=Standardize(m=k))
        inflation = _fit_with_correlated_noise(model, seed)
        return cls(model, torch.as_tensor(a), b, np.sum(Z**2, axis=1), k, bin_weights, inflation,
                   scale, V, centre, share)

    def _chi2_of_scores(self, C: torch.Tensor) -> torch.Tensor:
        """Chi2 of the histograms whose component scores are ``C`` (``... x k``)."""
        return self.b + ((self.a + C) ** 2).sum(-1)

    def chi2_tensor(self, X: torch.Tensor) -> torch.Tensor:
        """The chi2 of the emulated histograms' posterior mean at points ``X`` (``m x d``, unit
        cube), differentiable."""
        return self._chi2_of_scores(self.model.posterior(X).mean)

    def chi2(self, X: np.ndarray) -> np.ndarray:
        """:meth:`chi2_tensor` at points ``X`` (``m x d`` unit cube), as numpy."""
        with torch.no_grad(), gp_settings():
            return self.chi2_tensor(torch.as_tensor(np.atleast_2d(X))).numpy()

    def chi2_data(self, X: np.ndarray) -> np.ndarray:
        """The chi2 of the posterior-mean histograms at points ``X`` (``m x d``, unit cube) with
        the data errors and the model-error floor alone in its denominators: the chi2 an infinitely
        precise simulation would have, whose ``delta-chi2 = 1`` is how far the data's own
        fluctuations move the tune. (:meth:`chi2` also holds one evaluation's Monte Carlo error
        in every denominator, the scale on which evaluations and the emulator are compared.)"""
        with torch.no_grad(), gp_settings():
            C = self.model.posterior(torch.as_tensor(np.atleast_2d(X))).mean.numpy()
        z = self.centre + C @ self.components
        return np.sum(self.data_share * z**2, axis=-1)

    def minimum(self, X_start: np.ndarray, bounds: np.ndarray, seed: int = 0) -> np.ndarray:
        """The minimiser of the chi2 of the emulated histograms within ``bounds`` (``2 x d``), by
        L-BFGS from each row of ``X_start``.

        The chi2 of the posterior-mean histograms, not the posterior mean of the chi2: the summed
        variances dip at every evaluated point and would pull the minimum (and the curvature the
        uncertainties come from) onto the evaluations.
        """
        tb = torch.as_tensor(bounds, dtype=torch.float64)
        init = torch.as_tensor(np.clip(X_start, bounds[0], bounds[1]))[:, None, :]
        with torch.random.fork_rng(devices=[]), gp_settings(), warnings.catch_warnings():
            # a start that is already a minimum (the profiles start from their neighbour's) can
            # end L-BFGS's line search "ABNORMAL"; BoTorch then keeps that start, and the best of
            # all candidates is taken below
            warnings.filterwarnings("ignore", message="Optimization failed in `gen_candidates_scipy`",
                                    category=RuntimeWarning)
            torch.manual_seed(seed)
            cand, _ = optimize_acqf(_NegChi2(self), bounds=tb, q=1,
                                    num_restarts=init.shape[0], batch_initial_conditions=init,
                                    options={"maxiter": 200}, return_best_only=False)
        cands = cand.detach().numpy().reshape(-1, bounds.shape[1])
        return cands[int(np.argmin(self.chi2(cands)))]

    def minimum_covariance(self, u: np.ndarray, h: float = 0.01, n_samples: int = 512,
                           seed: int = 0, calibration: float = POSTERIOR_CALIBRATION
                           ) -> tuple[np.ndarray, np.ndarray]:
        """Covariance of the minimum ``u`` (unit cube) from the data and from the emulator.

        The data term is ``2 H^-1`` of :meth:`chi2_data` at the minimum (delta-chi2 = 1: the
        data's own fluctuations; the Monte Carlo noise of the evaluations is the emulator's
        share). Measured on 20 seeds of the embedded closure, the curvature of :meth:`chi2`, whose
        denominators also hold one evaluation's Monte Carlo error, made this term about
        ``1 + sigma_MC^2 / sigma_data^2`` (11 there) times too large. The emulator term
        propagates what the emulator does not know (the Monte Carlo noise of the evaluations and
        the interpolation between them): for posterior samples of the histograms the gradient
        ``g_s`` of their chi2 at ``u`` moves the minimum by the Newton step ``-H^-1 g_s``, and the
        spread of those steps is the emulator's share of the uncertainty. The samples' deviations
        from the posterior mean are widened to ``calibration`` times the posterior variance
        (:data:`POSTERIOR_CALIBRATION`; 1 for the fitted posterior as it is).

        Returns:
            ``(data covariance, emulator covariance)``, ``d x d`` each, in unit-cube coordinates;
            along a direction where the chi2 is not convex at ``u`` the data term is the variance
            of a flat distribution over the unit interval (:func:`tuner.mc.uncertainty.curvature_inverse`).
        """
        if not calibration > 0:
            raise TunerError(f"calibration is a factor on the posterior variance and must be > 0, "
                             f"got {calibration}")
        d = len(u)
        _, Hinv = curvature_inverse(hessian(self.chi2, u, h))
        cov_data, _ = curvature_inverse(hessian(self.chi2_data, u, h))
        E = np.eye(d) * h
        pts = torch.as_tensor(np.concatenate([u + E, u - E]))
        with torch.no_grad(), gp_settings(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            post = self.model.posterior(pts)
            Y = post.rsample(torch.Size([n_samples]))  # S x 2d x k
            Y = post.mean + math.sqrt(calibration) * (Y - post.mean)
            c = self._chi2_of_scores(Y).numpy()
        g = (c[:, :d] - c[:, d:]) / (2 * h)  # S x d
        steps = -g @ Hinv
        return cov_data, np.atleast_2d(np.cov(steps, rowvar=False))

    def thompson(self, bounds: np.ndarray, seed: int = 0, n_grid: int = 2048) -> np.ndarray:
        """Thompson sampling of the tune: the minimiser within ``bounds`` (``2 x d``, unit cube)
        of the chi2 of one posterior draw of the emulated histograms (``d``).

        Expected improvement prefers points next to the best evaluations, where the emulator is
        already sure; a tune needs to know *where* the minimum is, and a draw's minimiser falls
        where the emulator still allows the minimum to be (along a valley the evaluations have
        not covered), as often as the posterior allows it. The draw is a pathwise sample (random
        Fourier features plus the exact update on the evaluations), scanned on a scrambled Sobol
        grid of ``n_grid`` points and polished by L-BFGS-B from its best grid points.
        """
        lo, hi = (np.asarray(b, dtype=float) for b in bounds)
        d = len(lo)
        with torch.random.fork_rng(devices=[]), gp_settings(), warnings.catch_warnings():
            torch.manual_seed(seed)
            warnings.simplefilter("ignore")
            with torch.no_grad():  # the draw's weights are constants: only inputs get gradients
                path = draw_matheron_paths(self.model, sample_shape=torch.Size([1]))
            grid = lo + (hi - lo) * qmc.Sobol(d, seed=seed).random(n_grid)

            def chi2(U: torch.Tensor) -> torch.Tensor:
                scores = path(U.unsqueeze(0).expand(self.n_components, -1, -1))  # 1 x k x m
                return self._chi2_of_scores(scores[0].transpose(0, 1))

            with torch.no_grad():
                c = torch.cat([chi2(g) for g in torch.as_tensor(grid).split(512)]).numpy()

            def fun(u: np.ndarray) -> tuple[float, np.ndarray]:
                t = torch.as_tensor(u[None]).requires_grad_(True)
                val = chi2(t)[0]
                val.backward()
                assert t.grad is not None
                return float(val), t.grad[0].numpy().astype(float)

            best_u, best_c = grid[int(np.argmin(c))], float(np.min(c))
            with one_blas_thread():
                for start in grid[np.argsort(c)[:4]]:
                    r = scipy_minimize(fun, start, jac=True, method="L-BFGS-B",
                                       bounds=list(zip(lo, hi, strict=True)),
                                       options={"maxiter": 100})
                    if np.isfinite(r.fun) and r.fun < best_c:
                        best_u, best_c = np.clip(r.x, lo, hi), float(r.fun)
        return np.asarray(best_u, dtype=float)

    def propose(self, bounds: np.ndarray, X_pending: np.ndarray | None = None,
                seed: int = 0, q: int = 1) -> np.ndarray:
        """The ``q`` points of largest joint expected improvement of the emulated chi2 (``q x d``,
        unit cube).

        ``X_pending``: points being evaluated now (their outcome is integrated out).
        """
        best = float(np.min(self.chi2_seen))

        def neg_chi2(Y: torch.Tensor, X: torch.Tensor | None = None) -> torch.Tensor:
            return -self._chi2_of_scores(Y)

        obj = GenericMCObjective(neg_chi2)
        pend = None if X_pending is None or not len(X_pending) else torch.as_tensor(X_pending)
        acq = qLogExpectedImprovement(self.model, best_f=-best, objective=obj, X_pending=pend)
        with torch.random.fork_rng(devices=[]), gp_settings(), warnings.catch_warnings():
            torch.manual_seed(seed)
            warnings.simplefilter("ignore")
            cand, _ = optimize_acqf(acq, bounds=torch.as_tensor(bounds, dtype=torch.float64), q=q,
                                    num_restarts=8, raw_samples=512)
        return cand.detach().numpy()
