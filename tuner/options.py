"""The options an :class:`~tuner.optimizer.Optimizer` is built with: scikit-optimize's spellings
resolved to this toolkit's, and every option checked before anything is made, each refused with
one error that states the rule and the value received.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

from tuner.acquisition.functions import ACQ_FUNCS, SCHEDULED, AcqConfig
from tuner.acquisition.per_second import PER_SECOND
from tuner.checks import check_skopt_arguments, is_whole
from tuner.errors import TunerError
from tuner.space import INITIAL_POINT_GENERATORS
from tuner.surrogate.warp import Y_WARPS

__all__ = ["ASK_STRATEGIES", "FAILURE_MODES", "Resolved", "check_options", "check_strategy",
           "resolve_skopt"]

#: how ``ask(n_points > 1)`` chooses a batch: jointly with the pending points integrated out
#: (``None``, the default), or scikit-optimize's constant liars (each point chosen after
#: pretending the earlier ones returned the minimum, mean or maximum of the results so far)
ASK_STRATEGIES = (None, "cl_min", "cl_mean", "cl_max")

#: what a failed evaluation becomes in the surrogate (:class:`~tuner.optimizer.Optimizer`)
FAILURE_MODES = ("worst", "ignore")


@dataclass(frozen=True)
class Resolved:
    """scikit-optimize's spellings of four options, resolved to this toolkit's (``estimator``:
    :func:`~tuner.checks.estimator_kind` of ``base_estimator``)."""

    noise: str | float
    n_initial_points: int
    acq_config: AcqConfig | None
    estimator: str = "GP"


def resolve_skopt(base_estimator: Any, noise: str | float, n_random_starts: int | None,
                  n_initial_points: int, acq_config: AcqConfig | None,
                  acq_func_kwargs: dict[str, Any] | None, acq_optimizer: Any,
                  acq_optimizer_kwargs: Any) -> Resolved:
    """Apply scikit-optimize's rules: a regressor's own ``noise`` wins, ``n_random_starts`` is
    the older name of ``n_initial_points`` (and wins when given), ``acq_func_kwargs`` sets
    ``xi`` and ``kappa`` unless an ``acq_config`` is given.

    Raises:
        TunerError: what :func:`~tuner.checks.check_skopt_arguments` refuses.
    """
    kind = check_skopt_arguments(base_estimator, acq_optimizer, acq_func_kwargs, acq_optimizer_kwargs)
    own_noise = None if isinstance(base_estimator, str) else getattr(base_estimator, "noise", None)
    if kind == "GP" and own_noise is not None:
        noise = own_noise
    if n_random_starts is not None:
        warnings.warn("n_random_starts is scikit-optimize's deprecated name; use n_initial_points",
                      DeprecationWarning, stacklevel=3)
        n_initial_points = n_random_starts
    if acq_config is None and acq_func_kwargs:
        base = AcqConfig()
        acq_config = AcqConfig(xi=float(acq_func_kwargs.get("xi", base.xi)),
                               kappa=float(acq_func_kwargs.get("kappa", base.kappa)))
    return Resolved(noise, n_initial_points, acq_config, kind)


def check_options(*, n_initial_points: Any, initial_point_generator: Any, acq_func: Any,
                  y_warp: Any, noise: Any, failures: Any, model_queue_size: Any,
                  space_constraint: Any, budget: Any = None, estimator: str = "GP") -> None:
    """Check the optimiser's options (see :class:`~tuner.optimizer.Optimizer` for each);
    ``estimator`` is :func:`~tuner.checks.estimator_kind` of its ``base_estimator``.

    Raises:
        TunerError: the first option that breaks its rule, with the rule and the value.
    """
    if space_constraint is not None and not callable(space_constraint):
        raise TunerError(f"space_constraint must be a callable point -> bool or None, "
                         f"got {space_constraint!r}")
    if failures not in FAILURE_MODES:
        raise TunerError(f"failures must be one of {FAILURE_MODES}, got {failures!r}")
    if not is_whole(n_initial_points) or n_initial_points < 0:
        raise TunerError(f"n_initial_points must be an int >= 0, got {n_initial_points!r}")
    if initial_point_generator not in INITIAL_POINT_GENERATORS:
        raise TunerError(f"initial_point_generator must be one of {INITIAL_POINT_GENERATORS}, "
                         f"got {initial_point_generator!r}")
    if acq_func not in ACQ_FUNCS and acq_func not in PER_SECOND and acq_func != SCHEDULED:
        raise TunerError(f"acq_func must be one of {sorted([*ACQ_FUNCS, *PER_SECOND, SCHEDULED])}, "
                         f"got {acq_func!r}")
    if y_warp not in (*Y_WARPS, "auto", "loo"):
        raise TunerError(f"y_warp must be one of {(*Y_WARPS, 'auto', 'loo')}, got {y_warp!r}")
    real = isinstance(noise, (int, float)) and not isinstance(noise, bool)
    if not (noise == "gaussian" or (real and math.isfinite(noise) and noise >= 0)):
        raise TunerError(f"noise must be 'gaussian' or a finite variance >= 0, got {noise!r}")
    if model_queue_size is not None and (not is_whole(model_queue_size) or model_queue_size < 1):
        raise TunerError(f"model_queue_size must be None or an int >= 1, got {model_queue_size!r}")
    if budget is not None and (not is_whole(budget) or budget < 1):
        raise TunerError(f"budget must be None or an int >= 1 (the evaluations planned), got {budget!r}")
    if estimator == "regressor" and acq_func == "MES":
        raise TunerError("acq_func='MES' needs the GP surrogate (it draws functions from the "
                         "posterior); with a regressor as base_estimator use EI, PI, LCB, gp_hedge, "
                         "EIps or PIps, got 'MES'")
    if estimator == "regressor" and y_warp not in ("auto", "none"):
        raise TunerError(f"y_warp applies to the GP surrogate; a regressor as base_estimator is fitted "
                         f"to the values as told: y_warp must be 'auto' or 'none', got {y_warp!r}")


def check_strategy(n: Any, strategy: Any) -> None:
    """Check an ask's batch size and batch strategy (:data:`ASK_STRATEGIES`).

    Raises:
        TunerError: ``n`` is not an int >= 1, or ``strategy`` is unknown.
    """
    if not is_whole(n) or n < 1:
        raise TunerError(f"the number of points to ask must be an int >= 1, got {n!r}")
    if strategy not in ASK_STRATEGIES:
        raise TunerError(f"strategy must be one of {ASK_STRATEGIES}, got {strategy!r}")

