"""Hyperparameter search for the jet-image CNN: this project against Optuna TPE, Optuna GP and random search.

    python benchmarks/hpo_tagger.py [--trials 30] [--seeds 5] [--per-class 3000] [--epochs 12]

Same task (``examples/hpo_tagger.py``: seven hyperparameters of the example CNN, validation ROC AUC on
W vs QCD jet images), same budget of trials, same seeds, trials run one after the other. For every method
it prints the median (and min/max) over seeds of the best validation AUC, the median wall time of a whole
search, and the optimiser's own time as a fraction of it (for us: model fits and acquisition; for Optuna:
the wall time not spent in the objective). Targets: best AUC at least as high as every other method's at
equal budget, optimiser overhead below 2 % of the search time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

from hpo_tagger import SPACE, prepare_data, train  # noqa: E402
from optuna_bridge import suggest  # noqa: E402


def _no_report(step: int, score: float) -> bool:
    return False


def run_tuner(data: str, trials: int, seed: int, epochs: int, threads: int) -> tuple[float, float, float]:
    from tuner import gp_minimize
    from tuner.hpo import Objective

    obj = Objective(
        train, SPACE, maximize=True, fixed={"data_path": data, "epochs": epochs, "threads": threads}
    )
    t0 = time.perf_counter()
    res = gp_minimize(
        obj, SPACE, n_calls=trials, n_initial_points=max(2, trials // 3), random_state=seed, progress=False
    )
    wall = time.perf_counter() - t0
    overhead = res.timings.get("fit", 0.0) + res.timings.get("ask", 0.0)
    return -res.fun, wall, overhead


def run_optuna(
    sampler_name: str, data: str, trials: int, seed: int, epochs: int, threads: int
) -> tuple[float, float, float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    samplers = {
        "TPE": lambda: optuna.samplers.TPESampler(seed=seed),
        "GP": lambda: optuna.samplers.GPSampler(seed=seed),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
    }
    spent = [0.0]

    def objective(trial: optuna.Trial) -> float:
        params = suggest(trial, SPACE)
        t = time.perf_counter()
        try:
            return train(params, seed * 1000 + trial.number, _no_report, data, epochs, threads)
        finally:
            spent[0] += time.perf_counter() - t

    study = optuna.create_study(direction="maximize", sampler=samplers[sampler_name]())
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=trials, catch=(Exception,))
    wall = time.perf_counter() - t0
    vals = [t.value for t in study.trials if t.value is not None and np.isfinite(t.value)]
    return max(vals), wall, wall - spent[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--per-class", type=int, default=3000)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", default="jet-cache")
    ap.add_argument("--out", default="bench-out/hpo")
    ap.add_argument("--methods", default="tuner,optuna-TPE,optuna-GP,random")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = str(prepare_data(out, args.per_class, args.cache, seed=1).resolve())
    rows = {}
    for method in args.methods.split(","):
        runs = []
        for seed in range(args.seeds):
            if method == "tuner":
                r = run_tuner(data, args.trials, seed, args.epochs, args.threads)
            else:
                r = run_optuna(
                    method.removeprefix("optuna-"), data, args.trials, seed, args.epochs, args.threads
                )
            runs.append(r)
            print(
                f"{method} seed {seed}: best AUC {r[0]:.4f}, wall {r[1]:.0f} s, optimiser {r[2]:.1f} s",
                flush=True,
            )
        rows[method] = np.array(runs)
    print(
        f"\n{args.trials} trials x {args.seeds} seeds, {2 * args.per_class} jets (75 % train), {args.epochs} "
        f"epochs max, trials in sequence, {args.threads} threads"
    )
    print("\n| method | median best val AUC | min - max | median search wall time (s) | optimiser share |")
    print("|---|---:|---:|---:|---:|")
    for m, r in rows.items():
        print(
            f"| {m} | {np.median(r[:, 0]):.4f} | {r[:, 0].min():.4f} - {r[:, 0].max():.4f} | "
            f"{np.median(r[:, 1]):.0f} | {np.median(r[:, 2] / r[:, 1]):.1%} |"
        )
    if "tuner" in rows:
        ours = np.median(rows["tuner"][:, 0])
        others = {m: np.median(r[:, 0]) for m, r in rows.items() if m != "tuner"}
        beaten = [m for m, v in others.items() if v > ours]
        verdict = "met" if not beaten else "missed vs " + ", ".join(beaten)
        print(f"\nbest AUC >= every other method (median): {verdict}")
        share = np.median(rows["tuner"][:, 2] / rows["tuner"][:, 1])
        print(f"optimiser overhead < 2 % of the search: {'met' if share < 0.02 else 'missed'} ({share:.1%})")


if __name__ == "__main__":
    main()
