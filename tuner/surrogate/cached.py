"""An exact, cached posterior of the toolkit's plain GP, for the analytic acquisition functions.

Maximising an analytic acquisition function calls the posterior a hundred times per ``ask``
(Sobol raw samples, then every L-BFGS step of every restart). Through GPyTorch each call costs
about 2.5 ms at 100 observations, nearly all of it per-call machinery (the lazy-tensor algebra,
the prediction strategy, the outcome transform); the arithmetic is a few small matrix products.
:class:`CachedGP` factorises the training covariance once and computes the same mean and
variance directly (to rounding, 1e-12 relative: ``tests/tuner/surrogate/test_cached.py``), so
the acquisition search costs a fraction of what it did. It covers the model
:func:`tuner.surrogate.gp.build_gp` builds without categorical dimensions (Matern-5/2 ARD, a
constant mean, learned or known noise, a standardised outcome). With categorical dimensions (the
sum of continuous, categorical and product kernels) :class:`KernelCachedGP` does the same with the
kernel evaluated by GPyTorch, densely, and gradients by autograd: the factorisation is still made
once per fit instead of once per call. :func:`cached_gp` returns ``None`` for anything else, and
the caller keeps the BoTorch model.
"""

from __future__ import annotations

import math
from typing import Any
from weakref import WeakKeyDictionary

import gpytorch
import torch
from botorch.models import SingleTaskGP
from botorch.models.model import Model
from botorch.models.transforms.outcome import Standardize
from botorch.posteriors import Posterior
from gpytorch.kernels import MaternKernel
from gpytorch.likelihoods import FixedNoiseGaussianLikelihood, GaussianLikelihood
from gpytorch.means import ConstantMean

__all__ = ["CachedGP", "KernelCachedGP", "MeanVariancePosterior", "cached_gp", "is_plain", "matern52",
           "matern52_slope", "matern52_terms"]

_SQRT5 = math.sqrt(5.0)


def matern52_terms(A: torch.Tensor, B: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The Matern-5/2 correlation ``k = (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r)`` of inputs already
    divided by their lengthscales (``... x m x d`` against ``n x d``: ``... x m x n``) with the
    ``r`` and ``exp(-sqrt5 r)`` it was made of (what its derivatives need), and GPyTorch's floor
    under the squared distance (finite gradients where two points coincide)."""
    r2 = (A.unsqueeze(-2) - B).pow(2).sum(-1)
    r = r2.clamp_min(1e-30).sqrt()
    e = torch.exp(-_SQRT5 * r)
    return (1.0 + _SQRT5 * r + (5.0 / 3.0) * r2) * e, r, e


def matern52(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """The Matern-5/2 correlation of inputs already divided by their lengthscales
    (:func:`matern52_terms`)."""
    return matern52_terms(A, B)[0]


def matern52_slope(r: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """``-(dk/dr) / r = 5/3 (1 + sqrt5 r) exp(-sqrt5 r)`` of the Matern-5/2 correlation, from
    ``r`` and ``e = exp(-sqrt5 r)``: the factor of every derivative of ``k`` through ``r^2``."""
    return (5.0 / 3.0) * (1.0 + _SQRT5 * r) * e


class MeanVariancePosterior(Posterior):
    """The marginal posterior at a batch of points: mean and variance (``... x q x 1``), which is
    all an analytic acquisition function reads. It cannot be sampled."""

    def __init__(self, mean: torch.Tensor, variance: torch.Tensor) -> None:
        self._mean, self._variance = mean, variance

    @property
    def mean(self) -> torch.Tensor:
        return self._mean

    @property
    def variance(self) -> torch.Tensor:
        return self._variance

    @property
    def device(self) -> torch.device:
        return self._mean.device

    @property
    def dtype(self) -> torch.dtype:
        return self._mean.dtype

    def rsample(self, sample_shape: torch.Size | None = None) -> torch.Tensor:
        raise NotImplementedError("a MeanVariancePosterior has marginals only: use the BoTorch "
                                  "model for Monte Carlo acquisition functions")


def _factorise(model: SingleTaskGP, K: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """What every prediction of a cached posterior reuses: the Cholesky factor ``L`` of the
    training covariance ``K`` plus the noise, the constant mean, the weights
    ``alpha = (K + noise)^-1 (y - const)``, the outcome transform's mean and scale, and the
    (standardised) training targets and noise variances.

    Raises:
        torch.linalg.LinAlgError: the covariance is not positive definite.
    """
    y = model.train_targets.detach()
    noise = model.likelihood.noise.detach().reshape(-1)
    L, info = torch.linalg.cholesky_ex(K + torch.diag(noise.expand(len(y))))
    if int(info) != 0:
        raise torch.linalg.LinAlgError("training covariance is not positive definite")
    const = model.mean_module.constant.detach()
    tf: Any = model.outcome_transform
    return (L, const, torch.cholesky_solve((y - const)[:, None], L),
            torch.as_tensor(tf.means).detach().reshape(()), torch.as_tensor(tf.stdvs).detach().reshape(()),
            y, noise.expand(len(y)))


def _mean_from(gp: CachedGP | KernelCachedGP, Ks: torch.Tensor) -> torch.Tensor:
    """The posterior mean, in the model's outcome units, from the covariances ``Ks``
    (``... x n``) between the points and the training inputs of ``gp``."""
    return (gp.const + (Ks @ gp.alpha).squeeze(-1)) * gp.y_std + gp.y_mean


def _training_prefix_mean(gp: CachedGP | KernelCachedGP, X: torch.Tensor) -> torch.Tensor | None:
    """The posterior mean at ``X`` (``m x d``) when ``X`` is the first ``m`` training inputs, in
    O(m) instead of O(m n d): ``const + K alpha = y - noise * alpha``, since ``alpha`` solves
    ``(K + noise) alpha = y - const`` (a recommendation and the incumbent ask for the mean at
    every evaluated point: 2000 x 2000 Matern terms each, 0.8 s of a 1.7 s ask+tell at 2000
    observations). ``None`` for any other ``X``."""
    m = X.shape[0] if X.dim() == 2 else -1
    if not 0 < m <= len(gp.y) or not torch.equal(X, gp.Xtr[:m]):
        return None
    return (gp.y[:m] - gp.noise[:m] * gp.alpha[:m, 0]) * gp.y_std + gp.y_mean


class CachedGP(Model):
    """The posterior of a fitted plain :func:`~tuner.surrogate.gp.build_gp` model, from one
    Cholesky factorisation of its training covariance.

    Build it with :func:`cached_gp`. The latent (noise-free) posterior, in the model's outcome
    units, as ``model.posterior(X)`` gives it.
    """

    num_outputs = 1

    def __init__(self, model: SingleTaskGP) -> None:
        super().__init__()
        self.ls = model.covar_module.lengthscale.detach().reshape(-1)
        self.Xtr = model.train_inputs[0].detach()
        scaled = self.Xtr / self.ls
        self.centre = scaled.mean(dim=0)
        self.X = scaled - self.centre
        self.L, self.const, self.alpha, self.y_mean, self.y_std, self.y, self.noise = _factorise(
            model, matern52(self.X, self.X))

    def posterior(self, X: torch.Tensor, output_indices: Any = None, observation_noise: Any = False,
                  posterior_transform: Any = None, **kwargs: Any) -> MeanVariancePosterior:
        """Mean and variance at ``X`` (``... x q x d``), each ``... x q x 1``, differentiable in
        ``X`` through a closed-form gradient (:class:`_MeanVariance`)."""
        if posterior_transform is not None or observation_noise is not False:
            raise NotImplementedError("CachedGP gives the latent posterior only")
        mean, var = _MeanVariance.apply(X, self)
        return MeanVariancePosterior(mean.unsqueeze(-1), var.unsqueeze(-1))

    def _cross(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The scaled, centred points and their covariances with the training inputs (``... x n``)."""
        Xs = X / self.ls - self.centre
        return Xs, matern52(Xs, self.X)

    def mean(self, X: torch.Tensor) -> torch.Tensor:
        """The posterior mean alone at ``X`` (``m x d``): no triangular solve."""
        at_training = _training_prefix_mean(self, X)
        return at_training if at_training is not None else _mean_from(self, self._cross(X)[1])

    def mean_variance(self, X: torch.Tensor, gradient: bool = True) -> tuple[Any, ...]:
        """Mean and variance at ``X`` (``... x q``, not differentiable), with what their
        gradient needs: the scaled inputs, the weights ``K^-1 k`` of the variance (``None``
        with ``gradient=False``: one triangular solve less) and where the variance is positive."""
        Xs, Ks = self._cross(X)  # Ks: ... x q x n
        mean = _mean_from(self, Ks)
        flat = Ks.reshape(-1, Ks.shape[-1]).transpose(0, 1)  # n x (all points): one solve
        v = torch.linalg.solve_triangular(self.L, flat, upper=False)
        var = (1.0 - v.pow(2).sum(0)).reshape(mean.shape)
        w = (torch.linalg.solve_triangular(self.L.T, v, upper=True).transpose(0, 1).reshape(Ks.shape)
             if gradient else None)
        return mean, var.clamp_min(0.0) * self.y_std**2, Xs, w, var > 0

    def input_gradient(self, Xs: torch.Tensor, w: torch.Tensor, g_mean: torch.Tensor,
                       g_var: torch.Tensor) -> torch.Tensor:
        """``g_mean . dmean/dX + g_var . dvar/dX`` (``... x q x d``) from what
        :meth:`mean_variance` returned, in closed form (the Matern-5/2 derivative
        ``dk/dx_i = -5/3 (1 + sqrt5 r) exp(-sqrt5 r) (x_i - x'_i) / l_i^2``)."""
        _, r, e = matern52_terms(Xs, self.X)  # ... x q x n
        dk = -matern52_slope(r, e)  # (dk/dr) / r
        c = (g_mean * self.y_std).unsqueeze(-1) * self.alpha.squeeze(-1) \
            - (2.0 * g_var * self.y_std**2).unsqueeze(-1) * w
        H = dk * c
        return (H.sum(-1, keepdim=True) * Xs - H @ self.X) / self.ls


class _MeanVariance(torch.autograd.Function):
    """The posterior mean and variance of a :class:`CachedGP` as one autograd node whose
    backward is :meth:`CachedGP.input_gradient`, instead of a graph through every operation of
    the forward pass: the acquisition search calls this some thirty times per ``ask``."""

    @staticmethod
    def forward(ctx: Any, X: torch.Tensor, gp: CachedGP) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            mean, var, Xs, w, positive = gp.mean_variance(X, gradient=ctx.needs_input_grad[0])
        ctx.gp = gp
        ctx.save_for_backward(Xs, w, positive)
        return mean, var

    @staticmethod
    def backward(ctx: Any, g_mean: torch.Tensor, g_var: torch.Tensor) -> tuple[Any, None]:
        Xs, w, positive = ctx.saved_tensors
        return ctx.gp.input_gradient(Xs, w, g_mean, g_var * positive), None


class KernelCachedGP(Model):
    """The posterior of a fitted exact :func:`~tuner.surrogate.gp.build_gp` model of any kernel
    (categorical dimensions included) from one Cholesky factorisation of its training covariance;
    the kernel is evaluated by GPyTorch without lazy tensors, gradients by autograd. Build it
    with :func:`cached_gp`. The latent posterior, in the model's outcome units."""

    num_outputs = 1

    def __init__(self, model: SingleTaskGP) -> None:
        super().__init__()
        self.kernel = model.covar_module
        self.Xtr = model.train_inputs[0].detach()
        self.train_inputs = (self.Xtr,)  # where BoTorch's mixed optimiser finds the observed points
        with torch.no_grad(), gpytorch.settings.lazily_evaluate_kernels(False):
            K = self.kernel(self.Xtr, self.Xtr).to_dense()
        self.L, self.const, self.alpha, self.y_mean, self.y_std, self.y, self.noise = _factorise(model, K)

    def mean(self, X: torch.Tensor) -> torch.Tensor:
        """The posterior mean alone at ``X`` (``m x d``): no triangular solve."""
        at_training = _training_prefix_mean(self, X)
        if at_training is not None:
            return at_training
        with gpytorch.settings.lazily_evaluate_kernels(False):
            return _mean_from(self, self.kernel(X, self.Xtr).to_dense())

    def posterior(self, X: torch.Tensor, output_indices: Any = None, observation_noise: Any = False,
                  posterior_transform: Any = None, **kwargs: Any) -> MeanVariancePosterior:
        """Mean and variance at ``X`` (``... x q x d``), each ``... x q x 1``."""
        if posterior_transform is not None or observation_noise is not False:
            raise NotImplementedError("KernelCachedGP gives the latent posterior only")
        flat = X.reshape(-1, X.shape[-1])
        with gpytorch.settings.lazily_evaluate_kernels(False):
            Ks = self.kernel(flat, self.Xtr).to_dense()  # m x n
            prior = self.kernel(flat, flat, diag=True)
        v = torch.linalg.solve_triangular(self.L, Ks.transpose(0, 1), upper=False)
        var = (prior - v.pow(2).sum(0)).clamp_min(1e-12)
        shape = (*X.shape[:-1], 1)
        return MeanVariancePosterior(_mean_from(self, Ks).reshape(shape),
                                     (var * self.y_std**2).reshape(shape))


def _exact_single_output(model: Any) -> bool:
    """Whether ``model`` is a :func:`~tuner.surrogate.gp.build_gp` model of any kernel: one
    output, constant mean, Gaussian or fixed noise, ``Standardize``, no input transform, no batch."""
    return (type(model) is SingleTaskGP and model.num_outputs == 1
            and type(model.mean_module) is ConstantMean
            and type(model.likelihood) in (GaussianLikelihood, FixedNoiseGaussianLikelihood)
            and type(getattr(model, "outcome_transform", None)) is Standardize
            and getattr(model, "input_transform", None) is None
            and model.train_inputs[0].dim() == 2)


def is_plain(model: Any) -> bool:
    """Whether ``model`` is a plain model of :func:`~tuner.surrogate.gp.build_gp`: one output,
    Matern-5/2 ARD without an output scale, constant mean, Gaussian or fixed noise,
    ``Standardize``, no input transform, no batch (no categorical dimensions)."""
    return (_exact_single_output(model)
            and type(model.covar_module) is MaternKernel and model.covar_module.nu == 2.5
            and model.covar_module.active_dims is None)


#: one CachedGP per model, with copies of the tensors it was built from (see :func:`_state`)
_CACHE: WeakKeyDictionary[Any, tuple[list[torch.Tensor], CachedGP | KernelCachedGP]] = WeakKeyDictionary()


def _state(model: Any) -> list[torch.Tensor]:
    """What a model's posterior depends on: its training data, parameters and buffers."""
    return [*model.train_inputs, model.train_targets, *model.parameters(), *model.buffers()]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(x.shape == y.shape and torch.equal(x, y)
                                    for x, y in zip(a, b, strict=True))


def cached_gp(model: Any) -> CachedGP | KernelCachedGP | None:
    """:class:`CachedGP` of a fitted (eval-mode) plain model (:func:`is_plain`),
    :class:`KernelCachedGP` of another exact single-output model of :func:`~tuner.surrogate.gp.build_gp`
    (categorical dimensions), else ``None``.

    Built once per model and state: the acquisition search and the predictions of one fitted
    model share one factorisation."""
    if not _exact_single_output(model) or model.training:
        return None
    state = _state(model)
    hit = _CACHE.get(model)
    if hit is not None and _same(hit[0], state):  # by value: a refit or new data rebuilds it
        return hit[1]
    try:
        fast: CachedGP | KernelCachedGP = CachedGP(model) if is_plain(model) else KernelCachedGP(model)
    except torch.linalg.LinAlgError:
        return None
    _CACHE[model] = ([t.detach().clone() for t in state], fast)
    return fast
