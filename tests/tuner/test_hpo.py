"""Hyperparameter search from scripts: the objective wrapper, pruning, the report, and the example script
run for real (process pool, Dask LocalCluster on loopback, resume after a kill)."""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import sqlite3
import subprocess
import time

import numpy as np
import pytest

from tuner import Categorical, Integer, Real, TunerError, gp_minimize
from tuner.hpo import MedianPruner, Objective
from tuner.hpo.report import write_report

SPACE = [
    Real(1e-3, 1.0, "log-uniform", name="lr"),
    Integer(1, 9, name="width"),
    Categorical(["adam", "sgd", "broken"], name="opt"),
]


def train(params, seed, report, offset):
    """A cheap stand-in with the shape of a training: failures, divergence, a learning curve."""
    if params["opt"] == "broken":
        raise RuntimeError("optimiser exploded")
    if params["lr"] > 0.5:
        return float("nan")
    score = 0.0
    for epoch in range(6):
        score = (
            offset
            + 1
            - (math.log10(params["lr"]) + 2) ** 2 / 4
            - (params["width"] - 5) ** 2 / 40
            - 0.3 / (epoch + 1)
        )
        if report(epoch, score):
            break
    return {"score": score, "seed_seen": seed}


def test_objective_marks_failures_passes_fixed_args_and_seeds(tmp_path):
    obj = Objective(train, SPACE, maximize=True, fixed={"offset": 10.0})
    res = gp_minimize(
        obj,
        SPACE,
        n_calls=14,
        n_initial_points=6,
        random_state=3,
        progress=False,
        storage=str(tmp_path / "s.db"),
    )
    failed = {t.id: t.error for t in res.trials if t.state == "failed"}
    done = [t for t in res.trials if t.state == "complete"]
    assert done and failed
    assert all("optimiser exploded" in e or "diverged" in e for e in failed.values())
    for t in done:  # maximised: the model minimises -score; fixed args and the trial's seed arrived
        assert t.y == pytest.approx(-t.info["score"]) and t.info["score"] > 9
        assert t.info["seed_seen"] == t.seed and t.info["params"]["lr"] == t.x[0]
    assert len({t.seed for t in res.trials}) == len(res.trials)
    assert -res.fun == max(t.info["score"] for t in done)


def edge(params):
    """Better and better towards large lr, but the training diverges above lr = 0.2."""
    return float("nan") if params["lr"] > 0.2 else math.log10(params["lr"]) - 0.1 * (params["width"] - 5) ** 2


def test_failed_points_steer_the_search_away_when_imputed_as_worst():
    space = SPACE[:2]
    failed = {}
    for mode in ("worst", "ignore"):
        res = gp_minimize(
            Objective(edge, space, maximize=True),
            space,
            n_calls=16,
            n_initial_points=4,
            random_state=2,
            progress=False,
            failures=mode,
        )
        failed[mode] = sum(t.state == "failed" for t in res.trials[4:])
    assert failed["worst"] < failed["ignore"], failed


def test_objective_rejects_unnamed_dimensions_and_reserved_fixed_args():
    with pytest.raises(TunerError, match="distinct name"):
        Objective(train, [Real(0, 1)])
    with pytest.raises(TunerError, match="may not be named 'seed'"):
        Objective(train, SPACE, fixed={"seed": 1})
    name = SPACE[0].name
    for kwargs, match in (({"fixed": {name: 1.0}}, rf"may not share a name with a hyperparameter.*'{name}'"),
                          ({"fixed": [1, 2]}, r"fixed must be a dict of keyword arguments, got \[1, 2\]"),
                          ({"maximize": "yes"}, "maximize must be True or False, got 'yes'"),
                          ({"pruner": "median"}, "pruner must be a MedianPruner or None, got 'median'")):
        with pytest.raises(TunerError, match=match):
            Objective(train, SPACE, **kwargs)
    with pytest.raises(TunerError, match="fn must be the training function"):
        Objective(3, SPACE)
    for bad in ({"warmup_steps": "2"}, {"min_trials": 2.5}, {"min_trials": True}, {"min_trials": 0}):
        with pytest.raises(TunerError, match=r"warmup_steps must be an int >= 0 and min_trials an int >= 1"):
            MedianPruner(**bad)
    with pytest.raises(TunerError, match=r"needs the result of tuner\.gp_minimize; got NoneType"):
        write_report(None, "unused")
    # every call would have failed with a TypeError, and the run ended with no result
    with pytest.raises(TunerError, match=r"fixed arguments must be parameters of the training function .* "
                                         r"'train' takes \['offset', 'params', 'report', 'seed'\], got also "
                                         r"\['epochs'\]"):
        Objective(train, SPACE, fixed={"offset": 0.0, "epochs": 3})
    Objective(lambda params, **kw: 0.0, SPACE, fixed={"epochs": 3})  # **kwargs takes any


def test_a_bad_report_call_and_an_out_dir_under_a_file_are_one_clear_error(tmp_path):
    from tuner.hpo.objective import Reporter

    report = Reporter(maximize=True)
    for step, score in (("a", 1.0), (-1, 1.0), (True, 1.0), (1, "high"), (1, None)):
        with pytest.raises(TunerError, match=r"report\(step, score\) takes an int step >= 0 and a number"):
            report(step, score)
    assert report(np.int64(2), np.float32(0.5)) is False and report.values == [[2, 0.5]]
    res = gp_minimize(lambda x: x[0], [Real(0, 1)], n_calls=11, random_state=0, progress=False)
    (tmp_path / "file").write_text("")
    with pytest.raises(TunerError, match=r"out_dir must be a folder that can be made or written, got "):
        write_report(res, tmp_path / "file")


def test_report_helpers_refuse_what_is_not_a_result():
    """They ended in an AttributeError on a skopt result or None, and drew an empty figure for
    a grid of zero points."""
    from scipy.optimize import OptimizeResult

    from tuner import gp_minimize
    from tuner.hpo import report

    skopt_like = OptimizeResult(x=[0.1], fun=0.0, x_iters=[[0.1]], func_vals=[0.0])
    for fn in (report.plot_convergence, report.trials_table):
        with pytest.raises(TunerError, match=r"gp_minimize \(or a tuner\.Optimizer\); .* lacks \['"):
            fn(skopt_like)
    res = gp_minimize(lambda x: (x[0] - 0.3) ** 2, [Real(0.0, 1.0, name="a")], n_calls=4,
                      n_initial_points=3, random_state=0, progress=False)
    with pytest.raises(TunerError, match="plot_objective: n_points must be an int >= 1, got 0"):
        report.plot_objective(res, n_points=0)
    with pytest.raises(TunerError, match="partial_dependence: n_samples must be an int >= 1, got -1"):
        report.partial_dependence(res, 0, n_samples=-1)


def test_median_pruner_compares_best_so_far_at_the_same_step():
    curves = [[[0, 0.5], [1, 0.6], [2, 0.7]], [[0, 0.4], [1, 0.8]], [[0, 0.6], [1, 0.65]]]
    p = MedianPruner(warmup_steps=1, min_trials=3)
    assert not p.should_stop(0, 0.1, curves, maximize=True)  # warm-up
    assert p.should_stop(1, 0.6, curves, maximize=True)  # median of (0.6, 0.8, 0.65) = 0.65
    assert not p.should_stop(1, 0.7, curves, maximize=True)
    assert not p.should_stop(1, 0.1, curves[:2], maximize=True)  # too few finished curves
    assert p.should_stop(1, 0.7, [[[0, 0.5], [1, 0.3]]] * 3, maximize=False)


def test_pruned_trials_are_marked_and_told_their_best_score(tmp_path):
    obj = Objective(train, SPACE, maximize=True, fixed={"offset": 0.0}, pruner=MedianPruner(1, 3))
    res = gp_minimize(obj, SPACE, n_calls=24, n_initial_points=8, random_state=0, progress=False)
    pruned = [t for t in res.trials if t.info.get("pruned")]
    assert pruned, "a bad trial should have been stopped"
    for t in pruned:
        assert len(t.info["curve"]) < 6 and t.y == pytest.approx(-max(v for _, v in t.info["curve"]))
    report = write_report(res, tmp_path / "rep", maximize=True)
    rows = list(csv.DictReader(open(report.files["csv"])))
    assert len(rows) == len(res.trials) and sum(r["pruned"] == "True" for r in rows) == len(pruned)
    assert {"convergence", "partial_dependence"} <= set(report.files)
    assert json.loads(report.files["best"].read_text())["score"] == pytest.approx(report.best_score)


# ------------------------------------------------------------------------------ the example script
def smoke(examples, jets, out, *args):
    return examples.run("hpo_tagger.py", "--smoke", "--cache", jets.cache, "--out", out, *args)


def _trials(db):
    with sqlite3.connect(db) as con:
        return con.execute("SELECT id, state, y, seed, told FROM trials ORDER BY id").fetchall()


def _n_complete(db) -> int:
    """Complete trials in a storage another process is writing: none while it has not yet
    created its tables (the file exists a moment before they do) or holds the write lock."""
    try:
        return sum(s == "complete" for _, s, *_ in _trials(db))
    except sqlite3.OperationalError:
        return 0


def test_hpo_script_smoke_with_process_pool(jets, tmp_path, examples):
    out = tmp_path / "hpo"
    r = smoke(examples, jets, out, "--workers", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    first = _trials(out / "study.db")
    assert [s for _, s, *_ in first] == ["complete"] * 4
    assert 0.5 < -min(y for _, _, y, *_ in first) <= 1.0  # a validation AUC
    for name in ("best.json", "trials.csv", "trials.md", "convergence.png", "partial_dependence.png"):
        assert (out / name).stat().st_size > 0, name
    assert "best validation ROC AUC" in r.stdout
    # run again with more trials: the next test (a kill, then a resume on Dask) checks that nothing
    # is re-run and that the report covers every trial


def test_hpo_script_resumes_after_a_kill_on_a_dask_cluster(jets, tmp_path, examples):
    """Killed mid-search (process pool), resumed on a real Dask LocalCluster on loopback."""
    out = tmp_path / "hpo"
    proc = subprocess.Popen(
        examples.argv(
            "hpo_tagger.py", "--smoke", "--trials", 6, "--workers", 2, "--cache", jets.cache, "--out", out
        ),
        cwd=examples.root,
        env=examples.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    db = out / "study.db"
    deadline = time.time() + 300
    while time.time() < deadline:
        if db.exists() and _n_complete(db) > 0:
            break
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = [t for t in _trials(db) if t[1] == "complete"]
    assert before and len(before) < 6
    r = smoke(examples, jets, out, "--local-dask", "2", "--trials", "6")
    assert r.returncode == 0, r.stderr[-3000:]
    after = _trials(db)
    assert [s for _, s, *_ in after] == ["complete"] * 6
    assert all(t in after for t in before)  # finished trials kept as they were
    assert len(list(csv.DictReader(open(out / "trials.csv")))) == 6  # the report covers them all
