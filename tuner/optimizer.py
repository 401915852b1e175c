"""The ask/tell Bayesian optimiser (minimisation), scikit-optimize style.

``ask()`` proposes points (cheap: it maximises an acquisition function on the surrogate fitted at
the last ``tell``); ``tell()`` records results and refits the surrogate (the expensive part).
Points asked and not yet told are *pending*: later asks treat them as fantasies, so parallel
workers never receive the same point twice. With ``storage`` every ask and tell is committed to a
SQLite study, and re-creating the optimiser on the same file resumes it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from botorch.acquisition import PosteriorMean
from botorch.optim import optimize_acqf
from scipy.optimize import OptimizeResult

from tuner.acquisition.logei import ACQ_FUNCS, AcqConfig, make_acquisition, maximize_acquisition
from tuner.errors import EvaluationError, SpaceError, TunerError
from tuner.models.gp import SurrogateConfig, build_gp, fit_gp, gp_settings
from tuner.space import INITIAL_POINT_GENERATORS, Space
from tuner.study import Study, Trial

__all__ = ["FAILURE_MODES", "Y_WARPS", "Optimizer"]

Y_WARPS = ("none", "log")
FAILURE_MODES = ("worst", "ignore")
_DUP_TOL = 1e-7


def _is_listlike(v: Any) -> bool:
    return isinstance(v, (list, tuple, np.ndarray))


class Optimizer:
    """Gaussian-process Bayesian optimiser with an ask/tell interface.

    Args:
        dimensions: The search space, in any form :class:`tuner.space.Space` accepts.
        n_initial_points: Points from the space-filling design before the model takes over.
        initial_point_generator: ``"sobol"``, ``"halton"``, ``"lhs"`` or ``"random"``.
        acq_func: ``"LogEI"`` (default; ``"EI"`` and ``"gp_hedge"`` map to it), ``"qLogNEI"``,
            ``"PI"`` or ``"LCB"``.
        random_state: Seed; fixes the design and every random choice of the acquisition search.
        noise: ``"gaussian"`` to learn a noise level, or a float: the known noise variance of
            every observation (``tell(..., noise=)`` overrides it per observation).
        y_warp: ``"none"`` or ``"log"`` (model ``log y``; for positive, heavy-tailed objectives
            such as a chi2).
        storage: Path of a SQLite study file; an existing file is resumed.
        device: Torch device of the surrogate (e.g. ``"cuda"``).
        acq_config: Options of the acquisition maximiser.
        model_config: Options of the surrogate fit.
        failures: ``"worst"`` (default): a failed evaluation (an exception, a NaN, a crashed
            worker after its retries) enters the surrogate with the worst value observed so far,
            so the search learns to avoid regions that fail (a diverging learning rate, a generator
            setting that crashes) instead of proposing them again; ``"ignore"``: failed points are
            left out of the model. Either way they are not results: ``x_iters``/``func_vals`` and
            the recommendation use successful evaluations only.

    Raises:
        SpaceError: a bad space.
        TunerError: a bad option value.
        StorageError: ``storage`` belongs to a different space.
    """

    def __init__(self, dimensions: Any, n_initial_points: int = 10,
                 initial_point_generator: str = "sobol", acq_func: str = "LogEI",
                 random_state: int | None = None, noise: str | float = "gaussian",
                 y_warp: str = "none", storage: str | None = None,
                 device: str | torch.device | None = None, acq_config: AcqConfig | None = None,
                 model_config: SurrogateConfig | None = None, failures: str = "worst") -> None:
        self.space = Space(dimensions)
        if failures not in FAILURE_MODES:
            raise TunerError(f"failures must be one of {FAILURE_MODES}, got {failures!r}")
        self.failures = failures
        if not isinstance(n_initial_points, int) or n_initial_points < 0:
            raise TunerError(f"n_initial_points must be an int >= 0, got {n_initial_points!r}")
        if initial_point_generator not in INITIAL_POINT_GENERATORS:
            raise TunerError(f"initial_point_generator must be one of {INITIAL_POINT_GENERATORS}, "
                             f"got {initial_point_generator!r}")
        if acq_func not in ACQ_FUNCS:
            raise TunerError(f"acq_func must be one of {sorted(ACQ_FUNCS)}, got {acq_func!r}")
        if y_warp not in Y_WARPS:
            raise TunerError(f"y_warp must be one of {Y_WARPS}, got {y_warp!r}")
        if not (noise == "gaussian" or (isinstance(noise, (int, float)) and noise >= 0)):
            raise TunerError(f"noise must be 'gaussian' or a variance >= 0, got {noise!r}")
        self.n_initial_points = n_initial_points
        self.acq_func = acq_func
        self.noise = noise
        self.y_warp = y_warp
        self.random_state = random_state
        self._seed = int(np.random.SeedSequence(random_state).generate_state(1)[0] % 2**31)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.acq_config = acq_config or AcqConfig()
        self.model_config = model_config or SurrogateConfig()
        self._design = self.space.rvs(n_initial_points, random_state=self._seed,
                                      method=initial_point_generator)
        self.trials: list[Trial] = []
        self._requeue: list[Trial] = []
        self.model: Any = None
        self._model_n = 0
        self._fit_n = 0
        self._warm_state: dict[str, Any] | None = None
        self.timings: dict[str, float] = {"fit": 0.0, "ask": 0.0}
        self.study: Study | None = None
        if storage is not None:
            self.study = Study(storage, self.space, meta={
                "optimizer": {"n_initial_points": n_initial_points, "acq_func": acq_func,
                              "random_state": random_state, "y_warp": y_warp}})
            self.trials = self.study.trials()
            self._requeue = [t for t in self.trials if t.state == "pending"]
            self._refit()

    # --- bookkeeping ---------------------------------------------------------------------------
    @property
    def complete(self) -> list[Trial]:
        return [t for t in self.trials if t.state == "complete"]

    @property
    def pending(self) -> list[Trial]:
        return [t for t in self.trials if t.state == "pending"]

    @property
    def Xi(self) -> list[list[Any]]:  # noqa: N802 - scikit-optimize's name
        return [t.x for t in self.complete]

    @property
    def yi(self) -> list[float]:
        return [float(t.y) for t in self.complete]  # type: ignore[arg-type]

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.float64, device=self.device)

    def _new_trial(self, x: list[Any]) -> Trial:
        seed = (self._seed + 7919 * len(self.trials)) % 2**31
        if self.study is not None:
            trial = self.study.add(x, seed=seed)
        else:
            trial = Trial(id=len(self.trials), x=x, seed=seed, asked=time.time())
        self.trials.append(trial)
        return trial

    @property
    def n_queued(self) -> int:
        """Points queued by :meth:`enqueue` (or re-asked after a resume) that no ask returned yet."""
        return len(self._requeue)

    def enqueue(self, x: Sequence[Any]) -> Trial:
        """Queue a known point (a default, a previous optimum): the next ask returns it first.

        Raises:
            SpaceError: a point outside the space.
        """
        trial = self._new_trial(self.space.check_point(x))
        self._requeue.append(trial)
        return trial

    # --- ask -------------------------------------------------------------------------------------
    def ask(self, n_points: int | None = None) -> list[Any] | list[list[Any]]:
        """Propose the next point (``n_points=None``) or a list of ``n_points`` distinct points.

        Asked points stay pending until told; a later ``ask`` will not return them again.
        """
        trials = self.ask_trials(1 if n_points is None else n_points)
        return trials[0].x if n_points is None else [t.x for t in trials]

    def ask_trials(self, n: int = 1) -> list[Trial]:
        """Like :meth:`ask`, but return the :class:`~tuner.study.Trial` records (id, point, seed).

        Raises:
            TunerError: ``n < 1``.
            SpaceError: a discrete space has no unevaluated point left.
        """
        if not isinstance(n, int) or n < 1:
            raise TunerError(f"the number of points to ask must be an int >= 1, got {n!r}")
        out: list[Trial] = []
        while self._requeue and len(out) < n:
            out.append(self._requeue.pop(0))
        t0 = time.perf_counter()
        while len(out) < n:
            need = n - len(out)
            # design points not yet taken (enqueued points and resumed studies do not shift it)
            taken = {repr(t.x) for t in self.trials}
            fresh = [p for p in self._design if repr(p) not in taken]
            if fresh:
                pts = fresh[:need]
            elif self.model is not None and len(self.complete) >= 2:
                pts = self._acquire(need)
            else:
                rng = np.random.default_rng((self._seed, len(self.trials)))
                pts = self.space.rvs(need, random_state=rng)
            for x in pts:
                out.append(self._new_trial(self._deduplicate(x)))
        self.timings["ask"] += time.perf_counter() - t0
        return out

    def _deduplicate(self, x: list[Any]) -> list[Any]:
        taken = [t.x for t in self.trials if t.state != "failed"]
        if not taken:
            return x
        U = self.space.to_unit(taken)
        rng = np.random.default_rng((self._seed, len(self.trials), 1))
        for _attempt in range(2000):
            u = self.space.to_unit([x])[0]
            if np.min(np.max(np.abs(U - u), axis=1)) > _DUP_TOL:
                return x
            x = self.space.rvs(1, random_state=rng)[0]
        raise SpaceError(f"no unevaluated point left in the search space after {_attempt + 1} "
                         f"draws: {len(taken)} points taken in {self.space!r}")

    def _acquire(self, q: int) -> list[list[Any]]:
        done = self.complete
        X = self._tensor(self.space.to_unit([t.x for t in done]))
        pend = self.pending
        X_pending = self._tensor(self.space.to_unit([t.x for t in pend])) if pend else None
        acq = make_acquisition(self.acq_func, self.model, X, X_pending, q, self._known_noise,
                               self.acq_config)
        bounds = self._tensor(self.space.model_bounds)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed((self._seed + 104729 * len(self.trials)) % 2**31)
            cand = maximize_acquisition(acq, bounds, q, self.space.discrete_dims,
                                        self.space.cat_dims, self.acq_config)
        return self.space.from_unit(cand.cpu().numpy())

    # --- tell ------------------------------------------------------------------------------------
    def tell(self, x: Sequence[Any], y: Any, noise: Any = None, *, info: Any = None,
             artifact: Any = None, fit: bool = True) -> OptimizeResult:
        """Record results: ``tell(x, y)`` for one point, ``tell([x1, x2], [y1, y2])`` for several.

        Args:
            x: A point or a list of points.
            y: Objective value(s). ``None`` marks a failed evaluation, kept out of the model.
            noise: Known noise variance(s) of ``y``, or ``None``.
            info: JSON-able dict (or a list of them) stored with the trial.
            artifact: ``bytes`` (or a list) stored with the trial in the study.
            fit: Refit the surrogate now (set ``False`` to batch several tells).

        Returns:
            The result so far, as :func:`tuner.gp_minimize` returns it.

        Raises:
            EvaluationError: a NaN or infinite value, a negative noise, a non-positive value
                with ``y_warp="log"``, or mismatched lengths.
            SpaceError: a point outside the space.
        """
        many = len(x) > 0 and _is_listlike(x[0])
        xs = list(x) if many else [x]
        if many and not _is_listlike(y):
            raise EvaluationError(f"telling {len(xs)} points needs a list of {len(xs)} values, "
                                  f"got {y!r}")
        ys = list(y) if many else [y]
        ns = list(noise) if many and _is_listlike(noise) else [noise] * len(xs)
        infos = list(info) if many and isinstance(info, list) else [info] * len(xs)
        arts = list(artifact) if many and isinstance(artifact, list) else [artifact] * len(xs)
        if not (len(xs) == len(ys) == len(ns)):
            raise EvaluationError(f"tell needs as many values as points, got {len(xs)} points and "
                                  f"{len(ys)} values")
        checked = []
        for xi, yi, ni in zip(xs, ys, ns, strict=True):
            pt = self.space.check_point(xi)
            if yi is not None:
                yi = self._check_value(yi, pt)
            if ni is not None and (not isinstance(ni, (int, float, np.floating)) or not ni >= 0
                                   or not math.isfinite(ni)):
                raise EvaluationError(f"noise must be a finite variance >= 0, got {ni!r} at {pt!r}")
            checked.append((pt, yi, ni))
        for (pt, yi, ni), inf, art in zip(checked, infos, arts, strict=True):
            trial = self._find_pending(pt) or self._new_trial(pt)
            if trial in self._requeue:
                self._requeue.remove(trial)
            if yi is None:
                err = (inf or {}).get("error") if isinstance(inf, dict) else None
                if self.study is not None:
                    self.study.fail(trial, err, inf)
                else:
                    trial.state, trial.error, trial.told, trial.info = "failed", err, time.time(), \
                        dict(inf or {})
            else:
                nv = None if ni is None else float(ni)
                if self.study is not None:
                    self.study.complete(trial, yi, nv, inf, art)
                else:
                    trial.state, trial.y, trial.noise, trial.told = "complete", yi, nv, time.time()
                    trial.info = dict(inf or {})
        if fit:
            self._refit()
        from tuner.result import build_result  # local import: result depends on optimizer
        return build_result(self, search=False)

    def _check_value(self, y: Any, pt: list[Any]) -> float:
        if isinstance(y, np.ndarray) and y.size == 1:
            y = y.item()
        if not isinstance(y, (int, float, np.floating, np.integer)) or isinstance(y, bool):
            raise EvaluationError(f"objective values must be real numbers, got {y!r} at {pt!r}")
        y = float(y)
        if not math.isfinite(y):
            raise EvaluationError(
                f"objective value must be finite, got {y!r} at {pt!r}; tell(x, None) records a "
                "failed evaluation")
        if self.y_warp == "log" and y <= 0:
            raise EvaluationError(f"y_warp='log' needs objective values > 0, got {y!r} at {pt!r}")
        return y

    def _find_pending(self, pt: list[Any]) -> Trial | None:
        u = self.space.to_unit([pt])[0]
        for t in self.trials:
            if t.state == "pending" and np.max(np.abs(self.space.to_unit([t.x])[0] - u)) <= 1e-12:
                return t
        return None

    # --- model -----------------------------------------------------------------------------------
    @property
    def _known_noise(self) -> bool:
        return not isinstance(self.noise, str) or any(t.noise is not None for t in self.complete)

    def _warp(self, y: np.ndarray, var: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        if self.y_warp == "log":
            return np.log(y), None if var is None else var / y**2
        return y, var

    def _imputed(self) -> list[Trial]:
        """Failed trials that enter the model with the worst observed value (``failures="worst"``)."""
        if self.failures != "worst" or len(self.complete) < 2:
            return []
        return [t for t in self.trials if t.state == "failed"]

    def _training_data(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        done = self.complete
        failed = self._imputed()
        X = self._tensor(self.space.to_unit([t.x for t in done + failed]))
        y = np.array([t.y for t in done], dtype=float)
        y = np.concatenate([y, np.full(len(failed), y.max())])
        var = None
        if self._known_noise:
            default = float(self.noise) if not isinstance(self.noise, str) else 0.0
            var = np.array([default if t.noise is None else t.noise for t in done], dtype=float)
            var = np.concatenate([var, np.full(len(failed), float(np.median(var)))])
        wy, wvar = self._warp(y, var)
        Y = self._tensor(-wy[:, None])
        Yvar = None
        if wvar is not None:
            scale = max(float(np.var(wy)), 1e-12)
            # GPyTorch's fixed-noise likelihood rounds standardised variances below 1e-6 up (and
            # warns on every call): floor them here, just above that
            Yvar = self._tensor(np.maximum(wvar, 2e-6 * scale)[:, None])
        return X, Y, Yvar

    def _refit(self) -> None:
        n_ok = len(self.complete)
        n = n_ok + len(self._imputed())
        if n_ok < 2 or n_ok < min(self.n_initial_points, 2) or n == self._model_n:
            return
        t0 = time.perf_counter()
        X, Y, Yvar = self._training_data()
        model = build_gp(X, Y, Yvar, cat_dims=list(self.space.cat_dims),
                         min_noise=self.model_config.min_noise)
        cfg = self.model_config
        optimise = n < cfg.always_refit_below or n >= (1 + cfg.refit_growth) * self._fit_n
        self.model = fit_gp(model, self._warm_state, cfg, optimise=optimise)
        self._warm_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self._model_n = n
        if optimise or self._fit_n == 0:
            self._fit_n = n
        self.timings["fit"] += time.perf_counter() - t0

    def predict(self, points: Sequence[Sequence[Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the objective (in the warped scale).

        Raises:
            TunerError: no model has been fitted yet.
        """
        if self.model is None:
            raise TunerError("no surrogate yet: tell at least 2 results first")
        X = self._tensor(self.space.to_unit(points))
        with torch.no_grad(), gp_settings():
            post = self.model.posterior(X)
            mean = -post.mean.squeeze(-1).cpu().numpy()
            std = post.variance.clamp_min(0).sqrt().squeeze(-1).cpu().numpy()
        return mean, std

    def unwarp(self, v: np.ndarray | float) -> np.ndarray | float:
        """Map a value of the model scale back to the objective's scale."""
        return np.exp(v) if self.y_warp == "log" else v

    def recommend(self, search: bool = True) -> tuple[list[Any], float, float] | None:
        """The minimiser of the posterior mean over the evaluated points, and by L-BFGS from the
        best of them when ``search`` (continuous spaces).

        Returns:
            ``(x, mean, std)`` with mean and std on the model's (warped) scale, or ``None``
            without a model.
        """
        if self.model is None or not self.complete:
            return None
        Xs = [t.x for t in self.complete]
        mean, _ = self.predict(Xs)
        best = [Xs[int(np.argmin(mean))]]
        if search and not self.space.discrete_dims and not self.space.cat_dims:
            # refine only within a trust region (10% of each range) around the best evaluated
            # point: far from the data the mean reverts to the prior and would pull the
            # "minimum" into unexplored corners
            mb = self.space.model_bounds
            u0 = self.space.to_unit([best[0]])[0]
            tr = 0.1 * (mb[1] - mb[0])
            bounds = self._tensor(np.stack([np.maximum(mb[0], u0 - tr), np.minimum(mb[1], u0 + tr)]))
            init = self._tensor(u0[None, None, :])
            order = [0]
            with torch.random.fork_rng(devices=[]), gp_settings():
                torch.manual_seed(self._seed)
                try:
                    cand, _ = optimize_acqf(PosteriorMean(self.model), bounds=bounds, q=1,
                                            num_restarts=len(order), batch_initial_conditions=init,
                                            options={"maxiter": 100})
                    best.append(self.space.from_unit(cand.detach().cpu().numpy())[0])
                except Exception:
                    pass
        m, s = self.predict(best)
        i = int(np.argmin(m))
        return best[i], float(m[i]), float(s[i])
