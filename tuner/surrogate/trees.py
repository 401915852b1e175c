"""Tree ensembles that predict a spread with their mean: the surrogates behind scikit-optimize's
``base_estimator="RF"``, ``"ET"`` and ``"GBRT"``.

An acquisition function needs a standard deviation beside each prediction; scikit-learn's
ensembles give only the mean. Two ways to get one:

* **Forests** (:class:`RandomForestSurrogate`, :class:`ExtraTreesSurrogate`): each tree's leaf holds
  the mean and the variance of the training values that fell into it. Over the trees of the
  forest the predictive variance is the law of total variance: the mean of the leaf variances
  plus the variance of the leaf means across trees (Hutter et al., "Algorithm runtime
  prediction", 2014, sec. 4.3.2). Leaves of one training value have no variance of their own,
  hence the default ``min_samples_leaf=3`` of :func:`make_estimator`.
* **Boosted quantiles** (:class:`GradientBoostingQuantiles`): three gradient-boosted models of
  the 16th, 50th and 84th percentile; the median is the prediction and half the distance between
  the outer two the standard deviation (exact for a normal distribution).

Each has scikit-learn's ``fit`` / ``predict(X, return_std=...)`` contract, which is all
:class:`tuner.surrogate.estimator.EstimatorSurrogate` asks of any regressor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import ExtraTreesRegressor, GradientBoostingRegressor, RandomForestRegressor

from tuner.errors import TunerError

__all__ = ["ESTIMATOR_NAMES", "ExtraTreesSurrogate", "GradientBoostingQuantiles",
           "RandomForestSurrogate", "make_estimator"]

#: scikit-optimize's names of its tree surrogates (any case), with the class each builds
ESTIMATOR_NAMES = ("RF", "ET", "GBRT")


def _forest_spread(forest: Any, X: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation over the trees of a fitted forest, by the law of total
    variance over the leaves ``X`` falls into."""
    X = np.asarray(X, dtype=np.float32)
    means, second = np.zeros(len(X)), np.zeros(len(X))
    for tree in forest.estimators_:
        leaf = tree.apply(X)
        mu = tree.tree_.value[leaf, 0, 0]
        means += mu
        second += tree.tree_.impurity[leaf] + mu**2
    k = len(forest.estimators_)
    mean = means / k
    return mean, np.sqrt(np.maximum(second / k - mean**2, 0.0))


class _LeafSpread:
    """``predict(X, return_std=True)`` for a scikit-learn forest it is mixed into (before it)."""

    def predict(self, X: Any, return_std: bool = False) -> Any:
        if not return_std:
            return super().predict(X)  # type: ignore[misc]
        return _forest_spread(self, X)


class RandomForestSurrogate(_LeafSpread, RandomForestRegressor):
    """scikit-learn's random forest with ``predict(X, return_std=True)`` (module docstring)."""


class ExtraTreesSurrogate(_LeafSpread, ExtraTreesRegressor):
    """scikit-learn's extremely randomised trees with ``predict(X, return_std=True)`` (module
    docstring)."""


class GradientBoostingQuantiles(RegressorMixin, BaseEstimator):
    """Gradient-boosted models of three quantiles: the median as prediction, half the distance
    between the outer two as standard deviation.

    Args:
        quantiles: The lower, middle and upper quantile (defaults: +-1 sigma of a normal).
        n_estimators, learning_rate, max_depth: Of each scikit-learn ``GradientBoostingRegressor``.
        random_state: Seed of the boosting's subsampling of features.
    """

    def __init__(self, quantiles: tuple[float, float, float] = (0.16, 0.5, 0.84),
                 n_estimators: int = 30, learning_rate: float = 0.1, max_depth: int = 3,
                 random_state: Any = None) -> None:
        self.quantiles = quantiles
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> GradientBoostingQuantiles:
        lo, mid, hi = self.quantiles
        if not 0 < lo < mid < hi < 1:
            raise TunerError(f"quantiles must be increasing within (0, 1), got {self.quantiles!r}")
        self.models_ = [GradientBoostingRegressor(loss="quantile", alpha=q, n_estimators=self.n_estimators,
                                                  learning_rate=self.learning_rate, max_depth=self.max_depth,
                                                  random_state=self.random_state).fit(X, y)
                        for q in self.quantiles]
        return self

    def predict(self, X: Any, return_std: bool = False) -> Any:
        lo, mid, hi = (m.predict(X) for m in self.models_)
        if not return_std:
            return mid
        return mid, np.maximum(hi - lo, 0.0) / 2


def make_estimator(name: str, random_state: int) -> Any:
    """The unfitted regressor behind scikit-optimize's name ``name`` (``"RF"``, ``"ET"`` or
    ``"GBRT"``, any case), seeded with ``random_state``.

    Raises:
        TunerError: an unknown name.
    """
    key = name.upper()
    if key == "RF":
        return RandomForestSurrogate(n_estimators=100, min_samples_leaf=3, random_state=random_state)
    if key == "ET":
        return ExtraTreesSurrogate(n_estimators=100, min_samples_leaf=3, random_state=random_state)
    if key == "GBRT":
        return GradientBoostingQuantiles(random_state=random_state)
    raise TunerError(f"a tree surrogate's name must be one of {ESTIMATOR_NAMES} (any case), got {name!r}")
