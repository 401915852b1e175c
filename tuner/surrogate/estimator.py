"""A scikit-learn regressor as the optimiser's surrogate, in place of the GP: scikit-optimize's
``Optimizer(space, base_estimator=ExtraTreesRegressor())`` and ``base_estimator="RF"``, ``"ET"``,
``"GBRT"``.

The contract of a regressor (any class): ``fit(X, y)`` and ``predict(X, return_std=True)``
returning the mean and the standard deviation at the rows of ``X``, as scikit-optimize's
``skopt.learning`` regressors and :mod:`tuner.surrogate.trees` have. It is fitted to the raw
objective values at the model coordinates of the points (:meth:`tuner.space.Space.to_unit`), a
fresh clone at every fit. :class:`EstimatorSurrogate` keeps the interface of
:class:`tuner.surrogate.state.Surrogate`, so that :class:`tuner.Optimizer` owns its trials the same
way whichever surrogate it has; what a regressor cannot do (a posterior-mean search by gradient,
a resumable hyperparameter state) it declines.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from sklearn.base import clone

from tuner.errors import TunerError
from tuner.surrogate.cached import MeanVariancePosterior
from tuner.surrogate.state import Observations
from tuner.surrogate.trees import make_estimator
from tuner.surrogate.warp import OutputWarp

__all__ = ["EstimatorModel", "EstimatorSurrogate", "prototype"]


def prototype(base_estimator: Any, seed: int) -> Any:
    """The unfitted regressor an optimiser clones at each fit: the one a name stands for
    (:func:`~tuner.surrogate.trees.make_estimator`), or a clone of the one given, seeded with
    ``seed`` where it has a ``random_state`` left at ``None`` (so that the optimiser's seed
    fixes every random choice)."""
    if isinstance(base_estimator, str):
        return make_estimator(base_estimator, seed)
    est = clone(base_estimator)
    params = est.get_params(deep=False) if hasattr(est, "get_params") else {}
    if "random_state" in params and params["random_state"] is None:
        est.set_params(random_state=seed)
    return est


class EstimatorModel:
    """A fitted regressor as the acquisition step and the hedge read a model: ``posterior(X)``
    of a torch tensor of model coordinates, with the mean of ``-y`` (the maximisation convention
    of the GPs of :mod:`tuner.surrogate.gp`).

    Attributes:
        estimator: The fitted regressor.
        y_best: The lowest value it was fitted to (the incumbent of EI and PI).
    """

    def __init__(self, estimator: Any, y_best: float) -> None:
        self.estimator, self.y_best = estimator, y_best

    def mean_std(self, U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of the objective at model points ``U`` (``n x d``)."""
        mean, std = self.estimator.predict(np.atleast_2d(np.asarray(U, dtype=float)), return_std=True)
        return np.asarray(mean, dtype=float).reshape(-1), np.asarray(std, dtype=float).reshape(-1)

    def posterior(self, X: torch.Tensor, *args: Any, **kwargs: Any) -> MeanVariancePosterior:
        U = X.detach().cpu().numpy().reshape(-1, X.shape[-1])
        mean, std = self.mean_std(U)
        shape = (*X.shape[:-1], 1)
        return MeanVariancePosterior(torch.as_tensor(-mean, dtype=X.dtype).reshape(shape),
                                     torch.as_tensor(std**2, dtype=X.dtype).reshape(shape))

    def __repr__(self) -> str:
        return f"EstimatorModel({self.estimator!r})"


class EstimatorSurrogate:
    """A regressor refitted (a fresh clone of ``estimator``) as results come in.

    Args:
        estimator: The unfitted regressor (:func:`prototype`).
        queue_size: Keep the regressors of the last this many fits in ``models`` (``None``: all).

    Attributes:
        model: The current :class:`EstimatorModel` (``None`` before the first fit).
        warp: The identity (a regressor is fitted to the values as told).
        models, warps: The models of the last fits, oldest first, and the warp of each.
        seconds: Time spent fitting.
    """

    def __init__(self, estimator: Any, queue_size: int | None) -> None:
        self.estimator, self.queue_size = estimator, queue_size
        self.model: EstimatorModel | None = None
        self.warp = OutputWarp("none")
        self.models: list[EstimatorModel] = []
        self.warps: list[OutputWarp] = []
        self.seconds = 0.0
        self._model_n = 0

    def known_noise(self, noise: list[float | None]) -> bool:
        """Always ``False``: a regressor takes no told variances (scikit-optimize's trees neither)."""
        return False

    @property
    def n_fitted(self) -> int:
        """Points (successful and imputed) of the current model; 0 before the first fit."""
        return self._model_n

    def fit_state(self) -> None:
        """Nothing to store: a regressor is refitted from the told results on resume."""
        return None

    def restore(self, state: dict[str, Any] | None) -> None:
        """Nothing to restore (:meth:`fit_state`)."""

    def _fitted(self, U: np.ndarray, y: np.ndarray) -> EstimatorModel:
        return EstimatorModel(clone(self.estimator).fit(U, y), float(np.min(y)))

    def fit(self, obs: Observations, keep: bool = True) -> None:
        """Fit a fresh clone to ``obs`` (a no-op without results or when the model already has as
        many points; one result is enough, as for scikit-optimize's regressors);
        ``keep=False``: it becomes ``model`` without joining ``models``."""
        if len(obs.y) < 1 or obs.n == self._model_n:
            return
        t0 = time.perf_counter()
        self.model = self._fitted(*obs.imputed())
        if keep:
            self.models.append(self.model)
            self.warps.append(self.warp)
        if self.queue_size is not None:
            del self.models[:-self.queue_size]
            del self.warps[:-self.queue_size]
        self._model_n = obs.n
        self.seconds += time.perf_counter() - t0

    def with_lies(self, obs: Observations, U_pending: np.ndarray,
                  strategy: str) -> tuple[EstimatorModel, torch.Tensor]:
        """A fresh fit to ``obs`` plus every pending point given the constant lie of ``strategy``
        (``"cl_min"``, ``"cl_mean"``, ``"cl_max"``: the minimum, mean or maximum told), and its
        inputs."""
        U, y = obs.imputed()
        if len(U_pending):
            lie = {"cl_min": y.min(), "cl_mean": y.mean(), "cl_max": y.max()}[strategy]
            U, y = np.concatenate([U, U_pending]), np.concatenate([y, np.full(len(U_pending), lie)])
        return self._fitted(U, y), torch.as_tensor(U, dtype=torch.float64)

    def _model(self) -> EstimatorModel:
        if self.model is None:
            raise TunerError("no surrogate yet: tell at least 2 results first")
        return self.model

    def predict(self, U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of the objective at model points ``U``.

        Raises:
            TunerError: no model has been fitted yet.
        """
        return self._model().mean_std(U)

    def predict_mean(self, U: np.ndarray) -> np.ndarray:
        """:meth:`predict`'s mean alone.

        Raises:
            TunerError: no model has been fitted yet.
        """
        return np.asarray(self._model().estimator.predict(np.atleast_2d(U)), dtype=float).reshape(-1)

    def minimise_mean(self, u0: np.ndarray, bounds: np.ndarray, seed: int) -> None:
        """``None``: a regressor's mean has no gradient to follow (trees are piecewise constant);
        the recommendation stays the evaluated point of lowest mean."""
        return None

    def views(self, noise: str | float) -> list[Any]:
        """The fitted regressors, as scikit-optimize keeps them in ``res.models`` (``predict`` on
        model coordinates, in the objective's scale)."""
        return [m.estimator for m in self.models]
