"""Hyperparameter search for the jet-image CNN (W vs QCD), maximising the validation ROC AUC.

    python examples/hpo_tagger.py --trials 30 --workers 4                 # local process pool
    python examples/hpo_tagger.py --trials 30 --local-dask 4              # a Dask LocalCluster on loopback
    python examples/hpo_tagger.py --trials 60 --dask tcp://scheduler:8786 # an existing Dask cluster
    python examples/hpo_tagger.py --smoke                                 # tiny: 4 trials, 2 workers

The study lives in SQLite (``--storage``, default ``<out>/study.db``): run the same command again after
an interruption and it resumes (finished trials are kept, trials that were running are re-run with the
same seed); raise ``--trials`` to extend a finished search. Hopeless trials are stopped early by a median
rule on the per-epoch validation AUC (``--no-prune`` to disable). Training uses CUDA when available.

Jets come from ``explain.load_or_generate`` (cached in ``--cache``); the images are written once to
``<out>/data.npz``, which every worker reads (on a multi-machine Dask cluster ``--out`` must be on a
shared file system). The report (best configuration, convergence, all trials, partial dependence) is
written to ``--out``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from tuner import Categorical, Integer, Real, gp_minimize
from tuner.hpo import MedianPruner, Objective
from tuner.hpo.report import write_report

SPACE = [
    Real(1e-4, 3e-2, prior="log-uniform", name="lr"),
    Integer(4, 32, name="channels"),
    Integer(1, 3, name="depth"),
    Integer(8, 128, name="dense"),
    Real(0.0, 0.5, name="dropout"),
    Categorical([32, 64, 128, 256], name="batch_size"),
    Categorical(["adam", "adamw", "sgd"], name="optimizer"),
]


def load_data(path: str) -> dict[str, np.ndarray]:
    """The images and labels of ``path`` (milliseconds: read in every trial)."""
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def train(params: dict, seed: int, report, data_path: str, epochs: int, threads: int) -> float:
    """Train the example CNN with ``params``; return the best validation ROC AUC."""
    import torch

    from explain import JetImageCNN, train_tagger

    torch.set_num_threads(threads)
    d = load_data(data_path)
    model = JetImageCNN(
        channels=params["channels"], depth=params["depth"], dense=params["dense"], dropout=params["dropout"]
    )
    res = train_tagger(
        model,
        d["x_train"],
        d["y_train"],
        d["x_val"],
        d["y_val"],
        epochs=epochs,
        lr=params["lr"],
        batch_size=params["batch_size"],
        optimizer=params["optimizer"],
        seed=seed,
        report=report,
    )
    if res.diverged and not np.isfinite(res.val_auc):
        return float("nan")  # a failed trial
    return res.val_auc


def prepare_data(out: Path, per_class: int, cache: str, seed: int) -> Path:
    """Jets -> images -> ``out/data.npz`` (train 75 %, validation 25 %)."""
    from explain import jet_images, load_or_generate

    path = out / "data.npz"
    if path.exists():
        return path
    sample = load_or_generate(per_class, cache_dir=cache, seed=seed)
    x = jet_images(sample)
    y = sample.label.astype(np.float32)
    n = len(y) * 3 // 4
    np.savez(path, x_train=x[:n], y_train=y[:n], x_val=x[n:], y_val=y[n:])
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=None, help="total trials (default 30, smoke 4)")
    ap.add_argument("--initial", type=int, default=None, help="space-filling trials (default trials/3)")
    ap.add_argument("--workers", type=int, default=2, help="parallel trials (local processes)")
    ap.add_argument("--dask", default=None, help="address of a Dask scheduler")
    ap.add_argument("--local-dask", type=int, default=0, help="start a Dask LocalCluster with N workers")
    ap.add_argument("--per-class", type=int, default=3000)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default="jet-cache")
    ap.add_argument("--out", default="hpo-out")
    ap.add_argument("--storage", default=None)
    ap.add_argument("--no-prune", action="store_true")
    ap.add_argument("--smoke", action="store_true", help="tiny: 300 jets per class, 2 epochs, 4 trials")
    args = ap.parse_args(argv)
    if args.smoke:
        args.per_class, args.epochs = 300, 2
    if args.trials is None:
        args.trials = 4 if args.smoke else 30
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    storage = args.storage or str(out / "study.db")
    data_path = prepare_data(out, args.per_class, args.cache, seed=1)

    client = cluster = None
    n_par = args.workers
    if args.dask or args.local_dask:
        from dask.distributed import Client, LocalCluster

        if args.dask:
            client = Client(args.dask)
        else:
            cluster = LocalCluster(
                n_workers=args.local_dask,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            client = Client(cluster)
        n_par = max(1, sum(client.nthreads().values()))
    threads = max(1, (os.cpu_count() or 1) // n_par)
    objective = Objective(
        train,
        SPACE,
        maximize=True,
        fixed={"data_path": str(data_path.resolve()), "epochs": args.epochs, "threads": threads},
        pruner=None if args.no_prune else MedianPruner(warmup_steps=2, min_trials=4),
    )
    t0 = time.perf_counter()
    try:
        res = gp_minimize(
            objective,
            SPACE,
            n_calls=args.trials,
            n_initial_points=args.initial or max(2, min(args.trials, 10, args.trials // 3 + 1)),
            random_state=args.seed,
            storage=storage,
            n_jobs=args.workers,
            executor=client,
        )
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    wall = time.perf_counter() - t0
    report = write_report(res, out, maximize=True)
    n_pruned = sum(r["pruned"] for r in report.rows)
    print(
        f"\n{len(res.trials)} trials ({len(res.failed)} failed, {n_pruned} pruned) in {wall:.0f} s; "
        f"optimiser time {res.timings.get('fit', 0) + res.timings.get('ask', 0):.1f} s"
    )
    print(f"best validation ROC AUC {report.best_score:.4f} with {report.best}")
    print(f"report: {', '.join(str(p) for p in report.files.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
