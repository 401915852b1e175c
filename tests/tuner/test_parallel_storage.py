"""Parallel evaluation (process pool, real Dask LocalCluster) and SQLite persistence with resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tuner import Optimizer, StorageError, Study, gp_minimize
from tuner.space import Space


def sphere(x):
    return sum((v - 0.25) ** 2 for v in x)


def test_process_pool_runs_lambdas_in_parallel_workers():
    pids = set()
    res = gp_minimize(lambda x: {"value": sphere(x), "info": {"pid": os.getpid()}},
                      [(-1.0, 1.0), (-1.0, 1.0)], n_calls=8, n_initial_points=4, n_jobs=2,
                      random_state=0, progress=False)
    pids = {t.info["pid"] for t in res.trials}
    assert len(res.x_iters) == 8
    assert os.getpid() not in pids and len(pids) >= 2
    assert len({tuple(x) for x in res.x_iters}) == 8


def _crash_if_far(x):
    if x[0] > 0.8:
        time.sleep(0.1)
        os._exit(3)  # a hard crash of the worker process, like a segfault
    time.sleep(0.4)  # still running when the other worker crashes
    return sphere(x)


def test_worker_crash_fails_only_the_trial_and_the_run_goes_on():
    # the crashing point goes first, next to an innocent one, and breaks the pool twice
    res = gp_minimize(_crash_if_far, [(-1.0, 1.0)], n_calls=10, n_initial_points=6, n_jobs=2,
                      x0=[[0.9], [0.1]], random_state=0, progress=False)
    assert len(res.x_iters) + len(res.failed) == 10
    assert any(f["x"] == [0.9] and "worker failed" in f["error"] for f in res.failed)
    # only the crashing points failed: innocent trials in flight at the crash were retried
    assert all(f["x"][0] > 0.8 for f in res.failed)
    assert all(x[0] <= 0.8 for x in res.x_iters)


def test_dask_localcluster_executor():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        res = gp_minimize(lambda x: {"value": sphere(x), "info": {"pid": os.getpid()}},
                          [(-1.0, 1.0), (-1.0, 1.0)], n_calls=8, n_initial_points=4,
                          executor=client, random_state=0, progress=False)
        worker_pids = set(client.run(os.getpid).values())
    assert len(res.x_iters) == 8
    assert {t.info["pid"] for t in res.trials} <= worker_pids


def test_storage_commits_every_tell_and_refuses_another_space(tmp_path):
    db = tmp_path / "s.db"
    opt = Optimizer([(0.0, 1.0)], n_initial_points=3, random_state=0, storage=str(db))
    x = opt.ask()
    opt.tell(x, 0.5, info={"note": "hi"})
    pend = opt.ask()
    # a second reader sees the committed trial and the pending one at once
    trials = Study(db, Space([(0.0, 1.0)])).trials()
    assert [t.state for t in trials] == ["complete", "pending"]
    assert trials[0].info == {"note": "hi"} and trials[1].x == pend
    with pytest.raises(StorageError, match=r"different search space \(dimension 0: stored Real\(low=0\.0, "
                                           r"high=1\.0.*given Real\(low=0\.0, high=2\.0.*\); use a new"):
        Optimizer([(0.0, 2.0)], storage=str(db))
    with pytest.raises(StorageError, match=r"stored 1 dimensions \['X_0'\], given 2 \['X_0', 'X_1'\]"):
        Optimizer([(0.0, 1.0), (0.0, 1.0)], storage=str(db))


SCRIPT = textwrap.dedent("""
    import json, sys, time
    from tuner import gp_minimize
    log = sys.argv[2]
    def f(x):
        with open(log, "a") as fh:
            fh.write(json.dumps(x) + "\\n")
        time.sleep(0.3)
        return (x[0] - 0.3) ** 2 + (x[1] - 0.6) ** 2
    res = gp_minimize(f, [(0.0, 1.0), (0.0, 1.0)], n_calls=int(sys.argv[3]), n_initial_points=4,
                      random_state=5, storage=sys.argv[1], progress=False)
    print("DONE", len(res.x_iters))
""")


def test_sigkill_mid_run_then_resume_loses_and_repeats_nothing(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    db, log = tmp_path / "study.db", tmp_path / "calls.log"
    proc = subprocess.Popen([sys.executable, str(script), str(db), str(log), "12"])
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.1)
        if db.exists():
            done = [t for t in Study(db, Space([(0.0, 1.0), (0.0, 1.0)])).trials()
                    if t.state == "complete"]
            if len(done) >= 6:
                break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = Study(db, Space([(0.0, 1.0), (0.0, 1.0)])).trials()
    done_before = [t for t in before if t.state == "complete"]
    assert 6 <= len(done_before) < 12
    out = subprocess.run([sys.executable, str(script), str(db), str(log), "12"], check=True,
                         capture_output=True, text=True)
    assert "DONE 12" in out.stdout
    after = Study(db, Space([(0.0, 1.0), (0.0, 1.0)])).trials()
    assert len([t for t in after if t.state == "complete"]) == 12
    # nothing committed before the kill was lost or changed
    for t in done_before:
        assert after[t.id].state == "complete" and after[t.id].y == t.y and after[t.id].x == t.x
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    evaluated_once = {tuple(t.x) for t in done_before}
    # every completed point was evaluated exactly once, except the one in flight at the kill
    repeats = [c for c in calls if calls.count(c) > 1]
    assert not any(tuple(c) in evaluated_once for c in repeats)
    assert len(calls) <= 12 + 1
