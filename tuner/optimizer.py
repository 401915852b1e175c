"""The ask/tell Bayesian optimiser (minimisation), scikit-optimize style.

``ask()`` proposes points (cheap: it maximises an acquisition function on the surrogate fitted at
the last ``tell``); ``tell()`` records results and refits the surrogate (the expensive part).
Points asked and not yet told are *pending*: later asks treat them as fantasies, so parallel
workers never receive the same point twice. With ``storage`` every ask and tell is committed to a
SQLite study, and re-creating the optimiser on the same file resumes it.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from collections.abc import Callable, Sequence
from copy import deepcopy
from typing import Any

import numpy as np
import torch
from scipy.optimize import OptimizeResult

from tuner.acquisition.functions import SCHEDULED, AcqConfig, scheduled_acquisition
from tuner.acquisition.per_second import PER_SECOND, split_value_time
from tuner.acquisition.sampled import N_POINTS, SampledStep
from tuner.acquisition.step import AcquisitionStep, AskState
from tuner.candidates import allowed, deduplicate, is_new, sample
from tuner.checks import check_device, check_extras, check_noise, check_value, seed_of, split_told
from tuner.errors import EvaluationError, TunerError
from tuner.ledger import TrialLedger
from tuner.options import ASK_STRATEGIES, FAILURE_MODES, check_options, check_strategy, resolve_skopt
from tuner.result import build_result
from tuner.space import Space
from tuner.storage import InMemoryStorage, Storage, Study, Trial
from tuner.surrogate.estimator import EstimatorSurrogate, prototype
from tuner.surrogate.gp import SurrogateConfig
from tuner.surrogate.mll import torch_threads
from tuner.surrogate.state import Surrogate
from tuner.surrogate.warp import Y_WARPS, OutputWarp

__all__ = ["ASK_STRATEGIES", "FAILURE_MODES", "Y_WARPS", "Optimizer"]

#: the storage's meta key of ``gp_hedge``'s nominees and choices, so that a resumed study keeps
#: its portfolio's gains
HEDGE_STATE = "gp_hedge_nominees"
#: the storage's meta key of the last fit (points, output warp, hyperparameters): a resumed
#: study takes it as its first fit (:meth:`tuner.surrogate.state.Surrogate.restore`)
FIT_STATE = "surrogate_fit"


def _few_threads(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run an :class:`Optimizer` method under its thread limit (:meth:`Optimizer._threads`)."""
    @functools.wraps(method)
    def limited(self: Optimizer, *args: Any, **kwargs: Any) -> Any:
        with self._threads():
            return method(self, *args, **kwargs)
    return limited


class Optimizer:
    """Gaussian-process Bayesian optimiser with an ask/tell interface.

    The positional arguments are scikit-optimize's ``Optimizer``'s, in its order; the keyword-only
    ones after them are this toolkit's.

    Args:
        dimensions: The search space, in any form :class:`tuner.space.Space` accepts.
        base_estimator: ``"GP"`` (or a scikit-learn ``GaussianProcessRegressor``, which stands for
            this toolkit's GP; its ``noise``, as scikit-optimize's regressor has one, is honoured:
            ``"gaussian"`` or a known variance, overriding ``noise``); ``"dummy"`` (random
            search, scikit-optimize's ``DUMMY``: every point drawn at random, no model fitted);
            or, as scikit-optimize, a regressor in place of the GP: ``"RF"``, ``"ET"``,
            ``"GBRT"`` (:mod:`tuner.surrogate.trees`) or any object with ``fit(X, y)`` and
            ``predict(X, return_std=True)`` (such as ``skopt.learning``'s), a fresh clone fitted
            to the told values at each fit (:mod:`tuner.surrogate.estimator`), the acquisition
            taken at ``acq_optimizer_kwargs["n_points"]`` random points (default 10 000;
            :mod:`tuner.acquisition.sampled`), batches by the constant liar ``"cl_min"`` unless
            another ``strategy`` is given; no output warp, no ``"MES"``, told variances ignored.
            Names are read in any case.
        n_random_starts: scikit-optimize's older name of ``n_initial_points`` (wins when given).
        n_initial_points: Points from the space-filling design before the model takes over.
        initial_point_generator: ``"random"`` (default, as scikit-optimize's), ``"sobol"``,
            ``"halton"``, ``"hammersly"``, ``"lhs"`` or ``"grid"``. Random starts are the default
            because they left fewer runs stuck in Hartmann6's local minimum than a 10-point
            scrambled Sobol design (9 against 15 of 30 seeds; BENCHMARKS.md section 1).
        n_jobs, acq_optimizer, acq_optimizer_kwargs, avoid_duplicates: scikit-optimize's; accepted
            (``acq_optimizer`` and the counts in ``acq_optimizer_kwargs`` checked) with no
            effect on the GP: its acquisition is maximised by multi-start L-BFGS, and duplicates
            are always avoided. A regressor ``base_estimator`` samples (``acq_optimizer="lbfgs"``
            is refused with it) at ``acq_optimizer_kwargs["n_points"]`` points.
        acq_func_kwargs: ``{"xi": ..., "kappa": ...}`` as scikit-optimize (unless ``acq_config``).
        acq_func: ``"LogEI"`` (default; ``"EI"`` maps to it), ``"auto"`` (``gp_minimize``'s
            default: LogEI, and noisy EI, ``"qLogNEI"``, from half of ``budget`` on,
            :func:`tuner.acquisition.functions.scheduled_acquisition`), ``"gp_hedge"`` (GP-Hedge: each
            single ask evaluates the nominee of one of LogEI, PI and LCB, drawn by how the model
            rates their earlier nominees, :mod:`tuner.acquisition.hedge`; batches and asks beside
            pending points take LogEI's family), ``"qLogNEI"``, ``"PI"``, ``"LCB"`` or ``"MES"``
            (max-value entropy search; a batch one point at a time, the earlier ones
            fantasised); ``"EIps"``
            or ``"PIps"`` (scikit-optimize's improvement per second,
            :mod:`tuner.acquisition.per_second`): every result is told as
            ``(value, seconds)``, a second GP models the log of the time, and ``log_time`` is
            kept with each trial (``info["log_time"]``) and in the result. Their batches and
            asks beside pending points take the constant liar ``"cl_min"`` unless another
            ``strategy`` is given (a joint batch's improvement cannot be divided per point).
        random_state: Seed (an int, or a numpy ``RandomState``/``Generator`` from which one is drawn);
            fixes the design and every random choice of the acquisition search.
        noise: ``"gaussian"`` to learn a noise level, or a float: the known noise variance of
            every observation (``tell(..., noise=)`` overrides it per observation).
        y_warp: The output warp (:mod:`tuner.surrogate.warp`): ``"auto"`` (default: ``"loo"``
            for a space without categorical dimensions, ``"power"`` with them, the better of
            the two on each kind in BENCHMARKS.md section 1, session 37), ``"loo"`` (at each
            fit HEBO's power transform or the knee warp ``log(1 + (y - min y) / c)``, whichever
            the GP predicts each told value better from the others under; HEBO's where that
            cannot be judged: the first fit, known noise), ``"power"`` (HEBO's Box-Cox /
            Yeo-Johnson transform, fitted to the values at each refit), ``"log"`` (model
            ``log y``; for positive objectives that vary over decades, such as a chi2) or
            ``"none"``.
        storage: Path of a SQLite study file (an existing file is resumed), or a
            :class:`~tuner.storage.Storage`; default: in memory.
        device: Torch device of the surrogate (e.g. ``"cuda"``).
        acq_config: Options of the acquisition maximiser.
        model_config: Options of the surrogate fit.
        failures: ``"worst"`` (default): a failed evaluation (an exception, a NaN, a crashed
            worker after its retries) enters the surrogate with the worst value observed so far,
            so the search learns to avoid regions that fail (a diverging learning rate, a generator
            setting that crashes) instead of proposing them again; ``"ignore"``: failed points are
            left out of the model. Either way they are not results: ``x_iters``/``func_vals`` and
            the recommendation use successful evaluations only.
        model_queue_size: Keep the surrogates of the last this many fits in ``models`` (``None``:
            all of them, as scikit-optimize).
        space_constraint: ``f(point) -> bool``: only points where it is true are asked (the
            initial points by rejection; after them, the acquisition's choice when it satisfies
            the constraint, else the best of 2048 random points that do), as scikit-optimize.
        budget: The evaluations planned, or ``None`` (not known). Read by ``acq_func="auto"``
            only (``gp_minimize`` passes its ``n_calls``): LogEI for the first half of the
            budget, noisy EI (``"qLogNEI"``) from half of it on; LogEI throughout without a
            budget.

    Raises:
        SpaceError: a bad space.
        TunerError: a bad option value.
        StorageError: ``storage`` belongs to a different space.
    """

    def __init__(self, dimensions: Any, base_estimator: Any = "GP", n_random_starts: int | None = None,
                 n_initial_points: int = 10, initial_point_generator: str = "random",
                 n_jobs: int = 1, acq_func: str = "LogEI", acq_optimizer: str = "auto",
                 random_state: int | None = None, model_queue_size: int | None = None,
                 space_constraint: Callable[[list[Any]], bool] | None = None,
                 acq_func_kwargs: dict[str, Any] | None = None,
                 acq_optimizer_kwargs: dict[str, Any] | None = None, avoid_duplicates: bool = True,
                 *, noise: str | float = "gaussian",
                 y_warp: str = "auto", storage: str | Storage | None = None,
                 device: str | torch.device | None = None, acq_config: AcqConfig | None = None,
                 model_config: SurrogateConfig | None = None, failures: str = "worst",
                 budget: int | None = None) -> None:
        r = resolve_skopt(base_estimator, noise, n_random_starts, n_initial_points, acq_config,
                          acq_func_kwargs, acq_optimizer, acq_optimizer_kwargs)
        noise, n_initial_points, acq_config = r.noise, r.n_initial_points, r.acq_config
        self.space = Space(dimensions)
        check_options(n_initial_points=n_initial_points,
                      initial_point_generator=initial_point_generator, acq_func=acq_func,
                      y_warp=y_warp, noise=noise, failures=failures,
                      model_queue_size=model_queue_size, space_constraint=space_constraint,
                      budget=budget, estimator=r.estimator)
        self.space_constraint = space_constraint
        self._settings: dict[str, Any] = {
            "n_initial_points": n_initial_points, "initial_point_generator": initial_point_generator,
            "acq_func": acq_func, "noise": noise, "y_warp": y_warp, "device": device,
            "acq_config": acq_config, "model_config": model_config, "failures": failures,
            "model_queue_size": model_queue_size, "space_constraint": space_constraint}
        self.failures = failures
        #: random search (``base_estimator="dummy"``): no model, every ask a random point
        self.random_only = r.estimator == "DUMMY"
        self._seed = seed_of(random_state)
        #: the unfitted regressor in place of the GP (``None``: the GP, or random search)
        self.regressor = prototype(base_estimator, self._seed) if r.estimator == "regressor" else None
        self._settings["base_estimator"] = ("dummy" if self.random_only else
                                            "GP" if self.regressor is None else base_estimator)
        if y_warp == "auto":
            y_warp = "none" if self.regressor is not None else "power" if self.space.cat_dims else "loo"
        self.n_initial_points = n_initial_points
        self.acq_func = acq_func
        #: evaluations planned (``gp_minimize``'s ``n_calls``), for ``acq_func="auto"``
        self.budget = None if budget is None else int(budget)
        #: whether results are ``(value, seconds)`` and the acquisition divides by the time
        self.per_second = acq_func in PER_SECOND
        self.noise = noise
        self.y_warp = y_warp
        self.random_state = random_state
        self.device = check_device(device)
        self.acq_config = acq_config or AcqConfig()
        self.model_config = model_config or SurrogateConfig()
        self._design = allowed(self.space.rvs(n_initial_points, random_state=self._seed,
                                              method=initial_point_generator), space_constraint)
        self._design += self._rvs(n_initial_points - len(self._design), self._seed + 1)
        #: (arguments and told state of the last ask, its answer): scikit-optimize's ask cache
        self._last_ask: tuple[tuple[Any, ...], Any] | None = None
        self.model_queue_size = model_queue_size
        #: the surrogate: the one owner of the model (the GP, or a regressor), its fits and its warp
        self.surrogate: Surrogate | EstimatorSurrogate
        #: the model's step of an ask (owns the GP of evaluation times of EIps/PIps)
        self._step: AcquisitionStep
        self._make_model((acq_optimizer_kwargs or {}).get("n_points", N_POINTS))
        self._ask_seconds = 0.0
        self.storage = self._open_storage(storage, base_estimator)
        #: the trials asked, queued and told (the storage writes their state)
        self.ledger = TrialLedger(self.space, self.storage, self._seed)
        self._step.hedge.restore(self.storage.get_meta(HEDGE_STATE))
        self.surrogate.restore(self.storage.get_meta(FIT_STATE))
        self.fit()

    def _make_model(self, n_points: int) -> None:
        """The surrogate and the acquisition step: the GP's, or a regressor's sampled at
        ``n_points`` random points."""
        if self.regressor is None:
            self.surrogate = Surrogate(self.y_warp, self.noise, list(self.space.cat_dims),
                                       self.n_initial_points, self.model_config, self.device,
                                       self.model_queue_size)
            self._step = AcquisitionStep(self.space, self.device, self.model_config)
        else:
            self.surrogate = EstimatorSurrogate(self.regressor, self.model_queue_size)
            self._step = SampledStep(self.space, self.device, self.model_config, n_points)

    def _open_storage(self, storage: str | Storage | None, base_estimator: Any) -> Storage:
        """The storage given, the SQLite study at the path given (created or resumed), or one in
        memory; a new one records the optimiser's settings.

        Raises:
            StorageError: the study at ``storage`` belongs to a different space.
        """
        rs = self.random_state
        named = base_estimator if isinstance(base_estimator, str) else type(base_estimator).__name__
        settings = {"base_estimator": self._settings["base_estimator"] if self.regressor is None else named,
                    "n_initial_points": self.n_initial_points, "acq_func": self.acq_func,
                    "random_state": rs if rs is None or isinstance(rs, int)
                    else f"{type(rs).__name__} (seed {self._seed})", "y_warp": self.y_warp}
        if isinstance(storage, Storage):
            return storage
        if storage is not None:
            return Study(storage, self.space, meta={"optimizer": settings})
        memory = InMemoryStorage()
        memory.set_meta("optimizer", settings)
        return memory

    # --- bookkeeping ---------------------------------------------------------------------------
    @property
    def study(self) -> Study | None:
        """The SQLite study, when the optimiser has one."""
        return self.storage if isinstance(self.storage, Study) else None

    @property
    def specs(self) -> dict[str, Any]:
        """scikit-optimize's ``specs`` of an ``Optimizer``'s results: its name and the arguments it
        was built with (the seed as given)."""
        return {"function": "Optimizer",
                "args": {"dimensions": self.space, "random_state": self.random_state, **self._settings}}

    @property
    def trials(self) -> list[Trial]:
        """Every trial, in the order asked (pending, complete and failed)."""
        return self.ledger.trials

    @property
    def complete(self) -> list[Trial]:
        return self.ledger.complete

    @property
    def pending(self) -> list[Trial]:
        return self.ledger.pending

    @property
    def Xi(self) -> list[list[Any]]:  # noqa: N802 - scikit-optimize's name
        return [t.x for t in self.complete]

    @property
    def yi(self) -> list[float]:
        return [float(t.y) for t in self.complete]  # type: ignore[arg-type]

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.float64, device=self.device)

    @property
    def n_queued(self) -> int:
        """Points queued by :meth:`enqueue` (or re-asked after a resume) that no ask returned yet."""
        return len(self.ledger.queue)

    def enqueue(self, x: Sequence[Any]) -> Trial:
        """Queue a known point (a default, a previous optimum): the next ask returns it first.

        Raises:
            SpaceError: a point outside the space.
        """
        return self.ledger.enqueue(x)

    # --- ask -------------------------------------------------------------------------------------
    def ask(self, n_points: int | None = None,
            strategy: str | None = None) -> list[Any] | list[list[Any]]:
        """Propose the next point (``n_points=None``) or a list of ``n_points`` distinct points.

        As in scikit-optimize, asking again with the same arguments and nothing told (or
        queued) in between returns the same answer: the model's next point, or the same batch
        (an initial random point is new on every ask, as scikit-optimize's are). Otherwise asked
        points stay pending until told, and a later ``ask`` will not return them again
        (:meth:`ask_trials` always creates new trials).

        Args:
            n_points: ``None`` for one point, else the size of the batch.
            strategy: One of :data:`ASK_STRATEGIES`: ``None`` chooses the batch jointly (the
                pending points' outcomes integrated out); ``"cl_min"``, ``"cl_mean"`` or
                ``"cl_max"`` are scikit-optimize's constant liars (one point at a time, each after
                the surrogate was refitted, with its hyperparameters kept, as if the earlier ones
                had returned the minimum, mean or maximum of the results so far).
        """
        key = (n_points, strategy, self.ledger.told_state())
        if self._last_ask is not None and self._last_ask[0] == key:
            return deepcopy(self._last_ask[1])
        from_model = n_points is not None or self._model_phase()
        trials = self.ask_trials(1 if n_points is None else n_points, strategy=strategy)
        out = trials[0].x if n_points is None else [t.x for t in trials]
        self._last_ask = ((n_points, strategy, self.ledger.told_state()), deepcopy(out)) \
            if from_model else None
        return out

    def _model_phase(self) -> bool:
        """Whether the next single ask is the model's choice (no queued or design point left)."""
        return (not self.ledger.queue and self.model is not None and len(self.complete) >= 2
                and not self._fresh_design())

    def _fresh_design(self) -> list[list[Any]]:
        """Design points not yet taken (enqueued points and resumed studies do not shift it).

        Points told without being asked stand in for design points, as scikit-optimize counts
        every told point towards ``n_initial_points``: an optimiser told 10 old results and
        built with ``n_initial_points=10`` asks the model at once."""
        taken = {repr(t.x) for t in self.trials}
        fresh = [p for p in self._design if repr(p) not in taken]
        return fresh[:max(0, len(fresh) - self.ledger.told_unasked)]

    @_few_threads
    def ask_trials(self, n: int = 1, strategy: str | None = None) -> list[Trial]:
        """Like :meth:`ask`, but return the :class:`~tuner.storage.Trial` records (id, point, seed).

        Raises:
            TunerError: ``n < 1`` or an unknown ``strategy``.

        Warns:
            UserWarning: a finite space has no unevaluated point left (a taken point is asked
                again, as scikit-optimize does).
        """
        check_strategy(n, strategy)
        out: list[Trial] = []
        while self.ledger.queue and len(out) < n:
            out.append(self.ledger.queue.pop(0))
        t0, hedged = time.perf_counter(), len(self._step.hedge.chosen)
        while len(out) < n:
            need = n - len(out)
            fresh = self._fresh_design()
            if fresh:
                pts = fresh[:need]
            elif self.model is not None and len(self.complete) >= 2:
                lie = strategy
                one_by_one = self.per_second or self.regressor is not None
                if lie is None and one_by_one and (need > 1 or self.pending):
                    # a joint batch's improvement does not divide by its points' times: after
                    # one good point the rest would go to the cheapest corner; a regressor has
                    # no joint posterior to integrate the pending points out of
                    lie = "cl_min"
                pts = self._acquire(need) if lie is None else self._acquire_liar(lie)
            else:
                rng = np.random.default_rng((self._seed, len(self.trials)))
                pts = self._rvs(need, rng)
            for x in pts:
                x = deduplicate(self.space, x, self.ledger.taken_units(),
                                (self._seed, len(self.trials), 1), self.space_constraint)
                out.append(self.ledger.new_trial(x))
        if len(self._step.hedge.chosen) > hedged:  # this ask drew from the portfolio: keep it
            self.storage.set_meta(HEDGE_STATE, self._step.hedge.state())
        self._ask_seconds += time.perf_counter() - t0
        return out

    def _rvs(self, n: int, random_state: Any) -> list[list[Any]]:
        """``n`` random points that satisfy ``space_constraint``."""
        return sample(self.space, n, random_state, self.space_constraint)

    @_few_threads
    def ask_recommended(self) -> Trial | None:
        """The current recommendation (:meth:`recommend`) as a new trial, to be evaluated: a
        search's last evaluations spent where the surrogate's mean is lowest rather than where
        the acquisition still sees a chance of improvement.

        Returns:
            The trial, or ``None`` when there is no model yet, the recommended point was
            evaluated or asked already (then nothing new is learnt there) or ``space_constraint``
            rules it out.
        """
        if not self._model_phase():
            return None
        rec = self.recommend(search=True)
        if rec is None or not allowed([rec[0]], self.space_constraint):
            return None
        if not is_new(self.ledger.taken_units(), self.space.to_unit([rec[0]])[0]):
            return None
        return self.ledger.new_trial(rec[0])

    def _acquire(self, q: int) -> list[list[Any]]:
        pend = self.pending
        units = self.ledger.units
        state = self._ask_state(self._tensor(units(self.complete)),
                                self._tensor(units(pend)) if pend else None)
        return self._step.choose(self.model, state, q)

    def _acquire_liar(self, strategy: str) -> list[list[Any]]:
        """One point chosen after refitting the surrogate (hyperparameters kept) with every
        pending point given the constant lie of ``strategy``."""
        model, X = self.surrogate.with_lies(self.ledger.observations(self.failures),
                                            self.ledger.units(self.pending), strategy)
        return self._step.choose(model, self._ask_state(X, None), 1)

    @property
    def n_evaluated(self) -> int:
        """Evaluations made: trials neither pending nor given with ``y0`` (what ``budget`` and
        ``gp_minimize``'s ``n_calls`` count)."""
        return self.ledger.n_evaluated

    def _acq_now(self) -> str:
        """The acquisition of this ask: ``acq_func``, or for ``"auto"`` the one
        :func:`~tuner.acquisition.functions.scheduled_acquisition` gives for
        :attr:`n_evaluated` of ``budget``."""
        if self.acq_func != SCHEDULED:
            return self.acq_func
        return scheduled_acquisition(self.n_evaluated, self.budget, self.acq_config.xi)

    def _ask_state(self, X: torch.Tensor, X_pending: torch.Tensor | None) -> AskState:
        """What the acquisition step of this ask needs: its seeds (from the study seed and the
        trial count), the incumbents, the taken points, the timed trials."""
        k, units = self.acq_config.incumbent_starts, self.ledger.units
        best = sorted(self.complete, key=lambda t: float(t.y or 0.0))[:k] if k > 0 else []
        timed = None
        if self.per_second:
            tt = [t for t in self.complete if "log_time" in (t.info or {})]
            timed = (units(tt), np.array([t.info["log_time"] for t in tt], dtype=float))
        return AskState(X=X, X_pending=X_pending,
                        best=self._tensor(units(best)) if best else None,
                        taken=self.ledger.taken_units(),
                        seed=(self._seed + 104729 * len(self.trials)) % 2**31,
                        key=(self._seed, len(self.trials), 2), acq_func=self._acq_now(),
                        config=self.acq_config, known_noise=self._known_noise,
                        constraint=self.space_constraint, timed=timed)

    # --- tell ------------------------------------------------------------------------------------
    @_few_threads
    def tell(self, x: Sequence[Any], y: Any, noise: Any = None, *, info: Any = None,
             artifact: Any = None, fit: bool = True, counts_as_initial: bool = True) -> OptimizeResult:
        """Record results: ``tell(x, y)`` for one point, ``tell([x1, x2], [y1, y2])`` for several.

        Args:
            x: A point or a list of points.
            y: Objective value(s). ``None`` marks a failed evaluation, kept out of the model.
                With ``acq_func="EIps"`` or ``"PIps"`` each is ``(value, seconds)``.
            noise: Known noise variance(s) of ``y``, or ``None``.
            info: JSON-able dict (or a list of them) stored with the trial.
            artifact: ``bytes`` (or a list) stored with the trial in the study.
            fit: Refit the surrogate now (set ``False`` to batch several tells).
            counts_as_initial: Whether points told without being asked take the place of
                initial design points, as in scikit-optimize (``False``: the design is evaluated
                in full, as ``gp_minimize`` does with ``x0``/``y0``).

        Returns:
            The result so far, as :func:`tuner.gp_minimize` returns it.

        Raises:
            EvaluationError: a NaN or infinite value, a negative noise, a non-positive value
                with ``y_warp="log"``, or mismatched lengths; for ``EIps``/``PIps`` a value that
                is not ``(value, seconds > 0)`` (also a ``TypeError``, as scikit-optimize's).
            SpaceError: a point outside the space.
        """
        rows = split_told(self.space.n_dims, x, y, noise, info, artifact)
        checked = []  # everything is checked before anything is recorded
        for xi, yi, ni, inf, art in rows:
            pt = self.space.check_point(xi)
            log_t = None
            if self.per_second:
                yi, log_t = split_value_time(yi, pt, self.acq_func)
            if yi is not None:
                yi = check_value(yi, pt, self.y_warp)
            inf = check_extras(inf, art, pt)
            if log_t is not None:
                inf = {**(inf or {}), "log_time": log_t}
            checked.append((pt, yi, check_noise(ni, pt), inf, art))
        unasked, design = 0, {repr(p) for p in self._design}
        for pt, yi, ni, inf, art in checked:
            trial = self.ledger.find_pending(pt)
            if trial is None:  # a design point told takes its own place (as in copy())
                trial, unasked = self.ledger.new_trial(pt), unasked + (repr(pt) not in design)
            self.ledger.record(trial, yi, ni, inf, art)
        if unasked and counts_as_initial:
            self.ledger.add_told_unasked(unasked)
        if fit:
            self.fit()
        return build_result(self, search=False)

    @_few_threads
    def tell_trial(self, trial: Trial | int, y: Any, noise: Any = None, *,
                   info: dict[str, Any] | None = None, artifact: bytes | None = None) -> None:
        """Record the outcome of one asked trial (by record or id), without refitting: the
        evaluation loops call :meth:`fit` once per round of results.

        A value that is no finite real number (a string, a list, a bool, NaN) or a bad noise
        records a *failed* trial with the reason, rather than raising: one bad return must not
        stop a search or leave its trial pending. An ``info`` that is not a JSON-able dict or an
        ``artifact`` that is not bytes cannot be stored: the value is kept, they are replaced by
        ``{"dropped": reason}`` and no artifact, with a warning.

        Raises:
            TunerError: ``trial`` is not a pending trial of this optimiser.
        """
        tid = trial if isinstance(trial, int) else trial.id
        if not (0 <= tid < len(self.trials)) or self.trials[tid].state != "pending":
            raise TunerError(f"tell_trial needs a pending trial of this optimiser, got trial {tid!r}")
        rec = self.trials[tid]
        try:
            info = check_extras(info, artifact, rec.x)
        except EvaluationError as exc:  # nothing computed is lost: the value stays
            warnings.warn(f"trial {tid}: {exc}; the value is kept, the info and artifact are not",
                          RuntimeWarning, stacklevel=2)
            info, artifact = {"dropped": str(exc)}, None
        info = dict(info or {})
        if y is not None:
            try:
                if self.per_second:
                    y, log_t = split_value_time(y, rec.x, self.acq_func)
                    info["log_time"] = log_t
                y = check_value(y, rec.x, self.y_warp)
                noise = check_noise(noise, rec.x)
            except EvaluationError as exc:
                y, info["error"] = None, str(exc)
        self.ledger.record(rec, y, noise, info, artifact)

    def get_result(self) -> OptimizeResult:
        """The result so far (scikit-optimize's ``Optimizer.get_result``)."""
        return build_result(self, search=False)

    def copy(self, random_state: int | None = None) -> Optimizer:
        """A new optimiser with the same settings and the same results told, in memory
        (scikit-optimize's ``Optimizer.copy``; pending and failed trials are not copied)."""
        new = Optimizer(self.space, random_state=self.random_state if random_state is None
                        else random_state, **self._settings)
        done = self.complete
        if done:
            ys: list[Any] = [t.y for t in done]
            if self.per_second:
                ys = [(t.y, math.exp(t.info["log_time"])) for t in done]
            new.tell([t.x for t in done], ys, noise=[t.noise for t in done])
        return new

    def run(self, func: Any, n_iter: int = 1) -> OptimizeResult:
        """Ask, evaluate ``func`` and tell, ``n_iter`` times (scikit-optimize's ``Optimizer.run``)."""
        for _ in range(n_iter):
            x = self.ask()
            self.tell(x, func(x))
        return self.get_result()

    def update_next(self) -> None:
        """scikit-optimize recomputes its cached next point here; :meth:`ask` always uses the latest
        fit, so this only makes sure the surrogate is up to date."""
        self.fit()

    # --- model -----------------------------------------------------------------------------------
    def _threads(self) -> Any:
        """torch on one thread while the model is small (``model_config.single_thread_below``)."""
        small = len(self.trials) < self.model_config.single_thread_below
        return torch_threads(1 if small and self.device.type == "cpu" else None)

    @property
    def model(self) -> Any:
        """The current GP (``None`` before the first fit), fitted to ``-warp(y)``."""
        return self.surrogate.model

    @property
    def models(self) -> list[Any]:
        """One model per fit, oldest first (the last ``model_queue_size``), as scikit-optimize
        keeps: GPs, or :class:`~tuner.surrogate.estimator.EstimatorModel` of a regressor."""
        return self.surrogate.models

    @property
    def base_estimator_(self) -> Any:
        """scikit-optimize's attribute: the unfitted regressor cloned at each fit, or ``None`` for
        the GP (its fits are in :attr:`models`) and for random search."""
        return self.regressor

    @property
    def model_warps(self) -> list[OutputWarp]:
        """The output warp each of ``models`` was fitted under (fitted anew at each fit for
        ``"power"`` and ``"loo"``)."""
        return self.surrogate.warps

    @property
    def warp(self) -> OutputWarp:
        """The current model's output warp (the identity for ``"power"`` and ``"loo"`` until a fit)."""
        return self.surrogate.warp

    @property
    def timings(self) -> dict[str, float]:
        """Seconds spent fitting the surrogate and answering asks."""
        return {"fit": self.surrogate.seconds, "ask": self._ask_seconds}

    @property
    def _known_noise(self) -> bool:
        return self.surrogate.known_noise([t.noise for t in self.complete])

    @_few_threads
    def fit(self) -> None:
        """Refit the surrogate to the results told so far (a no-op when nothing new was told).

        ``models`` records one fit per refit once ``n_initial_points`` results, plus one per
        enqueued or given (``x0``/``y0``) point, have been told, as scikit-optimize counts them;
        the fits before (the surrogate's warm start, the recommendation) are not recorded.
        Random search (``base_estimator="dummy"``) fits nothing, so it never has a model and
        every ask past the design is a random point."""
        if self.random_only:
            return
        told = self.ledger.told_state()[1]
        given = sum(bool(t.info.get("given")) for t in self.trials)
        initial = self.n_initial_points + self.ledger.n_enqueued + given
        n = self.surrogate.n_fitted
        self.surrogate.fit(self.ledger.observations(self.failures),
                           keep=not self.ledger.queue and told >= initial)
        if self.surrogate.n_fitted != n and self.study is not None:
            self.storage.set_meta(FIT_STATE, self.surrogate.fit_state())

    def predict(self, points: Sequence[Sequence[Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the objective (in the warped scale).

        Raises:
            TunerError: no model has been fitted yet.
        """
        return self.surrogate.predict(self.space.to_unit(points))

    def unwarp(self, v: np.ndarray | float) -> np.ndarray | float:
        """Map a value of the model scale back to the objective's scale."""
        return self.warp.inverse(v)

    def recommend(self, search: bool = True) -> tuple[list[Any], float, float] | None:
        """The minimiser of the posterior mean over the evaluated points, and by L-BFGS from the
        best of them when ``search`` (in the real coordinates, the integer and categorical ones
        kept at the best point's values).

        Returns:
            ``(x, mean, std)`` with mean and std on the model's (warped) scale, or ``None``
            without a model.
        """
        if self.model is None or not self.complete:
            return None
        done = self.complete
        mean = self.surrogate.predict_mean(self.ledger.units(done))
        best = [done[int(np.argmin(mean))].x]
        grid = {**self.space.discrete_dims, **self.space.cat_dims}
        if search and len(grid) < self.space.n_dims:
            # refine only within a trust region (10% of each range) around the best evaluated
            # point: far from the data the mean reverts to the prior and would pull the
            # "minimum" into unexplored corners
            mb = self.space.model_bounds
            u0 = self.space.to_unit([best[0]])[0]
            tr = 0.1 * (mb[1] - mb[0])
            tr[list(grid)] = 0.0
            u = self.surrogate.minimise_mean(
                u0, np.stack([np.maximum(mb[0], u0 - tr), np.minimum(mb[1], u0 + tr)]), self._seed)
            if u is not None:
                u[list(grid)] = u0[list(grid)]  # exactly on the grid, as the point was
                best.append(self.space.from_unit(u[None])[0])
        m, s = self.predict(best)
        i = int(np.argmin(m))
        return best[i], float(m[i]), float(s[i])
