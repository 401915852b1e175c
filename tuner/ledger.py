"""The optimiser's ledger of its trials: what was asked, what is pending, what to ask first.

The storage (:mod:`tuner.storage`) stays the only writer of a trial's state; the ledger keeps
the optimiser's list of trials in step with it, the queue of points to hand out before any new
one (enqueued points, and points pending when a study was resumed), and each trial's model
coordinates, encoded once: a trial's point never changes, and re-encoding every trial at each ask
and tell cost more than the acquisition search at 100 observations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tuner.space import Space
from tuner.storage import Storage, Trial
from tuner.surrogate.state import Observations

__all__ = ["TOLD_UNASKED", "TrialLedger"]

#: the storage's meta key counting the points told without being asked
TOLD_UNASKED = "points_told_without_ask"


class TrialLedger:
    """The trials of one optimiser, in the order asked, mirrored from its storage.

    Args:
        space: The search space (encodes points to model coordinates).
        storage: The storage the trials live in; its pending trials are queued to be asked
            first (a resumed study hands them out again before anything new).
        seed: The optimiser's seed; trial ``k`` gets the evaluation seed
            ``(seed + 7919 k) mod 2^31``.
    """

    def __init__(self, space: Space, storage: Storage, seed: int) -> None:
        self.space, self.storage, self._seed = space, storage, seed
        self.trials: list[Trial] = storage.trials()
        #: trials to hand out before any new point (enqueued, or pending at a resume)
        self.queue: list[Trial] = [t for t in self.trials if t.state == "pending"]
        #: points enqueued by this optimiser: they join the initial design
        self.n_enqueued = 0
        self._unit_cache: dict[int, np.ndarray] = {}  # trial id -> model coordinates

    @property
    def complete(self) -> list[Trial]:
        return [t for t in self.trials if t.state == "complete"]

    @property
    def pending(self) -> list[Trial]:
        return [t for t in self.trials if t.state == "pending"]

    def units(self, trials: list[Trial]) -> np.ndarray:
        """Model coordinates of the trials' points (``n x d``), each trial encoded once."""
        miss = [t for t in trials if t.id not in self._unit_cache]
        if miss:
            for t, u in zip(miss, self.space.to_unit([t.x for t in miss]), strict=True):
                self._unit_cache[t.id] = u
        if not trials:
            return np.zeros((0, self.space.n_dims))
        return np.stack([self._unit_cache[t.id] for t in trials])

    def taken_units(self) -> np.ndarray:
        """Model coordinates of the points evaluated or asked (failed ones may be asked again)."""
        return self.units([t for t in self.trials if t.state != "failed"])

    def new_trial(self, x: list[Any]) -> Trial:
        """A new pending trial at ``x`` (a checked point), added to the storage."""
        seed = (self._seed + 7919 * len(self.trials)) % 2**31
        trial = self.storage.add(x, seed=seed)
        self.trials.append(trial)
        return trial

    def enqueue(self, x: Sequence[Any]) -> Trial:
        """A new trial at ``x``, queued to be asked before any new point.

        Raises:
            SpaceError: a point outside the space.
        """
        trial = self.new_trial(self.space.check_point(x))
        self.queue.append(trial)
        self.n_enqueued += 1
        return trial

    def record(self, trial: Trial, y: float | None, noise: float | None, info: Any,
               artifact: Any) -> None:
        """Hand a checked outcome to the storage: complete with ``y``, failed with ``None``."""
        if trial in self.queue:
            self.queue.remove(trial)
        if y is None:
            err = info.get("error") if isinstance(info, dict) else None
            self.storage.fail(trial, err, info)
        else:
            self.storage.complete(trial, y, None if noise is None else float(noise), info, artifact)

    def find_pending(self, pt: list[Any]) -> Trial | None:
        """The pending trial at ``pt`` (to 1e-12 in model coordinates), if any."""
        u = self.space.to_unit([pt])[0]
        for t in self.pending:
            if np.max(np.abs(self.units([t])[0] - u)) <= 1e-12:
                return t
        return None

    def told_state(self) -> tuple[int, int]:
        """Changes with every tell, enqueue or new trial: (trials, trials no longer pending)."""
        return len(self.trials), sum(t.state != "pending" for t in self.trials)

    @property
    def told_unasked(self) -> int:
        """How many points were told without being asked (kept by the storage, so that a resumed
        study counts them too)."""
        return int(self.storage.get_meta(TOLD_UNASKED, 0) or 0)

    def add_told_unasked(self, k: int) -> None:
        """Count ``k`` more points told without being asked."""
        self.storage.set_meta(TOLD_UNASKED, self.told_unasked + k)

    @property
    def n_evaluated(self) -> int:
        """Evaluations made: trials neither pending nor given with ``y0``."""
        return sum(1 for t in self.trials if t.state != "pending" and not t.info.get("given"))

    def observations(self, failures: str) -> Observations:
        """The told results as the surrogate is fitted to them; with ``failures="worst"`` the
        failed trials enter as imputed points (once two results are complete)."""
        done = self.complete
        imputed = [t for t in self.trials if t.state == "failed"] \
            if failures == "worst" and len(done) >= 2 else []
        return Observations(self.units(done), np.array([t.y for t in done], dtype=float),
                            [t.noise for t in done], self.units(imputed))
