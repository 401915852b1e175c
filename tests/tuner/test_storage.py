"""The storage protocol: every implementation owns trial state the same way."""

from __future__ import annotations

import numpy as np
import pytest

from tuner import Optimizer, gp_minimize
from tuner.hpo import surrogate_mean
from tuner.space import Real, Space
from tuner.storage import InMemoryStorage, Storage, Study

SPACE = Space([Real(0.0, 1.0, name="a"), Real(-1.0, 1.0, name="b")])


@pytest.fixture(params=["memory", "sqlite"])
def storage(request, tmp_path) -> Storage:
    return InMemoryStorage() if request.param == "memory" else Study(tmp_path / "s.db", SPACE)


def test_storage_contract(storage):
    t0 = storage.add([0.1, 0.2], seed=5)
    t1 = storage.add([0.3, -0.4])
    assert (t0.id, t1.id, t0.state, t0.seed) == (0, 1, "pending", 5)
    storage.complete(t0, 1.5, 0.01, {"k": 1}, b"blob")
    storage.fail(t1, "boom", {"why": "x"})
    assert (t0.state, t0.y, t0.noise, t1.state, t1.error) == ("complete", 1.5, 0.01, "failed", "boom")
    got = storage.trials()
    assert [t.state for t in got] == ["complete", "failed"]
    assert got[0].info == {"k": 1} and got[0].x == [0.1, 0.2] and got[1].info == {"why": "x"}
    assert storage.artifact(0) == b"blob" and storage.artifact(1) is None
    storage.update_info(0, {"k": 2}, y=2.5)
    assert storage.trials()[0].info == {"k": 2} and storage.trials()[0].y == 2.5
    storage.set_meta("m", {"v": [1, 2]})
    assert storage.get_meta("m") == {"v": [1, 2]} and storage.get_meta("absent", 7) == 7


def test_optimizer_writes_through_its_storage_only(storage):
    opt = Optimizer(SPACE, n_initial_points=3, random_state=0, storage=storage)
    trials = opt.ask_trials(2)
    opt.tell_trial(trials[0], 1.0)
    opt.tell_trial(trials[1].id, "not a number")  # one bad return: a failed trial, not a crash
    stored = storage.trials()
    assert [t.state for t in stored] == ["complete", "failed"]
    assert "real numbers" in (stored[1].error or "")
    with pytest.raises(Exception, match="pending trial"):
        opt.tell_trial(trials[0], 2.0)  # told already


def test_one_posterior_mean_path_with_a_log_warp():
    """Optimizer.predict + unwarp and the report's surrogate_mean agree, on the objective's scale."""
    rng = np.random.default_rng(0)

    def f(x):
        return 5.0 + 20.0 * (x[0] - 0.3) ** 2 + 3.0 * x[1] ** 2

    opt = Optimizer(SPACE, n_initial_points=8, random_state=1, y_warp="log")
    X = [[float(a), float(b)] for a, b in zip(rng.uniform(0, 1, 25), rng.uniform(-1, 1, 25), strict=True)]
    opt.tell(X, [f(x) for x in X])
    res = opt.get_result()
    pts = [[0.3, 0.0], [0.8, 0.5]]
    via_opt = opt.unwarp(opt.predict(pts)[0])
    via_report = surrogate_mean(res, pts)
    np.testing.assert_allclose(via_report, via_opt, rtol=1e-10)
    np.testing.assert_allclose(via_report, [f(p) for p in pts], rtol=0.1)


def test_gp_minimize_survives_objective_returns_that_are_no_numbers():
    calls = iter(range(100))

    def f(x):
        i = next(calls)
        return ["a string", [1, 2], True][i - 1] if 1 <= i <= 3 else (x[0] - 0.4) ** 2

    res = gp_minimize(f, [(0.0, 1.0)], n_calls=7, n_initial_points=4, random_state=0, progress=False)
    assert len(res.failed) == 3 and all("real numbers" in r["error"] for r in res.failed)
    assert len(res.func_vals) == 4 and not any(t.state == "pending" for t in res.trials)


def test_an_objective_whose_first_return_is_no_number_stops_the_run_with_the_rule(tmp_path):
    # scikit-optimize raises a ValueError here; the refused trial is stored as failed, not pending
    db = tmp_path / "s.db"
    with pytest.raises(ValueError, match=r"must return a real number.*got \[0\.\d+\]"):
        gp_minimize(lambda x: x, [(0.0, 1.0)], n_calls=5, n_initial_points=2, random_state=0,
                    progress=False, storage=str(db))
    study = Study(str(db), Space([(0.0, 1.0)]))
    assert [t.state for t in study.trials()] == ["failed"]
    study.close()


def test_a_foreign_sqlite_file_is_refused_untouched(tmp_path):
    import sqlite3

    from tuner import StorageError

    f = tmp_path / "other.db"
    with sqlite3.connect(f) as db:
        db.execute("CREATE TABLE trials (name TEXT)")
    before = f.read_bytes()
    with pytest.raises(StorageError, match=r"not a study \(its tables: \['trials'\]"):
        Optimizer(SPACE, storage=str(f))
    assert f.read_bytes() == before


def test_an_all_failed_run_warns():
    def f(x):
        raise RuntimeError("diverged")

    with pytest.warns(RuntimeWarning, match="no evaluation of the objective succeeded .*diverged"):
        res = gp_minimize(f, [(0.0, 1.0)], n_calls=3, n_initial_points=2, random_state=0, progress=False)
    assert res.x is None and len(res.failed) == 3


def test_ctrl_c_in_a_serial_objective_stops_the_run():
    calls = []

    def f(x):
        calls.append(x)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return x[0]

    with pytest.raises(KeyboardInterrupt):
        gp_minimize(f, [(0.0, 1.0)], n_calls=6, n_initial_points=3, random_state=0, progress=False)
    assert len(calls) == 2


@pytest.mark.parametrize("y_warp", ["loo", "power"])
def test_a_resumed_study_continues_as_the_one_never_stopped(tmp_path, y_warp):
    """Re-created on its SQLite file after 16 evaluations, an optimiser asks the point the one
    never stopped asks: its first fit is the stored one (warp and hyperparameters), not a refit,
    which would start the hyperparameters elsewhere than the never-stopped warm start and, under
    the default ``"loo"`` warp, choose the warp without the kernel of the fit before."""
    def f(x):
        return float((x[0] - 0.3) ** 2 + 3 * (x[1] + 0.2) ** 2 + 0.1 * np.sin(9 * x[0]))

    def run(opt, n):
        for _ in range(n):
            x = opt.ask()
            opt.tell(x, f(x))

    space, kw = [(-1.0, 1.0), (-1.0, 1.0)], dict(n_initial_points=5, random_state=3, y_warp=y_warp)
    whole = Optimizer(space, **kw)
    run(whole, 16)
    first = Optimizer(space, storage=str(tmp_path / "s.db"), **kw)
    run(first, 16)
    first.storage.close()
    resumed = Optimizer(space, storage=str(tmp_path / "s.db"), **kw)
    assert resumed.warp == whole.warp
    assert resumed.ask() == whole.ask()
    run(resumed, 3)
    run(whole, 3)
    assert resumed.Xi == whole.Xi
    resumed.storage.close()
    other = Optimizer(space, storage=str(tmp_path / "s.db"), **{**kw, "y_warp": "none"})  # refits
    assert other.warp.kind == "none"
    other.storage.close()
