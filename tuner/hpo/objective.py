"""Hyperparameter search from scripts: the objective wrapper and median pruning.

:class:`Objective` turns a plain training function into an objective for :func:`tuner.gp_minimize`::

    def train(params, seed, report, data_path):
        ...                                      # train with params["lr"], ...
        for epoch in range(n):
            ...
            if report(epoch, val_auc):           # clearly behind the finished trials: stop
                break
        return best_val_auc

    space = [Real(1e-4, 1e-1, "log-uniform", name="lr"), Integer(4, 32, name="channels")]
    res = gp_minimize(Objective(train, space, maximize=True, fixed={"data_path": p}), space, ...)

It calls ``train`` with the point as a dict of named hyperparameters, the fixed arguments, a per-trial
seed (the trial's own, stored in the study, so a resumed study re-runs a trial with the same seed) and a
``report`` callable (``seed`` and ``report`` are passed only when ``train`` has such parameters). An
exception or a non-finite score (a diverged training) makes the trial *failed*: kept in the study with
its error, and seen by the surrogate as the worst score so far (``Optimizer(failures="worst")``, the
default). ``maximize=True`` minimises ``-score``.

Pruning (:class:`MedianPruner`): a trial reports ``(step, score)`` as it trains; it is told to stop when
its best score so far is worse than the median of the best scores the finished trials had reached by the
same step. The learning curves of finished trials travel with each submitted trial (no shared state, so
it works on local processes and on Dask workers alike). **Interaction with the GP**: a pruned trial is
told the best score it reached, a pessimistic value for its point; the surrogate therefore sees that
region as poor, which is what pruning asserts, and the trial is marked ``pruned`` in the study. Pruned
curves are not used as references for later pruning decisions.
"""

from __future__ import annotations

import inspect
import math
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tuner.checks import is_whole
from tuner.errors import TunerError
from tuner.space import Space
from tuner.storage import Trial

__all__ = ["MedianPruner", "Objective", "Reporter"]


@dataclass
class MedianPruner:
    """Stop a trial whose best score so far is worse than the finished trials' median at that step.

    Args:
        warmup_steps: Never stop before this step.
        min_trials: Finished learning curves needed before anything is stopped.
    """

    warmup_steps: int = 1
    min_trials: int = 4

    def __post_init__(self) -> None:
        if not (is_whole(self.warmup_steps) and is_whole(self.min_trials)) or self.warmup_steps < 0 \
                or self.min_trials < 1:
            raise TunerError(
                f"warmup_steps must be an int >= 0 and min_trials an int >= 1; got "
                f"{self.warmup_steps!r}, {self.min_trials!r}"
            )

    def should_stop(
        self, step: int, best: float, curves: Sequence[Sequence[Sequence[float]]], maximize: bool
    ) -> bool:
        """Whether a trial at ``step`` with best score ``best`` is behind the median of ``curves``."""
        if step < self.warmup_steps:
            return False
        refs = []
        for curve in curves:
            vals = [v for s, v in curve if s <= step and math.isfinite(v)]
            if vals:
                refs.append(max(vals) if maximize else min(vals))
        if len(refs) < self.min_trials:
            return False
        med = float(np.median(refs))
        return best < med if maximize else best > med


@dataclass
class Reporter:
    """The ``report(step, score) -> stop`` callable a training function receives."""

    maximize: bool
    pruner: MedianPruner | None = None
    curves: Sequence[Sequence[Sequence[float]]] = ()
    values: list[list[float]] = field(default_factory=list)
    pruned: bool = False

    def __call__(self, step: int, score: float) -> bool:
        try:  # a 0-d tensor or numpy number is a score too
            value = float(score)
        except (TypeError, ValueError):
            value = None
        if (isinstance(step, (bool, np.bool_)) or not isinstance(step, (int, np.integer)) or step < 0
                or value is None):
            raise TunerError(f"report(step, score) takes an int step >= 0 and a number, got "
                             f"report({step!r}, {score!r})")
        self.values.append([int(step), value])
        best = self.best
        if best is None or self.pruner is None:
            return False
        self.pruned = self.pruner.should_stop(int(step), best, self.curves, self.maximize)
        return self.pruned

    @property
    def best(self) -> float | None:
        finite = [v for _, v in self.values if math.isfinite(v)]
        if not finite:
            return None
        return max(finite) if self.maximize else min(finite)


class Objective:
    """A training function as a :func:`tuner.gp_minimize` objective (see the module docstring).

    Args:
        fn: ``fn(params: dict, [seed: int], [report: Reporter], **fixed) -> score``; it may also return a
            dict with ``score`` and any JSON-able extras (stored in the trial's info).
        dimensions: The search space (its dimension names key ``params``).
        maximize: Maximise the score (validation AUC, accuracy) instead of minimising it.
        fixed: Keyword arguments passed unchanged to every call (data paths, epochs, device).
        pruner: A :class:`MedianPruner`, or ``None`` for no pruning.

    Raises:
        TunerError: unnamed dimensions, fixed arguments that collide with hyperparameter names or
            that the training function does not take.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        dimensions: Any,
        maximize: bool = False,
        fixed: dict[str, Any] | None = None,
        pruner: MedianPruner | None = None,
    ) -> None:
        if not callable(fn):
            raise TunerError(f"fn must be the training function (a callable), got {fn!r}")
        if not isinstance(maximize, bool):
            raise TunerError(f"maximize must be True or False, got {maximize!r}")
        if pruner is not None and not isinstance(pruner, MedianPruner):
            raise TunerError(f"pruner must be a MedianPruner or None, got {pruner!r}")
        if fixed is not None and not isinstance(fixed, dict):
            raise TunerError(f"fixed must be a dict of keyword arguments, got {fixed!r}")
        space = dimensions if isinstance(dimensions, Space) else Space(dimensions)
        self.names = [d.name for d in space.dimensions]
        if any(n is None for n in self.names) or len(set(self.names)) != len(self.names):
            raise TunerError(f"every dimension needs a distinct name for Objective; got {self.names}")
        if fixed and set(fixed) & set(self.names):
            raise TunerError(f"fixed arguments may not share a name with a hyperparameter (it is "
                             f"searched, not fixed); got {sorted(set(fixed) & set(self.names))}")
        self.fn, self.maximize, self.fixed, self.pruner = fn, maximize, dict(fixed or {}), pruner
        params = inspect.signature(fn).parameters
        var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        self._pass_seed = "seed" in params or var_kw
        self._pass_report = "report" in params or var_kw
        clash = {"seed", "report"} & set(self.fixed)
        if clash:
            raise TunerError(
                f"fixed arguments may not be named 'seed' or 'report' (the wrapper passes "
                f"them); got {sorted(clash)}"
            )
        takes = {n for n, p in params.items() if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                              inspect.Parameter.KEYWORD_ONLY)}
        if not var_kw and set(self.fixed) - takes:
            raise TunerError(f"fixed arguments must be parameters of the training function (every call "
                             f"would fail); {getattr(fn, '__name__', fn)!r} takes {sorted(takes)}, got "
                             f"also {sorted(set(self.fixed) - takes)}")

    def trial_context(self, trial: Trial, trials: Sequence[Trial]) -> dict[str, Any]:
        """The trial's seed and the learning curves of the finished, unpruned trials (the
        :class:`tuner.minimize.TrialContext` protocol of :func:`tuner.gp_minimize`)."""
        curves = [t.info["curve"] for t in trials
                  if t.state == "complete" and t.info.get("curve") and not t.info.get("pruned")]
        return {"trial_seed": trial.seed, "curves": curves}

    def __call__(
        self, x: Sequence[Any], trial_seed: int | None = None, curves: Sequence[Any] = (), **kwargs: Any
    ) -> dict[str, Any]:
        params = {
            n: (v.item() if isinstance(v, np.generic) else v) for n, v in zip(self.names, x, strict=True)
        }
        reporter = Reporter(self.maximize, self.pruner, curves)
        call = {**self.fixed, **kwargs}
        if self._pass_seed:
            call["seed"] = 0 if trial_seed is None else int(trial_seed)
        if self._pass_report:
            call["report"] = reporter
        info: dict[str, Any] = {"params": params, "seed": call.get("seed")}
        try:
            out = self.fn(params, **call)
        except Exception as exc:
            info["curve"] = reporter.values
            return {
                "value": None,
                "info": info,
                "error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}",
            }
        if isinstance(out, dict):
            info.update({k: v for k, v in out.items() if k != "score"})
            out = out.get("score")
        info["curve"] = reporter.values
        info["pruned"] = reporter.pruned
        if reporter.pruned and reporter.best is not None:
            out = reporter.best if out is None else out
        try:
            score = float(out)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return {
                "value": None,
                "info": info,
                "error": f"the training function returned {out!r}, not a number",
            }
        if not math.isfinite(score):
            return {"value": None, "info": info, "error": f"diverged: the training function returned {score}"}
        info["score"] = score
        return {"value": -score if self.maximize else score, "info": info}
