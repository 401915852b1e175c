"""The histogram-emulator proposer: expected improvement of the chi2 of emulated histograms."""

from __future__ import annotations

import warnings

import numpy as np

from tuner.mc.emulator import MAX_COMPONENTS, MIN_EVALUATIONS, HistogramEmulator
from tuner.mc.proposers.base import Proposer, TuneState
from tuner.mc.uncertainty import hessian
from tuner.storage import Trial

__all__ = ["FINAL_FRACTION", "EmulatorProposer", "check_directions", "check_point", "check_rise",
           "final_phase_start", "local_evaluations"]

#: fraction of the evaluations after the design that refine the tune (:func:`final_phase_start`)
FINAL_FRACTION = 0.5


def final_phase_start(budget: int, n_design: int) -> int:
    """The number of trials after which a tune of ``budget`` evaluations stops exploring and
    refines its recommendation: the last ``FINAL_FRACTION`` of the evaluations after the design
    (rounded up), none when the design takes the whole budget.

    Why half: in the 6-parameter closure (40 evaluations, 15 of them the design) the exploring
    proposals after the first few mostly score 10^5-10^7 against a best of ~10^3, and the
    recommendation stays 0.1-0.5 of a range off until the refining phase, which closes the gap
    in 2-7 evaluations; with the last quarter refining, the hardest truth was still walking
    down the aLund-bLund valley when the budget ended (BENCHMARKS.md section 3, session 30)."""
    after = max(budget - n_design, 0)
    return budget - int(np.ceil(FINAL_FRACTION * after))


def local_evaluations(done: list[Trial], d: int) -> list[Trial]:
    """The evaluations the proposing emulator is fitted to: the better half by chi2 (at least
    ``2 d + 2``, all of them when there are fewer), in the order they were evaluated.

    A chi2 that spans orders of magnitude across the range makes the emulated histograms of the
    region that matters a small difference of large numbers: fitted to every evaluation of a
    6-parameter closure (100k events each), the emulator put the chi2 at the truth, 0.09 of the
    range from ten evaluations, at 44 000 where it is about 100, and every later proposal fell on
    those ten points. Fitted to the better half, the same evaluations give 1 200
    (BENCHMARKS.md section 3).
    """
    m = max(len(done) // 2, 2 * d + 2)
    if len(done) <= m:
        return done
    keep = {t.id for t in sorted(done, key=lambda t: float(t.y if t.y is not None else np.inf))[:m]}
    return [t for t in done if t.id in keep]


def check_rise(emu: HistogramEmulator) -> float:
    """The emulated rise of the chi2 a refining check tests: twice the standard deviation of a
    chi2 of as many bins as the tune fits (``2 sqrt(2 n)``), the smallest rise one evaluation
    can tell from its own noise."""
    return 2.0 * float(np.sqrt(2.0 * np.count_nonzero(emu.scale)))


def check_directions(emu: HistogramEmulator, u0: np.ndarray) -> np.ndarray:
    """The directions a refining check walks from the emulated minimum ``u0`` (rows, unit
    length): every axis, and every eigenvector of the emulated chi2's Hessian at ``u0`` that is
    not (nearly) one of them. Two parameters that trade off (the Lund ``a`` and ``b``) make a
    valley no axis follows; its flattest eigenvector does."""
    d = len(u0)
    _, V = np.linalg.eigh(hessian(emu.chi2, u0, 0.01))
    oblique = [V[:, j] for j in range(d) if np.max(np.abs(V[:, j])) < 0.99]
    return np.vstack([np.eye(d), *oblique]) if oblique else np.eye(d)


def _to_edge(u0: np.ndarray, v: np.ndarray, bounds: np.ndarray) -> float:
    """How far from ``u0`` along ``v`` the box ``bounds`` ends."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(v > 0, (bounds[1] - u0) / v, np.where(v < 0, (bounds[0] - u0) / v, np.inf))
    return float(max(np.min(t), 0.0))


def check_point(emu: HistogramEmulator, u0: np.ndarray, bounds: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """The point that tests the emulator's least-measured claim that its minimum is where it is.

    Along each direction of :func:`check_directions` from the emulated minimum ``u0``, both
    ways, the first point of a 40-step line where the emulated chi2 has risen by
    :func:`check_rise` (or the range's end when it never does); of those points, the one
    farthest from every point in ``seen`` (evaluated or pending).

    Why: an emulator's minimum is an interpolation, and its claim that the chi2 rises away from
    it is least tested where no evaluation is. In a 6-parameter closure whose truth lay 0.24 of
    pTmin's range from every evaluation, the emulator put the minimum there with a sigma a fifth
    of the miss (pull 4.6); Thompson samples of its own posterior landed next to the minimum.
    The checks went out along pTmin, measured a chi2 as low as at the minimum, and the tune
    quoted the flat direction it had found (pull 1.6). Where the tune sat low along the valley
    of the Lund ``a`` and ``b`` (0.09 of a range, pull 2.3), the checks along the axes stayed
    within 0.06 of the evaluations; the valley's eigenvector reaches 0.16 from them, towards the
    truth (BENCHMARKS.md section 3).
    """
    t = np.linspace(0.0, 1.0, 41)[1:]
    f0 = float(emu.chi2(u0[None])[0])
    rise = check_rise(emu)
    best, best_dist = u0, -1.0
    for v in check_directions(emu, u0):
        for w in (v, -v):
            P = u0 + np.outer(t * _to_edge(u0, w, bounds), w)
            up = emu.chi2(P) - f0 >= rise
            c = np.clip(P[int(np.argmax(up))] if np.any(up) else P[-1], bounds[0], bounds[1])
            dist = float(np.min(np.linalg.norm(seen - c, axis=1)))
            if dist > best_dist:
                best, best_dist = c, dist
    return best


class EmulatorProposer(Proposer):
    """After the design, every point of a round comes from the histogram emulator
    (:class:`tuner.mc.emulator.HistogramEmulator`): the first alternates, from one trial to the
    next, between the maximum of the expected improvement of the emulated chi2 and a Thompson
    sample of its minimum; the others of the round are further Thompson samples (each its own
    posterior draw). The emulator that proposes is fitted to the better half of the evaluations
    (:func:`local_evaluations`); the tune itself is recommended from all of them. The chi2 GP
    proposes when the emulator cannot be fitted.

    Why both: expected improvement alone put every proposal of the embedded closure within 0.01
    (unit cube) of an early emulated minimum, and the emulator, never shown the rest of the
    valley, stayed confidently wrong there (20-seed coverage study, BENCHMARKS.md section 3);
    a Thompson sample lands wherever the posterior still allows the minimum to be.

    The second half of the evaluations after the design (:func:`final_phase_start`) refines the
    tune instead: the emulator it is recommended from (linear prior mean, every evaluation)
    proposes its own minimum, alternating with checks of it (:func:`check_point`, along the axes
    and the emulated chi2's eigenvectors). A
    recommendation is an interpolation; placed where no evaluation is near, it can be far worse
    than the emulator says (an event-shape tune of 40 evaluations: emulated chi2 230 at the tune,
    471 on validation, its best evaluation 356), and evaluating it there is what corrects it.
    Which evaluations are refining depends on the budget: a study continued to a larger budget
    explores again first.
    """

    name = "emulator"

    def propose(self, n: int, state: TuneState) -> list[Trial]:
        opt, cfg = state.opt, state.setup.config
        if not (len(opt.trials) >= state.n_design and len(state.vectors) >= MIN_EVALUATIONS
                and n > opt.n_queued):
            return self._ask_gp(n, state)
        try:
            if len(opt.trials) >= final_phase_start(cfg.budget, state.n_design):
                self._refine(n, state)
            else:
                self._explore(n, state)
        except Exception as exc:  # a failed fit must not stop the tune: the chi2 GP proposes
            warnings.warn(f"histogram emulator failed ({type(exc).__name__}: {exc}); "
                          "the chi2 surrogate proposes this round", RuntimeWarning, stacklevel=2)
        return self._ask_gp(n, state)

    def _explore(self, n: int, state: TuneState) -> None:
        """EI alternating with Thompson samples of the constant-mean emulator of the better half."""
        opt, cfg = state.opt, state.setup.config
        done = local_evaluations([t for t in opt.complete if t.id in state.vectors], opt.space.n_dims)
        seed = cfg.seed + len(opt.trials)
        emu = state.setup.emulator(np.asarray(opt.space.to_unit([t.x for t in done])),
                                   [state.vectors[t.id] for t in done], seed=seed,
                                   trend=False,  # see tuner.mc.emulator, item 3
                                   max_components=MAX_COMPONENTS)
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

    def _refine(self, n: int, state: TuneState) -> None:
        """The final phase: the emulator the tune is recommended from (linear mean, every
        evaluation), with the exploration's :data:`~tuner.mc.emulator.MAX_COMPONENTS`
        components, proposes its own minimum, alternating with checks of it
        (:func:`check_point`). (The recommendation keeps more above six parameters,
        :func:`~tuner.mc.emulator.component_cap`: measured on the same evaluations it places the
        minimum better; proposing with them was one better and one worse tune of two, session
        47, BENCHMARKS.md section 3.)"""
        opt, cfg = state.opt, state.setup.config
        done = sorted((t for t in opt.complete if t.id in state.vectors), key=lambda t: float(t.y or 0.0))
        U_done = np.asarray(opt.space.to_unit([t.x for t in done]))
        emu = state.setup.emulator(U_done, [state.vectors[t.id] for t in done], seed=cfg.seed,
                                   max_components=MAX_COMPONENTS)
        bounds = np.asarray(opt.space.model_bounds)
        start = final_phase_start(cfg.budget, state.n_design)
        u0 = emu.minimum(U_done[:5], bounds, seed=cfg.seed)
        for i in range(n - opt.n_queued):
            k = len(opt.trials)
            if i == 0 and (k - start) % 2 == 0:
                U, label = u0, "emulated minimum"
            else:
                pend = [t.x for t in opt.pending]
                seen = np.vstack([U_done] + ([np.asarray(opt.space.to_unit(pend))] if pend else []))
                U, label = check_point(emu, u0, bounds, seen), "refining check"
            self.labels[opt.enqueue(opt.space.from_unit(U[None])[0]).id] = label
