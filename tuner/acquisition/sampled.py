"""The acquisition step of a regressor surrogate (:mod:`tuner.surrogate.estimator`): the
acquisition function evaluated at random points of the space, the best one taken
(scikit-optimize's ``acq_optimizer="sampling"``, the only search a gradient-free surrogate allows).

EI, PI and LCB are the closed forms on the regressor's mean ``mu`` and standard deviation ``s``
(minimisation: with the incumbent ``b``, the lowest value the regressor was fitted to, and the margin
``xi``: ``z = (b - xi - mu) / s``, EI ``= (b - xi - mu) Phi(z) + s phi(z)``, PI ``= Phi(z)``;
LCB ranks by ``mu - kappa s``). The log-EI names (``"LogEI"``, ``"auto"``, ``"qLogNEI"``) are EI
here: the same maximiser over a finite set of points. ``gp_hedge`` draws among the three as on the
GP (:mod:`tuner.acquisition.hedge`); ``EIps``/``PIps`` divide by the expected time of the same
time model as on the GP. Batches and asks beside pending points are chosen point by point under a
constant liar by :class:`tuner.Optimizer`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from scipy.special import erfcx, log_ndtr, ndtr

from tuner.acquisition.per_second import PER_SECOND, log_inverse_time
from tuner.acquisition.step import AcquisitionStep, AskState
from tuner.candidates import best_untaken, sample
from tuner.space import Space
from tuner.surrogate.estimator import EstimatorModel
from tuner.surrogate.gp import SurrogateConfig

__all__ = ["N_POINTS", "SampledStep", "sampled_score"]

#: random points per ask at which the acquisition is evaluated (scikit-optimize's ``n_points``)
N_POINTS = 10_000

Score = Callable[[np.ndarray], np.ndarray]


def _log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z Phi(z))``, EI's factor of ``s``, without cancellation far below the
    incumbent: ``Phi(z) / phi(z)`` is Mills' ratio ``sqrt(pi / 2) erfcx(-z / sqrt 2)``, and
    ``1 + z * ratio ~ 1 / z^2`` below ``z = -1e3``."""
    log_phi = -0.5 * z**2 - 0.5 * np.log(2 * np.pi)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        tail = 1 + z * np.sqrt(np.pi / 2) * erfcx(-z / np.sqrt(2))
        tail = np.where(z < -1e3, 1 / z**2, tail)
        return np.where(z > 0, np.log(np.exp(log_phi) + z * ndtr(z)), log_phi + np.log(tail))


def sampled_score(mu: np.ndarray, s: np.ndarray, best: float, kind: str, xi: float,
                  kappa: float) -> np.ndarray:
    """The acquisition ``kind`` (``"EI"``, ``"PI"`` or ``"LCB"``) at points of mean ``mu`` and
    standard deviation ``s``, as a log for EI and PI (higher is better; module docstring).
    Points of no spread score their sure improvement (``-inf`` where there is none)."""
    gap = best - xi - mu
    if kind == "LCB":
        return -(mu - kappa * s)
    spread = s > 0
    safe = np.where(spread, s, 1.0)
    z = gap / safe
    with np.errstate(divide="ignore"):
        sure = np.log(np.maximum(gap, 0.0)) if kind == "EI" else np.where(gap > 0, 0.0, -np.inf)
    value = np.log(safe) + _log_h(z) if kind == "EI" else log_ndtr(z)
    return np.where(spread, value, sure)


class SampledStep(AcquisitionStep):
    """Chooses the points of an ask for a regressor surrogate, by sampling.

    Args:
        space: The search space.
        device: Torch device of the time model (``EIps``/``PIps``).
        model_config: Options of the fit of the time model.
        n_points: Random points per ask (``acq_optimizer_kwargs["n_points"]``).
    """

    def __init__(self, space: Space, device: torch.device, model_config: SurrogateConfig,
                 n_points: int = N_POINTS) -> None:
        super().__init__(space, device, model_config)
        self.n_points = n_points

    def acquisition(self, model: Any, state: AskState, q: int) -> Score:
        """The score of ``state.acq_func`` under ``model`` (an
        :class:`~tuner.surrogate.estimator.EstimatorModel`), of model points ``n x d``."""
        assert isinstance(model, EstimatorModel)
        name = PER_SECOND.get(state.acq_func, state.acq_func)
        kind = name if name in ("PI", "LCB") else "EI"
        best = model.y_best
        time_model = self.time_model(state.timed) if state.acq_func in PER_SECOND else None
        cfg = state.config

        def score(U: np.ndarray) -> np.ndarray:
            mu, s = model.mean_std(U)
            out = sampled_score(mu, s, best, kind, cfg.xi, cfg.kappa)
            if time_model is not None:
                with torch.no_grad():
                    out = out + log_inverse_time(time_model, self._tensor(U)).reshape(-1).cpu().numpy()
            return out

        return score

    def maximize(self, acq: Any, state: AskState, q: int) -> list[list[Any]]:
        """The ``q`` best of :attr:`n_points` random points (drawn under the ask's seed), made
        admissible."""
        rng = np.random.default_rng(state.seed)
        cand = (self.space.rvs(self.n_points, random_state=rng) if state.constraint is None
                else sample(self.space, self.n_points, rng, state.constraint))
        values = acq(self.space.to_unit(cand, check=False))
        top = np.argsort(-values, kind="stable")[:q]
        return self.admissible([cand[int(i)] for i in top], acq, state)

    def admissible(self, cand: list[list[Any]], acq: Any, state: AskState) -> list[list[Any]]:
        """``cand``, each point that is taken already replaced by the untaken point of highest
        score (:func:`~tuner.candidates.best_untaken`)."""
        return best_untaken(self.space, cand, acq, state.taken, state.key, state.constraint)
