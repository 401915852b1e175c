"""Gaussian-process surrogate: construction and fitting on GPyTorch / BoTorch.

The model sees inputs in the model space of :class:`tuner.space.Space` (reals and integers on
``[0, 1]``, categoricals as indices) and standardised outcomes. Lengthscales carry the
dimension-scaled log-normal prior of Hvarfner, Hellsten, Nardi (arXiv 2402.02229), which keeps the
model sane up to tens of dimensions, on a Matern-5/2 ARD kernel. Noise is learned, or fixed per
observation when the caller knows it (heteroscedastic Monte Carlo noise).
"""

from __future__ import annotations

import copy
import warnings
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import gpytorch
import numpy as np
import torch
from botorch.exceptions.warnings import OptimizationWarning
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.kernels.categorical import CategoricalKernel
from botorch.models.transforms.outcome import Standardize
from botorch.models.utils.gpytorch_modules import get_covar_module_with_dim_scaled_prior
from gpytorch.constraints import GreaterThan
from gpytorch.kernels import Kernel, ScaleKernel
from gpytorch.mlls import ExactMarginalLogLikelihood
from gpytorch.priors import LogNormalPrior

from tuner.errors import TunerError
from tuner.surrogate.cached import cached_gp, is_plain
from tuner.surrogate.mll import fit_plain_gp, plain_loo, plain_loss
from tuner.surrogate.warp import Y_WARPS, OutputWarp

__all__ = ["Y_WARPS", "SurrogateConfig", "SurrogateView", "build_gp", "fit_gp", "gp_settings", "posterior",
           "posterior_mean", "unwarp", "warped_mean"]

#: the default prior of the learned noise variance (standardised units): LogNormal(loc, scale)
NOISE_PRIOR_LOC, NOISE_PRIOR_SCALE = -4.0, 1.0
#: where a model's state_dict() records the width of its noise prior
_NOISE_SCALE_KEY = "likelihood.noise_covar.noise_prior._buffered_scale"

#: Cholesky is exact and, for the sizes a BO run reaches, faster than GPyTorch's iterative solvers
MAX_CHOLESKY = 20_000


@dataclass(frozen=True)
class SurrogateConfig:
    """Choices of the surrogate model.

    Attributes:
        maxiter: L-BFGS iterations for a cold hyperparameter fit.
        warm_maxiter: iterations when warm-started from the previous fit's hyperparameters.
        warm_ftol: relative change of the loss at which a warm-started fit stops. One new
            observation moves the optimum a little, and L-BFGS spent 50-60 steps on polishing it
            to scipy's default (2e-9); at 1e-6 the loss differs by < 1e-5 nats per observation.
        min_noise: lower bound of the learned noise variance, in standardised units.
        always_refit_below: below this many observations the hyperparameters are refitted at
            every tell.
        refit_growth: above it, they are refitted when the data grew by this fraction since the
            last fit; in between, the model is conditioned on the new data with the previous
            hyperparameters (exact GP, no optimisation: O(n^3) once instead of per L-BFGS step).
        cold_refit_every: a refit also starts from the default hyperparameters, beside the warm
            start, and the fit with the higher posterior density is kept: at every refit below
            ``cold_refits_below`` observations, at every ``cold_refit_every``-th one above
            (0: never). A warm start alone stays in the optimum it found first: on
            ``(x0 - 0.3)^2 + 10 (x1 - 0.1)^2`` (20 calls, 10 seeds) it kept a long lengthscale
            and a noise level that explained ``x0`` away, and 3 runs of 10 never moved ``x0``
            off its bound (regret 0.49); with cold refits none did (BENCHMARKS.md section 1).
            Above 64 observations a cold fit doubles the cost of a tell (0.09 s at 100).
        cold_refits_below: see ``cold_refit_every``.
        wide_noise_scale: at each such refit a third fit starts from the default hyperparameters
            under a log-normal noise prior this wide (log-scale sd; the default prior's is 1), and
            the leave-one-out predictive density of the observations decides between the fits of
            the two priors (0: never). The default prior costs ~48 nats at the noise floor, so a
            GP of a noise-free objective keeps a noise of ~1e-3 (standardised) and cannot resolve
            differences below it; a wide prior alone underestimates the noise of noisy objectives
            early. The leave-one-out density penalises both: an interpolating fit of noisy data
            predicts its left-out points badly. The choice sticks through the warm refits between.
        single_thread_below: with fewer observations, an optimiser's ask, tell and fit run torch
            on one thread (on the CPU): the tensors are small, and waking a thread pool for each
            of the hundreds of small operations of a fit and an acquisition search cost more than
            it saved. At 100 observations of Hartmann6 with 2 threads: 0.148 -> 0.082 s per
            ask+tell (timed alternately with Optuna's); at 200 equal; from 500 on the pool pays
            (0.106 against 0.134 s). torch's thread count is process-wide: an objective that
            trains a network in another thread of the same process (a thread-pool executor)
            runs on one thread while an ask or tell is under way. ``0``: never.
        categorical_prior: ``(loc, scale)`` of a log-normal prior on the lengthscales of the
            categorical kernels (``exp(-mean(mismatch / lengthscale))``), or ``None`` (the
            default, as BoTorch's mixed GP: no prior). Without one the fit often drives them to
            ~1e-4, where every combination of categories is a GP of its own that shares nothing
            with the others. ``(0.0, 1.0)`` (median 1: a category differing in one of two
            categorical dimensions keeps a correlation of 0.6) helped on synthetic mixed problems
            (Hartmann3 behind four categorical variants: median regret 4.4e-4 against 5.2e-3, no
            run of 10 left in a wrong variant against 3; scikit-optimize's `mixed_categoricals`
            objective: 30 of 30 runs at the optimum against 25) and hurt the digits HPO task
            (median best log loss 0.0519 against 0.0474, worse on 8 of 10 paired seeds), so it is
            an option, not the default (BENCHMARKS.md section 1).
        fit_subset: with more observations, the hyperparameters are fitted on this many of them
            (a random subset, seeded by their number), and the GP then conditions on all of them
            with those hyperparameters. Each step of a fit is O(n^3): the first fit of 3000
            observations took 235 s on 2 cores, three fits (warm, cold, wide noise prior) of
            about 200 steps each; a thousand random observations pin the lengthscales and the
            noise about as well. ``0``: never.
    """

    maxiter: int = 200
    warm_maxiter: int = 60
    warm_ftol: float = 1e-6
    min_noise: float = 1e-6
    always_refit_below: int = 200
    refit_growth: float = 0.1
    cold_refit_every: int = 5
    cold_refits_below: int = 64
    wide_noise_scale: float = 3.0
    single_thread_below: int = 256
    categorical_prior: tuple[float, float] | None = None
    fit_subset: int = 1000


def gp_settings() -> ExitStack:
    """Context manager with the GPyTorch settings the toolkit uses.

    ``fast_pred_var`` caches a root decomposition of the training covariance once per model; with
    ``max_cholesky_size`` above the data size that decomposition is an exact Cholesky (no Lanczos),
    so predictive variances are exact (1e-14 relative) and each posterior call costs O(n) per
    test point instead of a fresh O(n^3) factorisation (GPyTorch's default path rebuilds the
    training covariance operator on every call): 800 ms -> 11 ms per call at n = 2000.
    """
    stack = ExitStack()
    stack.enter_context(gpytorch.settings.max_cholesky_size(MAX_CHOLESKY))
    stack.enter_context(gpytorch.settings.fast_pred_var(True))
    stack.enter_context(gpytorch.settings.cholesky_max_tries(6))
    return stack


def _categorical_kernel(cat_dims: list[int], prior: tuple[float, float] | None) -> CategoricalKernel:
    return CategoricalKernel(ard_num_dims=len(cat_dims), active_dims=cat_dims,
                             lengthscale_constraint=GreaterThan(1e-6),
                             lengthscale_prior=None if prior is None else LogNormalPrior(*prior))


def _covar_module(d: int, cat_dims: list[int], cat_prior: tuple[float, float] | None) -> Kernel:
    cont = [i for i in range(d) if i not in cat_dims]
    if not cat_dims:
        return get_covar_module_with_dim_scaled_prior(ard_num_dims=d, use_rbf_kernel=False)
    cat = _categorical_kernel(cat_dims, cat_prior)
    if not cont:
        return ScaleKernel(cat)
    kc = get_covar_module_with_dim_scaled_prior(ard_num_dims=len(cont), use_rbf_kernel=False,
                                                active_dims=cont)
    kc2 = get_covar_module_with_dim_scaled_prior(ard_num_dims=len(cont), use_rbf_kernel=False,
                                                 active_dims=cont)
    cat2 = _categorical_kernel(cat_dims, cat_prior)
    return ScaleKernel(kc) + ScaleKernel(cat) + ScaleKernel(kc2 * cat2)


def build_gp(X: torch.Tensor, Y: torch.Tensor, Yvar: torch.Tensor | None = None,
             cat_dims: list[int] | None = None, min_noise: float = 1e-6,
             cat_prior: tuple[float, float] | None = None) -> SingleTaskGP:
    """Build (without fitting) the surrogate for data ``X`` (n x d), ``Y`` (n x 1).

    Args:
        X: Inputs in model space.
        Y: Outcomes (to be maximised), one column.
        Yvar: Known noise variances of ``Y`` (same shape), or ``None`` to learn a noise level.
        cat_dims: Indices of categorical input columns.
        min_noise: Lower bound of the learned noise variance (standardised units).
        cat_prior: :attr:`SurrogateConfig.categorical_prior`.

    Returns:
        An unfitted BoTorch ``SingleTaskGP`` with a ``Standardize`` outcome transform.
    """
    cat_dims = list(cat_dims or [])
    covar = _covar_module(X.shape[-1], cat_dims, cat_prior)
    likelihood = None
    if Yvar is None:
        likelihood = gpytorch.likelihoods.GaussianLikelihood(
            noise_prior=LogNormalPrior(loc=NOISE_PRIOR_LOC, scale=NOISE_PRIOR_SCALE),
            noise_constraint=GreaterThan(min_noise, transform=None, initial_value=1e-3),
        )
    return SingleTaskGP(X, Y, train_Yvar=Yvar, likelihood=likelihood, covar_module=covar,
                        outcome_transform=Standardize(m=1)).to(X)


def fit_gp(model: SingleTaskGP, warm_state: dict[str, Any] | None = None,
           config: SurrogateConfig | None = None, optimise: bool = True) -> SingleTaskGP:
    """Fit the hyperparameters of ``model`` by maximum a posteriori (L-BFGS-B).

    A warm start from the hyperparameters of the previous fit (``warm_state``) makes refits after
    each new observation cheap; if the warm fit fails, a cold fit with restarts from the priors
    follows.

    Args:
        model: A model from :func:`build_gp`.
        warm_state: ``state_dict()`` of an earlier model with the same structure, or ``None``.
        config: Fit options.
        optimise: With ``False`` and a ``warm_state``, only load the hyperparameters.

    Returns:
        The fitted model, in eval mode.
    """
    config = config or SurrogateConfig()
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    with gp_settings(), warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizationWarning)
        warnings.filterwarnings("ignore", message=".*not p.d.*")
        n = model.train_targets.shape[-1]
        cold = config.cold_refit_every > 0 and (n < config.cold_refits_below
                                                or n % config.cold_refit_every == 0)
        if warm_state is not None:
            _set_noise_scale(model, _noise_scale(warm_state))
        if optimise and cold and is_plain(model):
            best = _best_of_starts(model, warm_state, config)
            if best is not None:
                return best
        # a mixed kernel is also fitted from its defaults, at every cold_refit_every-th point
        fresh = copy.deepcopy(model) if (
            optimise and warm_state is not None and not is_plain(model)
            and config.cold_refit_every > 0 and n % config.cold_refit_every == 0) else None
        if warm_state is not None:
            try:
                model.load_state_dict(_hyperparameters(warm_state), strict=False)
                if not optimise:
                    model.eval()
                    return model
                if is_plain(model):  # the same fit without GPyTorch's per-call cost
                    model.train()
                    ok = fit_plain_gp(model, config.warm_maxiter, config.warm_ftol)
                else:
                    opts = {"maxiter": config.warm_maxiter, "ftol": config.warm_ftol}
                    fit_gpytorch_mll(mll, optimizer_kwargs={"options": opts}, max_attempts=1)
                    ok = True
                if ok:
                    model.eval()
                    return model if fresh is None else _warm_or_fresh(model, fresh, config)
            except Exception:
                pass
        if fresh is not None:  # the warm fit failed
            return _fit_from_defaults(fresh, config)
        fit_gpytorch_mll(mll, optimizer_kwargs={"options": {"maxiter": config.maxiter}})
    model.eval()
    return model


def _hyperparameters(state: dict[str, Any]) -> dict[str, Any]:
    """The hyperparameters of a model's ``state_dict()``: without its data and outcome
    transform, so that they load into a model of other data."""
    return {k: v for k, v in state.items() if not k.startswith("outcome_transform") and "train" not in k}


def _noise_scale(state: dict[str, Any]) -> float:
    """The width of the noise prior a ``state_dict()`` was fitted under."""
    v = state.get(_NOISE_SCALE_KEY)
    return NOISE_PRIOR_SCALE if v is None else float(v)


def _set_noise_scale(model: SingleTaskGP, scale: float) -> None:
    """Give ``model``'s learned-noise prior the width ``scale`` (no-op for a fixed noise)."""
    prior = getattr(getattr(model.likelihood, "noise_covar", None), "noise_prior", None)
    if isinstance(prior, LogNormalPrior):
        with torch.no_grad():
            prior.base_dist.scale.fill_(scale)
            getattr(prior, "_buffered_scale", prior.base_dist.scale).fill_(scale)


def _best_of_starts(model: SingleTaskGP, warm_state: dict[str, Any] | None,
                    config: SurrogateConfig) -> SingleTaskGP | None:
    """Fit a plain model from its default hyperparameters and, given ``warm_state``, from
    those too (under the noise prior that state was fitted under), and from the defaults under
    the wide noise prior (``config.wide_noise_scale``). Per prior the fit with the lower loss
    (higher posterior density) wins; between priors, the higher leave-one-out predictive density.
    Returns the winner in eval mode, or ``None`` when no fit ended well."""
    starts: list[tuple[SingleTaskGP, int, float]] = []  # model, iterations, noise-prior width
    if config.wide_noise_scale > 0 and isinstance(
            getattr(model.likelihood.noise_covar, "noise_prior", None), LogNormalPrior):
        wide = copy.deepcopy(model)
        _set_noise_scale(wide, config.wide_noise_scale)
        starts.append((wide, config.maxiter, config.wide_noise_scale))
    _set_noise_scale(model, NOISE_PRIOR_SCALE)
    starts.append((model, config.maxiter, NOISE_PRIOR_SCALE))
    if warm_state is not None:
        warm = copy.deepcopy(model)
        warm.load_state_dict(_hyperparameters(warm_state), strict=False)
        _set_noise_scale(warm, _noise_scale(warm_state))
        starts.append((warm, config.warm_maxiter, _noise_scale(warm_state)))
    by_prior: dict[float, tuple[float, SingleTaskGP]] = {}
    for m, maxiter, scale in starts:
        m.train()
        if fit_plain_gp(m, maxiter, config.warm_ftol):
            with torch.no_grad():
                loss = float(plain_loss(m))
            if scale not in by_prior or loss < by_prior[scale][0]:
                by_prior[scale] = (loss, m)
    if not by_prior:
        return None
    fits = [m for _, m in by_prior.values()]
    best = fits[0] if len(fits) == 1 else max(fits, key=plain_loo)
    best.eval()
    return best


def _map_value(model: SingleTaskGP) -> float:
    """The log posterior density (marginal likelihood and priors, per observation) of a
    fitted model's hyperparameters on its training data."""
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    model.train()
    with torch.no_grad():
        return float(mll(model(*model.train_inputs), model.train_targets))


def _fit_from_defaults(model: SingleTaskGP, config: SurrogateConfig) -> SingleTaskGP:
    """Fit an unfitted model (its default hyperparameters) by GPyTorch's fit, in eval mode."""
    fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model),
                     optimizer_kwargs={"options": {"maxiter": config.maxiter,
                                                   "ftol": config.warm_ftol}})
    model.eval()
    return model


def _warm_or_fresh(warm: SingleTaskGP, fresh: SingleTaskGP, config: SurrogateConfig) -> SingleTaskGP:
    """Of a model with categorical dimensions fitted from the previous fit's hyperparameters
    (``warm``) and a copy of it fitted from the defaults (``fresh``, unfitted when given), the
    one of higher posterior density, in eval mode. :func:`fit_gp` asks for it at every
    ``config.cold_refit_every``-th observation (not at every refit below
    ``cold_refits_below`` as for plain models: GPyTorch's fit of the mixed kernel costs about a
    second per start at 20 observations, ten times the plain fit's).

    A warm start alone keeps the basin it found first: on scikit-optimize's mixed case
    (``int(a) + b z``, seed 1, random design) it stayed at a learned noise 25 times what a fresh
    fit to the same 14 points finds, ranked the optimum's category below the best evaluated
    point, and the run ended in the wrong category (BENCHMARKS.md section 1, session 25)."""
    best = max((warm, _fit_from_defaults(fresh, config)), key=_map_value)
    best.eval()
    return best


#: rows per posterior call of :func:`posterior`: larger inputs are split (a mixed kernel
#: evaluates the full test covariance for the variances, so the cost grows with its square)
PREDICT_CHUNK = 512


def posterior(model: Any, X: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and standard deviation of the *minimised, warped* objective at unit-cube
    points ``X`` (``n x d``). The models of this toolkit are fitted to ``-warp(y)``: this is the
    one place that undoes the sign."""
    if X.dim() == 2 and X.shape[0] > PREDICT_CHUNK:  # marginals only: never an n x n covariance
        parts = [posterior(model, x) for x in X.split(PREDICT_CHUNK)]
        return np.concatenate([m for m, _ in parts]), np.concatenate([s for _, s in parts])
    model = cached_gp(model) or model
    with torch.no_grad(), gp_settings():
        post = model.posterior(X)
        mean = -post.mean.squeeze(-1).cpu().numpy()
        std = post.variance.clamp_min(0).sqrt().squeeze(-1).cpu().numpy()
    return mean, std


def warped_mean(model: Any, X: torch.Tensor) -> np.ndarray:
    """The posterior mean alone of the *minimised, warped* objective at unit-cube points ``X``
    (``n x d``), as :func:`posterior` gives it, without the variances (their triangular solves
    cost O(n^2) per point: most of a ``tell`` at 2000 observations, whose recommendation needs
    the mean at every evaluated point)."""
    fast = cached_gp(model)
    with torch.no_grad(), gp_settings():
        mean = fast.mean(X) if fast is not None else model.posterior(X).mean.squeeze(-1)
    return -mean.cpu().numpy()


def _as_warp(warp: OutputWarp | str) -> OutputWarp:
    if isinstance(warp, OutputWarp):
        return warp
    if warp == "power":
        raise TunerError("a 'power' warp is fitted to the told values: pass its OutputWarp")
    return OutputWarp(warp)


def unwarp(v: Any, warp: OutputWarp | str) -> Any:
    """Map a value of the model scale back to the objective's scale (``exp`` for ``"log"``, the
    inverse power transform for a fitted ``"power"`` warp)."""
    return _as_warp(warp).inverse(v)


def posterior_mean(model: Any, X: torch.Tensor, warp: OutputWarp | str) -> np.ndarray:
    """The surrogate's prediction of the objective at unit-cube points ``X``, on the objective's
    own scale (the posterior median: the warp of the posterior mean of the warped values).

    Every plot and report goes through here (or :meth:`tuner.Optimizer.predict` + ``unwarp``)."""
    return np.asarray(unwarp(warped_mean(model, X), warp))


class SurrogateView:
    """A fitted surrogate as scikit-optimize's plots and utilities use a model: ``predict`` on
    transformed points (the model coordinates of :meth:`tuner.space.Space.transform`), in the
    objective's own scale.

    Attributes:
        model: The BoTorch model (fitted to ``-warp(y)``).
        warp: Its output warp (:class:`tuner.surrogate.warp.OutputWarp`).
        y_warp: The warp's kind.
        noise: The optimiser's noise setting (``"gaussian"`` or the known variance), as
            scikit-optimize's regressors carry it.
    """

    def __init__(self, model: Any, warp: OutputWarp | str, noise: str | float = "gaussian") -> None:
        self.model, self.warp, self.noise = model, _as_warp(warp), noise
        self.y_warp = self.warp.kind

    def predict(self, X: Any, return_std: bool = False) -> Any:
        """Posterior mean (and standard deviation, propagated through the warp to first order) at
        ``X`` (``n x d`` model coordinates)."""
        p = next(self.model.parameters())
        Xt = torch.as_tensor(np.atleast_2d(np.asarray(X, dtype=float)), dtype=torch.float64, device=p.device)
        mean, std = posterior(self.model, Xt)
        mu = self.warp.inverse(mean)
        if not return_std:
            return mu
        return mu, self.warp.std(mean, std)

    def __repr__(self) -> str:
        return f"SurrogateView({type(self.model).__name__}, y_warp={self.y_warp!r})"
