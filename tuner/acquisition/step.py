"""The model's step of an ask: the acquisition function built under the ask's seed, maximised,
and its points made admissible (inside ``space_constraint`` and not taken already).

:class:`tuner.Optimizer` owns the trials and the surrogate; it hands this step an
:class:`AskState`, the few facts of the trials one ask needs, and gets user points back. The step
owns two pieces of state of its own: the GP of the evaluation times of ``EIps``/``PIps``, refitted
when the number of timed trials changed, and the nominees of ``gp_hedge``'s portfolio
(:class:`~tuner.acquisition.hedge.Hedge`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from tuner.acquisition.functions import AcqConfig, make_acquisition
from tuner.acquisition.hedge import HEDGE_MEMBERS, Hedge
from tuner.acquisition.optimize import maximize_acquisition
from tuner.acquisition.per_second import PER_SECOND, PerSecond, fit_time_model
from tuner.candidates import best_untaken
from tuner.space import Space
from tuner.surrogate.gp import SurrogateConfig

__all__ = ["AcquisitionStep", "AskState"]


@dataclass
class AskState:
    """What one ask needs to know of the optimiser's trials and settings.

    Attributes:
        X: Model coordinates of the points the model was fitted to (the baseline).
        X_pending: Those of the points asked and not told (``None``: none, or already lied about).
        best: Those of the best evaluated points, extra starts of the acquisition search.
        taken: Those of every trial (a chosen point must not be one of them).
        seed: Torch seed of the ask (the QMC sampler, the baseline pruning, the search starts).
        key: Numpy seed of the draws that replace a point that is taken or not allowed.
        acq_func: scikit-optimize's name of the acquisition function.
        config: Options of the acquisition function and its search.
        known_noise: Whether the model takes the noise as known.
        constraint: ``space_constraint`` of the optimiser.
        timed: Model coordinates and log seconds of the timed trials (``EIps``/``PIps``).
    """

    X: torch.Tensor
    X_pending: torch.Tensor | None
    best: torch.Tensor | None
    taken: np.ndarray
    seed: int
    key: tuple[int, ...]
    acq_func: str
    config: AcqConfig
    known_noise: bool
    constraint: Callable[[list[Any]], bool] | None
    timed: tuple[np.ndarray, np.ndarray] | None = None


class AcquisitionStep:
    """Chooses the model's points of an ask.

    Args:
        space: The search space (its model bounds and its integer and categorical dimensions).
        device: Torch device of the models.
        model_config: Options of the fit of the time model (``EIps``/``PIps``).
    """

    def __init__(self, space: Space, device: torch.device, model_config: SurrogateConfig) -> None:
        self.space, self.device, self.model_config = space, device, model_config
        self._time_fit: tuple[int, Any] | None = None  # (timed trials it saw, GP of log time)
        self.hedge = Hedge()

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.float64, device=self.device)

    def choose(self, model: Any, state: AskState, q: int) -> list[list[Any]]:
        """The ``q`` points of highest acquisition under ``model``, as user points (``gp_hedge``
        for one point with nothing pending: the nominee of the member the hedge draws; for a batch,
        pending points or known noise it is the log-EI family, as ``"EI"``)."""
        if state.acq_func == "gp_hedge" and q == 1 and state.X_pending is None and not state.known_noise:
            return self.choose_hedged(model, state)
        if state.acq_func == "MES" and q > 1:
            return self.choose_one_by_one(model, state, q)
        return self.maximize(self.acquisition(model, state, q), state, q)

    def choose_one_by_one(self, model: Any, state: AskState, q: int) -> list[list[Any]]:
        """A batch of a one-point acquisition function (``MES``): each point chosen with the
        earlier ones pending (their outcomes fantasised), as BoTorch's sequential greedy batch."""
        out: list[list[Any]] = []
        for k in range(q):
            chosen = self.space.to_unit(out) if out else None
            pend = [p for p in (state.X_pending, None if chosen is None else self._tensor(chosen))
                    if p is not None]
            s = replace(state, X_pending=torch.cat(pend) if pend else None, seed=state.seed + k,
                        key=(*state.key, k),
                        taken=state.taken if chosen is None else np.concatenate([state.taken, chosen]))
            out += self.maximize(self.acquisition(model, s, 1), s, 1)
        return out

    def choose_hedged(self, model: Any, state: AskState) -> list[list[Any]]:
        """GP-Hedge's point: every member of :data:`HEDGE_MEMBERS` nominates its maximiser, the
        :class:`~tuner.acquisition.hedge.Hedge` draws one by the gains of the members' earlier
        nominees."""
        members = [replace(state, acq_func=m) for m in HEDGE_MEMBERS]
        picks = [self.maximize(self.acquisition(model, s, 1), s, 1) for s in members]
        units = self.space.to_unit([p[0] for p in picks])
        return picks[self.hedge.choose(model, state.X, units, (*state.key, 3))]

    def acquisition(self, model: Any, state: AskState, q: int) -> Any:
        """The acquisition function, built under the ask's seed: its QMC sampler and the pruning
        of the baseline draw random numbers when they are made."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(state.seed)
            acq = make_acquisition(PER_SECOND.get(state.acq_func, state.acq_func), model, state.X,
                                   state.X_pending, q, state.known_noise, state.config,
                                   grid={**self.space.discrete_dims, **self.space.cat_dims})
            time_model = self.time_model(state.timed) if state.acq_func in PER_SECOND else None
            return acq if time_model is None else PerSecond(acq, time_model)

    def time_model(self, timed: tuple[np.ndarray, np.ndarray] | None) -> Any:
        """The GP of the log evaluation time of the timed trials, refitted when their number
        changed; ``None`` with fewer than two times."""
        if timed is None or len(timed[1]) < 2:
            return None
        if self._time_fit is None or self._time_fit[0] != len(timed[1]):
            self._time_fit = (len(timed[1]),
                              fit_time_model(timed[0], timed[1], self.device, self.model_config))
        return self._time_fit[1]

    def maximize(self, acq: Any, state: AskState, q: int) -> list[list[Any]]:
        """The ``q`` points maximising ``acq`` (under the ask's seed), as user points that
        satisfy the constraint and are not taken."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(state.seed)
            cand = maximize_acquisition(acq, self._tensor(self.space.model_bounds), q,
                                        self.space.discrete_dims, self.space.cat_dims,
                                        state.config, state.best)
        return self.admissible(self.space.from_unit(cand.cpu().numpy()), acq, state)

    def admissible(self, cand: list[list[Any]], acq: Any, state: AskState) -> list[list[Any]]:
        """``cand``, each point that breaks the constraint or is taken already replaced by the
        untaken point of highest ``acq`` (:func:`~tuner.candidates.best_untaken`)."""
        def score(U: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return acq(self._tensor(U)[:, None, :]).reshape(-1).cpu().numpy()

        return best_untaken(self.space, cand, score, state.taken, state.key, state.constraint)
