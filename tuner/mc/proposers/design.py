"""Space-filling strategies: the whole budget from one scrambled Sobol sequence.

``sobol`` is the floor every strategy must beat; ``professor`` proposes the same way (Professor
tunes from a space-filling sample of the whole budget) and differs in its recommendation
(:mod:`tuner.mc.professor`).
"""

from __future__ import annotations

from typing import Any

from tuner.mc.proposers.base import Proposer, TuneState
from tuner.storage import Trial

__all__ = ["ProfessorProposer", "SobolProposer"]


class SobolProposer(Proposer):
    """Trial ``i`` is point ``i`` of one scrambled Sobol sequence of the study (so a resumed study
    continues the same sequence); trials enqueued before (the default point) keep their place."""

    name = "sobol"

    def __init__(self) -> None:
        super().__init__()
        self._points: list[list[Any]] = []

    def propose(self, n: int, state: TuneState) -> list[Trial]:
        opt, cfg = state.opt, state.setup.config
        queued = opt.ask_trials(min(n, opt.n_queued)) if opt.n_queued else []
        need = len(opt.trials) + n - len(queued) + 1
        if len(self._points) < need:
            self._points = opt.space.rvs(max(need, cfg.budget + 1), random_state=cfg.seed + 4_099,
                                         method="sobol")
        out = list(queued)
        while len(out) < n:
            trial = opt.enqueue(self._points[len(opt.trials)])
            self.labels[trial.id] = self.name
            out += opt.ask_trials(1)
        return out


class ProfessorProposer(SobolProposer):
    """Professor's sampling: a space-filling design of the whole budget."""

    name = "professor"
