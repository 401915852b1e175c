"""The result object: scikit-optimize's ``OptimizeResult`` fields plus the model's recommendation."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import OptimizeResult

from tuner.skopt_types import skopt_typed

__all__ = ["TunerResult", "as_skopt_result", "build_result"]


class TunerResult(OptimizeResult):
    """scikit-optimize's ``OptimizeResult`` (a dict with attribute access) whose ``space`` is
    retyped when it is read: if ``skopt.space`` has been imported by then, even after the run
    (``from skopt.plots import plot_histogram`` once the search is done), ``res.space`` and its
    dimensions are also instances of scikit-optimize's classes (:func:`~tuner.skopt_types.skopt_typed`),
    so its plots recognise a category and index the space by name. Nothing else changes."""

    def __getitem__(self, key: Any) -> Any:
        value = super().__getitem__(key)
        if key == "space":
            typed = skopt_typed(value)
            if typed is not value:
                super().__setitem__(key, typed)
            return typed
        return value


def build_result(opt: Any, specs: dict[str, Any] | None = None,
                 search: bool = True) -> OptimizeResult:
    """Summarise an optimiser's state as an ``OptimizeResult``.

    Fields as in scikit-optimize: ``x`` and ``fun`` (best evaluated point and value), ``x_iters``
    and ``func_vals`` (every successful evaluation, in order), ``space``, ``specs``, ``models``,
    ``random_state``, and ``log_time`` (the log of each evaluation's seconds) for ``EIps`` and
    ``PIps``. Added: ``x_recommended`` / ``fun_recommended`` / ``fun_recommended_std``
    (minimiser of the surrogate's posterior mean; for a noisy objective this, not the luckiest
    evaluation, is the answer; ``models`` are :class:`~tuner.surrogate.SurrogateView` objects with
    scikit-optimize's ``predict``, or the fitted regressors themselves where the optimiser's
    ``base_estimator`` is one), ``noise`` (known variances or ``None``), ``failed`` (the failed
    evaluations with their errors), ``y_warp`` (the scale ``models`` predict on),
    ``trials`` (every trial record) and ``timings`` (seconds spent
    in model fits and acquisition).

    Args:
        opt: The optimiser (a :class:`tuner.Optimizer`; duck-typed so that this module does not
            import it).
        specs: ``specs`` entry (function name and arguments).
        search: Refine the recommendation by L-BFGS on the posterior mean (else evaluated points).
    """
    done = opt.complete
    res = TunerResult()
    res.x_iters = [t.x for t in done]
    res.func_vals = np.array([t.y for t in done], dtype=float)
    res.noise = [t.noise for t in done]
    if done:
        i = int(np.argmin(res.func_vals))
        res.x, res.fun = res.x_iters[i], float(res.func_vals[i])
    else:
        res.x, res.fun = None, float("nan")
    res.space = opt.space  # read as a skopt Space too once scikit-optimize is in use (TunerResult)
    res.specs = specs or opt.specs
    res.models = opt.surrogate.views(opt.noise)
    if getattr(opt, "per_second", False):  # EIps / PIps: scikit-optimize's log_time
        res.log_time = np.array([t.info.get("log_time", np.nan) for t in done], dtype=float)
    res.random_state = opt.random_state
    res.y_warp = opt.y_warp  # the scale the GPs behind res.models are fitted on
    res.failed = [{"x": t.x, "error": t.error, "trial": t.id} for t in opt.trials
                  if t.state == "failed"]
    res.trials = list(opt.trials)
    res.timings = dict(opt.timings)
    rec = opt.recommend(search=search)
    if rec is None:
        res.x_recommended, res.fun_recommended, res.fun_recommended_std = res.x, res.fun, None
    else:
        x, mean, std = rec
        res.x_recommended = x
        res.fun_recommended = float(opt.unwarp(mean))
        res.fun_recommended_std = float(std)
    return res


def as_skopt_result(res: OptimizeResult) -> OptimizeResult:
    """A copy of ``res`` whose ``space`` is made of scikit-optimize's own classes, for the skopt
    plots and utilities that test a dimension's class (``plot_objective`` and ``plot_evaluations``
    on a space with a :class:`~tuner.space.Categorical`; on reals and integers they take ``res``
    as it is).

    The skopt dimensions transform values exactly as this toolkit's model coordinates
    (``normalize`` for reals and integers, ``label`` for categories), so ``res.models`` predict on
    them unchanged. Needs scikit-optimize installed.

    Raises:
        ImportError: scikit-optimize is not installed.
    """
    from skopt.space import Categorical as SkCategorical
    from skopt.space import Integer as SkInteger
    from skopt.space import Real as SkReal
    from skopt.space import Space as SkSpace

    from tuner.dimensions import Categorical, Integer

    dims: list[Any] = []
    for d in res.space.dimensions:
        if isinstance(d, Categorical):
            dims.append(SkCategorical(list(d.categories), transform="label", name=d.name))
        else:
            kind = SkInteger if isinstance(d, Integer) else SkReal
            dims.append(kind(d.low, d.high, prior=d.prior, base=d.base, transform="normalize",
                             name=d.name))
    out = OptimizeResult(dict(res))
    out.space = SkSpace(dims)
    return out
