"""The proposer interface: what a tune evaluates next, given its study.

A :class:`Proposer` is asked for ``n`` new trials each round. It must create them through the
optimiser (``state.opt.ask_trials`` or ``state.opt.enqueue``), so the storage records every
trial, its seed and its point; it never tells results. It may keep state between rounds but must
be able to start on a resumed study (``state`` holds everything evaluated so far).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from tuner.mc.setup import TuneSetup
from tuner.optimizer import Optimizer
from tuner.storage import Trial

__all__ = ["Chi2GPProposer", "Proposer", "TuneState"]


@dataclass
class TuneState:
    """What a proposer may look at.

    Attributes:
        opt: The optimiser (its chi2 GP, its trials).
        setup: The checked configuration.
        vectors: Normalised histograms (values, errors) of the completed trials, by trial id.
        n_design: Trials of the space-filling design (the default point included).
    """

    opt: Optimizer
    setup: TuneSetup
    vectors: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    n_design: int = 0


class Proposer(ABC):
    """Base class of the strategies that choose a tune's next evaluations.

    Attributes:
        name: The strategy's name in configurations (``strategy:``) and benchmarks.
        labels: Which proposer chose each trial this process created (trial id -> label),
            recorded with the trial's result.
    """

    name: str = ""

    def __init__(self) -> None:
        self.labels: dict[int, str] = {}

    @abstractmethod
    def propose(self, n: int, state: TuneState) -> list[Trial]:
        """Create and return ``n`` new pending trials."""

    def _ask_gp(self, n: int, state: TuneState) -> list[Trial]:
        """``n`` trials from the optimiser: design points first, then the chi2 GP's choice."""
        out = state.opt.ask_trials(n)
        for t in out:
            self.labels.setdefault(t.id, "design" if t.id < state.n_design else "chi2 GP")
        return out


class Chi2GPProposer(Proposer):
    """Scalar BO of the chi2: a GP of log chi2 with the Monte Carlo variance as known noise, and
    its acquisition function (LogEI; qLogNEI for batches) after the design."""

    name = "chi2-gp"

    def propose(self, n: int, state: TuneState) -> list[Trial]:
        return self._ask_gp(n, state)
