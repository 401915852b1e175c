"""scikit-optimize's other minimisers, each :func:`tuner.gp_minimize` with another surrogate:
``forest_minimize`` (extra trees or a random forest), ``gbrt_minimize`` (gradient-boosted
quantile trees) and ``dummy_minimize`` (random search); their arguments are scikit-optimize's,
in its order, and their results :func:`~tuner.gp_minimize`'s."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from scipy.optimize import OptimizeResult

from tuner.checks import estimator_kind
from tuner.errors import TunerError
from tuner.minimize import Callback, called_as, gp_minimize, x0_points

__all__ = ["dummy_minimize", "forest_minimize", "gbrt_minimize"]


def _tree_minimize(name: str, func: Callable[..., Any], dimensions: Any, base_estimator: Any,
                   xi: float, kwargs: dict[str, Any]) -> OptimizeResult:
    """:func:`gp_minimize` with a regressor as surrogate, its ``specs`` named ``name``."""
    if estimator_kind(base_estimator) != "regressor":
        raise TunerError(f"{name} takes a regressor as base_estimator ('RF', 'ET', 'GBRT' or an "
                         f"object with predict(X, return_std=True)); for the GP use gp_minimize, "
                         f"got {base_estimator!r}")
    with called_as(name):
        res = gp_minimize(func, dimensions, base_estimator, xi=xi, **kwargs)
    res.specs["args"]["base_estimator"] = base_estimator
    return res


def forest_minimize(func: Callable[..., Any], dimensions: Any, base_estimator: Any = "ET",
                    n_calls: int = 100, n_random_starts: int | None = None, n_initial_points: int = 10,
                    acq_func: str = "EI", initial_point_generator: str = "random",
                    x0: list[Any] | None = None, y0: Any = None, random_state: int | None = None,
                    verbose: bool = False, callback: Callback | Iterable[Callback] | None = None,
                    n_points: int = 10000, xi: float = 0.01, kappa: float = 1.96, n_jobs: int = 1,
                    model_queue_size: int | None = None, space_constraint: Any = None,
                    **kwargs: Any) -> OptimizeResult:
    """scikit-optimize's ``forest_minimize``: :func:`gp_minimize` with a forest of regression
    trees (``"ET"``, extremely randomised trees, or ``"RF"``, a random forest,
    :mod:`tuner.surrogate.trees`; or any regressor with ``predict(X, return_std=True)``) as the
    surrogate, EI by default with scikit-optimize's margin ``xi=0.01``, the acquisition taken at
    ``n_points`` random points. The arguments are scikit-optimize's, in its order; ``kwargs``
    takes :func:`gp_minimize`'s keyword-only ones (``storage``, ``progress``, ``executor``, ...).

    Raises:
        TunerError: ``base_estimator`` is no regressor, or what :func:`gp_minimize` refuses.
    """
    return _tree_minimize("forest_minimize", func, dimensions, base_estimator, xi, dict(
        n_calls=n_calls, n_random_starts=n_random_starts, n_initial_points=n_initial_points,
        acq_func=acq_func, initial_point_generator=initial_point_generator, x0=x0, y0=y0,
        random_state=random_state, verbose=verbose, callback=callback, n_points=n_points,
        kappa=kappa, n_jobs=n_jobs, model_queue_size=model_queue_size,
        space_constraint=space_constraint, acq_optimizer="sampling", **kwargs))


def gbrt_minimize(func: Callable[..., Any], dimensions: Any, base_estimator: Any = None,
                  n_calls: int = 100, n_random_starts: int | None = None, n_initial_points: int = 10,
                  initial_point_generator: str = "random", acq_func: str = "EI",
                  acq_optimizer: str = "auto", x0: list[Any] | None = None, y0: Any = None,
                  random_state: int | None = None, verbose: bool = False,
                  callback: Callback | Iterable[Callback] | None = None, n_points: int = 10000,
                  xi: float = 0.01, kappa: float = 1.96, n_jobs: int = 1,
                  model_queue_size: int | None = None, space_constraint: Any = None,
                  **kwargs: Any) -> OptimizeResult:
    """scikit-optimize's ``gbrt_minimize``: :func:`gp_minimize` with gradient-boosted quantile
    regression trees as the surrogate (``None``: ``"GBRT"``,
    :class:`tuner.surrogate.trees.GradientBoostingQuantiles`), otherwise as
    :func:`forest_minimize`.

    Raises:
        TunerError: ``base_estimator`` is no regressor, or what :func:`gp_minimize` refuses.
    """
    return _tree_minimize("gbrt_minimize", func, dimensions, "GBRT" if base_estimator is None
                          else base_estimator, xi, dict(
        n_calls=n_calls, n_random_starts=n_random_starts, n_initial_points=n_initial_points,
        acq_func=acq_func, initial_point_generator=initial_point_generator, x0=x0, y0=y0,
        random_state=random_state, verbose=verbose, callback=callback, n_points=n_points,
        kappa=kappa, n_jobs=n_jobs, model_queue_size=model_queue_size,
        space_constraint=space_constraint, acq_optimizer=acq_optimizer, **kwargs))


def dummy_minimize(func: Callable[..., Any], dimensions: Any, n_calls: int = 100,
                   initial_point_generator: str = "random", x0: list[Any] | None = None,
                   y0: Any = None, random_state: int | None = None, verbose: bool = False,
                   callback: Callback | Iterable[Callback] | None = None,
                   model_queue_size: int | None = None, **kwargs: Any) -> OptimizeResult:
    """scikit-optimize's ``dummy_minimize``: random search (every point drawn from
    ``initial_point_generator``, no model), with :func:`gp_minimize`'s result, storage and
    parallel evaluation (``kwargs``: its keyword-only arguments).

    Raises:
        TunerError: what :func:`gp_minimize` refuses.
    """
    to_evaluate = 0 if y0 is not None else len(x0_points(x0))
    with called_as("dummy_minimize"):
        res = gp_minimize(func, dimensions, "dummy", n_calls=n_calls,
                          n_initial_points=max(n_calls - to_evaluate, 0),
                          initial_point_generator=initial_point_generator, x0=x0, y0=y0,
                          random_state=random_state, verbose=verbose, callback=callback,
                          model_queue_size=model_queue_size, exploit_last=0, **kwargs)
    return res
