"""``gp_minimize``: a drop-in successor of scikit-optimize's, with parallel evaluation and storage."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from scipy.optimize import OptimizeResult
from tqdm.auto import tqdm

from tuner.acquisition.functions import AcqConfig
from tuner.checks import check_skopt_count, is_whole
from tuner.errors import EvaluationError, PointSizeError, TunerError
from tuner.execution import EvalOutcome, make_executor, run_objective
from tuner.execution.loop import run_trials
from tuner.optimizer import Optimizer
from tuner.result import build_result
from tuner.storage import Trial
from tuner.surrogate.gp import SurrogateConfig

__all__ = ["called_as", "gp_minimize", "x0_points"]

Callback = Callable[[OptimizeResult], Any]


@runtime_checkable
class TrialContext(Protocol):
    """An objective that wants to know about its trial (:class:`tuner.hpo.Objective`: its seed,
    the learning curves of finished trials for pruning).

    ``trial_context(trial, trials)`` runs in the optimiser's process before the trial is submitted;
    the dict it returns is passed to the objective as extra keyword arguments.
    """

    def trial_context(self, trial: Trial, trials: Sequence[Trial]) -> dict[str, Any]: ...


def x0_points(x0: Any) -> list[Any]:
    """``x0`` as a list of points (scikit-optimize accepts one point or a list of them)."""
    if x0 is None:
        return []
    return [x0] if x0 and not isinstance(x0[0], (list, tuple)) else list(x0)


def _check_budget(n_calls: int, n_initial_points: Any, x0: Any, y0: Any) -> None:
    """scikit-optimize's rules: a run starts from an initial design or from ``x0``, and its
    calls cover the initial design and the points of ``x0`` still to be evaluated (a shorter
    run never consults the model)."""
    n_x0 = 0 if y0 is not None else len(x0_points(x0))
    if isinstance(n_initial_points, int) and n_initial_points <= 0 and not x0:
        raise TunerError(f"n_initial_points must be >= 1 when x0 gives no starting points (the "
                         f"model needs data to start from), got {n_initial_points}")
    need = (n_initial_points if isinstance(n_initial_points, int) else 0) + n_x0
    if n_calls < need:
        raise TunerError(f"n_calls must be >= n_initial_points ({n_initial_points}) plus the x0 "
                         f"points to evaluate ({n_x0}) = {need}, got {n_calls}: a shorter run "
                         "never leaves its initial design")


def _check_x0_size(x0: Any, n_dims: int) -> None:
    sizes = sorted({len(p) for p in x0_points(x0) if isinstance(p, (list, tuple))})
    if any(n != n_dims for n in sizes):
        raise PointSizeError(f"x0 must give one value per dimension ({n_dims}), got points of "
                             f"{sizes} values")


def _as_callbacks(callback: Callback | Iterable[Callback] | None) -> list[Callback]:
    if callback is None:
        return []
    if callable(callback):
        return [callback]
    try:
        cbs = list(callback)
    except TypeError:
        raise TunerError(f"callback must be a callable or a list of callables, got {callback!r}") from None
    for cb in cbs:
        if not callable(cb):
            raise TunerError(f"callback must be a callable or a list of callables, got {cb!r}")
    return cbs


def _check_arguments(func: Any, xi: Any, n_calls: Any, n_points: Any, n_restarts_optimizer: Any,
                     exploit_last: Any, x0: Any, y0: Any) -> None:
    """The rules of :func:`gp_minimize`'s own arguments (the optimiser checks the others)."""
    if not callable(func):
        raise TunerError(f"func must be callable (the objective: called with one point, a list of "
                         f"values, it returns a number), got {func!r}")
    if xi is not None and (isinstance(xi, bool) or not isinstance(xi, (int, float)) or not xi >= 0):
        raise TunerError(f"xi must be a number >= 0 (or None for no margin), got {xi!r}")
    if not is_whole(n_calls) or n_calls < 1:
        raise TunerError(f"n_calls must be an int >= 1, got {n_calls!r}")
    check_skopt_count(n_points, "n_points")
    check_skopt_count(n_restarts_optimizer, "n_restarts_optimizer")
    if not is_whole(exploit_last) or exploit_last < 0:
        raise TunerError(f"exploit_last must be an int >= 0, got {exploit_last!r}")
    if y0 is not None and x0 is None:
        raise TunerError(f"y0 gives the values of the points x0, and x0 is missing (y0 = {y0!r})")


def _start(opt: Optimizer, storage: Any, new_file: bool, n_calls: int, n_initial_points: Any,
           x0: Any, y0: Any) -> None:
    """A fresh run's checks of its budget and ``x0``, then ``x0`` told with ``y0`` or queued.
    A study file this call created is removed again when a check fails: it would hold nothing."""
    try:
        _check_budget(n_calls, n_initial_points, x0, y0)
        _check_x0_size(x0, opt.space.n_dims)
    except TunerError:
        if isinstance(storage, (str, os.PathLike)):  # opened here: closed here
            opt.storage.close()
        if new_file:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{storage}{suffix}").unlink(missing_ok=True)
        raise
    if x0 is None:
        return
    pts = x0_points(x0)
    if y0 is None:
        for p in pts:
            opt.enqueue(p)
        return
    ys = [y0] if not isinstance(y0, (list, tuple)) else list(y0)
    if len(ys) != len(pts):
        raise TunerError(f"y0 must have one value per x0 point: {len(pts)} points, {len(ys)} values")
    opt.tell(pts, ys, info=[{"given": True}] * len(pts), counts_as_initial=False)


class _Run:
    """The evaluation loop of one :func:`gp_minimize` call: asks (the last ``exploit_last`` of
    the budget at the recommendation), evaluations on a pool, tells, the progress bar and the
    callbacks."""

    def __init__(self, opt: Optimizer, func: Callable[..., Any], specs: dict[str, Any],
                 n_calls: int, exploit_last: int, callbacks: list[Callback], verbose: bool,
                 kwargs: dict[str, Any]) -> None:
        self.opt, self.func, self.specs, self.n_calls = opt, func, specs, n_calls
        self.exploit_last, self.callbacks, self.verbose, self.kwargs = \
            exploit_last, callbacks, verbose, kwargs
        self.context = func.trial_context if isinstance(func, TrialContext) else None
        self.bar: Any = None

    def call_kwargs(self, trial: Trial) -> dict[str, Any]:
        """Fixed arguments, plus what the objective asks to know about its trial."""
        if self.context is None:
            return self.kwargs
        return {**self.kwargs, **self.context(trial, self.opt.trials)}

    def ask(self, n: int) -> list[Trial]:
        """``n`` new trials; one is the recommendation when they are among the last
        ``exploit_last`` of the budget (and the recommendation is a new point)."""
        opt = self.opt
        left = self.n_calls - opt.n_evaluated - len(opt.pending)
        rec = opt.ask_recommended() if left - n < self.exploit_last and not opt.n_queued else None
        if rec is None:
            return opt.ask_trials(n)
        return [rec, *opt.ask_trials(n - 1)] if n > 1 else [rec]

    def handle(self, trial: Trial, out: Any, exc: BaseException | None) -> None:
        """Tell one outcome; the first return that is no number, before any was, stops the run."""
        opt = self.opt
        if exc is not None:
            out = EvalOutcome(value=None, noise=None, info={},
                              error=f"worker failed: {type(exc).__name__}: {exc}")
        info = out.get("info")  # tell_trial checks it: a bad one fails the trial, with the reason
        if out["value"] is None:
            info = {**(info if isinstance(info, dict) else {}),
                    "error": out.get("error") or "objective returned None"}
        opt.tell_trial(trial, out["value"], out.get("noise"), info=info, artifact=out.get("artifact"))
        refused = out["value"] is not None and opt.trials[trial.id].state == "failed"
        if refused and not opt.complete:
            # no return has been a number yet: a broken objective, not one failed evaluation
            raise EvaluationError(f"the objective must return a real number (or None for a failed "
                                  f"evaluation): {opt.trials[trial.id].error}; stopped at the first "
                                  "such return, which is recorded as a failed trial")
        self.bar.update(1)
        if self.verbose:
            print(f"Iteration No: {opt.n_evaluated} value {out['value']} at {trial.x}")

    def after_round(self) -> bool:
        """The bar's best and failure count; whether a callback asks to stop."""
        opt = self.opt
        best = min(opt.yi) if opt.complete else float("nan")
        self.bar.set_postfix(best=f"{best:.6g}", failed=len(opt.trials) - len(opt.complete)
                             - len(opt.pending))
        if not self.callbacks:
            return False
        res = build_result(opt, self.specs, search=False)
        # every callback runs (as in scikit-optimize); any truthy answer stops the run, numpy's
        # bool_ included (the stoppers of skopt.callbacks return one)
        decisions = [bool(cb(res)) for cb in self.callbacks]
        return any(decisions)

    def loop(self, executor: Any, n_jobs: int, progress: bool) -> None:
        """Evaluate until the budget is spent or a callback stops the run."""
        pool, n_par, owned = make_executor(executor, n_jobs)

        def restart() -> None:
            nonlocal pool, n_par, owned
            pool, n_par, owned = make_executor(executor, n_jobs)

        self.bar = tqdm(total=self.n_calls, initial=min(self.opt.n_evaluated, self.n_calls),
                        disable=not progress, desc=self.specs["function"], unit="eval", dynamic_ncols=True)
        try:
            run_trials(self.opt,
                       lambda t: pool.submit(run_objective, self.func, t.x, self.call_kwargs(t)),
                       restart=restart, width=lambda: n_par,
                       remaining=lambda: self.n_calls - self.opt.n_evaluated,
                       handle=self.handle, after_round=self.after_round, ask=self.ask)
        finally:
            self.bar.close()
            if owned:
                pool.shutdown(wait=False)


#: the name a run reports in its ``specs`` and progress bar: ``gp_minimize``, or the scikit-optimize
#: function that runs it (``forest_minimize``, ... set by :func:`called_as`)
_CALLED_AS: ContextVar[str] = ContextVar("called_as", default="gp_minimize")


@contextmanager
def called_as(name: str) -> Iterator[None]:
    """Within the block, :func:`gp_minimize` runs as ``name`` (the minimisers built on it)."""
    token = _CALLED_AS.set(name)
    try:
        yield
    finally:
        _CALLED_AS.reset(token)


def gp_minimize(func: Callable[..., Any], dimensions: Any, base_estimator: Any = None,
                n_calls: int = 100, n_random_starts: int | None = None,
                n_initial_points: int = 10, initial_point_generator: str = "random",
                acq_func: str = "auto", acq_optimizer: str = "auto",
                x0: list[Any] | None = None, y0: Any = None, random_state: int | None = None,
                verbose: bool = False, callback: Callback | Iterable[Callback] | None = None,
                n_points: int = 10000, n_restarts_optimizer: int = 5, xi: float | None = None,
                kappa: float = 1.96, noise: str | float = "gaussian", n_jobs: int = 1,
                model_queue_size: int | None = None, space_constraint: Any = None, *,
                executor: Any = None, storage: str | None = None, progress: bool = True,
                y_warp: str = "auto", device: str | None = None,
                func_kwargs: dict[str, Any] | None = None, failures: str = "worst",
                model_config: SurrogateConfig | None = None,
                exploit_last: int = 1) -> OptimizeResult:
    """Minimise ``func`` over ``dimensions`` with Gaussian-process Bayesian optimisation.

    The signature is scikit-optimize's (arguments that only tune its internals, such as
    ``n_points``, ``n_restarts_optimizer``, ``acq_optimizer``, are accepted and have no effect;
    ``acq_optimizer`` must still be one of scikit-optimize's values and the counts ints >= 1),
    plus the keyword-only arguments below.

    Args:
        func: Objective, ``func(x, **func_kwargs) -> float``. Returning ``None`` or NaN, or
            raising, marks the evaluation failed (kept in the study with its error). It may also
            return a dict with ``value``, ``noise`` (known variance) and ``info``.
        dimensions: The search space (scikit-optimize forms accepted).
        base_estimator: ``None`` (this toolkit's GP) or any ``base_estimator`` that
            :class:`tuner.Optimizer` takes: a scikit-learn ``GaussianProcessRegressor`` (its
            ``noise`` honoured), or a regressor with ``predict(X, return_std=True)`` (``"RF"``,
            ``"ET"``, ``"GBRT"``; then the acquisition is taken at ``n_points`` random points, as
            :func:`forest_minimize` does).
        n_calls: Total evaluations of ``func`` (including ``x0`` without ``y0``, and evaluations
            already in ``storage``).
        n_initial_points: Space-filling points before the model takes over.
        initial_point_generator: ``"random"`` (default, as scikit-optimize's), ``"sobol"``,
            ``"halton"``, ``"hammersly"``, ``"lhs"``, ``"grid"``.
        acq_func: ``"auto"`` (default): analytic log expected improvement (``"LogEI"``) for
            the first half of ``n_calls``, noisy expected improvement (``"qLogNEI"``: the
            improvement over the best value at the evaluated points, drawn jointly with the
            candidate's) from half of it on, where it refines (about three times the cost of an
            ask; LogEI throughout when ``xi`` is given; BENCHMARKS.md section 1, session 35);
            ``"LogEI"`` (``"EI"`` is LogEI too) throughout, ``"gp_hedge"`` (GP-Hedge over
            LogEI, PI and LCB, scikit-optimize's default, :mod:`tuner.acquisition.hedge`; about
            three times the cost of an ask and no better on the problems measured, BENCHMARKS.md
            section 1), ``"qLogNEI"``, ``"PI"``, ``"LCB"``, ``"MES"`` (max-value entropy
            search, :func:`tuner.acquisition.functions.max_value_entropy`).
        x0, y0: Known points, and optionally their values.
        random_state: Seed fixing every random choice (an int, or a numpy ``RandomState`` /
            ``Generator`` from which one is drawn, as scikit-optimize takes it).
        verbose: Print one line per evaluation.
        callback: Callable(s) called with the result after each evaluation; one returning
            ``True`` stops the run.
        kappa: Exploration weight of ``"LCB"``.
        xi: Improvement margin of EI and PI, in the objective's units (on ``log y`` with
            ``y_warp="log"``), honoured when given. The default, ``None``, is no margin, unlike
            scikit-optimize's 0.01: measured on Hartmann6 (seed 7), a margin of 0.01 over the
            posterior-mean incumbent stalled the search at regret 1.6 against 0.016 without it.
        noise: ``"gaussian"`` (learned) or the known noise variance. A ``base_estimator`` with a
            ``noise`` of its own (scikit-optimize's ``GaussianProcessRegressor``) overrides it, as
            in scikit-optimize.
        model_queue_size: Keep the surrogates of the last this many fits in ``res.models``.
        space_constraint: ``f(point) -> bool``; only points where it is true are evaluated
            (see :class:`tuner.Optimizer`).
        n_jobs: Parallel local worker processes (``-1``: all cores).
        executor: A ``concurrent.futures.Executor`` or ``dask.distributed.Client`` to evaluate on.
        storage: SQLite study path; re-running with the same path resumes (nothing evaluated is
            repeated; points that were in flight are evaluated again).
        progress: Show a progress bar.
        y_warp: Output warp of the surrogate, so that a few values far up a wall do not flatten
            the basin: ``"auto"`` (default: ``"loo"`` without categorical dimensions,
            ``"power"`` with them), ``"loo"`` (at each fit HEBO's power transform or a knee warp,
            linear near the best value and logarithmic above, whichever the GP predicts each
            told value better from the others under; HEBO's where that cannot be judged: the
            first fit, known noise), ``"power"`` (HEBO's Box-Cox / Yeo-Johnson transform fitted
            at each refit; the default before session 37, 5x behind Optuna on smooth 8-10-D
            bowls), ``"log"`` to model ``log f`` (positive objectives over decades) or
            ``"none"``.
        device: Torch device of the surrogate.
        func_kwargs: Fixed keyword arguments passed to ``func``.
        failures: ``"worst"``: failed points enter the surrogate with the worst value seen, so the
            search avoids failing regions; ``"ignore"``: they are left out of it.
        model_config: Options of the surrogate's fit (:class:`tuner.surrogate.SurrogateConfig`).
        exploit_last: The last this many evaluations go to the recommendation (the minimum of
            the surrogate's mean near the best point so far) instead of the acquisition's choice,
            when that point is new: a finite budget ends by exploiting what the model learnt
            (BENCHMARKS.md section 1). ``0`` keeps the acquisition to the end, as
            scikit-optimize does.

    Returns:
        ``OptimizeResult`` with scikit-optimize's fields and ``x_recommended``/``fun_recommended``.

    Raises:
        TunerError: bad arguments (see the message); errors of ``callback`` propagate.
    """
    _check_arguments(func, xi, n_calls, n_points, n_restarts_optimizer, exploit_last, x0, y0)
    if n_random_starts is not None:
        warnings.warn("n_random_starts is deprecated in scikit-optimize; use n_initial_points",
                      DeprecationWarning, stacklevel=2)
        n_initial_points = n_random_starts
    specs = {"function": _CALLED_AS.get(),
             "args": {"func": func, "dimensions": dimensions, "n_calls": n_calls,
                      "n_initial_points": n_initial_points,
                      "initial_point_generator": initial_point_generator, "acq_func": acq_func,
                      "x0": x0, "y0": y0, "random_state": random_state, "noise": noise,
                      "n_jobs": n_jobs, "xi": xi, "kappa": kappa, "y_warp": y_warp,
                      "storage": storage, "failures": failures,
                      "space_constraint": space_constraint, "exploit_last": exploit_last}}
    callbacks = _as_callbacks(callback)
    new_file = isinstance(storage, (str, os.PathLike)) and not Path(storage).exists()
    opt = Optimizer(dimensions, "GP" if base_estimator is None else base_estimator,
                    n_initial_points=n_initial_points,
                    initial_point_generator=initial_point_generator, acq_func=acq_func,
                    acq_optimizer=acq_optimizer, random_state=random_state, noise=noise, y_warp=y_warp,
                    storage=storage,
                    device=device, acq_config=AcqConfig(kappa=kappa, xi=0.0 if xi is None else xi),
                    failures=failures, model_queue_size=model_queue_size,
                    space_constraint=space_constraint, model_config=model_config, budget=n_calls,
                    acq_optimizer_kwargs={"n_points": n_points})
    if not opt.trials:
        _start(opt, storage, new_file, n_calls, n_initial_points, x0, y0)
    _Run(opt, func, specs, n_calls, exploit_last, callbacks, verbose,
         dict(func_kwargs or {})).loop(executor, n_jobs, progress)
    t0 = time.perf_counter()
    res = build_result(opt, specs, search=True)
    res.timings["recommend"] = time.perf_counter() - t0
    if res.x is None:
        first = res.failed[0]["error"] if res.failed else "none was run"
        warnings.warn(f"no evaluation of the objective succeeded ({len(res.failed)} failed); res.x is "
                      f"None. First error: {str(first).splitlines()[0] if first else first}",
                      RuntimeWarning, stacklevel=2)
    if opt.study is not None:
        opt.study.close()
    return res
