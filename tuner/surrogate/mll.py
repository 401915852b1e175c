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
from typing import Any

import numpy as np
import torch
from botorch.models import SingleTaskGP
from botorch.optim.utils import get_parameters_and_bounds
from gpytorch.mlls import ExactMarginalLogLikelihood
from scipy.optimize import minimize

from tuner.surrogate.cached import is_plain, matern52

__all__ = ["fit_plain_gp", "plain_loss"]


def plain_loss(model: SingleTaskGP) -> torch.Tensor:
    """Minus the log marginal likelihood plus log priors, divided by the number of observations,
    of a plain model at its current parameters (GPyTorch's ``-ExactMarginalLogLikelihood``),
    differentiable in them."""
    X, y = model.train_inputs[0], model.train_targets
    n = y.shape[0]
    Xs = X / model.covar_module.lengthscale
    K = matern52(Xs, Xs) + torch.diag(model.likelihood.noise.reshape(-1).expand(n))
    L = torch.linalg.cholesky(K)
    r = (y - model.mean_module.constant)[:, None]
    alpha = torch.cholesky_solve(r, L)
    loglik = -0.5 * (r * alpha).sum() - torch.log(torch.diagonal(L)).sum() - 0.5 * n * math.log(2 * math.pi)
    gp: Any = model  # GPyTorch's Module.named_priors, which torch's stubs do not see
    for _, module, prior, closure, _ in gp.named_priors():
        loglik = loglik + prior.log_prob(closure(module)).sum()
    return -loglik / n


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

    def fun(v: np.ndarray) -> tuple[float, np.ndarray]:
        load(v)
        loss = plain_loss(model)
        grads = torch.autograd.grad(loss, list(params.values()))
        return float(loss.detach()), np.concatenate([g.detach().reshape(-1).cpu().numpy() for g in grads])

    x0 = np.concatenate([p.detach().reshape(-1).cpu().numpy() for p in params.values()])
    options: dict[str, Any] = {"maxiter": maxiter} | ({} if ftol is None else {"ftol": ftol})
    try:
        res = minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=box, options=options)
        ok = bool(np.isfinite(res.fun)) and (res.success or res.nit >= maxiter)
    except (torch.linalg.LinAlgError, RuntimeError, ValueError):
        ok = False
    load(res.x if ok else x0)
    return ok
