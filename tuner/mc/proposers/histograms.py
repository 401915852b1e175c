"""The histogram-emulator proposer: expected improvement of the chi2 of emulated histograms."""

from __future__ import annotations

import warnings

import numpy as np

from tuner.mc.emulator import MIN_EVALUATIONS
from tuner.mc.proposers.base import Proposer, TuneState
from tuner.storage import Trial

__all__ = ["EmulatorProposer"]


class EmulatorProposer(Proposer):
    """After the design, the first point of each round maximises the expected improvement of the
    chi2 of the emulated histograms (:class:`tuner.mc.emulator.HistogramEmulator`); the chi2 GP
    proposes the others, and all of them when the emulator cannot be fitted.

    (Measured on the 6-parameter closure with 2 workers: the emulator's joint q = 2 batches paired
    each good point with a far exploratory one and ended at a worse chi2 than this mix;
    BENCHMARKS.md section 3.)
    """

    name = "emulator"

    def propose(self, n: int, state: TuneState) -> list[Trial]:
        opt, cfg = state.opt, state.setup.config
        if (len(opt.trials) >= state.n_design and len(state.vectors) >= MIN_EVALUATIONS
                and n > opt.n_queued):
            try:
                done = [t for t in opt.complete if t.id in state.vectors]
                emu = state.setup.emulator(np.asarray(opt.space.to_unit([t.x for t in done])),
                                           [state.vectors[t.id] for t in done],
                                           seed=cfg.seed + len(opt.trials))
                pend = [t.x for t in opt.pending]
                U = emu.propose(opt.space.model_bounds,
                                np.asarray(opt.space.to_unit(pend)) if pend else None,
                                seed=cfg.seed + len(opt.trials))
                self.labels[opt.enqueue(opt.space.from_unit(U)[0]).id] = "emulator"
            except Exception as exc:  # a failed fit must not stop the tune: the chi2 GP proposes
                warnings.warn(f"histogram emulator failed ({type(exc).__name__}: {exc}); "
                              "the chi2 surrogate proposes this round", RuntimeWarning, stacklevel=2)
        return self._ask_gp(n, state)
