"""The marginal likelihood of the toolkit's plain GP, computed directly, and its L-BFGS-B fit.

A hyperparameter refit after each ``tell`` evaluates the loss and its gradient 10-60 times. Through
GPyTorch (``ExactMarginalLogLikelihood`` on the model's forward pass) one evaluation at 100
observations costs a few milliseconds, almost all of it per-call machinery around one small
Cholesky factorisation. :func:`fit_plain_gp` evaluates the same loss (the negative log marginal
likelihood plus the log priors, per observation, of the same parameters; equal to GPyTorch's to
rounding: ``tests/tuner/test_model_acq.py``) with a handful of tensor operations, and minimises it
over the same parameters with the same bounds by scipy's L-BFGS-B, as BoTorch's
``fit_gpytorch_mll`` would. It covers the models :func:`tuner.surrogate.cached.cached_gp` covers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from typing import Any

import numpy as np
import torch
from botorch.models import SingleTaskGP
from botorch.optim.utils import get_parameters_and_bounds
from gpytorch.mlls import ExactMarginalLogLikelihood
from gpytorch.priors import LogNormalPrior
from scipy.optimize import minimize
from threadpoolctl import ThreadpoolController

from tuner.surrogate.cached import is_plain, matern52, matern52_slope, matern52_terms
from tuner.surrogate.warp import OutputWarp

__all__ = ["fit_plain_gp", "one_blas_thread", "plain_loo", "plain_loss", "plain_loss_and_grad",
           "torch_threads", "warp_loo"]

_NOISE = "likelihood.noise_covar.raw_noise"
_CONST = "model.mean_module.raw_constant"
_LS = "model.covar_module.raw_lengthscale"
#: the priors build_gp may set, and the raw parameter each one is a prior of
_PRIORS = {"covar_module.lengthscale_prior": _LS, "likelihood.noise_covar.noise_prior": _NOISE}


@cache
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()  # finding the loaded libraries costs ~2.7 ms: once per process


def one_blas_thread() -> AbstractContextManager[Any]:
    """Context manager limiting BLAS to one thread, for scipy's L-BFGS-B: from scipy 1.15 on it
    calls BLAS on vectors of a few numbers, and with a thread pool each step cost ~0.8 ms, a
    third of a 100-observation fit (BoTorch and Optuna limit it the same way)."""
    return _threadpools().limit(limits=1, user_api="blas")


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Limit torch's intra-op threads to ``n`` within the block (``None``, or a pool that is no
    larger already: no change), restoring the previous count after it."""
    before = torch.get_num_threads()
    if n is None or before <= n:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _plain_cholesky(model: SingleTaskGP, X: torch.Tensor) -> torch.Tensor:
    """The Cholesky factor of a plain model's covariance (noise included) at inputs ``X``
    (``n x d``), differentiable in its parameters."""
    Xs = X / model.covar_module.lengthscale
    K = matern52(Xs, Xs) + torch.diag(model.likelihood.noise.reshape(-1).expand(X.shape[0]))
    return torch.linalg.cholesky(K)


def _training_cholesky(model: SingleTaskGP, X: torch.Tensor) -> torch.Tensor:
    """The Cholesky factor of a fitted model's covariance (its learned noise included) at inputs
    ``X``: the closed form for a plain model, the model's own kernel otherwise (categorical
    dimensions)."""
    if is_plain(model):
        return _plain_cholesky(model, X)
    K = model.covar_module(X).to_dense()
    return torch.linalg.cholesky(K + torch.diag(model.likelihood.noise.reshape(-1).expand(X.shape[0])))


def _plain_factor(model: SingleTaskGP) -> tuple[torch.Tensor, torch.Tensor]:
    """The Cholesky factor of a plain model's training covariance (noise included) and the
    residuals of its targets from the constant mean (``n x 1``), differentiable in the parameters."""
    y = model.train_targets
    return _plain_cholesky(model, model.train_inputs[0]), (y - model.mean_module.constant)[:, None]


def plain_loss(model: SingleTaskGP) -> torch.Tensor:
    """Minus the log marginal likelihood plus log priors, divided by the number of observations,
    of a plain model at its current parameters (GPyTorch's ``-ExactMarginalLogLikelihood``),
    differentiable in them."""
    L, r = _plain_factor(model)
    n = r.shape[0]
    alpha = torch.cholesky_solve(r, L)
    loglik = -0.5 * (r * alpha).sum() - torch.log(torch.diagonal(L)).sum() - 0.5 * n * math.log(2 * math.pi)
    gp: Any = model  # GPyTorch's Module.named_priors, which torch's stubs do not see
    for _, module, prior, closure, _ in gp.named_priors():
        loglik = loglik + prior.log_prob(closure(module)).sum()
    return -loglik / n


def plain_loo(model: SingleTaskGP) -> float:
    """Leave-one-out log predictive density of the observations, per observation, of a plain
    model at its current parameters (closed form, Rasmussen & Williams eq. 5.10-5.12): observation
    ``i`` predicted from the others has mean error ``[K^-1 r]_i / [K^-1]_ii`` and variance
    ``1 / [K^-1]_ii``. Unlike the marginal likelihood plus priors it does not depend on the
    priors, so it can compare fits made under different priors."""
    with torch.no_grad():
        L, r = _plain_factor(model)
        return float(_loo_log_densities(torch.cholesky_inverse(L), r).mean())


def _loo_log_densities(Kinv: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    """Leave-one-out log predictive density of each observation (``n x m``) for each column of
    residuals ``R`` (``n x m``) from the constant mean, given the inverse ``Kinv`` of the training
    covariance (noise included): observation ``i`` predicted from the others has mean error
    ``[Kinv r]_i / [Kinv]_ii`` and variance ``1 / [Kinv]_ii``."""
    d = torch.diagonal(Kinv)[:, None]
    err = (Kinv @ R) / d
    return -0.5 * (err**2 * d - torch.log(d) + math.log(2 * math.pi))


def warp_loo(model: SingleTaskGP, X: torch.Tensor, y: np.ndarray,
             warps: Sequence[OutputWarp]) -> np.ndarray:
    """Leave-one-out log predictive density of the told values ``y`` at inputs ``X``, per
    observation and on the objective's own scale, under each of ``warps``, with the kernel and
    learned noise of ``model`` (fitted to earlier data: one factorisation serves every warp).

    Each warp's values are standardised as the model's outcome transform does it (the model is
    of ``-y``); the density of ``y`` is that of the warped value times the warp's slope (the
    Jacobian), so that warps compare on one scale: a warp that fits the values' spread but not
    their variation over the space predicts the left-out values worse. A warp whose values are
    not finite scores ``-inf``.

    Returns:
        One score per warp (higher is better).
    """
    scores = np.full(len(warps), -np.inf)
    ok, T, offsets = [], [], []  # per usable warp: residuals of its standardised values, log terms
    for i, warp in enumerate(warps):
        with np.errstate(all="ignore"):
            w, slope = warp(y), np.abs(warp.slope(y))
        s = float(np.std(w, ddof=1)) if len(w) > 1 else 0.0
        if not (np.all(np.isfinite(w)) and np.all(slope > 0) and np.all(np.isfinite(slope)) and s > 0):
            continue
        ok.append(i)
        T.append(-(w - w.mean()) / s)
        offsets.append(float(np.mean(np.log(slope))) - math.log(s))
    if ok:
        with torch.no_grad():
            Kinv = torch.cholesky_inverse(_training_cholesky(model, X)).cpu()
            R = torch.as_tensor(np.stack(T, axis=1)) - float(model.mean_module.constant)
            lp = _loo_log_densities(Kinv, R).mean(0).numpy()
        scores[ok] = lp + np.asarray(offsets)
    return scores


def _prior_terms(model: SingleTaskGP) -> tuple[float, dict[str, torch.Tensor]]:
    """The summed log priors and their gradients in the noise and lengthscale values
    (closed form for log-normal priors, the kind build_gp sets; autograd for any other)."""
    total, grads = 0.0, {}  # type: tuple[float, dict[str, Any]]
    gp: Any = model
    for name, module, prior, closure, _ in gp.named_priors():
        key = _PRIORS[name]
        v = closure(module).detach()
        if isinstance(prior, LogNormalPrior):  # log N(log v; loc, scale) - log v, as torch does
            x, var = torch.log(v), prior.scale**2
            total += float((-((x - prior.loc) ** 2) / (2 * var) - prior.scale.log()
                            - math.log(math.sqrt(2 * math.pi)) - x).sum())
            g = -(1.0 + (x - prior.loc) / var) / v
        else:
            w = v.clone().requires_grad_(True)
            lp = prior.log_prob(w).sum()
            total += float(lp.detach())
            (g,) = torch.autograd.grad(lp, w)
        grads[key] = grads.get(key, 0.0) + g.reshape(-1)
    return total, grads


def plain_loss_and_grad(model: SingleTaskGP, names: list[str]) -> tuple[float, np.ndarray]:
    """:func:`plain_loss` and its gradient in the raw parameters ``names`` (of the noise, the
    constant mean and the lengthscales, none of them transformed: :func:`closed_form_applies`),
    in closed form: ``dL/dtheta = tr((K^-1 - alpha alpha^T) dK/dtheta) / 2`` with the Matern-5/2
    derivative ``dk/dl_i = 5/3 (1 + sqrt5 r) exp(-sqrt5 r) dx_i^2 / l_i^3``. The same numbers as
    autograd through :func:`plain_loss` (``tests/tuner/test_model_acq.py``) at a tenth of its cost.
    """
    with torch.no_grad():
        X, y = model.train_inputs[0], model.train_targets
        n = y.shape[0]
        ls = model.covar_module.lengthscale.reshape(-1)
        k, r, e = matern52_terms(X / ls, X / ls)
        K = k + torch.diag(model.likelihood.noise.reshape(-1).expand(n))
        L = torch.linalg.cholesky(K)
        res = (y - model.mean_module.constant)[:, None]
        alpha = torch.cholesky_solve(res, L)
        prior, pgrad = _prior_terms(model)
        loglik = (-0.5 * float((res * alpha).sum()) - float(torch.log(torch.diagonal(L)).sum())
                  - 0.5 * n * math.log(2 * math.pi) + prior)
        A = torch.cholesky_inverse(L) - alpha @ alpha.T  # d(-loglik) = tr(A dK) / 2
        out = []
        for name in names:
            if name == _NOISE:
                g = 0.5 * torch.diagonal(A).sum().reshape(1) - pgrad.get(_NOISE, 0.0)
            elif name == _CONST:
                g = -alpha.sum().reshape(1)
            else:
                W = A * matern52_slope(r, e)
                s = 2.0 * (X.pow(2) * W.sum(1, keepdim=True)).sum(0) - 2.0 * (X * (W @ X)).sum(0)
                g = 0.5 * s / ls.pow(3) - pgrad.get(_LS, 0.0)
            out.append(g.reshape(-1))
        grad = torch.cat(out) / n
    return -loglik / n, grad.cpu().numpy()


def closed_form_applies(model: SingleTaskGP, names: list[str]) -> bool:
    """Whether :func:`plain_loss_and_grad` covers ``model``'s free parameters ``names``: only
    the noise, the constant mean and the lengthscales, each its own raw value (no transform)."""
    constraints = {_NOISE: getattr(model.likelihood.noise_covar, "raw_noise_constraint", None),
                   _LS: model.covar_module.raw_lengthscale_constraint}
    gp: Any = model
    return (all(k in (_NOISE, _CONST, _LS) for k in names)
            and all(c is None or not c.enforced for k, c in constraints.items() if k in names)
            and all(name in _PRIORS for name, *_ in gp.named_priors()))


def fit_plain_gp(model: SingleTaskGP, maxiter: int, ftol: float | None = None) -> bool:
    """Fit the hyperparameters of a plain model (``model.train()`` state, parameters as the
    starting point) by L-BFGS-B on :func:`plain_loss`, within the bounds BoTorch would use.

    Returns:
        Whether the fit ended well (converged or hit ``maxiter`` at a finite loss); on ``False``
        the parameters are left where they started and the caller should fit another way.

    Raises:
        ValueError: ``model`` is not a plain model (:func:`tuner.surrogate.cached.is_plain`).
    """
    if not is_plain(model):
        raise ValueError(f"fit_plain_gp fits the plain GP of build_gp only, got {model!r}")
    params, bounds = get_parameters_and_bounds(ExactMarginalLogLikelihood(model.likelihood, model))
    params = {k: p for k, p in params.items() if p.requires_grad}
    sizes = [p.numel() for p in params.values()]

    def bound(name: str, side: int) -> float:
        v = bounds.get(name, (None, None))[side]
        return (-np.inf, np.inf)[side] if v is None else float(v)

    box = [(bound(k, 0), bound(k, 1)) for k, s in zip(params, sizes, strict=True) for _ in range(s)]

    def load(v: np.ndarray) -> None:
        i = 0
        with torch.no_grad():
            for p, s in zip(params.values(), sizes, strict=True):
                p.copy_(torch.as_tensor(v[i:i + s]).reshape(p.shape))
                i += s

    names = list(params)
    closed = closed_form_applies(model, names)

    def fun(v: np.ndarray) -> tuple[float, np.ndarray]:
        load(v)
        if closed:
            return plain_loss_and_grad(model, names)
        loss = plain_loss(model)
        grads = torch.autograd.grad(loss, list(params.values()))
        return float(loss.detach()), np.concatenate([g.detach().reshape(-1).cpu().numpy() for g in grads])

    x0 = np.concatenate([p.detach().reshape(-1).cpu().numpy() for p in params.values()])
    options: dict[str, Any] = {"maxiter": maxiter} | ({} if ftol is None else {"ftol": ftol})
    try:
        with one_blas_thread():
            res = minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=box, options=options)
        ok = bool(np.isfinite(res.fun)) and (res.success or res.nit >= maxiter)
    except (torch.linalg.LinAlgError, RuntimeError, ValueError):
        ok = False
    load(res.x if ok else x0)
    return ok
