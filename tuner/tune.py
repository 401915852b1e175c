"""The generator-tuning workflow as a library call (the CLI and notebooks use it).

config -> validated setup (settings, ranges, reference files, histogram selection: all checked
before any event) -> [closure pseudo-data] -> study (SQLite) -> rounds of ``ask(batch)`` ->
evaluations on local processes or a Dask cluster -> chi2 + its MC variance -> ``tell`` (the raw
fills stored with each evaluation) -> recommended tune (minimum of the surrogate's posterior mean)
with uncertainties -> validation run -> ``tune.cmnd``, ``summary.json``, plots.
"""

from __future__ import annotations

import json
import time
import warnings
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from tuner.analyses import ANALYSES, Fills, normalise
from tuner.emulator import MIN_EVALUATIONS, HistogramEmulator
from tuner.errors import ConfigError, StorageError, TunerError
from tuner.generation import RunSpec, generate, needed_refs
from tuner.generators.pythia import format_setting
from tuner.loop import run_trials
from tuner.objective import Chi2, chi2, hessian, histogram_weight, select_histograms
from tuner.optimizer import Optimizer
from tuner.refdata import RefHisto, write_yoda
from tuner.space import Real
from tuner.study import Trial
from tuner.tuneconfig import TuneConfig, load_refs

__all__ = ["TuneResult", "TuneSetup", "evaluate_point", "prepare", "recommend", "run_tune"]


@dataclass
class TuneSetup:
    """A configuration checked against Pythia and the reference files, ready to run."""

    config: TuneConfig
    data: dict[str, RefHisto]
    keys: list[str]
    refs: dict[str, RefHisto]
    space: list[Real]

    def spec(self, point: dict[str, float] | None = None, fault: str | None = None) -> RunSpec:
        return RunSpec({**self.config.fixed, **(point or {})}, tuple(self.config.analyses),
                       self.refs, self.config.preset, self.config.sqrt_s, fault=fault)

    def score(self, fills: Fills | dict[str, RefHisto]) -> Chi2:
        """The chi2 of raw fills, or of histograms :func:`normalise` has already made of them."""
        sim = normalise(fills, self.refs) if isinstance(fills, Fills) else fills
        return chi2(sim, self.data, self.keys, self.config.weights, self.config.model_error)

    def vector(self, sim: dict[str, RefHisto]) -> tuple[np.ndarray, np.ndarray]:
        """Values and errors of the selected normalised histograms, concatenated (the emulator's
        input)."""
        return (np.concatenate([sim[k].values for k in self.keys]),
                np.concatenate([sim[k].errors for k in self.keys]))

    def stored_vectors(self, opt: Optimizer) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """:meth:`vector` of every completed trial whose fills are in the study (trial id ->)."""
        out = {}
        for t in opt.complete:
            blob = opt.study.artifact(t.id) if opt.study is not None else None
            if blob is not None:
                out[t.id] = self.vector(normalise(Fills.from_bytes(blob), self.refs))
        return out

    def emulator(self, opt: Optimizer, vectors: dict[int, tuple[np.ndarray, np.ndarray]],
                 seed: int = 0) -> HistogramEmulator:
        """Fit the histogram emulator to the completed trials of ``opt`` that have histograms in
        ``vectors`` (trial id -> values and errors from :meth:`vector`)."""
        done = [t for t in opt.complete if t.id in vectors]
        cfg = self.config
        return HistogramEmulator.fit(
            np.asarray(opt.space.to_unit([t.x for t in done])),
            np.stack([vectors[t.id][0] for t in done]), np.stack([vectors[t.id][1] for t in done]),
            np.concatenate([self.data[k].values for k in self.keys]),
            np.concatenate([self.data[k].errors for k in self.keys]),
            np.concatenate([np.full(self.data[k].nbins, histogram_weight(k, cfg.weights))
                            for k in self.keys]), cfg.model_error, seed=seed)


def prepare(cfg: TuneConfig) -> TuneSetup:
    """Validate everything that can be checked without events.

    Raises:
        ConfigError: a selection that matches no filled histogram, a binning that cannot be filled,
            or a reference file that lacks every histogram of an analysis.
    """
    all_refs = load_refs(cfg)
    refs = needed_refs(all_refs, cfg.analyses)
    for a in cfg.analyses:
        if not any(k.startswith(a + "/") for k in refs):
            raise ConfigError(f"no reference histogram of analysis {a} in the reference files "
                              f"{cfg.refdata or ['(embedded binning)']}")
    try:
        for a in cfg.analyses:
            ANALYSES[a](refs)  # books every histogram: refuses bins it cannot fill
    except TunerError as exc:
        raise ConfigError(f"binning mismatch: {exc}") from None
    keys = select_histograms(refs, cfg.histograms, cfg.exclude)
    if not keys:
        raise ConfigError(f"the histogram selection {cfg.histograms} minus {cfg.exclude} is empty")
    space = [Real(p.low, p.high, prior="log-uniform" if p.log else "uniform", name=p.name)
             for p in cfg.parameters]
    return TuneSetup(cfg, dict(refs), keys, refs, space)


def make_pseudodata(setup: TuneSetup, workers: int = 1) -> dict[str, RefHisto]:
    """Closure pseudo-data at the truth point: values and statistical errors of the sample."""
    cl = setup.config.closure
    assert cl is not None
    fills = generate(setup.spec(cl["truth"]), int(cl["events"]), setup.config.seed + 999_983,
                     n_workers=workers)
    sim = normalise(fills, setup.refs)
    return {k: RefHisto(f"/REF/{k}", h.xlow, h.xhigh, h.values, h.errors, "closure pseudo-data")
            for k, h in sim.items()}


def evaluate_point(spec: RunSpec, n_events: int, seed: int,
                   stderr_path: str | None = None) -> dict[str, Any]:
    """Worker side of one evaluation: generate and return the raw fills (serialised).

    The worker's stderr goes to ``stderr_path`` while it runs, so a crash leaves its last words.
    """
    t0 = time.perf_counter()
    fills = generate(spec, n_events, seed, stderr_path=stderr_path)
    return {"fills": fills.to_bytes(), "seconds": time.perf_counter() - t0}


@dataclass
class TuneResult:
    """Outcome of a tune."""

    best: dict[str, float]
    uncertainties: dict[str, float]
    chi2_surrogate: float
    chi2_best_evaluated: float
    at_edge: list[str]
    validation: dict[str, Any] = field(default_factory=dict)
    n_evaluations: int = 0
    n_failed: int = 0
    events_generated: int = 0
    surrogate: str = "chi2 GP"
    uncertainty_from_emulator: dict[str, float] = field(default_factory=dict)


def _head_tail(text: str, n: int = 3000) -> str:
    """First and last ``n`` characters (a crash's own message comes before the fault dump)."""
    return text if len(text) <= 2 * n else f"{text[:n]}\n[...]\n{text[-n:]}"


def _executor(workers: int, scheduler: str | None) -> tuple[Any, int, Any]:
    if scheduler is not None:
        from distributed import Client

        client = Client(scheduler)
        n = max(1, sum(client.nthreads().values()))
        return client.get_executor(pure=False), n, client
    from joblib.externals.loky import get_reusable_executor

    return get_reusable_executor(max_workers=workers, timeout=120), workers, None


def run_tune(cfg: TuneConfig, out: str | Path, workers: int = 1, scheduler: str | None = None,
             resume: bool = False, progress: bool = True, fault_at: int | None = None) -> TuneResult:
    """Run (or resume) a tune and write its outputs.

    Args:
        cfg: The configuration.
        out: Output folder (holds ``study.db``, ``tune.cmnd``, ``summary.json``, ``plots/``).
        workers: Local worker processes (ignored with ``scheduler``).
        scheduler: Address of a Dask scheduler to evaluate on.
        resume: Continue the study in ``out``; without it an existing study is an error.
        progress: Show a progress bar.
        fault_at: Testing hook: evaluation index whose worker crashes hard.

    Raises:
        ConfigError: invalid configuration (before any event is generated).
        StorageError: a study exists in ``out`` and ``resume`` is not set.
    """
    setup = prepare(cfg)
    out = Path(out)
    db = out / "study.db"
    if db.exists() and not resume:
        raise StorageError(f"a study already exists in {out}; pass --resume to continue it or "
                           "choose another --out (nothing was changed)")
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1, default=str))
    if cfg.closure is not None:
        pseudo = out / "pseudodata.yoda"
        if pseudo.exists():
            from tuner.refdata import read_yoda

            setup.data = {k: v for k, v in read_yoda(pseudo).items() if k in setup.refs}
        else:
            setup.data = make_pseudodata(setup, workers)
            write_yoda(setup.data.values(), pseudo)
    opt = Optimizer(setup.space, n_initial_points=cfg.n_initial, initial_point_generator="sobol",
                    random_state=cfg.seed, y_warp="log", storage=str(db))
    resumed = {t.id for t in opt.pending}  # asked before an interruption: asked again first
    if not opt.trials and cfg.start_at_default:
        from tuner.generators.pythia import setting_range

        default = [min(max(setting_range(p.name)[2], p.low), p.high) for p in cfg.parameters]
        opt.enqueue(default)
    pool, n_par, client = _executor(workers, scheduler)
    batch = cfg.batch or n_par
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    names = [p.name for p in cfg.parameters]

    def n_told() -> int:
        return sum(1 for t in opt.trials if t.state != "pending")

    def submit(trial: Trial) -> Future[Any]:
        fault = "segv" if fault_at is not None and trial.id == fault_at else None
        spec = setup.spec(dict(zip(names, trial.x, strict=True)), fault)
        err = str(logs / f"trial-{trial.id}.stderr") if scheduler is None else None
        return pool.submit(evaluate_point, spec, cfg.events_for(trial.id), int(trial.seed or 0), err)

    def restart() -> None:
        nonlocal pool, n_par, client
        old = client
        pool, n_par, client = _executor(workers, scheduler)
        if old is not None:
            old.close()

    bar = tqdm(total=cfg.budget, initial=min(n_told(), cfg.budget), desc="tune", unit="eval",
               disable=not progress, dynamic_ncols=True)

    def handle(trial: Trial, res: Any, exc: BaseException | None) -> None:
        n_ev = cfg.events_for(trial.id)
        if exc is not None:
            errfile = logs / f"trial-{trial.id}.stderr"
            stderr = _head_tail(errfile.read_text(errors="replace")) if errfile.exists() else ""
            opt.tell(trial.x, None, info={"error": f"{type(exc).__name__}: {exc}"[-2000:],
                                          "stderr": stderr, "events": n_ev}, fit=False)
        else:
            sim = normalise(Fills.from_bytes(res["fills"]), setup.refs)
            c = setup.score(sim)
            vectors[trial.id] = setup.vector(sim)
            info = {"events": n_ev, "seconds": res["seconds"], "chi2": c.total, "nbins": c.nbins,
                    "per_hist": {k: v[0] for k, v in c.per_hist.items()},
                    "proposer": proposer(trial.id)}
            opt.tell(trial.x, max(c.total, 1e-9), noise=max(c.variance, 1e-12), info=info,
                     artifact=res["fills"], fit=False)
        bar.update(1)

    def after_round() -> bool:
        if opt.complete:
            bar.set_postfix(best_chi2=f"{min(opt.yi):.1f}")
        return False

    # the histograms of every evaluation, for the emulator (read back from the study on resume)
    vectors = setup.stored_vectors(opt) if cfg.emulator else {}
    emulated: set[int] = set()
    n_design = cfg.n_initial + int(cfg.start_at_default)

    def proposer(trial_id: int) -> str:
        if trial_id in emulated:
            return "emulator"
        if trial_id in resumed:
            return "asked before the resume"
        return "design" if trial_id < n_design else "chi2 GP"

    def ask(n: int) -> list[Trial]:
        """After the design, the histogram emulator proposes the first point of each round; the
        chi2 GP proposes the others (and all of them if the emulator cannot be fitted).

        (Measured on the 6-parameter closure with 2 workers: the emulator's joint q = 2 batches
        paired each good point with a far exploratory one and ended at a worse chi2 than this
        mix; BENCHMARKS.md section 3.)"""
        if (cfg.emulator and len(opt.trials) >= n_design and len(vectors) >= MIN_EVALUATIONS
                and n > opt.n_queued):
            try:
                emu = setup.emulator(opt, vectors, seed=cfg.seed + len(opt.trials))
                pend = [t.x for t in opt.pending]
                U = emu.propose(opt.space.model_bounds,
                                np.asarray(opt.space.to_unit(pend)) if pend else None,
                                seed=cfg.seed + len(opt.trials))
                emulated.add(opt.enqueue(opt.space.from_unit(U)[0]).id)
            except Exception as exc:  # a failed fit must not stop the tune: the chi2 GP proposes
                warnings.warn(f"histogram emulator failed ({type(exc).__name__}: {exc}); "
                              "the chi2 surrogate proposes this round", RuntimeWarning, stacklevel=2)
        return opt.ask_trials(n)

    try:
        run_trials(opt, submit, restart=restart, width=lambda: batch,
                   remaining=lambda: cfg.budget - n_told(), handle=handle, after_round=after_round,
                   ask=ask)
    finally:
        bar.close()
        if client is not None:
            client.close()
    result = recommend(opt, setup, vectors)
    result.validation = validate(setup, result.best, workers)
    write_outputs(out, setup, opt, result)
    return result


def recommend(opt: Optimizer, setup: TuneSetup,
              vectors: dict[int, tuple[np.ndarray, np.ndarray]] | None = None) -> TuneResult:
    """The tune: the minimiser of the predicted chi2, with uncertainties.

    With the emulator on in the configuration and the histograms of at least
    ``MIN_EVALUATIONS`` trials in ``vectors`` (trial id of ``opt`` -> :meth:`TuneSetup.vector`),
    the predicted chi2 is the one of the emulated histograms (minimised from
    the chi2 surrogate's choice and the five best evaluations); otherwise it is the chi2
    surrogate's posterior mean, refined within a trust region around the best evaluation.
    Uncertainties come from the curvature of that predicted chi2 at its minimum: ``cov = 2 H^-1``
    (the delta-chi2 = 1 ellipse of a quadratic chi2, profiled over the other parameters), plus,
    with the emulator, the spread of the minimum over the emulator's posterior
    (:meth:`HistogramEmulator.minimum_covariance`); a parameter whose curvature is not positive
    gets its half range.
    """
    cfg = setup.config
    names = [p.name for p in cfg.parameters]
    done = opt.complete
    if opt.model is None or not done:
        raise TunerError("no successful evaluation: nothing to recommend")
    rec = opt.recommend(search=True)
    assert rec is not None
    x = np.array(rec[0], dtype=float)
    lo = np.array([p.low for p in cfg.parameters])
    hi = np.array([p.high for p in cfg.parameters])

    n = len(x)
    sig_emu: dict[str, float] = {}
    emulator = None
    if cfg.emulator and vectors is not None and len(vectors) >= MIN_EVALUATIONS:
        emulator = setup.emulator(opt, vectors, seed=cfg.seed)
    if emulator is not None:
        starts = [rec[0]] + [t.x for t in sorted(done, key=lambda t: float(t.y or 0.0))[:5]]
        u = emulator.minimum(np.asarray(opt.space.to_unit(starts)), opt.space.model_bounds,
                             seed=cfg.seed)
        x = np.array(opt.space.from_unit(u[None])[0], dtype=float)
        f0 = float(emulator.chi2(u)[0])
        cov_d, cov_e = emulator.minimum_covariance(u, seed=cfg.seed)
        # unit cube -> parameters (linear, or exponential for log-scale parameters)
        eps = 1e-6
        shifted = np.array(opt.space.from_unit(np.concatenate([u + eps * np.eye(n), u - eps * np.eye(n)])),
                           dtype=float)
        jac = np.diag(shifted[:n] - shifted[n:]) / (2 * eps)
        cov = jac[:, None] * (cov_d + cov_e) * jac[None, :]
        sig = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
        sig_emu = dict(zip(names, (np.sqrt(np.abs(np.diag(cov_e))) * np.abs(jac)).tolist(), strict=True))
    else:
        def f(V: np.ndarray) -> np.ndarray:
            return np.exp(opt.predict(np.clip(V, lo, hi).tolist())[0])

        f0 = float(f(x[None])[0])
        H = hessian(f, x, 1e-3 * (hi - lo))
        try:
            cov = 2 * np.linalg.inv(H)
            sig = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
        except np.linalg.LinAlgError:
            sig = np.full(n, np.nan)
    sig = np.where(np.isfinite(sig), sig, (hi - lo) / 2)
    edge = [nm for nm, v, a, b in zip(names, x, lo, hi, strict=True)
            if min(v - a, b - v) < 0.01 * (b - a)]
    return TuneResult(best=dict(zip(names, x.tolist(), strict=True)),
                      uncertainties=dict(zip(names, sig.tolist(), strict=True)),
                      chi2_surrogate=f0, chi2_best_evaluated=float(min(opt.yi)), at_edge=edge,
                      n_evaluations=len(done), n_failed=sum(t.state == "failed" for t in opt.trials),
                      events_generated=int(sum(t.info.get("events", 0) for t in opt.trials
                                               if t.state != "pending")),
                      surrogate="chi2 GP" if emulator is None else "histogram emulator",
                      uncertainty_from_emulator=sig_emu)


def validate(setup: TuneSetup, best: dict[str, float], workers: int = 1) -> dict[str, Any]:
    """Chi2 at the tune and at the default (fixed settings only), same events, independent seed."""
    cfg = setup.config
    n = cfg.validation_events or 4 * cfg.events
    seed = cfg.seed + 7_777_777
    out: dict[str, Any] = {"events": n, "seed": seed}
    for label, point in (("tune", best), ("default", {})):
        fills = generate(setup.spec(point), n, seed, n_workers=workers)
        c = setup.score(fills)
        out[label] = {"chi2": c.total, "nbins": c.nbins,
                      "per_hist": {k: v[0] for k, v in c.per_hist.items()}}
        out[f"_fills_{label}"] = fills
    out["tune_better_than_default"] = bool(out["tune"]["chi2"] < out["default"]["chi2"])
    return out


def write_outputs(out: Path, setup: TuneSetup, opt: Optimizer, result: TuneResult) -> None:
    """``tune.cmnd``, ``summary.json``, YODA files of the validation runs, and the plots."""
    from tuner import plots

    cfg = setup.config
    lines = [f"! Tune by tuner: {result.n_evaluations} evaluations of {cfg.events} events, "
             f"chi2 {result.validation.get('tune', {}).get('chi2', float('nan')):.1f} "
             f"({setup.keys.__len__()} histograms)"]
    lines += [format_setting(k, v) for k, v in cfg.fixed.items()]
    lines += [format_setting(k, float(f"{v:.6g}")) for k, v in result.best.items()]
    (out / "tune.cmnd").write_text("\n".join(lines) + "\n")
    sims = {}
    for label in ("tune", "default"):
        fills = result.validation.pop(f"_fills_{label}", None)
        if fills is not None:
            sims[label] = normalise(fills, setup.refs)
            write_yoda([RefHisto(f"/{k}", h.xlow, h.xhigh, h.values, h.errors)
                        for k, h in sims[label].items()], out / f"{label}.yoda")
    summary = {
        "tune": result.best, "uncertainties": result.uncertainties,
        "uncertainty_method": f"2 H^-1 of the chi2 predicted by the {result.surrogate} at its minimum "
                              "(delta-chi2 = 1)" + (" plus the spread of that minimum over the "
                                                    "emulator's posterior" if
                                                    result.uncertainty_from_emulator else ""),
        "surrogate": result.surrogate,
        "uncertainty_from_emulator": result.uncertainty_from_emulator,
        "chi2_surrogate_at_tune": result.chi2_surrogate,
        "chi2_best_evaluation": result.chi2_best_evaluated,
        "parameters_at_range_edge": result.at_edge, "validation": result.validation,
        "n_evaluations": result.n_evaluations, "n_failed": result.n_failed,
        "events_generated": result.events_generated, "histograms": setup.keys,
        "closure_truth": (cfg.closure or {}).get("truth"),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=float))
    plots.tune_plots(out / "plots", setup, opt, result, sims)
