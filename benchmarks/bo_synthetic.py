"""Side-by-side BO benchmark: tuner vs scikit-optimize vs Optuna GPSampler vs random search.

Usage: python benchmarks/bo_synthetic.py [--seeds 10] [--problems branin,hartmann6,...]
       [--methods tuner,skopt,optuna,random] [--scaling] [--out results.json]

Prints two markdown tables: median simple regret and optimiser seconds per evaluation for each
problem and method, and (with --scaling) seconds per ask+tell against the number of observations
in 6-D. For the noisy problem the regret is the true (noise-free) value at each method's
recommended point minus the optimum: tuner's ``x_recommended`` (posterior-mean minimiser), the best
observed point for the others (they have no recommendation).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from problems import PROBLEMS, Problem, hartmann6

warnings.filterwarnings("ignore")


def _noisy(p: Problem, seed: int):
    rng = np.random.default_rng(10_000 + seed)
    if p.noise_sd == 0:
        return p.f
    return lambda x: p.f(x) + rng.normal(0, p.noise_sd)


def run_tuner(p: Problem, seed: int) -> tuple[float, float]:
    from tuner import gp_minimize

    f = _noisy(p, seed)
    t0 = time.perf_counter()
    res = gp_minimize(f, p.bounds, n_calls=p.n_calls, random_state=seed, progress=False)
    wall = time.perf_counter() - t0
    x = res.x_recommended if p.noise_sd else res.x
    return p.f(x) - p.fmin, wall / p.n_calls


def run_skopt(p: Problem, seed: int) -> tuple[float, float]:
    from skopt import gp_minimize

    f = _noisy(p, seed)
    t0 = time.perf_counter()
    res = gp_minimize(f, p.bounds, n_calls=p.n_calls, random_state=seed)
    wall = time.perf_counter() - t0
    return p.f(res.x) - p.fmin, wall / p.n_calls


def run_optuna(p: Problem, seed: int) -> tuple[float, float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    f = _noisy(p, seed)
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=seed))

    def obj(t):
        return f([t.suggest_float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(p.bounds)])

    t0 = time.perf_counter()
    study.optimize(obj, n_trials=p.n_calls)
    wall = time.perf_counter() - t0
    x = [study.best_params[f"x{i}"] for i in range(len(p.bounds))]
    return p.f(x) - p.fmin, wall / p.n_calls


def run_random(p: Problem, seed: int) -> tuple[float, float]:
    f = _noisy(p, seed)
    rng = np.random.default_rng(seed)
    lo, hi = np.array(p.bounds).T
    t0 = time.perf_counter()
    X = lo + rng.random((p.n_calls, len(lo))) * (hi - lo)
    ys = [f(x) for x in X]
    wall = time.perf_counter() - t0
    return p.f(X[int(np.argmin(ys))]) - p.fmin, wall / p.n_calls


METHODS = {"tuner": run_tuner, "skopt": run_skopt, "optuna": run_optuna, "random": run_random}


def scaling(sizes: list[int], device: str | None, optuna_max: int) -> list[dict]:
    """Seconds per ask+tell after n observations of Hartmann6 (6-D)."""
    from tuner import Optimizer

    rows = []
    for n in sizes:
        rng = np.random.default_rng(n)
        X = rng.random((n, 6)).tolist()
        Y = [hartmann6(x) for x in X]
        opt = Optimizer([(0.0, 1.0)] * 6, n_initial_points=0, random_state=0, device=device)
        opt.tell(X, Y)  # first (cold) fit, not timed
        reps = 9 if n <= 500 else 3  # cheap calls: more of them, so that the median means something
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            x = opt.ask()
            opt.tell(x, hartmann6(x))
            times.append(time.perf_counter() - t0)
        row = {"n": n, "device": device or "cpu", "tuner": float(np.median(times))}
        if n <= optuna_max:
            import optuna
            from optuna.distributions import FloatDistribution

            optuna.logging.set_verbosity(optuna.logging.ERROR)
            dists = {f"x{i}": FloatDistribution(0, 1) for i in range(6)}
            study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=0))
            study.add_trials([optuna.trial.create_trial(
                params={f"x{i}": v for i, v in enumerate(x)}, distributions=dists, value=y)
                for x, y in zip(X, Y, strict=True)])
            otimes = []
            for _ in range(reps + 1):
                t0 = time.perf_counter()
                tr = study.ask(dists)
                study.tell(tr, hartmann6([tr.params[f"x{i}"] for i in range(6)]))
                otimes.append(time.perf_counter() - t0)
            row["optuna"] = float(np.median(otimes[1:]))  # the first ask fits from scratch
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--problems", default="branin,hartmann6,ackley5,noisy_hartmann6")
    ap.add_argument("--methods", default="tuner,skopt,optuna,random")
    ap.add_argument("--scaling", action="store_true", help="also time ask+tell vs observations")
    ap.add_argument("--sizes", default="100,500,1000,2000")
    ap.add_argument("--device", default=None)
    ap.add_argument("--optuna-max", type=int, default=1000)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    results: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for pname in args.problems.split(","):
        p = PROBLEMS[pname]
        for m in args.methods.split(","):
            for seed in range(args.seeds):
                r = METHODS[m](p, seed)
                results.setdefault(pname, {}).setdefault(m, []).append(r)
                print(json.dumps({"problem": pname, "method": m, "seed": seed, "regret": r[0],
                                  "sec_per_eval": r[1]}), flush=True)
    methods = args.methods.split(",")
    print(f"\nMedian simple regret over {args.seeds} seeds (median optimiser s/eval in brackets)\n")
    print("| problem (calls) | " + " | ".join(methods) + " |")
    print("|---|" + "---|" * len(methods))
    for pname, by_m in results.items():
        p = PROBLEMS[pname]
        cells = [f"{np.median([r[0] for r in by_m[m]]):.3g} ({np.median([r[1] for r in by_m[m]]):.3g} s)"
                 for m in methods]
        print(f"| {p.name} ({p.n_calls}) | " + " | ".join(cells) + " |")
    rows = []
    if args.scaling:
        rows = scaling([int(s) for s in args.sizes.split(",")], args.device, args.optuna_max)
        print("\nSeconds per ask+tell, Hartmann6 (6-D)\n")
        print("| observations | device | tuner | Optuna GPSampler |\n|---|---|---|---|")
        for r in rows:
            o = f"{r['optuna']:.3g}" if "optuna" in r else "not run"
            print(f"| {r['n']} | {r['device']} | {r['tuner']:.3g} | {o} |")
    if args.out:
        Path(args.out).write_text(json.dumps({"results": results, "scaling": rows}, indent=1))


if __name__ == "__main__":
    main()
