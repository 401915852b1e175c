"""The optimiser's surrogate and its fits (:class:`Surrogate`): the one owner of the current GP,
the GPs of the last fits with their output warps, and when to refit.

:class:`tuner.optimizer.Optimizer` owns the trials and hands this class what was told, as
:class:`Observations` in model coordinates; everything the model does with them (the output warp,
the known noise, the hyperparameter fit and when to skip it, the posterior, the search of its
mean) happens here.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from botorch.acquisition import PosteriorMean
from botorch.optim import optimize_acqf

from tuner.errors import TunerError
from tuner.surrogate.cached import cached_gp
from tuner.surrogate.gp import (
    SurrogateConfig,
    SurrogateView,
    build_gp,
    fit_gp,
    gp_settings,
    posterior,
    warped_mean,
)
from tuner.surrogate.mll import warp_loo
from tuner.surrogate.warp import OutputWarp

__all__ = ["Observations", "Surrogate"]


@dataclass
class Observations:
    """What the surrogate is fitted to, in model coordinates.

    Attributes:
        U: Points of the successful evaluations (``n x d``).
        y: Their values (``n``).
        noise: Their known noise variances (``None`` where none was told).
        U_failed: Failed points that enter the model with the worst value (``m x d``; the
            optimiser's failure policy decides which).
    """

    U: np.ndarray
    y: np.ndarray
    noise: list[float | None]
    U_failed: np.ndarray

    @property
    def n(self) -> int:
        """Points the model sees: successful and imputed."""
        return len(self.y) + len(self.U_failed)

    def imputed(self) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and values with the failed points appended, each at the largest value told."""
        U = np.concatenate([self.U, self.U_failed]) if len(self.U_failed) else self.U
        return U, np.concatenate([self.y, np.full(len(self.U_failed), self.y.max())])


class Surrogate:
    """The GP surrogate of an optimiser, refitted as results come in.

    Args:
        y_warp: The output warp (:data:`tuner.surrogate.warp.Y_WARPS`, or ``"loo"``).
        noise: ``"gaussian"`` (learned) or a known variance for every observation.
        cat_dims: Model columns of categorical dimensions.
        min_points: Successful evaluations before the first fit (at least 2).
        config: Options of the fit.
        device: Torch device of the model.
        queue_size: Keep the GPs of the last this many fits in ``models`` (``None``: all).

    Attributes:
        model: The current GP (``None`` before the first fit); fitted to ``-warp(y)``.
        warp: The output warp of ``model`` (the identity for ``"power"`` and ``"loo"`` until a fit).
        models, warps: The GPs of the last fits, oldest first, and the warp of each.
        seconds: Time spent fitting.
    """

    def __init__(self, y_warp: str, noise: str | float, cat_dims: list[int], min_points: int,
                 config: SurrogateConfig, device: torch.device, queue_size: int | None) -> None:
        self.y_warp, self.noise, self.cat_dims = y_warp, noise, cat_dims
        self.min_points, self.config, self.device, self.queue_size = min_points, config, device, queue_size
        self.model: Any = None
        self.warp = OutputWarp("none" if y_warp == "loo" else y_warp)
        self.models: list[Any] = []
        self.warps: list[OutputWarp] = []
        self.seconds = 0.0
        self._model_n = 0  # points of the current model
        self._fit_n = 0  # points at the last hyperparameter optimisation
        self._warm_state: dict[str, Any] | None = None
        self._restored: dict[str, Any] | None = None  # a resumed study's last fit
        self._member: int | None = None  # the "loo" family member of the last choice

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.float64, device=self.device)

    def known_noise(self, noise: list[float | None]) -> bool:
        """Whether the model takes the noise as known, given the variances told (``None`` where
        none was): a fixed variance, or any told."""
        return not isinstance(self.noise, str) or any(v is not None for v in noise)

    @property
    def n_fitted(self) -> int:
        """Points (successful and imputed) of the current model; 0 before the first fit."""
        return self._model_n

    def fit_state(self) -> dict[str, Any] | None:
        """The current fit as JSON-ready data (points, warp, hyperparameters, points at the
        last hyperparameter optimisation), or ``None`` before the first fit: what
        :meth:`restore` takes."""
        if self.model is None or self._warm_state is None:
            return None
        params = {k: [v.detach().cpu().tolist(), str(v.dtype).removeprefix("torch.")]
                  for k, v in self._warm_state.items()}
        return {"n": self._model_n, "fit_n": self._fit_n, "warp": dataclasses.asdict(self.warp),
                "member": self._member, "params": params}

    def restore(self, state: dict[str, Any] | None) -> None:
        """Take a stored :meth:`fit_state` for the first fit, if that fit is of as many points:
        the fit is then the stored one (its warp, its hyperparameters loaded, not optimised), so
        that a resumed search continues as the one never stopped would. Refitting instead would
        start the hyperparameters elsewhere than the never-stopped search's warm start, and a
        ``"loo"`` warp is chosen with the kernel of the fit before, which a resumed study lacks."""
        self._restored = state

    def _choose_warp(self, X: torch.Tensor, y: np.ndarray, var: np.ndarray | None,
                     choose: bool = True) -> OutputWarp:
        """The warp for the values ``y`` at ``X``: with ``y_warp="loo"`` the member of
        :meth:`OutputWarp.family` with the highest leave-one-out density of ``y`` under the
        kernel of the last fit (:func:`tuner.surrogate.mll.warp_loo`), where that fit is a
        GP of learned noise; otherwise (and before the first fit) :meth:`OutputWarp.fit`. With
        ``choose=False`` (a fit that keeps its hyperparameters) the member chosen last, fitted
        to ``y``: the choice costs a factorisation of the covariance, as a hyperparameter
        optimisation does, and is made as often (at 2000 points it would take 0.5 s a tell)."""
        if self.y_warp == "loo" and var is None and self.model is not None:
            warps = OutputWarp.family(y)
            if choose or self._member is None or self._member >= len(warps):
                self._member = int(np.argmax(warp_loo(self.model, X, y, warps)))
            return warps[self._member]
        return OutputWarp.fit(self.y_warp, y)

    def data(self, obs: Observations, warp: OutputWarp | None = None, choose: bool = True
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, OutputWarp]:
        """Inputs, warped targets (of ``-y``) and known variances, and the warp: ``warp`` when
        given (it must map every value), else one chosen for them. Imputed points take the
        largest value told and the median variance."""
        U, y = obs.imputed()
        X = self._tensor(U)
        var = None
        if self.known_noise(obs.noise):
            default = float(self.noise) if not isinstance(self.noise, str) else 0.0
            var = np.array([default if v is None else v for v in obs.noise], dtype=float)
            var = np.concatenate([var, np.full(len(obs.U_failed), float(np.median(var)))])
        wy = None
        if warp is not None:
            with np.errstate(all="ignore"):
                wy = warp(y)
            if not np.all(np.isfinite(wy)):  # a value the given warp cannot map: choose anew
                warp = wy = None
        if warp is None or wy is None:
            warp = self._choose_warp(X, y, var, choose)
            wy = warp(y)
        wvar = None if var is None else var * warp.slope(y) ** 2
        Yvar = None
        if wvar is not None:
            scale = max(float(np.var(wy)), 1e-12)
            # GPyTorch's fixed-noise likelihood rounds standardised variances below 1e-6 up (and
            # warns on every call): floor them here, just above that
            Yvar = self._tensor(np.maximum(wvar, 2e-6 * scale)[:, None])
        return X, self._tensor(-wy[:, None]), Yvar, warp

    def _state_tensors(self, params: dict[str, Any]) -> dict[str, torch.Tensor]:
        """A model ``state_dict`` from :meth:`fit_state`'s lists."""
        return {k: torch.as_tensor(v, dtype=getattr(torch, dtype), device=self.device)
                for k, (v, dtype) in params.items()}

    def _build(self, X: torch.Tensor, Y: torch.Tensor, Yvar: torch.Tensor | None) -> Any:
        """An unfitted GP of this surrogate's structure and options for the data ``X, Y, Yvar``."""
        return build_gp(X, Y, Yvar, cat_dims=self.cat_dims, min_noise=self.config.min_noise,
                        cat_prior=self.config.categorical_prior)

    def fit(self, obs: Observations, keep: bool = True) -> None:
        """Refit to ``obs`` (a no-op when the model already has as many points). The
        hyperparameters are optimised below ``config.always_refit_below`` points and whenever the
        points grew by ``config.refit_growth`` since the last optimisation; otherwise the last
        ones are kept and only the data change. ``keep=False``: the fit becomes ``model`` but
        is not added to ``models`` (a fit of the initial design, which scikit-optimize does
        not make)."""
        n_ok = len(obs.y)
        if n_ok < 2 or n_ok < min(self.min_points, 2) or obs.n == self._model_n:
            return
        t0 = time.perf_counter()
        restored, self._restored = self._restored, None
        kind = "power" if self.y_warp == "loo" else self.y_warp
        if restored is not None and (restored["n"] != obs.n or restored["warp"]["kind"] != kind):
            restored = None  # more points told since, or a study made with another warp
        cfg = self.config
        optimise = obs.n < cfg.always_refit_below or obs.n >= (1 + cfg.refit_growth) * self._fit_n
        X, Y, Yvar, warp = self.data(obs, None if restored is None else OutputWarp(**restored["warp"]),
                                     choose=optimise)
        model = self._build(X, Y, Yvar)
        warm, subset = self._warm_state, optimise and 0 < cfg.fit_subset < len(X)
        if restored is not None:  # a resumed study: the stored fit, not a new one
            warm, optimise, subset = self._state_tensors(restored["params"]), False, False
            self._fit_n, self._member = int(restored["fit_n"]), restored.get("member")
        if subset:  # the hyperparameters from a random subset, then the GP of all the data
            idx = np.sort(np.random.default_rng(len(X)).choice(len(X), cfg.fit_subset, replace=False))
            t = torch.as_tensor(idx, device=X.device)
            sub = fit_gp(self._build(X[t], Y[t], None if Yvar is None else Yvar[t]), warm, cfg)
            warm = {k: v.detach().clone() for k, v in sub.state_dict().items()}
        self.model = fit_gp(model, warm, cfg, optimise=optimise and not subset)
        self.warp = warp
        if keep:
            self.models.append(self.model)
            self.warps.append(warp)
        if self.queue_size is not None:
            del self.models[:-self.queue_size]
            del self.warps[:-self.queue_size]
        self._warm_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self._model_n = obs.n
        if optimise or self._fit_n == 0:
            self._fit_n = obs.n
        self.seconds += time.perf_counter() - t0

    def with_lies(self, obs: Observations, U_pending: np.ndarray, strategy: str) -> tuple[Any, torch.Tensor]:
        """A GP with the current hyperparameters refitted to ``obs`` plus every pending point
        given the constant lie of ``strategy`` (``"cl_min"``, ``"cl_mean"``, ``"cl_max"``), and
        its inputs."""
        X, Y, Yvar, _ = self.data(obs, self.warp if self.model is not None else None)
        if len(U_pending):
            # the model is of -y: the minimum of y is the maximum of the targets
            lie = {"cl_min": Y.max(), "cl_mean": Y.mean(), "cl_max": Y.min()}[strategy]
            X = torch.cat([X, self._tensor(U_pending)])
            Y = torch.cat([Y, lie.expand(len(U_pending), 1)])
            if Yvar is not None:
                Yvar = torch.cat([Yvar, Yvar.median().expand(len(U_pending), 1)])
        model = self._build(X, Y, Yvar)
        return fit_gp(model, self._warm_state, self.config, optimise=False), X

    def predict(self, U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the warped objective at model points ``U``.

        Raises:
            TunerError: no model has been fitted yet.
        """
        if self.model is None:
            raise TunerError("no surrogate yet: tell at least 2 results first")
        return posterior(self.model, self._tensor(U))

    def predict_mean(self, U: np.ndarray) -> np.ndarray:
        """:meth:`predict`'s mean alone (no variances: cheaper by a triangular solve per point).

        Raises:
            TunerError: no model has been fitted yet.
        """
        if self.model is None:
            raise TunerError("no surrogate yet: tell at least 2 results first")
        return warped_mean(self.model, self._tensor(U))

    def minimise_mean(self, u0: np.ndarray, bounds: np.ndarray, seed: int) -> np.ndarray | None:
        """The minimiser of the posterior mean within ``bounds`` (``2 x d``) by L-BFGS from
        ``u0``, or ``None`` when the search fails."""
        with torch.random.fork_rng(devices=[]), gp_settings():
            torch.manual_seed(seed)
            try:
                cand, _ = optimize_acqf(PosteriorMean(cached_gp(self.model) or self.model),
                                        bounds=self._tensor(bounds), q=1, num_restarts=1,
                                        batch_initial_conditions=self._tensor(u0[None, None, :]),
                                        options={"maxiter": 100})
            except Exception:
                return None
        return cand.detach().cpu().numpy()[0]

    def views(self, noise: str | float) -> list[SurrogateView]:
        """``models`` as scikit-optimize's plots and utilities read a model (``res.models``):
        ``predict`` on model coordinates, in the objective's own scale."""
        return [SurrogateView(m, w, noise) for m, w in zip(self.models, self.warps, strict=True)]
