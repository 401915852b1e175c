"""A tune run, as a library call (the CLI and notebooks use it).

config -> :func:`~tuner.mc.setup.prepare` (everything checked before any event) ->
:class:`TuneRun` (opens or resumes the study in the output folder: locked, fingerprinted,
nothing written before every check has passed) -> rounds of proposals
(:mod:`tuner.mc.proposers`) evaluated on local processes or a Dask cluster
(:class:`Evaluator`) -> :func:`~tuner.mc.recommend.recommend` -> :func:`~tuner.mc.validation.validate`
-> :mod:`tuner.mc.outputs` and :mod:`tuner.mc.plots`.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from tuner.errors import StorageError, TunerError
from tuner.execution.executors import process_pool
from tuner.execution.loop import run_trials
from tuner.mc import plots
from tuner.mc.analyses import Fills, normalise
from tuner.mc.config import TuneConfig, config_from_dict
from tuner.mc.html import write_html_report
from tuner.mc.outputs import write_outputs
from tuner.mc.proposers import TuneState, make_proposer
from tuner.mc.recommend import TuneResult, recommend
from tuner.mc.refdata import read_yoda, write_yoda
from tuner.mc.runs import evaluate_point, head_tail
from tuner.mc.setup import TuneSetup, check_generator, make_pseudodata, prepare
from tuner.mc.validation import validate
from tuner.optimizer import Optimizer
from tuner.space import Space
from tuner.storage import Study, Trial

__all__ = ["Evaluation", "Evaluator", "TuneResult", "TuneRun", "TuneSetup", "check_out_folder",
           "evaluate_point", "prepare", "recommend", "run_tune"]


def check_out_folder(out: str | Path, resume: bool = False) -> None:
    """Check, leaving nothing behind, that a tune can start (or with ``resume`` continue) in
    ``out``: a folder, or a path whose nearest existing parent is a writable folder; empty or new
    for a fresh start, holding a study to resume (``run --dry-run`` checks this too).

    Writability is probed by making and removing an empty folder in that parent: permission
    bits alone pass a root user on a read-only or virtual file system (``/proc``).

    Raises:
        StorageError: naming the folder and what is wrong with it.
    """
    out = Path(out)
    db = out / "study.db"
    if out.exists() and not out.is_dir():
        raise StorageError(f"--out must be a folder, got the file {out}")
    if resume and not db.exists():
        raise StorageError(f"nothing to resume: {out} holds no study.db")
    if not resume and db.exists():
        raise StorageError(f"a study already exists in {out}; pass --resume to continue it or "
                           "choose another --out (nothing was changed)")
    if not resume and out.is_dir() and any(p.name != ".lock" for p in out.iterdir()):
        raise StorageError(f"{out} is not empty and holds no study: choose an empty or new --out "
                           "(nothing was changed)")
    parent = out.absolute()
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise StorageError(f"cannot use {out} as the output folder: {parent} is not a writable "
                           "folder")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".tuner-probe-", dir=parent))
    except OSError as e:
        raise StorageError(f"cannot use {out} as the output folder: nothing can be created in "
                           f"{parent} ({e.strerror or e})") from None


@dataclass
class Evaluation:
    """One finished evaluation: its chi2 (or the error that ended it) and its histograms."""

    trial: Trial
    events: int
    chi2: float | None = None
    variance: float | None = None
    nbins: int = 0
    per_hist: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    fills: bytes | None = field(default=None, repr=False)
    vector: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    error: str | None = None
    stderr: str = ""


def connect_scheduler(address: str) -> Any:
    """A Dask client of the scheduler at ``address``.

    Raises:
        TunerError: it cannot be reached (one line naming the address, not dask's traceback).
    """
    from distributed import Client

    try:
        return Client(address)
    except (OSError, TimeoutError, ValueError) as exc:
        raise TunerError(f"cannot reach the Dask scheduler at {address!r}: {exc}; start one "
                         "(`dask scheduler`, then `dask worker ADDRESS`) or leave out --scheduler "
                         "to evaluate on local processes") from None


class Evaluator:
    """Runs evaluations on an executor (local processes or a Dask scheduler) and scores them."""

    def __init__(self, setup: TuneSetup, workers: int, scheduler: str | None, logs: Path,
                 fault_at: int | None = None) -> None:
        self.setup, self.workers, self.scheduler, self.logs = setup, workers, scheduler, logs
        self.fault_at = fault_at
        self.client: Any = None
        self.pool: Any = None
        self.n_parallel = workers
        self.restart()

    def restart(self) -> None:
        """A fresh executor (after a worker crash broke the pool)."""
        old = self.client
        if self.scheduler is not None:
            self.client = connect_scheduler(self.scheduler)
            self.n_parallel = max(1, sum(self.client.nthreads().values()))
            self.pool = self.client.get_executor(pure=False)
        else:
            self.pool = process_pool(self.workers)
        if old is not None:
            old.close()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    def submit(self, trial: Trial) -> Future[Any]:
        cfg = self.setup.config
        names = [p.name for p in cfg.parameters]
        fault = "segv" if self.fault_at is not None and trial.id == self.fault_at else None
        spec = self.setup.spec(dict(zip(names, trial.x, strict=True)), fault)
        err = str(self.logs / f"trial-{trial.id}.stderr") if self.scheduler is None else None
        return self.pool.submit(evaluate_point, spec, cfg.events_for(trial.id), int(trial.seed or 0), err)

    def score(self, trial: Trial, res: Any, exc: BaseException | None) -> Evaluation:
        """The typed record of a finished evaluation."""
        n_ev = self.setup.config.events_for(trial.id)
        if exc is not None:
            errfile = self.logs / f"trial-{trial.id}.stderr"
            stderr = head_tail(errfile.read_text(errors="replace")) if errfile.exists() else ""
            return Evaluation(trial, n_ev, error=f"{type(exc).__name__}: {exc}"[-2000:], stderr=stderr)
        sim = normalise(Fills.from_bytes(res["fills"]), self.setup.refs)
        c = self.setup.score(sim)
        return Evaluation(trial, n_ev, c.total, c.variance, c.nbins,
                          {k: v[0] for k, v in c.per_hist.items()}, res["seconds"], res["fills"],
                          self.setup.vector(sim))


class TuneRun:
    """A tune's output folder and its study, owned by one process at a time.

    :meth:`open` starts or resumes a tune; :meth:`load` opens a finished or interrupted one for
    ``rescore`` and ``report``. Either way the study must match the configuration's fingerprint
    (:meth:`TuneSetup.fingerprint`), and nothing in the folder is written before every check
    has passed.
    """

    def __init__(self, out: Path, setup: TuneSetup, opt: Optimizer, lock: Any = None) -> None:
        self.out, self.setup, self.opt, self._lock = out, setup, opt, lock

    # --- opening --------------------------------------------------------------------------
    @staticmethod
    def _lock_folder(out: Path) -> Any:
        try:
            out.mkdir(parents=True, exist_ok=True)
            fh = open(out / ".lock", "a+")
        except OSError as exc:
            raise StorageError(f"cannot use {out} as the output folder: {exc}") from None
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise StorageError(f"another process is running a tune in {out} (its lock "
                               f"{out / '.lock'} is held); wait for it or choose another --out") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        return fh

    @staticmethod
    def _check_fingerprint(study: Study, setup: TuneSetup, adopt: bool = True) -> None:
        stored = study.get_meta("fingerprint")
        if stored is None:  # a study of the previous release: adopt the present definition
            if adopt:
                study.set_meta("fingerprint", setup.fingerprint())
            return
        now = setup.fingerprint()
        changed = sorted(k for k in set(stored) | set(now) if stored.get(k) != now.get(k))
        if changed:
            raise StorageError(f"the study in {study.path.parent} was made with other "
                               f"{', '.join(changed)}; a resumed tune must define its evaluations "
                               "as before (nothing was changed); start a new --out instead")

    @classmethod
    def check_resumable(cls, setup: TuneSetup, out: str | Path) -> None:
        """What :meth:`open` with ``resume`` checks of the study in ``out`` (its space and the
        definition of its evaluations), writing nothing: ``run --dry-run --resume``.

        Raises:
            StorageError: as :meth:`open`.
        """
        study = Study(Path(out) / "study.db", Space(setup.space), create=False)
        try:
            cls._check_fingerprint(study, setup, adopt=False)
        finally:
            study.close()

    @classmethod
    def open(cls, setup: TuneSetup, out: str | Path, resume: bool = False,
             workers: int = 1) -> TuneRun:
        """Start a tune in an empty (or new) folder, or resume the one in ``out``.

        Raises:
            StorageError: ``resume`` without a usable study in ``out``, or one made with another
                definition; a fresh start where a study or other files already are; a folder
                another process is tuning in.
        """
        out = Path(out)
        db = out / "study.db"
        check_out_folder(out, resume)
        lock = cls._lock_folder(out)
        study = None
        try:
            if resume:
                study = Study(db, Space(setup.space), create=False)
                cls._check_fingerprint(study, setup)
            else:
                study = Study(db, Space(setup.space), meta={"fingerprint": setup.fingerprint()})
            run = cls(out, setup, cls._optimizer(setup, study), lock)
            (out / "config.json").write_text(json.dumps(setup.config.to_dict(), indent=1, default=str))
            run._closure_data(workers, reuse=resume)
        except BaseException:
            if study is not None:
                study.close()
            lock.close()
            raise
        return run

    @classmethod
    def load(cls, folder: str | Path) -> TuneRun:
        """Open the tune stored in ``folder`` (its config.json and study.db) without running it.

        Raises:
            StorageError: no tune there, or a study that does not match its configuration.
        """
        folder = Path(folder)
        cfg_path = folder / "config.json"
        if not (folder / "study.db").exists() or not cfg_path.exists():
            raise StorageError(f"{folder} holds no tune (study.db and config.json are needed)")
        try:
            raw = json.loads(cfg_path.read_text())
        except (OSError, ValueError) as exc:
            raise StorageError(f"{cfg_path} is not readable JSON: {exc}") from None
        embedded = bool(raw.pop("embedded_binning", False))
        cfg = config_from_dict(raw, folder, where=str(cfg_path))
        cfg.embedded_binning = embedded
        setup = prepare(cfg)
        study = Study(folder / "study.db", Space(setup.space), create=False)
        try:
            cls._check_fingerprint(study, setup)
        except StorageError:
            study.close()
            raise
        run = cls(folder, setup, cls._optimizer(setup, study))
        run._closure_data(1, reuse=True, write=False)
        return run

    @staticmethod
    def _optimizer(setup: TuneSetup, study: Study) -> Optimizer:
        cfg = setup.config
        return Optimizer(setup.space, n_initial_points=cfg.n_initial, initial_point_generator="sobol",
                         random_state=cfg.seed, y_warp="log", storage=study)

    def _closure_data(self, workers: int, reuse: bool, write: bool = True) -> None:
        """Closure pseudo-data: read back from the study's folder when resuming (the fingerprint
        guarantees the same truth), made and written otherwise."""
        if self.setup.config.closure is None:
            return
        pseudo = self.out / "pseudodata.yoda"
        if reuse and pseudo.exists():
            self.setup.data = {k: v for k, v in read_yoda(pseudo).items() if k in self.setup.refs}
            return
        self.setup.data = make_pseudodata(self.setup, workers)
        if write:
            write_yoda(self.setup.data.values(), pseudo)

    def close(self) -> None:
        self.opt.storage.close()
        if self._lock is not None:
            self._lock.close()

    # --- running --------------------------------------------------------------------------
    def state(self) -> TuneState:
        """What the proposers see, with the histograms stored so far."""
        cfg = self.setup.config
        vectors = self.setup.stored_vectors(self.opt.storage, self.opt.trials) if cfg.emulator else {}
        return TuneState(self.opt, self.setup, vectors, cfg.n_initial + int(cfg.start_at_default))

    def evaluate(self, workers: int, scheduler: str | None, progress: bool,
                 fault_at: int | None = None) -> TuneState:
        """Evaluate until the budget is spent; returns the final state."""
        cfg, opt = self.setup.config, self.opt
        proposer = make_proposer(cfg.strategy)
        for t in opt.pending:  # asked before an interruption: asked again first
            proposer.labels[t.id] = "asked before the resume"
        if not opt.trials and cfg.start_at_default:
            from tuner.mc.generators.pythia import setting_range

            t = opt.enqueue([min(max(setting_range(p.name)[2], p.low), p.high) for p in cfg.parameters])
            proposer.labels[t.id] = "design"
        state = self.state()
        logs = self.out / "logs"
        logs.mkdir(exist_ok=True)
        ev = Evaluator(self.setup, workers, scheduler, logs, fault_at)
        told = lambda: sum(1 for t in opt.trials if t.state != "pending")  # noqa: E731
        bar = tqdm(total=cfg.budget, initial=min(told(), cfg.budget), desc="tune", unit="eval",
                   disable=not progress, dynamic_ncols=True)

        def handle(trial: Trial, res: Any, exc: BaseException | None) -> None:
            e = ev.score(trial, res, exc)
            info: dict[str, Any] = {"events": e.events}
            if e.error is not None:
                opt.tell_trial(trial, None, info={**info, "error": e.error, "stderr": e.stderr})
            else:
                assert e.chi2 is not None and e.variance is not None and e.vector is not None
                state.vectors[trial.id] = e.vector
                info.update(seconds=e.seconds, chi2=e.chi2, nbins=e.nbins, per_hist=e.per_hist,
                            proposer=proposer.labels.get(trial.id, "chi2 GP"))
                opt.tell_trial(trial, max(e.chi2, 1e-9), noise=max(e.variance, 1e-12), info=info,
                               artifact=e.fills)
            bar.update(1)

        def after_round() -> bool:
            if opt.complete:
                bar.set_postfix(best_chi2=f"{min(opt.yi):.1f}")
            return False

        try:
            run_trials(opt, ev.submit, restart=ev.restart, width=lambda: cfg.batch or ev.n_parallel,
                       remaining=lambda: cfg.budget - told(), handle=handle,
                       after_round=after_round, ask=lambda n: proposer.propose(n, state),
                       ordered=True)
        finally:
            bar.close()
            ev.close()
        return state


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
        StorageError: see :meth:`TuneRun.open`.
    """
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise TunerError(f"workers must be an int >= 1, got {workers!r}")
    setup = prepare(cfg)
    check_generator(cfg)
    if scheduler is not None:  # before the study is created: a wrong address leaves nothing behind
        connect_scheduler(scheduler).close()
    run = TuneRun.open(setup, out, resume=resume, workers=workers)
    try:
        state = run.evaluate(workers, scheduler, progress, fault_at)
        result = recommend(run.opt, run.setup, state.vectors if cfg.emulator else None,
                           progress=progress)
        result.validation = validate(run.setup, result.best, workers, progress)
        sims = write_outputs(run.out, run.setup, result)
        plots.tune_plots(run.out / "plots", run.setup, run.opt, result, sims)
        write_html_report(run.out)
    finally:
        run.close()
    return result
