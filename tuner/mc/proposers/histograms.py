"""The histogram-emulator proposer: expected improvement of the chi2 of emulated histograms."""

from __future__ import annotations

import warnings

import numpy as np

from tuner.mc.emulator import MIN_EVALUATIONS
from tuner.mc.proposers.base import Proposer, TuneState
from tuner.storage import Trial

__all__ = ["EmulatorProposer"]


class EmulatorProposer(Proposer):
    """After the design, every point of a round comes from the histogram emulator
    (:class:`tuner.mc.emulator.HistogramEmulator`): the first alternates, from one trial to the
    next, between the maximum of the expected improvement of the emulated chi2 and a Thompson
    sample of its minimum; the others of the round are further Thompson samples (each its own
    posterior draw). The chi2 GP proposes when the emulator cannot be fitted.

    Why both: expected improvement alone put every proposal of the embedded closure within 0.01
    (unit cube) of an early emulated minimum, and the emulator, never shown the rest of the
    valley, stayed confidently wrong there (20-seed coverage study, BENCHMARKS.md section 3);
    a Thompson sample lands wherever the posterior still allows the minimum to be.
    """

    name = "emulator"

    def propose(self, n: int, state: TuneState) -> list[Trial]:
        opt, cfg = state.opt, state.setup.config
        if not (len(opt.trials) >= state.n_design and len(state.vectors) >= MIN_EVALUATIONS
                and n > opt.n_queued):
            return self._ask_gp(n, state)
        try:
            done = [t for t in opt.complete if t.id in state.vectors]
            seed = cfg.seed + len(opt.trials)
            emu = state.setup.emulator(np.asarray(opt.space.to_unit([t.x for t in done])),
                                       [state.vectors[t.id] for t in done], seed=seed)
            bounds = np.asarray(opt.space.model_bounds)
            for i in range(n - opt.n_queued):
                k = len(opt.trials)
                if i == 0 and (k - state.n_design) % 2 == 0:
                    pend = [t.x for t in opt.pending]
                    U = emu.propose(bounds, np.asarray(opt.space.to_unit(pend)) if pend else None,
                                    seed=cfg.seed + k)[0]
                    label = "emulator EI"
                else:
                    U = emu.thompson(bounds, seed=cfg.seed + k)
                    label = "emulator Thompson"
                self.labels[opt.enqueue(opt.space.from_unit(U[None])[0]).id] = label
        except Exception as exc:  # a failed fit must not stop the tune: the chi2 GP proposes
            warnings.warn(f"histogram emulator failed ({type(exc).__name__}: {exc}); "
                          "the chi2 surrogate proposes this round", RuntimeWarning, stacklevel=2)
        return self._ask_gp(n, state)
