"""Generator-tune benchmarks: closure (pulls vs evaluations) and the real ALEPH data.

    python benchmarks/tune_lep.py closure [--events 100000] [--budget 40] [--workers 2]
    python benchmarks/tune_lep.py data    [--events 100000] [--budget 60] [--reference 4]
                                          [--model-error 0.05] [--workers 2]
    python benchmarks/tune_lep.py scouting [--seeds 3] [--workers 2]
    python benchmarks/tune_lep.py shapes  [--events 250000] [--budget 40] [--reference 4] [--workers 2]
                                          [--replay STUDY_DB --after K]

closure: the 6 parameters of arXiv 2505.11675, pseudo-data at a non-default truth; per parameter
the pull (fit - truth) / uncertainty and |fit - truth| / range, from the first k evaluations.
data: the same parameters against ALEPH 1996 (+ PDG multiplicities); the tune after `budget`
evaluations and its reference of `reference` x the budget (as for shapes below), chi2 at Monash and
at each with the same validation events and an independent seed, and which parameters end at a
range edge or unconstrained; `--model-error` adds a relative model-error floor to the chi2.
scouting: the embedded two-parameter closure with and without scouting (evaluations starting at a
quarter of the events and ramping up); events generated until the recommendation lies within 5%
of each range of the truth, per seed.
shapes: BayesOptPythia's objective (ALEPH 1996 d01-d07, 250k events per evaluation; arXiv
2505.11675), the tune after `budget` evaluations and a reference tune of `reference` x the budget
(the same study continued: its evaluations up to the budget are the tune's, whose second half
after the design refines the tune where a fresh run of the larger budget would still explore),
both validated on the same 1M events (4 x events) with an independent seed against Monash; which
parameters each leaves unconstrained. ``--replay STUDY_DB --after K``: start the tune from the first K
evaluations of a stored study of the same configuration (a copy; the original is not touched),
to compare proposers that differ only after evaluation K.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _config(name: str, events: int, budget: int, emulator: bool = True, model_error: float = 0.0,
            scouting: int | None = None, seed: int | None = None):
    from tuner.mc.config import config_from_dict

    d = yaml.safe_load((ROOT / "examples" / name).read_text())
    d["events"], d["budget"], d["emulator"] = events, budget, emulator
    if model_error:
        d["model_error"] = model_error
    d.pop("scouting", None)  # flat unless --scouting: every recorded command keeps its meaning
    if scouting:
        d["scouting"] = {"start_events": scouting}
    if seed is not None:
        d["seed"] = seed
    d.pop("validation_events", None)
    return config_from_dict(d, ROOT / "examples")


def _recommend_after(out: Path, cfg, k: int, setup=None):
    """The recommendation from the first k evaluations of a stored tune."""
    from tuner.mc.analyses import Fills, normalise
    from tuner.mc.workflow import prepare, recommend
    from tuner.optimizer import Optimizer
    from tuner.storage import Study

    setup = setup or prepare(cfg)
    study = Study(out / "study.db", __import__("tuner").Space(setup.space))
    trials = study.trials()[:k]
    opt = Optimizer(setup.space, n_initial_points=cfg.n_initial, random_state=cfg.seed,
                    y_warp="log")
    done = [t for t in trials if t.state == "complete"]
    opt.tell([t.x for t in done], [t.y for t in done], noise=[t.noise for t in done])
    vectors = None
    if cfg.emulator:  # opt numbers the told trials 0.. in the order of `done`
        vectors = {i: setup.vector(normalise(Fills.from_bytes(study.artifact(t.id) or b""), setup.refs))
                   for i, t in enumerate(done)}
    return recommend(opt, setup, vectors)


def _timed_tune(config: str, default_out: str, args: argparse.Namespace):
    """Run (or resume) the tune of ``examples/<config>``: ``(cfg, out, result, wall seconds)``."""
    from tuner.mc.workflow import run_tune

    cfg = _config(config, args.events, args.budget, not args.no_emulator, args.model_error,
                  args.scouting, args.seed)
    out = Path(args.out or default_out)
    t0 = time.perf_counter()
    res = run_tune(cfg, out, workers=args.workers, progress=False,
                   resume=(out / "study.db").exists())
    return cfg, out, res, time.perf_counter() - t0


def closure(args: argparse.Namespace) -> None:
    cfg, out, res, wall = _timed_tune("closure_6params.yaml", "bench-closure", args)
    truth = cfg.closure["truth"]  # type: ignore[index]
    print(f"\nClosure, 6 parameters, {args.events} events/evaluation, {wall:.0f} s wall\n")
    print("| evaluations | parameter | truth | fit | uncertainty | pull | abs error / range |")
    print("|---|---|---|---|---|---|---|")
    for k in sorted({min(args.budget, v) for v in (20, 30, 40, args.budget)}):
        r = res if k == args.budget else _recommend_after(out, cfg, k)
        for p in cfg.parameters:
            fit, sig, tr = r.best[p.name], r.uncertainties[p.name], truth[p.name]
            print(f"| {k} | {p.name} | {tr} | {fit:.4g} | {sig:.2g} | {(fit - tr) / sig:+.2f} | "
                  f"{abs(fit - tr) / (p.high - p.low):.3f} |")
    print(json.dumps({"validation_chi2_tune": res.validation.tune.chi2,
                      "nbins": res.validation.tune.nbins}))


def copy_first_trials(study: Path, after: int, here: Path) -> None:
    """A copy of the study file ``study`` in the new folder ``here`` (as ``study.db``) keeping its
    first ``after`` trials (also used by ``tune_closure.py --replay``). Copied through SQLite's
    backup, so trials still in the source's write-ahead log come along.

    Raises:
        SystemExit: ``study`` holds no tune, or fewer than ``after`` trials.
    """
    import sqlite3

    src = sqlite3.connect(f"file:{study}?mode=ro", uri=True)
    try:
        n = src.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise SystemExit(f"{study}: not a study with trials ({exc}); was that tune ever run?") from exc
    if n < after:
        raise SystemExit(f"{study} holds {n} trials; replaying after {after} needs at least {after}")
    here.mkdir(parents=True)
    con = sqlite3.connect(here / "study.db")
    src.backup(con)
    src.close()
    with con:
        con.execute("DELETE FROM trials WHERE id NOT IN (SELECT id FROM trials ORDER BY id LIMIT ?)",
                    (after,))
    con.close()


def _tune_and_reference(config: str, default_out: str, args: argparse.Namespace) -> list:
    """The tune of ``examples/<config>`` after ``args.budget`` evaluations and its reference of
    ``args.reference`` x the budget (the same study continued), each run or resumed in its own
    folder: ``[(label, budget, cfg, result, wall seconds), ...]``."""
    import shutil

    out = Path(args.out or default_out)
    rows = []
    for label, b in (("tune", args.budget), ("reference", args.budget * args.reference)):
        if label == "reference" and args.reference <= 1:
            break
        here = out / f"budget-{b}"
        if label == "tune" and args.replay and not here.exists():
            copy_first_trials(Path(args.replay), args.after, here)
        if label == "reference" and not here.exists():  # continue a copy of the tune's study
            here.mkdir(parents=True)
            shutil.copy(out / f"budget-{args.budget}" / "study.db", here / "study.db")
        run = argparse.Namespace(**{**vars(args), "budget": b, "out": str(here)})
        cfg, _, res, wall = _timed_tune(config, str(here), run)
        rows.append((label, b, cfg, res, wall))
    return rows


def _print_runs(title: str, rows: list) -> None:
    """Chi2 of each run against Monash on the same validation events, and its parameters."""
    v0 = rows[0][3].validation
    print(f"\n{title}; validation with {v0.events} events, seed {v0.seed}\n")
    print("| run | evaluations | chi2 tune | bins | chi2 Monash | tune / Monash | best single evaluation "
          "| unconstrained | at range edge | wall s |\n|---|---|---|---|---|---|---|---|---|---|")
    for label, b, _, res, wall in rows:
        v = res.validation.to_dict()
        print(f"| {label} | {b} | {v['tune']['chi2']:.1f} +- {v['tune']['chi2_sd']:.2g} | "
              f"{v['tune']['nbins']} | {v['default']['chi2']:.1f} +- {v['default']['chi2_sd']:.2g} | "
              f"{v['tune']['chi2'] / v['default']['chi2']:.3f} | "
              f"{res.chi2_best_evaluated:.1f} | {', '.join(res.unconstrained) or '-'} | "
              f"{', '.join(res.at_edge) or '-'} | {wall:.0f} |")
    if len(rows) > 1:
        (t, ts), (r, rs) = ((row[3].validation.tune.chi2, row[3].validation.tune.chi2_sd)
                            for row in rows)
        err = t / r * math.hypot(ts / t, rs / r)
        print(f"\ntune / reference: {t / r:.4f} +- {err:.4f} (target <= 1.01; +- the two "
              "validations' Monte Carlo spread: one seed each, see validation_spread.py)")
    print("\n| parameter | " + " | ".join(f"{lab} ({b})" for lab, b, *_ in rows) + " |\n|---|"
          + "---|" * len(rows))
    for p in rows[0][2].parameters:
        print(f"| {p.name} | " + " | ".join(f"{res.best[p.name]:.4g} +- {res.uncertainties[p.name]:.2g}"
                                             for _, _, _, res, _ in rows) + " |")


def data(args: argparse.Namespace) -> None:
    rows = _tune_and_reference("tune_aleph_6params.yaml", "bench-data", args)
    floor = f", model error {args.model_error:g}" if args.model_error else ""
    _print_runs(f"ALEPH 1996 + PDG, 6 parameters, {args.events} events per evaluation{floor}", rows)


def shapes(args: argparse.Namespace) -> None:
    rows = _tune_and_reference("tune_aleph_eventshapes.yaml", "bench-shapes", args)
    _print_runs(f"ALEPH 1996 d01-d07 (137 bins), 6 parameters, {args.events} events per evaluation",
                rows)


def scouting(args: argparse.Namespace) -> None:
    from tuner.mc.config import default_config
    from tuner.mc.workflow import prepare, run_tune

    print("\n| seed | scouting | evaluations to 5% | events to 5% | events in the run |")
    print("|---|---|---|---|---|")
    totals: dict[bool, list[float]] = {True: [], False: []}
    for seed in range(1, args.seeds + 1):
        for scout in (False, True):
            cfg = default_config()
            cfg.seed, cfg.budget = seed, 20
            if scout:
                cfg.scouting = {"start_events": cfg.events // 4, "ramp": 10}
            out = Path(args.out or "bench-scouting") / f"s{seed}-{int(scout)}"
            run_tune(cfg, out, workers=args.workers, progress=False, resume=(out / "study.db").exists())
            setup = prepare(cfg)
            from tuner.storage import Study

            trials = Study(out / "study.db", __import__("tuner").Space(setup.space)).trials()
            truth = cfg.closure["truth"]  # type: ignore[index]
            hit = None
            for k in range(cfg.n_initial + 2, len(trials) + 1):
                r = _recommend_after(out, cfg, k, setup)
                if all(abs(r.best[p.name] - truth[p.name]) <= 0.05 * (p.high - p.low)
                       for p in cfg.parameters):
                    hit = k
                    break
            events = sum(t.info.get("events", 0) for t in trials[:hit]) if hit else float("nan")
            totals[scout].append(events)
            print(f"| {seed} | {'on' if scout else 'off'} | {hit or 'not reached'} | {events:.0f} | "
                  f"{sum(t.info.get('events', 0) for t in trials)} |")
    import numpy as np

    for scout in (False, True):
        print(f"median events to 5%, scouting {'on' if scout else 'off'}: "
              f"{np.nanmedian(totals[scout]):.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("mode", choices=["closure", "data", "scouting", "shapes"])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--events", type=int, default=None, help="default 100000 (shapes: 250000)")
    ap.add_argument("--reference", type=int, default=4,
                    help="data, shapes: the reference's budget factor (1: no reference)")
    ap.add_argument("--model-error", type=float, default=0.0,
                    help="data, shapes: a relative model-error floor in the chi2")
    ap.add_argument("--budget", type=int, default=None)
    ap.add_argument("--replay", default=None, help="data, shapes: a stored study.db to start the tune from")
    ap.add_argument("--after", type=int, default=0, help="data, shapes: with --replay, its trials kept")
    ap.add_argument("--scouting", type=int, default=None, metavar="START",
                    help="data, shapes: evaluations start at START events and ramp geometrically to "
                         "--events over 60%% of the budget (the config's scouting; without it the "
                         "tune is flat, whatever the example says)")
    ap.add_argument("--seed", type=int, default=None,
                    help="data, shapes, closure: the config's seed (default: the example's)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None)
    ap.add_argument("--no-emulator", action="store_true",
                    help="propose and recommend from the chi2 surrogate only")
    args = ap.parse_args()
    args.budget = args.budget or (60 if args.mode == "data" else 40)
    args.events = args.events or (250_000 if args.mode == "shapes" else 100_000)
    {"closure": closure, "data": data, "scouting": scouting, "shapes": shapes}[args.mode](args)


if __name__ == "__main__":
    main()
