"""Improvement per second: scikit-optimize's ``EIps`` and ``PIps`` for objectives whose cost
varies over the space (a network's training time grows with its width and its epochs).

The objective reports ``(value, seconds)``. A second GP models the log of the evaluation time,
and the acquisition divides the improvement by the expected time: with ``log t`` Gaussian of
mean ``m`` and variance ``v`` at a point, ``E[1 / t] = exp(-m + v / 2)``, so the log-acquisition
gains ``-m + v / 2`` (scikit-optimize's rule). The optimiser chooses batches of them point by
point under a constant liar (:meth:`tuner.Optimizer.ask_trials`); a batch given here directly
gets the mean of its points' terms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from botorch.acquisition import AcquisitionFunction, qProbabilityOfImprovement
from botorch.models.model import Model

from tuner.checks import is_listlike
from tuner.errors import EvaluationError
from tuner.surrogate.gp import SurrogateConfig, build_gp, fit_gp, gp_settings

__all__ = ["PER_SECOND", "PerSecond", "TimeValueError", "fit_time_model", "log_inverse_time",
           "split_value_time"]

#: the per-second acquisition functions and the improvement each divides by the expected time
PER_SECOND = {"EIps": "EI", "PIps": "PI"}


class TimeValueError(EvaluationError, TypeError):
    """A result of an ``EIps``/``PIps`` optimiser that is not ``(value, seconds)`` (a
    ``TypeError`` too, as scikit-optimize raises)."""


def split_value_time(y: Any, pt: Sequence[Any], acq_func: str) -> tuple[Any, float | None]:
    """The value and the log of the time of one result told to a per-second optimiser.

    ``None`` (a failed evaluation) stays ``None`` with no time. The value is checked by the caller.

    Raises:
        TimeValueError: not a pair, or a time that is not a finite number > 0.
    """
    if y is None:
        return None, None
    if not is_listlike(y) or len(y) != 2:
        raise TimeValueError(f"acq_func={acq_func!r} needs each result as (value, seconds), got "
                             f"{y!r} at {list(pt)!r}")
    value, t = y[0], y[1]
    try:
        seconds = float(t)
    except (TypeError, ValueError):
        seconds = float("nan")
    if isinstance(t, bool) or not (math.isfinite(seconds) and seconds > 0):
        raise TimeValueError(f"acq_func={acq_func!r}: the evaluation time must be a finite number "
                             f"of seconds > 0, got {t!r} at {list(pt)!r}")
    return value, math.log(seconds)


def fit_time_model(U: np.ndarray, log_t: np.ndarray, device: torch.device,
                   config: SurrogateConfig) -> Model:
    """A GP of the log evaluation time at model points ``U`` (learned noise, no warp)."""
    X = torch.as_tensor(U, dtype=torch.float64, device=device)
    Y = torch.as_tensor(np.asarray(log_t, float)[:, None], dtype=torch.float64, device=device)
    return fit_gp(build_gp(X, Y, None, min_noise=config.min_noise), None, config)


def log_inverse_time(time_model: Model, X: torch.Tensor) -> torch.Tensor:
    """``log E[1 / t] = -m + v / 2`` at ``X`` (``... x d``) under the GP of the log time (mean
    ``m``, variance ``v``), shaped as ``X`` without its last dimension."""
    with gp_settings():
        post: Any = time_model.posterior(X)
    return (-post.mean + 0.5 * post.variance.clamp_min(0)).squeeze(-1)


class PerSecond(AcquisitionFunction):
    """An acquisition function divided by the expected evaluation time.

    Args:
        base: The improvement's acquisition (log-valued, as LogEI, LogPI and qLogNEI are; a
            batch probability of improvement is taken in log).
        time_model: GP of the log evaluation time (:func:`fit_time_model`).
    """

    def __init__(self, base: AcquisitionFunction, time_model: Model) -> None:
        super().__init__(model=base.model)
        self.base, self.time_model = base, time_model
        self._log_base = not isinstance(base, qProbabilityOfImprovement)
        self.X_pending: Any = getattr(base, "X_pending", None)

    def set_X_pending(self, X_pending: torch.Tensor | None = None) -> None:  # noqa: N802
        """Pass the pending points on to the improvement (a sequential batch search adds each
        chosen point to them)."""
        self.base.set_X_pending(X_pending)
        self.X_pending = self.base.X_pending

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        value = self.base(X)
        if not self._log_base:
            value = value.clamp_min(1e-300).log()
        Xb = X if X.dim() > 2 else X.unsqueeze(0)  # b x q x d
        log_inv_t = log_inverse_time(self.time_model, Xb).mean(-1)
        return value + log_inv_t.reshape(value.shape)
