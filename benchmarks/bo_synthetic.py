"""Side-by-side BO benchmark: tuner vs scikit-optimize vs Optuna GPSampler vs random search.

Usage: python benchmarks/bo_synthetic.py [--seeds 10] [--problems all|branin,hartmann6,...]
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from problems import PROBLEMS, Problem, hartmann6

warnings.filterwarnings("ignore")


def _noisy(p: Problem, seed: int):
    rng = np.random.default_rng(10_000 + seed)
    if p.noise_sd == 0:
        return p.f
    return lambda x: p.f(x) + rng.normal(0, p.noise_sd)


def _space(p: Problem, module: Any) -> list[Any]:
    """The problem's dimensions as ``module``'s (tuner or skopt.space) Real / Integer / Categorical,
    named ``x0``, ``x1``, ... (the names Optuna's parameters get from them)."""
    make = {"real": lambda s, n: module.Real(s[1], s[2], name=n),
            "int": lambda s, n: module.Integer(s[1], s[2], name=n),
            "cat": lambda s, n: module.Categorical(s[1], name=n)}
    return [make[s[0]](s, f"x{i}") for i, s in enumerate(p.specs)]


def run_tuner(p: Problem, seed: int, **options: Any) -> tuple[float, float]:
    import tuner
    from tuner import gp_minimize

    f = _noisy(p, seed)
    t0 = time.perf_counter()
    res = gp_minimize(f, _space(p, tuner), n_calls=p.n_calls, random_state=seed, progress=False,
                      **options)
    wall = time.perf_counter() - t0
    x = res.x_recommended if p.noise_sd else res.x
    return p.f(x) - p.fmin, wall / p.n_calls


def run_skopt(p: Problem, seed: int) -> tuple[float, float]:
    import skopt.space
    from skopt import gp_minimize

    f = _noisy(p, seed)
    t0 = time.perf_counter()
    res = gp_minimize(f, _space(p, skopt.space), n_calls=p.n_calls, random_state=seed)
    wall = time.perf_counter() - t0
    return p.f(res.x) - p.fmin, wall / p.n_calls


def run_forest(p: Problem, seed: int, module: str = "tuner") -> tuple[float, float]:
    """``forest_minimize`` (extra trees, EI, its defaults) of ``tuner`` or of scikit-optimize,
    scored at the best evaluated point (neither has a posterior-mean recommendation for trees)."""
    import importlib

    lib = importlib.import_module(module)
    space_module = importlib.import_module("skopt.space" if module == "skopt" else "tuner")
    f = _noisy(p, seed)
    t0 = time.perf_counter()
    extra = {"progress": False} if module == "tuner" else {}
    res = lib.forest_minimize(f, _space(p, space_module), n_calls=p.n_calls, random_state=seed, **extra)
    wall = time.perf_counter() - t0
    return p.f(res.x) - p.fmin, wall / p.n_calls


def run_optuna(p: Problem, seed: int) -> tuple[float, float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    f = _noisy(p, seed)
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=seed))

    from optuna_bridge import suggest

    import tuner

    space = _space(p, tuner)

    def obj(t):
        return f(list(suggest(t, space).values()))

    t0 = time.perf_counter()
    study.optimize(obj, n_trials=p.n_calls)
    wall = time.perf_counter() - t0
    x = [study.best_params[f"x{i}"] for i in range(len(p.specs))]
    return p.f(x) - p.fmin, wall / p.n_calls


def run_random(p: Problem, seed: int) -> tuple[float, float]:
    f = _noisy(p, seed)
    rng = np.random.default_rng(seed)

    def draw(s):
        if s[0] == "cat":
            return s[1][int(rng.integers(len(s[1])))]
        return int(rng.integers(s[1], s[2] + 1)) if s[0] == "int" else float(rng.uniform(s[1], s[2]))

    t0 = time.perf_counter()
    X = [[draw(s) for s in p.specs] for _ in range(p.n_calls)]
    ys = [f(x) for x in X]
    wall = time.perf_counter() - t0
    return p.f(X[int(np.argmin(ys))]) - p.fmin, wall / p.n_calls


def run_tuner_loo(p: Problem, seed: int) -> tuple[float, float]:
    """``tuner`` with the output warp chosen by leave-one-out density (``y_warp="loo"``)."""
    return run_tuner(p, seed, y_warp="loo")


def run_tuner_cat_prior(p: Problem, seed: int, loc: float = 0.0, scale: float = 1.0) -> tuple[float, float]:
    """``tuner`` with a log-normal prior (``loc, scale``; median 1 by default) on the categorical
    kernels' lengthscales (``--methods tuner_cat_prior:LOC:SCALE`` for another)."""
    from tuner.surrogate import SurrogateConfig

    return run_tuner(p, seed, model_config=SurrogateConfig(categorical_prior=(loc, scale)))


def run_tuner_no_exploit(p: Problem, seed: int) -> tuple[float, float]:
    """``tuner`` with the acquisition's choice to the end (``exploit_last=0``, as before session 22)."""
    return run_tuner(p, seed, exploit_last=0)


def run_tuner_logei(p: Problem, seed: int) -> tuple[float, float]:
    """``tuner`` with log-EI at every ask (``acq_func="LogEI"``)."""
    return run_tuner(p, seed, acq_func="LogEI")


def run_tuner_hedge(p: Problem, seed: int) -> tuple[float, float]:
    """``tuner`` with GP-Hedge over log-EI, PI and LCB (``acq_func="gp_hedge"``)."""
    return run_tuner(p, seed, acq_func="gp_hedge")


def run_tuner_mes(p: Problem, seed: int) -> tuple[float, float]:
    """``tuner`` with max-value entropy search (``acq_func="MES"``)."""
    return run_tuner(p, seed, acq_func="MES")


def run_tuner_nei(p: Problem, seed: int) -> tuple[float, float]:
    """``tuner`` with Monte Carlo noisy log-EI at every ask (``acq_func="qLogNEI"``; the default
    uses it only for batches, pending points and known noise)."""
    return run_tuner(p, seed, acq_func="qLogNEI")


def run_tuner_late_nei(p: Problem, seed: int) -> tuple[float, float]:
    """``tuner`` with log-EI for the first half of the budget and Monte Carlo noisy log-EI
    (``qLogNEI``) for the second: ``acq_func="auto"``, the default since session 35, under the
    name it was measured with (then a patch of ``Optimizer.ask_trials``; the library's option
    gave the same regret to the last digit)."""
    return run_tuner(p, seed, acq_func="auto")


def run_tuner_exploit3(p: Problem, seed: int) -> tuple[float, float]:
    """``tuner`` with the last three evaluations at the recommendation (``exploit_last=3``)."""
    return run_tuner(p, seed, exploit_last=3)


def _run_with_power_fit(p: Problem, seed: int, make: Callable[[Any, np.ndarray, float], Any],
                        **options: Any) -> tuple[float, float]:
    """``tuner`` with the power warp's fit (``"power"``, and ``"loo"``'s fallback) replaced by
    ``make(OutputWarp, y, sd)`` where an exponent can be fitted, kept only where it resolves the
    values. Patches the warp in this process: run such a method in a process of its own."""
    from tuner.surrogate import warp as warp_module

    original = warp_module.OutputWarp.fit.__func__  # type: ignore[attr-defined]

    def fit(cls: Any, kind: str, y: Any) -> Any:
        y = np.asarray(y, dtype=float)
        sd = warp_module._spread(y)
        if kind not in ("power", "loo") or sd is None:
            return original(cls, kind, y)
        warp = make(cls, y, sd)
        return warp if warp_module._resolves(warp, y) else cls("power")

    warp_module.OutputWarp.fit = classmethod(fit)  # type: ignore[method-assign,assignment]
    return run_tuner(p, seed, **options)


def run_tuner_shift(p: Problem, seed: int) -> tuple[float, float]:
    """``tuner`` with an experimental shift-invariant power warp: Yeo-Johnson (maximum-likelihood
    exponent) of the values less their minimum, over their standard deviation (session 23; the
    default's Box-Cox / Yeo-Johnson switch depends on where zero is); ``--methods tuner_shift``
    in a process of its own."""
    from tuner.surrogate.warp import _power_exponent

    def shifted(cls: Any, y: np.ndarray, sd: float) -> Any:
        z = (y - y.min()) / sd
        return cls("power", "yeo-johnson", sd, _power_exponent(z, "yeo-johnson"), float(y.min()))

    return _run_with_power_fit(p, seed, shifted, y_warp="power")


def run_tuner_landscape_warp(p: Problem, seed: int, n_points: int = 1024) -> tuple[float, float]:
    """``tuner`` with an experimental power warp whose exponent is fitted to the last model's
    posterior median at ``n_points`` Sobol points of the space (the landscape's distribution of
    values, not the search's, which crowds the basin; session 37). Patches the surrogate in this
    process: run it in a process of its own; continuous spaces only."""
    import torch

    from tuner.surrogate import state as state_module
    from tuner.surrogate import warp as warp_module
    from tuner.surrogate.gp import warped_mean

    original = state_module.Surrogate._choose_warp

    def choose(self: Any, X: Any, y: np.ndarray, var: Any, again: bool = True) -> Any:
        sd = warp_module._spread(y)
        if self.y_warp != "power" or self.model is None or sd is None:
            return original(self, X, y, var, again)
        U = torch.quasirandom.SobolEngine(X.shape[1], scramble=True, seed=0).draw(n_points).to(X)
        pool = np.maximum(self.warp.inverse(warped_mean(self.model, U)), y.min())
        cls = warp_module.OutputWarp
        method = "box-cox" if np.all(y > 0) else "yeo-johnson"
        lam = warp_module._power_exponent(pool / sd, method)
        warp = cls("power", method, sd, lam)
        return warp if warp_module._resolves(warp, y) else cls("power")

    state_module.Surrogate._choose_warp = choose  # type: ignore[method-assign]
    return run_tuner(p, seed, y_warp="power")


def run_tuner_knee(p: Problem, seed: int, q: float = 50.0) -> tuple[float, float]:
    """``tuner`` with an experimental warp ``log(1 + (y - min y) / c)``, ``c`` the ``q``-th
    percentile of ``y - min y``: linear (smooth) at the incumbent on the scale of the values
    told, logarithmic up the walls (session 37); in a process of its own."""
    def knee(cls: Any, y: np.ndarray, sd: float) -> Any:
        return cls.knee(y, q)

    return _run_with_power_fit(p, seed, knee, y_warp="power")


def run_tuner_knee_loo(p: Problem, seed: int) -> tuple[float, float]:
    """``y_warp="loo"`` choosing between HEBO's power warp and the knee at the median (session
    37): since then the library's ``"loo"`` itself, the same runs as ``tuner_loo`` (kept as the
    name session 37's commands use)."""
    return run_tuner(p, seed, y_warp="loo")


METHODS = {"tuner": run_tuner, "tuner_shift": run_tuner_shift, "tuner_no_exploit": run_tuner_no_exploit,
           "tuner_exploit3": run_tuner_exploit3, "tuner_loo": run_tuner_loo,
           "tuner_cat_prior": run_tuner_cat_prior, "tuner_logei": run_tuner_logei,
           "tuner_hedge": run_tuner_hedge, "tuner_mes": run_tuner_mes, "tuner_nei": run_tuner_nei,
           "tuner_late_nei": run_tuner_late_nei,
           "tuner_landscape_warp": run_tuner_landscape_warp,
           "tuner_knee50": run_tuner_knee, "tuner_knee10": lambda p, s: run_tuner_knee(p, s, 10.0),
           "tuner_knee25": lambda p, s: run_tuner_knee(p, s, 25.0), "tuner_knee_loo": run_tuner_knee_loo,
           "tuner_power": lambda p, s: run_tuner(p, s, y_warp="power"), "skopt": run_skopt,
           "optuna": run_optuna, "random": run_random, "tuner_forest": run_forest,
           "skopt_forest": lambda p, s: run_forest(p, s, "skopt")}


def _data(n: int) -> tuple[list[list[float]], list[float]]:
    """``n`` random observations of Hartmann6 (6-D), the same for every size's seed."""
    X = np.random.default_rng(n).random((n, 6)).tolist()
    return X, [hartmann6(x) for x in X]


def _tuner_with(X: list[list[float]], Y: list[float], device: str | None = None,
                y_warp: str = "auto") -> Any:
    """A tuner Optimizer told ``X, Y`` (the first, cold fit happens here, not timed)."""
    from tuner import Optimizer

    opt = Optimizer([(0.0, 1.0)] * 6, n_initial_points=0, random_state=0, device=device, y_warp=y_warp)
    opt.tell(X, Y)
    return opt


def _optuna_with(X: list[list[float]], Y: list[float]) -> tuple[Any, dict[str, Any]]:
    """An Optuna GPSampler study holding ``X, Y``, and its distributions."""
    import optuna
    from optuna.distributions import FloatDistribution

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    dists = {f"x{i}": FloatDistribution(0, 1) for i in range(6)}
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=0))
    study.add_trials([optuna.trial.create_trial(params={f"x{i}": v for i, v in enumerate(x)},
                                                distributions=dists, value=y)
                      for x, y in zip(X, Y, strict=True)])
    return study, dists


def _tuner_step(opt: Any) -> float:
    t0 = time.perf_counter()
    x = opt.ask()
    opt.tell(x, hartmann6(x))
    return time.perf_counter() - t0


def _optuna_step(study: Any, dists: dict[str, Any]) -> float:
    t0 = time.perf_counter()
    tr = study.ask(dists)
    study.tell(tr, hartmann6([tr.params[f"x{i}"] for i in range(6)]))
    return time.perf_counter() - t0


def scaling(sizes: list[int], device: str | None, optuna_max: int, y_warp: str = "auto") -> list[dict]:
    """Seconds per ask+tell after n observations of Hartmann6 (6-D)."""
    rows = []
    for n in sizes:
        X, Y = _data(n)
        t0 = time.perf_counter()
        opt = _tuner_with(X, Y, device, y_warp)
        first = time.perf_counter() - t0
        reps = 9 if n <= 500 else 3  # cheap calls: more of them, so that the median means something
        times = [_tuner_step(opt) for _ in range(reps)]
        row = {"n": n, "device": device or "cpu", "tuner": float(np.median(times)), "first_tell": first}
        if n <= optuna_max:
            study, dists = _optuna_with(X, Y)
            otimes = [_optuna_step(study, dists) for _ in range(reps + 1)]
            row["optuna"] = float(np.median(otimes[1:]))  # the first ask fits from scratch
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def interleaved(n: int, reps: int = 30) -> dict[str, float]:
    """Median seconds per ask+tell at ``n`` observations of Hartmann6 for tuner and Optuna's
    GPSampler, one pair of each in turn (so that both see the same load), and their ratio."""
    X, Y = _data(n)
    opt = _tuner_with(X, Y)
    study, dists = _optuna_with(X, Y)
    _optuna_step(study, dists)  # the first ask fits from scratch: not timed
    ours, theirs = [], []
    for _ in range(reps):
        ours.append(_tuner_step(opt))
        theirs.append(_optuna_step(study, dists))
    row = {"n": n, "tuner": float(np.median(ours)), "optuna": float(np.median(theirs))}
    row["ratio"] = row["tuner"] / row["optuna"]
    return row


def _cell(rs: list[tuple[float, float]]) -> str:
    reg = np.array([r[0] for r in rs])
    q1, med, q3 = np.percentile(reg, [25, 50, 75])
    return f"{med:.3g} [{q1:.2g}, {q3:.2g}]"


def table(results: dict[str, dict[str, list[tuple[float, float]]]], methods: list[str]) -> None:
    """Median regret [interquartile range] per problem and method; tuner against the better of
    the peers (Optuna, scikit-optimize) where both ran."""
    peers = [m for m in ("optuna", "skopt") if m in methods]
    head = " | ".join(methods) + (" | tuner / better peer" if "tuner" in methods and peers else "")
    print("\nMedian simple regret [interquartile range] (median optimiser s/eval below)\n")
    print(f"| problem (calls) | {head} |")
    print("|---|" + "---|" * (len(methods) + ("tuner" in methods and bool(peers))))
    ratios = []
    for pname, by_m in results.items():
        p = PROBLEMS[pname]
        cells = [_cell(by_m[m]) if m in by_m else "" for m in methods]
        here = [m for m in peers if m in by_m]  # the better of the peers that ran
        if "tuner" in methods and here and "tuner" in by_m:
            med = {m: float(np.median([r[0] for r in by_m[m]])) for m in ["tuner", *here]}
            best = min(med[m] for m in here)
            ratio = med["tuner"] / best if best > 0 else float("inf") if med["tuner"] > 0 else 1.0
            ratios.append(ratio)
            cells.append(f"{ratio:.3g}")
        n = min(len(by_m[m]) for m in methods if m in by_m)
        print(f"| {p.name} ({p.n_calls}, {n} seeds) | " + " | ".join(cells) + " |")
    secs = [f"{np.median([r[1] for rs in results.values() for r in rs.get(m, [])]):.3g} s"
            for m in methods]
    print("| median s/eval, all problems | " + " | ".join(secs) + " |")
    if ratios:
        r = np.array(ratios)
        print(f"\ntuner / better peer: median {np.median(r):.3g} over {len(r)} problems; "
              f"<= 1 on {int(np.sum(r <= 1))} of {len(r)}")


def paired(by_seed: dict[str, dict[str, dict[int, tuple[float, float]]]], methods: list[str]) -> None:
    """Seed by seed: on how many seeds ``tuner`` ends below / above each peer (the seeds both
    ran); :func:`table` gives the medians and their ratio."""
    peers = [m for m in ("optuna", "skopt") if m in methods]
    if "tuner" not in methods or not peers:
        return
    print("\nPaired by seed: tuner better / worse than each peer\n")
    print("| problem | " + " | ".join(f"vs {m}" for m in peers) + " |")
    print("|---|" + "---|" * len(peers))
    wins = losses = 0
    for pname, by_m in by_seed.items():
        if "tuner" not in by_m or not all(m in by_m for m in peers):
            continue
        ours, cells = by_m["tuner"], []
        for m in peers:
            seeds = sorted(set(ours) & set(by_m[m]))
            b = sum(ours[s][0] < by_m[m][s][0] for s in seeds)
            w = sum(ours[s][0] > by_m[m][s][0] for s in seeds)
            wins, losses = wins + b, losses + w
            cells.append(f"{b} / {w}")
        print(f"| {PROBLEMS[pname].name} | " + " | ".join(cells) + " |")
    print(f"\npaired seeds, all peers: tuner better {wins}, worse {losses}")


def load_jsonl(path: Path) -> dict[str, dict[str, dict[int, tuple[float, float]]]]:
    out: dict[str, dict[str, dict[int, tuple[float, float]]]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            r = json.loads(line)
            out.setdefault(r["problem"], {}).setdefault(r["method"], {})[r["seed"]] = (
                r["regret"], r["sec_per_eval"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--problems", default="branin,hartmann6,ackley5,noisy_hartmann6",
                    help="comma-separated names, or 'all' (" + ", ".join(PROBLEMS) + ")")
    ap.add_argument("--methods", default="tuner,skopt,optuna,random")
    ap.add_argument("--scaling", action="store_true", help="also time ask+tell vs observations")
    ap.add_argument("--sizes", default="100,500,1000,2000")
    ap.add_argument("--device", default=None)
    ap.add_argument("--y-warp", default="auto", help="tuner's output warp in --scaling")
    ap.add_argument("--optuna-max", type=int, default=1000)
    ap.add_argument("--out", default=None)
    ap.add_argument("--jsonl", default=None, help="append each run to this file and skip runs it "
                    "already holds (lets several processes share a benchmark, and resumes one)")
    ap.add_argument("--interleaved", type=int, default=None, metavar="N",
                    help="only time ask+tell at N observations, tuner and Optuna in turn")
    ap.add_argument("--table", nargs="*", default=None, metavar="JSONL",
                    help="only print the table of these result files")
    args = ap.parse_args()
    methods = args.methods.split(",")
    if args.interleaved is not None:
        print(json.dumps(interleaved(args.interleaved)))
        return
    if args.table is not None:
        by_seed: dict[str, dict[str, dict[int, tuple[float, float]]]] = {}
        for f in args.table:
            for pn, by_m in load_jsonl(Path(f)).items():
                for m, by_s in by_m.items():
                    by_seed.setdefault(pn, {}).setdefault(m, {}).update(by_s)
        shown = [m for m in methods if any(m in b for b in by_seed.values())]
        table({pn: {m: list(v.values()) for m, v in b.items()} for pn, b in by_seed.items()}, shown)
        paired(by_seed, shown)
        return
    names = list(PROBLEMS) if args.problems == "all" else args.problems.split(",")
    done = load_jsonl(Path(args.jsonl)) if args.jsonl else {}
    results: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for pname in names:
        p = PROBLEMS[pname]
        for m in methods:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                r = done.get(pname, {}).get(m, {}).get(seed)
                if r is None:
                    r = (run_tuner_cat_prior(p, seed, *map(float, m.split(":")[1:3]))
                         if m.startswith("tuner_cat_prior:") else METHODS[m](p, seed))
                    line = json.dumps({"problem": pname, "method": m, "seed": seed,
                                       "regret": r[0], "sec_per_eval": r[1]})
                    print(line, flush=True)
                    if args.jsonl:
                        with open(args.jsonl, "a") as fh:
                            fh.write(line + "\n")
                results.setdefault(pname, {}).setdefault(m, []).append(r)
    table(results, methods)
    rows = []
    if args.scaling:
        rows = scaling([int(s) for s in args.sizes.split(",")], args.device, args.optuna_max, args.y_warp)
        print("\nSeconds per ask+tell, Hartmann6 (6-D)\n")
        print("| observations | device | tuner | Optuna GPSampler | tuner's first tell of them all |\n"
              "|---|---|---|---|---|")
        for r in rows:
            o = f"{r['optuna']:.3g}" if "optuna" in r else "not run"
            print(f"| {r['n']} | {r['device']} | {r['tuner']:.3g} | {o} | {r['first_tell']:.3g} |")
    if args.out:
        Path(args.out).write_text(json.dumps({"results": results, "scaling": rows}, indent=1))


if __name__ == "__main__":
    main()
