"""Closure at many truths: the 6-parameter closure repeated at K seeded truths, per strategy.

Each truth is drawn uniformly from the central 60% of every range of ``examples/closure_6params.yaml``
(seeded by ``--seed``); pseudo-data are generated there, and every strategy tunes the same
pseudo-data with the same budget, seed and events per evaluation. Per truth and strategy:
the largest ``|fit - truth| / range`` of the values Pythia runs with (a ``TimeShower:pTmin``
below the floor Pythia raises it to counts as the floor: every lower value gives the same events),
the same of the values as given, the largest ``|pull|``, and the first checkpoint (every
``--every`` evaluations after the design, and the last) where the emulator's minimum from the
evaluations so far lies within 5% of every range of the truth.

    python benchmarks/tune_closure.py --truths 5 --strategies emulator,sobol \\
        [--events 100000 --pseudo-events 1000000 --budget 40] [--parallel 2] [--out DIR]
        [--events 140000 --scouting 40000]   # scouting, as the real-data example tunes
        [--only 4,2,3]   # some of the drawn truths, run in this order; rows already in
                         # DIR/closure.json are kept, and each finished tune is added to it at once
        [--example closure_10params.yaml --workers 2]   # the 10-parameter moonshot (60 evaluations)
        [--pool DIR1 DIR2 ...]  # one table and the joint coverage over earlier runs' rows
        [--tune-seed 3]  # the same truths, another seed of the tunes and of the pseudo-data:
                         # how much a truth's result moves from seed to seed (one folder per seed)
    (``professor`` proposes Sobol's points: its rows are made from the Sobol tunes' evaluations,
    of the same run or of an earlier one into the same folder, with its own recommendation)
    python benchmarks/tune_closure.py --replay DIR/truth0-emulator --after 27 --out OUT
                         # a copy of a stored tune cut after 27 evaluations, resumed to its budget
                         # with the code on the path: proposers that differ after evaluation 27
                         # compared on the same first 27 (--after defaults to where the stored
                         # tune's refining phase starts: 27 for the 40-evaluation closure;
                         # --after 40, the budget: the stored evaluations recommended again)
"""

from __future__ import annotations

import argparse
import json
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import yaml
from scipy.stats import chi2 as chi2_dist

ROOT = Path(__file__).resolve().parents[1]


def truths(k: int, seed: int, example: str = "closure_6params.yaml") -> list[dict[str, float]]:
    """``k`` truths, uniform in the central 60% of each range of a closure example."""
    d = yaml.safe_load((ROOT / "examples" / example).read_text())
    rng = np.random.default_rng(seed)
    return [{name: float(lo + (0.2 + 0.6 * rng.random()) * (hi - lo))
             for name, (lo, hi) in d["parameters"].items()} for _ in range(k)]


def _config(truth: dict[str, float], a: argparse.Namespace, strategy: str):
    from tuner.mc.config import config_from_dict

    d = yaml.safe_load((ROOT / "examples" / a.example).read_text())
    d.update(events=a.events, budget=a.budget, initial=a.initial, strategy=strategy,
             closure={"truth": truth, "events": a.pseudo_events})
    if a.tune_seed is not None:  # else the example's
        d["seed"] = a.tune_seed
    d.pop("emulator", None)
    d.pop("scouting", None)  # flat unless --scouting
    if a.scouting:
        d["scouting"] = {"start_events": a.scouting}
    return config_from_dict(d, ROOT / "examples")


def _trajectory(out: Path, cfg, every: int, truth_run: dict[str, float]) -> list[tuple[int, float]]:
    """(evaluations, max |recommendation - truth| / range) at every checkpoint: the minimum of
    the emulator fitted to the evaluations so far, or of Professor's polynomials for
    ``professor`` (the values Pythia runs with, as :func:`_errors_and_pulls`; ``truth_run``
    the truth's)."""
    from tuner.mc.generators.cutoffs import values_used
    from tuner.mc.recommend import polynomial_minimum
    from tuner.mc.workflow import TuneRun

    run = TuneRun.load(out)
    opt, setup, state = run.opt, run.setup, run.state()
    done = [t for t in opt.complete if t.id in state.vectors]
    lo, hi = (np.array([getattr(p, k) for p in cfg.parameters]) for k in ("low", "high"))
    names = [p.name for p in cfg.parameters]
    truth = np.array([truth_run[n] for n in names])
    rows = []
    ks = list(range(cfg.n_initial + every, len(done) + 1, every))
    for k in ks + ([len(done)] if len(done) not in ks else []):  # and the end of the budget
        sub = done[:k]
        U = np.asarray(opt.space.to_unit([t.x for t in sub]))
        if cfg.strategy == "professor":  # from every run, 16 Sobol points and the best run
            values = np.stack([state.vectors[t.id][0] for t in sub])
            best = U[int(np.argmin([t.y for t in sub]))]
            u = polynomial_minimum(U, values, setup.data_vector(), cfg.model_error, best, cfg.seed)
            if u is None:  # too few runs for a quadratic: no recommendation of its own yet
                continue
        else:
            emu = setup.emulator(U, [state.vectors[t.id] for t in sub], seed=cfg.seed)
            order = np.argsort(emu.chi2_seen)[:5]
            u = emu.minimum(U[order], np.asarray(opt.space.model_bounds), seed=cfg.seed)
        x_run = values_used(dict(zip(names, opt.space.from_unit(u[None])[0], strict=True)),
                            cfg.fixed, cfg.preset)
        x = np.array([x_run[n] for n in names])
        rows.append((k, float(np.max(np.abs(x - truth) / (hi - lo)))))
    return rows


def _truth_run(cfg) -> dict[str, float]:
    """The closure truth as Pythia runs it (a pTmin below its floor raised to the floor)."""
    from tuner.mc.generators.cutoffs import values_used

    return values_used(cfg.closure["truth"], cfg.fixed, cfg.preset)


def _errors_and_pulls(cfg, res, truth_run: dict[str, float]
                      ) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Per parameter: |fit - truth| / range of the values Pythia runs with (a pTmin below the
    floor Pythia raises it to counts as that floor, for the fit and for the truth: every value
    below gives the same events, :mod:`tuner.mc.generators.cutoffs`), the same of the values
    as given, and (fit - truth) / quoted sigma of the values as given (``truth_run``: the
    truth as Pythia runs it)."""
    from tuner.mc.generators.cutoffs import values_used

    truth = cfg.closure["truth"]
    fit_run = values_used(res.best, cfg.fixed, cfg.preset)
    err = {p.name: abs(fit_run[p.name] - truth_run[p.name]) / (p.high - p.low)
           for p in cfg.parameters}
    err_given = {p.name: abs(res.best[p.name] - truth[p.name]) / (p.high - p.low)
                 for p in cfg.parameters}
    pull = {p.name: (res.best[p.name] - truth[p.name]) / res.uncertainties[p.name]
            for p in cfg.parameters}
    return err, err_given, pull


def _d2(fit: dict[str, float], truth: dict[str, float], names: list[str], cov) -> float:
    """``(fit - truth)^T C^-1 (fit - truth)`` with the quoted covariance ``C``: chi2-distributed
    with as many degrees of freedom as parameters where the covariance is right, correlations
    included (the per-parameter pulls see only its diagonal)."""
    r = np.array([fit[n] - truth[n] for n in names])
    return float(r @ np.linalg.pinv(np.asarray(cov, dtype=float)) @ r)


def _distance2(cfg, res) -> float:
    """:func:`_d2` of a finished tune."""
    return _d2(res.best, cfg.closure["truth"], [p.name for p in cfg.parameters], res.covariance)


def _row(i: int, strategy: str, cfg, out: Path, res, every: int) -> dict:
    """The table's row of one finished closure tune."""
    truth_run = _truth_run(cfg)
    err, err_given, pull = _errors_and_pulls(cfg, res, truth_run)
    traj = _trajectory(out, cfg, every, truth_run)
    hit = next((k for k, e in traj if e < 0.05), None)
    return {"truth": i, "strategy": strategy, "tune_seed": cfg.seed, "max_err": max(err.values()),
            "max_err_given": max(err_given.values()), "err_given": err_given,
            "max_pull": max(abs(v) for v in pull.values()), "err": err, "pull": pull,
            "raised_to_floor": res.raised, "distance2": _distance2(cfg, res),
            "evals_to_5pct": hit, "trajectory": traj, "best": res.best,
            "unconstrained": res.unconstrained,
            "validation_chi2": res.validation.tune.chi2, "nbins": res.validation.tune.nbins,
            "validation_chi2_sd": res.validation.tune.chi2_sd}


def one(job: tuple[int, dict[str, float], str, argparse.Namespace]) -> dict:
    from tuner.mc.workflow import run_tune

    i, truth, strategy, a = job
    cfg = _config(truth, a, strategy)
    out = Path(a.out) / f"truth{i}-{strategy}"
    shutil.rmtree(out, ignore_errors=True)
    res = run_tune(cfg, out, workers=a.workers, progress=False)
    return _row(i, strategy, cfg, out, res, a.every)


def _resume_copy(src: Path, after: int | None, out: Path, strategy: str | None = None,
                 workers: int = 1) -> tuple:
    """Resume a copy of the closure tune in ``src`` in ``out``, from its first ``after``
    evaluations (``None``: all of them), with another ``strategy`` if given: ``(cfg, result)``."""
    from tune_lep import copy_first_trials

    from tuner.mc.config import config_from_dict
    from tuner.mc.workflow import run_tune

    raw = json.loads((src / "config.json").read_text())
    copy_first_trials(src / "study.db", raw["budget"] if after is None else after, out)
    shutil.copy(src / "pseudodata.yoda", out / "pseudodata.yoda")
    raw.pop("embedded_binning", None)
    if strategy is not None:
        raw["strategy"] = strategy
    cfg = config_from_dict(raw, out)  # the resumed tune writes its config.json itself
    return cfg, run_tune(cfg, out, workers=workers, progress=False, resume=True)


def professor_from_sobol(job: tuple[int, dict[str, float], str, argparse.Namespace]) -> dict:
    """Professor's row from the evaluations of the Sobol tune of the same truth: both strategies
    propose the same scrambled Sobol points with the same seeds (``tuner.mc.proposers.design``),
    so they differ only in the recommendation, made here from a copy of that study."""
    i, _, _, a = job
    src, out = Path(a.out) / f"truth{i}-sobol", Path(a.out) / f"truth{i}-professor"
    shutil.rmtree(out, ignore_errors=True)
    cfg, res = _resume_copy(src, None, out, "professor", a.workers)
    return _row(i, "professor", cfg, out, res, a.every)


def replay(src: Path, after: int, out: Path, workers: int = 1) -> None:
    """Resume a copy of the closure tune in ``src`` from its first ``after`` evaluations with
    ``workers`` evaluation processes; print its errors and pulls (one JSON line).

    A tune with ``workers`` processes keeps that many evaluations running and proposes the next
    one when the oldest ends (:func:`tuner.execution.loop.run_trials`, ordered): each proposal is
    made with the ``workers - 1`` before it still running. A replay starts with all ``after``
    evaluations done, so with more than one worker its first proposal already knows what the
    original's did not, and the replay is another realisation of the tune, not its continuation
    (session 29's note in BENCHMARKS.md section 3); with one worker it is the continuation."""
    if workers > 1:
        print(f"warning: with --workers {workers} the original proposed evaluation {after} while "
              f"the {workers - 1} before it were still running; this replay knows them all, so it "
              "is another realisation of the tune, not its continuation")
    cfg, res = _resume_copy(src, after, out, workers=workers)
    err, err_given, pull = _errors_and_pulls(cfg, res, _truth_run(cfg))
    row = {"max_err": max(err.values()), "max_err_given": max(err_given.values()),
           "max_pull": max(map(abs, pull.values())), "err": err, "pull": pull,
           "best": res.best, "uncertainties": res.uncertainties,
           "raised_to_floor": res.raised, "distance2": _distance2(cfg, res),
           "validation_chi2": res.validation.tune.chi2, "nbins": res.validation.tune.nbins,
           "validation_chi2_sd": res.validation.tune.chi2_sd,
           "best_evaluation": res.chi2_best_evaluated}
    print(json.dumps(row))
    truth, _, strategy = src.resolve().name.removeprefix("truth").partition("-")
    if truth.isdigit() and strategy:  # a row --pool can read beside the runs' own
        _save(out, [{"truth": int(truth), "strategy": strategy, "replayed_after": after, **row}])


def _refining_start(src: Path) -> int:
    """The evaluations after which the stored tune in ``src`` stops exploring (its budget and
    design size under today's :func:`~tuner.mc.proposers.histograms.final_phase_start`)."""
    from tuner.mc.proposers.histograms import final_phase_start

    raw = json.loads((src / "config.json").read_text())
    return final_phase_start(int(raw["budget"]), int(raw["initial"]))


def _previous(out: Path, done: set[tuple[int, str]]) -> list[dict]:
    """Rows of an earlier run into the same folder (``--only`` splits a study over runs)."""
    f = out / "closure.json"
    if not f.exists():
        return []
    return [r for r in json.loads(f.read_text()) if (r["truth"], r["strategy"]) not in done]


def _save(out: Path, rows: list[dict]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "closure.json").write_text(json.dumps(rows, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--truths", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1, help="seed of the truth draw")
    ap.add_argument("--tune-seed", type=int, default=None,
                    help="the tunes' seed (default: the example's); it also seeds the pseudo-data")
    ap.add_argument("--strategies", default="emulator,chi2-gp,professor,sobol")
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--pseudo-events", type=int, default=1_000_000)
    ap.add_argument("--scouting", type=int, default=None, metavar="START",
                    help="evaluations start at START events and ramp up to --events (the "
                         "real-data example's choice); flat at --events without it")
    ap.add_argument("--budget", type=int, default=None,
                    help="evaluations per tune (default: the example's)")
    ap.add_argument("--initial", type=int, default=None,
                    help="design size (default: the example's)")
    ap.add_argument("--example", default="closure_6params.yaml",
                    help="the closure example under examples/ whose parameters are tuned, e.g. "
                         "closure_10params.yaml (the moonshot)")
    ap.add_argument("--workers", type=int, default=1, help="evaluation processes per tune")
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--out", default="bench-out/closure")
    ap.add_argument("--only", default=None,
                    help="comma-separated truth indices to run (of the --truths drawn), in "
                         "this order, e.g. 4,2,3")
    ap.add_argument("--replay", default=None, help="a stored closure tune's folder (see above)")
    ap.add_argument("--after", type=int, default=None,
                    help="with --replay: the evaluations kept (default: where the stored tune's "
                         "refining phase starts, tuner.mc.proposers.histograms.final_phase_start)")
    ap.add_argument("--pool", nargs="+", default=None, metavar="DIR",
                    help="print one table over the closure.json of earlier runs (no tune), "
                         "for the first of --strategies")
    a = ap.parse_args()
    if a.pool:
        pooled([Path(d) for d in a.pool], a.strategies.split(",")[0])
        return
    if a.replay:
        after = a.after if a.after is not None else _refining_start(Path(a.replay))
        replay(Path(a.replay), after, Path(a.out), a.workers)
        return
    ex = yaml.safe_load((ROOT / "examples" / a.example).read_text())
    a.budget = a.budget or ex["budget"]
    a.initial = a.initial or ex["initial"]
    ts = truths(a.truths, a.seed, a.example)
    strategies = a.strategies.split(",")
    order = range(len(ts)) if a.only is None else [int(i) for i in a.only.split(",")]
    jobs = [(i, ts[i], s, a) for i in order for s in strategies]
    earlier = _previous(Path(a.out), {(i, s) for i, _, s, _ in jobs})
    # Professor evaluates Sobol's points: its rows come from the Sobol tunes of this run, or of an
    # earlier run into the same folder, whenever there are any
    sobol_here = "sobol" in strategies
    derived = {i for i in order if "professor" in strategies
               and (sobol_here or (Path(a.out) / f"truth{i}-sobol" / "study.db").exists())}
    rows: list[dict] = []
    with ProcessPoolExecutor(a.parallel) as pool:
        pending = {}
        for j in jobs:
            if j[2] != "professor" or j[0] not in derived:
                pending[pool.submit(one, j)] = j
            elif not sobol_here:  # else submitted when this run's Sobol tune of the truth ends
                pending[pool.submit(professor_from_sobol, j)] = j
        while pending:
            fut = next(as_completed(pending))
            i, truth, strategy, _ = pending.pop(fut)
            rows.append(fut.result())
            _save(Path(a.out), rows + earlier)  # a stopped run keeps every finished tune
            if strategy == "sobol" and i in derived:
                job = (i, truth, "professor", a)
                pending[pool.submit(professor_from_sobol, job)] = job
    rows += earlier
    events = f"{a.scouting} rising to {a.events}" if a.scouting else f"{a.events}"
    print(f"\n{a.truths} truths (seed {a.seed}), {a.budget} evaluations of {events} events, "
          f"pseudo-data of {a.pseudo_events} events\n")
    for i, t in enumerate(ts):
        print(f"truth {i}: " + ", ".join(f"{k.split(':')[1]} {v:.3g}" for k, v in t.items()))
    _tables(rows, strategies)
    _save(Path(a.out), rows)


def _tables(rows: list[dict], strategies: list[str]) -> None:
    """The per-truth table and the per-strategy summary of ``rows`` (printed)."""
    from tuner.mc.validation import CLOSURE_SDS
    rows.sort(key=lambda r: (r["truth"], r["strategy"]))
    print("\n| truth | strategy | max error / range (as Pythia runs) | as given | max abs pull | "
          "evaluations to 5% | validation chi2 / bins (sd above; the closure rule) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        given = r.get("max_err_given")
        sd = r.get("validation_chi2_sd")
        excess = r["validation_chi2"] - r["nbins"]
        z = "" if not sd else (f" ({excess / sd:+.1f}"
                               f"{'; missed' if excess > CLOSURE_SDS * sd else ''})")
        print(f"| {r['truth']} | {r['strategy']} | {r['max_err']:.3f} | "
              f"{'-' if given is None else f'{given:.3f}'} | {r['max_pull']:.2f} | "
              f"{_reached(r)} | {r['validation_chi2']:.0f} / {r['nbins']}{z} |")
    print("\n| strategy | median max error | worst | median max abs pull | truths with all errors "
          "< 5% and all pulls < 2 | pulls within 1 (coverage) | RMS pull | truths inside the "
          "joint 68% ellipsoid |")
    print("|---|---|---|---|---|---|---|---|")
    for s in strategies:
        rs = [r for r in rows if r["strategy"] == s]
        if not rs:
            continue
        limit = float(chi2_dist.ppf(0.6827, len(rs[0]["pull"])))
        good = sum(r["max_err"] < 0.05 and r["max_pull"] < 2 for r in rs)
        pulls = np.array([v for r in rs for v in r["pull"].values()])
        print(f"| {s} | {np.median([r['max_err'] for r in rs]):.3f} | "
              f"{max(r['max_err'] for r in rs):.3f} | "
              f"{np.median([r['max_pull'] for r in rs]):.2f} | {good} of {len(rs)} | "
              f"{int(np.sum(np.abs(pulls) < 1))} of {len(pulls)} | "
              f"{np.sqrt(np.mean(pulls ** 2)):.2f} | "
              f"{sum(r['distance2'] < limit for r in rs if 'distance2' in r)} of "
              f"{sum('distance2' in r for r in rs)} |")


def _reached(row: dict) -> str:
    """The evaluations to 5% of a row ('-' for a replay, which does not follow the trajectory)."""
    if "evals_to_5pct" not in row:
        return "-"
    return str(row["evals_to_5pct"] or "not reached")


def _summary(folder: Path, row: dict) -> dict | None:
    """The ``summary.json`` of a row's tune: in its own folder for a replay (``closure.json``
    written into it), else in ``truthK-strategy`` beside the run's ``closure.json``."""
    for f in (folder / "summary.json", folder / f"truth{row['truth']}-{row['strategy']}" / "summary.json"):
        if f.exists():
            return json.loads(f.read_text())
    return None


def _stored_distance2(folder: Path, row: dict) -> float | None:
    """A row's d2, or (rows written before it was recorded) computed from its tune's summary."""
    if "distance2" in row:
        return float(row["distance2"])
    s = _summary(folder, row)
    return None if s is None else _d2(s["tune"], s["closure_truth"], s["parameters"], s["covariance"])


def _validation_sd(folder: Path, row: dict) -> float | None:
    """The quoted spread of a row's validation chi2: from the row, else (rows written before it
    was recorded) from its tune's ``summary.json`` (:func:`_summary`)."""
    if row.get("validation_chi2_sd") is not None:
        return float(row["validation_chi2_sd"])
    s = _summary(folder, row)
    return None if s is None else float(s["validation"]["tune"]["chi2_sd"])


def pooled(folders: list[Path], strategy: str) -> None:
    """One table over the rows of ``strategy`` in several runs' ``closure.json`` (a study split
    over sessions or machines; a truth in two folders: the later folder's row), and the joint
    coverage: pulls, the sum of the truths' d2 in the quoted covariances against its chi2
    distribution, and the validation chi2 against the bin count, in units of its quoted spread
    (at the truth the expected validation chi2 is the number of bins)."""
    by_truth: dict[int, tuple[Path, dict]] = {}
    for folder in folders:
        for r in json.loads((folder / "closure.json").read_text()):
            if r["strategy"] == strategy:
                by_truth[r["truth"]] = (folder, r)
    for folder, r in by_truth.values():
        d2 = _stored_distance2(folder, r)
        if d2 is not None:
            r["distance2"] = d2
    rows = [r for _, r in by_truth.values()]
    _tables(rows, [strategy])
    dims = len(rows[0]["pull"])
    d2 = np.array([r["distance2"] for r in rows if "distance2" in r])
    print(f"\njoint: sum of d2 {d2.sum():.1f} on {dims * len(d2)} degrees of freedom "
          f"(p = {chi2_dist.sf(d2.sum(), dims * len(d2)):.2f}); inside the 68% / 95% ellipsoid "
          f"{int(np.sum(d2 < chi2_dist.ppf(0.6827, dims)))} / {int(np.sum(d2 < chi2_dist.ppf(0.95, dims)))} "
          f"of {len(d2)} (rows without d2, written before it was recorded: {len(rows) - len(d2)})")
    val = [(r["validation_chi2"], r["nbins"], _validation_sd(f, r)) for f, r in by_truth.values()]
    z = np.array([(c - n) / sd for c, n, sd in val if sd])
    chi2s = np.array([c for c, _, _ in val])
    print(f"validation chi2: mean {chi2s.mean():.1f} on {val[0][1]} bins, spread between truths "
          f"{chi2s.std(ddof=1):.1f}; (chi2 - bins) / quoted sd: mean {z.mean():+.2f}, RMS "
          f"{np.sqrt(np.mean(z ** 2)):.2f}, largest {z[np.argmax(np.abs(z))]:+.2f} "
          f"({len(z)} truths; median quoted sd {np.median([sd for *_, sd in val if sd]):.1f})")


if __name__ == "__main__":
    main()
