"""A regressor in place of the GP (scikit-optimize's ``base_estimator="RF"``, ``"ET"``, ``"GBRT"``
or a regressor object): the tree surrogates' spread, the sampled acquisition, the optimiser's
ask/tell with them, and ``forest_minimize`` / ``gbrt_minimize`` / ``dummy_minimize``."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy.stats import norm

from tuner import Optimizer, dummy_minimize, forest_minimize, gbrt_minimize, gp_minimize
from tuner.acquisition.sampled import sampled_score
from tuner.surrogate.estimator import EstimatorModel
from tuner.surrogate.trees import ESTIMATOR_NAMES, ExtraTreesSurrogate, make_estimator

SPACE = [(-2.0, 2.0), (-1.0, 3.0)]


def bowl(x):
    return (x[0] - 0.7) ** 2 + 0.5 * (x[1] - 1.3) ** 2


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, 2))
    return X, np.sin(6 * X[:, 0]) + X[:, 1] ** 2 + 0.1 * rng.normal(size=n)


@pytest.mark.parametrize("name", ESTIMATOR_NAMES)
def test_every_tree_surrogate_predicts_a_mean_and_a_spread(name):
    """Conformance over the names: clone-able, seeded, the mean of ``predict`` equal with and
    without ``return_std``, a spread >= 0 that is not zero everywhere, and wider far from the
    data than at it (on average)."""
    X, y = _data()
    est = make_estimator(name, random_state=3).fit(X, y)
    mean, std = est.predict(X, return_std=True)
    assert mean.shape == std.shape == (len(X),)
    assert np.allclose(mean, est.predict(X))
    assert np.all(std >= 0) and std.max() > 0
    again = make_estimator(name, random_state=3).fit(X, y)
    assert np.array_equal(again.predict(X, return_std=True)[1], std)  # the seed fixes the fit
    with pytest.raises(ValueError, match=r"one of \('RF', 'ET', 'GBRT'\).*got 'XT'"):
        make_estimator("XT", 0)


def test_forest_spread_is_the_total_variance_over_the_leaves():
    """Against a slow reference of our own: without bootstrap (extra trees) each leaf holds the
    training values that fall into it, so per tree the leaf's mean and variance are those of
    the training values sharing the test point's leaf; the spread is the mean of the leaf
    variances plus the variance of the leaf means over the trees."""
    X, y = _data()
    est = ExtraTreesSurrogate(n_estimators=7, min_samples_leaf=3, random_state=1).fit(X, y)
    T = np.random.default_rng(5).uniform(size=(9, 2))
    mean, std = est.predict(T, return_std=True)
    for i, t in enumerate(T):
        mus, vars_ = [], []
        for tree in est.estimators_:
            same = tree.apply(X.astype(np.float32)) == tree.apply(t[None].astype(np.float32))[0]
            mus.append(y[same].mean())
            vars_.append(y[same].var())
        assert mean[i] == pytest.approx(np.mean(mus), rel=1e-9, abs=1e-12)
        assert std[i] ** 2 == pytest.approx(np.mean(vars_) + np.var(mus), rel=1e-7, abs=1e-12)


def test_sampled_scores_match_the_closed_forms():
    mu = np.array([0.0, 0.5, 1.0, 3.0, 40.0])
    s = np.array([1.0, 0.2, 0.5, 0.1, 1.0])
    best, xi = 1.0, 0.1
    gap = best - xi - mu
    z = gap / s
    ei = gap * norm.cdf(z) + s * norm.pdf(z)
    got = sampled_score(mu, s, best, "EI", xi, 1.96)
    finite = ei > 1e-300
    assert np.allclose(got[finite], np.log(ei[finite]), rtol=1e-9)
    assert got[-1] < got[-2] < got[0]  # far below the incumbent: still ranked, not -inf
    assert np.allclose(sampled_score(mu, s, best, "PI", xi, 1.96), norm.logcdf(z))
    assert np.allclose(sampled_score(mu, s, best, "LCB", xi, 2.0), -(mu - 2.0 * s))
    # no spread: a sure improvement scores its log, none scores -inf
    sure = sampled_score(np.array([0.5, 2.0]), np.zeros(2), 1.0, "EI", 0.0, 1.96)
    assert sure[0] == pytest.approx(np.log(0.5)) and sure[1] == -np.inf


@pytest.mark.parametrize("acq_func", ["EI", "PI", "LCB", "gp_hedge", "auto"])
def test_a_tree_optimiser_asks_from_its_model(acq_func):
    """After the design the asks come from the fitted forest: one model per fit, the same point
    when asked twice, distinct batches under the constant liar, reproducible from the seed
    (the regressor given without a seed is seeded by the optimiser)."""
    from sklearn.base import clone

    proto = ExtraTreesSurrogate(n_estimators=20, min_samples_leaf=2)

    def run():
        opt = Optimizer(SPACE, clone(proto), n_initial_points=4, acq_func=acq_func, random_state=2,
                        acq_optimizer_kwargs={"n_points": 500})
        for _ in range(8):
            x = opt.ask()
            opt.tell(x, bowl(x))
        return opt

    opt = run()
    assert len(opt.models) == 5 and isinstance(opt.models[-1], EstimatorModel)
    assert opt.base_estimator_.get_params()["random_state"] is not None
    assert opt.ask() == opt.ask()
    batch = opt.ask(n_points=4)
    assert len({tuple(p) for p in batch}) == 4
    assert run().Xi == opt.Xi
    res = opt.get_result()
    assert res.models[-1] is opt.models[-1].estimator  # skopt's: the fitted regressor itself
    mean = res.models[-1].predict(opt.space.transform([res.x]))
    assert np.isfinite(mean).all()


def test_a_regressor_of_another_library_is_used_as_given():
    """Any object with fit and predict(X, return_std=True) is a surrogate (scikit-optimize's
    learners are the common case)."""
    learning = pytest.importorskip("skopt.learning")
    est = learning.RandomForestRegressor(n_estimators=10, random_state=1)
    opt = Optimizer(SPACE, est, n_initial_points=3, random_state=0,
                    acq_optimizer_kwargs={"n_points": 300})
    opt.run(bowl, n_iter=6)
    assert len(opt.models) == 4
    assert type(opt.models[-1].estimator) is type(est)


def test_trees_beat_random_search_on_a_bowl():
    """The model helps: over three seeds forest_minimize and gbrt_minimize end nearer the
    minimum than random search with the same budget and seeds (median best value)."""
    kw = dict(n_calls=20, n_initial_points=6, n_points=1000, progress=False)
    forest = [forest_minimize(bowl, SPACE, random_state=s, **kw).fun for s in range(3)]
    boosted = [gbrt_minimize(bowl, SPACE, random_state=s, **kw).fun for s in range(3)]
    rand = [dummy_minimize(bowl, SPACE, n_calls=20, random_state=s, progress=False).fun for s in range(3)]
    assert np.median(forest) < np.median(rand)
    assert np.median(boosted) < np.median(rand)


def test_tree_minimisers_return_skopt_results():
    res = forest_minimize(bowl, SPACE, base_estimator="RF", n_calls=8, n_initial_points=4,
                          n_points=200, random_state=1, progress=False)
    assert res.specs["function"] == "forest_minimize" and res.specs["args"]["base_estimator"] == "RF"
    assert len(res.x_iters) == 8 and len(res.models) == 5
    again = forest_minimize(bowl, SPACE, base_estimator="RF", n_calls=8, n_initial_points=4,
                            n_points=200, random_state=1, progress=False)
    assert again.x_iters == res.x_iters
    with pytest.raises(ValueError, match=r"forest_minimize takes a regressor as base_estimator.*got 'GP'"):
        forest_minimize(bowl, SPACE, base_estimator="GP", n_calls=5)


@pytest.mark.parametrize("run, name", [
    (lambda **kw: forest_minimize(bowl, SPACE, n_calls=5, n_initial_points=3, n_points=100, **kw),
     "forest_minimize"),
    (lambda **kw: gbrt_minimize(bowl, SPACE, n_calls=5, n_initial_points=3, n_points=100, **kw),
     "gbrt_minimize"),
    (lambda **kw: dummy_minimize(bowl, SPACE, n_calls=5, **kw), "dummy_minimize"),
    (lambda **kw: gp_minimize(bowl, SPACE, n_calls=5, n_initial_points=3, **kw), "gp_minimize")])
def test_each_minimiser_names_itself_during_the_run(run, name, capsys):
    """Callbacks see the function that runs in ``res.specs`` and the progress bar names it
    (forest, gbrt and dummy runs were labelled gp_minimize until their end)."""
    seen = []
    res = run(random_state=0, progress=True, callback=lambda r: seen.append(r.specs["function"]))
    assert seen == [name] * 5 and res.specs["function"] == name
    assert f"{name}: 100%" in capsys.readouterr().err


def test_dummy_minimize_is_random_search_with_x0():
    res = dummy_minimize(bowl, SPACE, n_calls=9, x0=[[0.0, 0.0], [1.0, 1.0]], random_state=4,
                         progress=False)
    assert res.x_iters[:2] == [[0.0, 0.0], [1.0, 1.0]] and len(res.x_iters) == 9
    assert res.models == [] and res.specs["function"] == "dummy_minimize"
    assert len({tuple(x) for x in res.x_iters}) == 9


@pytest.mark.parametrize("kwargs, match", [
    (dict(base_estimator="ET", acq_optimizer="lbfgs"),
     "should run with acq_optimizer='sampling' \\(or 'auto'\\), got 'lbfgs'"),
    (dict(base_estimator="RF", acq_func="MES"), "acq_func='MES' needs the GP surrogate"),
    (dict(base_estimator="GBRT", y_warp="log"), "y_warp must be 'auto' or 'none', got 'log'"),
    (dict(base_estimator=object()),
     "a regressor with fit\\(X, y\\) and predict\\(X, return_std=True\\), got"),
    (dict(base_estimator=ExtraTreesSurrogate), "must be an instance, got the class ExtraTreesSurrogate"),
    (dict(base_estimator="rtr"), "'RF', 'ET', 'GP', 'GBRT' or 'DUMMY' \\(any case\\).*got 'rtr'"),
])
def test_bad_regressor_options_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Optimizer(SPACE, **kwargs)


def test_a_tree_optimiser_resumes_and_pickles(tmp_path):
    """A study of a regressor optimiser resumes from SQLite (the regressor is refitted from the
    told results: no fit state to store), and the optimiser pickles (skopt's dump/load)."""
    db = tmp_path / "trees.db"
    opt = Optimizer(SPACE, "ET", n_initial_points=3, random_state=5, storage=str(db),
                    acq_optimizer_kwargs={"n_points": 300})
    opt.run(bowl, n_iter=5)
    nxt = opt.ask()
    opt.storage.close()
    back = Optimizer(SPACE, "ET", n_initial_points=3, random_state=5, storage=str(db),
                     acq_optimizer_kwargs={"n_points": 300})
    assert back.Xi == opt.Xi and back.model is not None
    assert back.ask() == nxt
    back.storage.close()
    mem = Optimizer(SPACE, "GBRT", n_initial_points=2, random_state=0,
                    acq_optimizer_kwargs={"n_points": 200})
    mem.run(bowl, n_iter=3)
    copy = pickle.loads(pickle.dumps(mem))
    assert copy.ask() == mem.ask() and copy.Xi == mem.Xi


def test_per_second_with_a_regressor_models_the_time():
    opt = Optimizer([(0.0, 1.0)], "ET", n_initial_points=3, acq_func="EIps", random_state=0,
                    acq_optimizer_kwargs={"n_points": 400})
    for _ in range(6):
        x = opt.ask()
        opt.tell(x, ((x[0] - 0.3) ** 2, 1.0 + 5 * x[0]))
    res = opt.get_result()
    assert res.log_time.shape == (6,)
    assert 0.0 <= opt.ask()[0] <= 1.0
    with pytest.raises(TypeError):
        opt.tell([0.5], 1.0)  # a value without its time


def test_gp_minimize_takes_a_regressor_too():
    res = gp_minimize(bowl, SPACE, base_estimator="ET", n_calls=6, n_initial_points=3, n_points=200,
                      random_state=0, progress=False)
    assert len(res.models) == 4 and res.specs["function"] == "gp_minimize"
