"""scikit-optimize behaviours a ``gp_minimize`` user relies on (this project's own tests)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tuner import Optimizer, gp_minimize
from tuner.acquisition import ACQ_FUNCS, AcqConfig, make_acquisition


def _f(x):
    return (x[0] - 0.3) ** 2


def test_a_stopper_returning_numpy_bool_stops_the_run():
    calls = []

    def stopper(res):
        calls.append(len(res.func_vals))
        return np.bool_(len(res.func_vals) >= 4)  # what skopt's DeltaYStopper & co return

    res = gp_minimize(_f, [(0.0, 1.0)], n_calls=12, n_initial_points=3, random_state=0,
                      callback=[stopper], progress=False)
    assert len(res.func_vals) == 4 and calls[-1] == 4


def test_skopt_stoppers_stop_the_run():
    skopt_cb = pytest.importorskip("skopt.callbacks")
    res = gp_minimize(_f, [(0.0, 1.0)], n_calls=15, n_initial_points=3, random_state=0,
                      callback=skopt_cb.DeltaYStopper(delta=1e9, n_best=3), progress=False)
    assert len(res.func_vals) == 3


def test_every_callback_runs_even_after_one_says_stop():
    seen = []
    gp_minimize(_f, [(0.0, 1.0)], n_calls=6, n_initial_points=2, random_state=0, progress=False,
                callback=[lambda r: True, lambda r: seen.append(1)])
    assert seen == [1]


@pytest.mark.parametrize("acq", ["PI", "LCB", "EI", "gp_hedge", "LogEI", "qLogNEI", "MES"])
def test_every_acquisition_function_asks_batches_and_with_pending_points(acq):
    opt = Optimizer([(0.0, 1.0)], n_initial_points=6, random_state=1, acq_func=acq)
    xs = [[v] for v in np.linspace(0.02, 0.98, 8)]
    opt.tell(xs, [_f(x) for x in xs])
    batch = opt.ask(3)
    assert len({round(b[0], 9) for b in batch}) == 3
    # with one point pending, the next ask is the model's choice, near the minimum, not a random draw
    nxt = opt.ask()
    assert abs(nxt[0] - 0.3) < 0.25, nxt


def test_gp_minimize_with_pi_and_lcb_on_parallel_workers():
    for acq in ("PI", "LCB"):
        res = gp_minimize(_f, [(0.0, 1.0)], n_calls=8, n_initial_points=3, random_state=0,
                          acq_func=acq, n_jobs=2, progress=False)
        assert len(res.func_vals) == 8 and res.fun < 0.01


@pytest.mark.parametrize("name", ["EI", "PI"])
def test_xi_is_honoured(name):
    opt = Optimizer([(0.0, 1.0)], n_initial_points=4, random_state=0)
    xs = [[v] for v in (0.1, 0.4, 0.6, 0.9)]
    opt.tell(xs, [_f(x) for x in xs])
    X = torch.tensor([[0.1], [0.4], [0.6], [0.9]], dtype=torch.float64)
    vals = []
    for xi in (0.0, 0.5):
        acq = make_acquisition(name, opt.model, X, None, 1, False, AcqConfig(xi=xi))
        vals.append(acq(torch.tensor([[[0.3]]], dtype=torch.float64)).item())
    assert vals[1] < vals[0]  # a larger margin makes the same improvement less likely
    assert name in ACQ_FUNCS


def test_bad_arguments_are_value_errors_as_in_skopt():
    with pytest.raises(ValueError, match="n_calls"):
        gp_minimize(_f, [(0.0, 1.0)], n_calls=0)
    with pytest.raises(ValueError):
        Optimizer([(1.0, 0.0)])


def test_points_told_without_an_ask_count_towards_the_initial_design(tmp_path):
    opt = Optimizer([(0.0, 1.0)], n_initial_points=3, random_state=0)
    design = list(opt._design)
    opt.tell([[0.1], [0.5]], [1.0, 2.0])  # a warm start: two old results
    x = opt.ask()
    assert x == design[0]  # one random point is left of the three, as in skopt
    opt.tell(x, _f(x))
    assert opt._model_phase() and opt.ask() not in design  # three told: the model takes over
    # a copy made halfway through the design has the same design points left (each told once)
    half = Optimizer([(0.0, 1.0)], n_initial_points=3, random_state=0)
    half.tell(half.ask(), 1.0)
    assert half.copy()._fresh_design() == half._fresh_design() == design[1:]
    # a study resumed from SQLite counts them too
    db = str(tmp_path / "s.db")
    first = Optimizer([(0.0, 1.0)], n_initial_points=3, random_state=0, storage=db)
    first.tell([[0.1], [0.5], [0.9]], [1.0, 2.0, 3.0])
    first.storage.close()
    again = Optimizer([(0.0, 1.0)], n_initial_points=3, random_state=0, storage=db)
    assert again._model_phase() and again.ask() not in design
    again.storage.close()
    # gp_minimize's y0 does not shorten the design (skopt adds the x0 points to n_initial_points)
    res = gp_minimize(_f, [(0.0, 1.0)], x0=[[0.2], [0.4]], y0=[_f([0.2]), _f([0.4])], n_calls=5,
                      n_initial_points=3, random_state=0, progress=False)
    assert res.x_iters[2:5] == design


def test_result_keeps_one_model_per_fit_and_true_specs():
    with pytest.warns(DeprecationWarning):
        res = gp_minimize(_f, [(0.0, 1.0)], n_calls=6, n_random_starts=2, random_state=0,
                          progress=False)
    assert res.specs["args"]["n_initial_points"] == 2
    assert res.specs["args"]["func"] is _f
    assert len(res.models) >= 4 and res.models[-1] is not res.models[0]
    res2 = gp_minimize(_f, [(0.0, 1.0)], n_calls=6, n_initial_points=2, random_state=0,
                       model_queue_size=2, progress=False)
    assert len(res2.models) == 2


# ---------------------------------------------------------------- skopt's plots and utilities on our results
def _branin(x):
    a, b = x
    quad = (b - 5.1 / (4 * np.pi**2) * a**2 + 5 / np.pi * a - 6) ** 2
    return quad + 10 * (1 - 1 / (8 * np.pi)) * np.cos(a) + 10


@pytest.fixture(scope="module")
def branin_result():
    from tuner.space import Integer, Real

    return gp_minimize(lambda x: _branin([x[0], float(x[1])]),
                       [Real(-5.0, 10.0, name="a"), Integer(0, 15, name="b")],
                       n_calls=14, n_initial_points=8, random_state=0, progress=False)


def test_skopt_plots_and_expected_minimum_work_on_a_tuner_result(branin_result):
    plots = pytest.importorskip("skopt.plots")
    utils = pytest.importorskip("skopt.utils")
    import matplotlib

    matplotlib.use("Agg", force=True)
    res = branin_result
    assert plots.plot_objective(res, n_points=8, n_samples=30) is not None
    assert plots.plot_evaluations(res) is not None
    assert plots.plot_convergence(res) is not None
    x, fun = utils.expected_minimum(res, n_random_starts=3, random_state=0)
    # scipy's minimiser leaves integer coordinates real, as with skopt's own results
    assert all(lo <= v <= hi for v, (lo, hi) in zip(x, res.space.bounds, strict=True)) and np.isfinite(fun)
    # the model's prediction at a point is the surrogate's, on the objective's scale
    pred = res.models[-1].predict(res.space.transform([res.x]))
    assert abs(pred[0] - res.fun) < 0.3 * abs(res.fun) + 5


def test_expected_minimum_on_a_space_with_categories():
    """skopt samples 100,000 points of a partly categorical space through ``models[-1].predict``:
    it must answer in seconds, with a category from the space."""
    utils = pytest.importorskip("skopt.utils")

    def f(x):
        return (x[0] - 0.3) ** 2 + (0.0 if x[1] == "c" else 0.1) + 0.01 * x[2]

    res = gp_minimize(f, [(-1.0, 1.0), ["a", "b", "c"], (1, 5)], n_calls=12, n_initial_points=6,
                      random_state=0, progress=False)
    x, fun = utils.expected_minimum(res, random_state=0)
    assert x[1] in ("a", "b", "c") and 1 <= x[2] <= 5 and -1 <= x[0] <= 1 and np.isfinite(fun)


def test_with_skopt_in_use_the_result_space_is_also_skopt_s_and_draws_categories(tmp_path):
    """Once ``skopt.space`` is imported, ``res.space`` and its dimensions pass scikit-optimize's
    class tests (its own tests assert ``isinstance(res.space, Space)``; its plots treat a category
    they do not recognise as a number), with this toolkit's values and transforms; ``skopt.dump``
    and ``load`` keep that."""
    sk_space = pytest.importorskip("skopt.space")
    plots = pytest.importorskip("skopt.plots")
    skopt = pytest.importorskip("skopt")
    import matplotlib

    matplotlib.use("Agg")
    from tuner.space import Space

    res = gp_minimize(_mixed, [(1e-2, 1.0, "log-uniform"), ["a", "b", "c"], (1, 5)], n_calls=8,
                      n_initial_points=5, random_state=0, progress=False)
    assert isinstance(res.space, sk_space.Space) and isinstance(res.space, Space)
    assert [type(d).__name__ for d in res.space.dimensions] == ["Real", "Categorical", "Integer"]
    assert all(isinstance(d, getattr(sk_space, type(d).__name__)) for d in res.space.dimensions)
    plain = Space([(1e-2, 1.0, "log-uniform"), ["a", "b", "c"], (1, 5)])
    assert res.space == plain and res.space.dimension_names == plain.dimension_names
    np.testing.assert_array_equal(res.space.transform(res.x_iters), plain.transform(res.x_iters))
    assert plots.plot_objective(res, n_points=5, n_samples=20) is not None
    assert plots.plot_evaluations(res) is not None
    skopt.dump(res, str(tmp_path / "r.pkl"), store_objective=False)
    back = skopt.load(str(tmp_path / "r.pkl"))
    assert isinstance(back.space, sk_space.Space) and back.space == res.space


def _mixed(x):
    return (x[0] - 0.3) ** 2 + (0.0 if x[1] == "c" else 0.1) + 0.01 * x[2]


@pytest.mark.parametrize("n_initial", [0, 2])
@pytest.mark.parametrize("given", [True, False])
def test_models_are_counted_as_scikit_optimize_counts_them(n_initial, given):
    """One model per fit once the initial design and the x0 points are told (skopt's
    test_init_vals_and_models / test_init_points_and_models)."""
    x0 = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    y0 = [_branin(p) for p in x0] if given else None
    res = gp_minimize(_branin, [(-5.0, 10.0), (0.0, 15.0)], x0=x0, y0=y0, n_calls=7,
                      n_initial_points=n_initial, random_state=0, progress=False)
    assert len(res.models) == 7 - n_initial + 1 - (0 if given else len(x0))


@pytest.mark.parametrize("kwargs, match", [
    ({"n_calls": 1, "n_initial_points": 10}, r"n_calls must be >= n_initial_points \(10\).* = 10, got 1"),
    ({"n_calls": 4, "n_initial_points": 2, "x0": [[0.1], [0.2], [0.3]]}, r"= 5, got 4"),
    ({"n_initial_points": 0}, r"n_initial_points must be >= 1 when x0 gives no starting points.*got 0"),
])
def test_budgets_that_never_leave_the_design_are_refused(kwargs, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        gp_minimize(_f, [(0.0, 1.0)], random_state=0, progress=False, storage=str(tmp_path / "s.db"),
                    **kwargs)
    assert not (tmp_path / "s.db").exists()  # refused before a study file is made


def test_x0_of_the_wrong_size_is_a_runtime_error_as_in_scikit_optimize():
    with pytest.raises(RuntimeError, match=r"one value per dimension \(1\), got points of \[2\]"):
        gp_minimize(_f, [(0.0, 1.0)], x0=[[0.0, 1.0]], n_calls=3, n_initial_points=0, progress=False)


def test_skopt_plots_on_a_space_with_categories_through_as_skopt_result():
    """skopt's ``plot_objective`` / ``plot_evaluations`` test a dimension's class; the copy of the
    result with skopt's own dimensions draws them, its space transforming exactly as ours."""
    plots = pytest.importorskip("skopt.plots")
    import matplotlib

    matplotlib.use("Agg")
    from tuner import as_skopt_result

    def f(x):
        return (x[0] - 0.3) ** 2 + (0.0 if x[1] == "c" else 0.1) + 0.01 * x[2]

    res = gp_minimize(f, [(1e-2, 1.0, "log-uniform"), ["a", "b", "c"], (1, 5)], n_calls=8,
                      n_initial_points=5, random_state=0, progress=False)
    sk = as_skopt_result(res)
    assert type(sk.space).__module__.startswith("skopt") and res.space is not sk.space
    np.testing.assert_allclose(sk.space.transform(res.x_iters), res.space.transform(res.x_iters))
    assert sk.x == res.x and sk.models is res.models
    # a 3 x 3 grid of panels each (plot_objective adds a colour bar)
    assert len(plots.plot_objective(sk, n_points=5, n_samples=20).figure.axes) >= 9
    assert len(plots.plot_evaluations(sk).figure.axes) >= 9


def test_plot_gaussian_process_on_a_1d_tuner_result():
    plots = pytest.importorskip("skopt.plots")
    import matplotlib

    matplotlib.use("Agg", force=True)
    res = gp_minimize(_f, [(0.0, 1.0)], n_calls=7, n_initial_points=4, random_state=0, progress=False)
    assert plots.plot_gaussian_process(res) is not None


def test_delta_x_stopper_stops_a_tuner_run():
    cb = pytest.importorskip("skopt.callbacks")
    res = gp_minimize(_f, [(0.0, 1.0)], n_calls=25, n_initial_points=3, random_state=0, progress=False,
                      callback=cb.DeltaXStopper(0.5))
    assert len(res.func_vals) < 25


def test_dimension_and_space_api_of_skopt():
    from tuner.space import Categorical, Integer, Real, Space

    r, i, c = Real(1e-3, 1.0, "log-uniform", name="lr"), Integer(2, 9, name="n"), Categorical(["a", "b"])
    sp = Space([r, i, c])
    pts = sp.rvs(50, random_state=np.random.RandomState(0))  # skopt passes RandomState objects
    assert all(p in sp for p in pts)
    np.testing.assert_allclose(sp.transform(sp.inverse_transform(sp.transform(pts))), sp.transform(pts))
    assert r.transform([1e-3, 1.0]).tolist() == [0.0, 1.0]
    assert r.inverse_transform([0.5])[0] == pytest.approx(10 ** -1.5)
    assert i.rvs(5, random_state=1) and all(2 <= v <= 9 for v in i.rvs(20, random_state=2))
    assert (r.transformed_size, i.transformed_size, c.transformed_size) == (1, 1, 1)
    assert sp.distance([0.1, 3, "a"], [0.2, 5, "b"]) == pytest.approx(0.1 + 2 + 1)
    assert not any(d.is_constant for d in sp.dimensions) and Categorical(["x"]).is_constant
    assert sp.is_partly_categorical and not sp.is_categorical and sp.n_constant_dimensions == 0
    assert sp.transformed_n_dims == 3 and len(sp.transformed_bounds) == 3
    sp.set_transformer("normalize")  # accepted; the encoding stays the model coordinate
    with pytest.raises(ValueError, match="transform should be 'normalize' or 'identity'"):
        r.set_transformer("squash")


def test_gp_minimize_passes_an_explicit_xi_and_refuses_a_bad_one():
    a = gp_minimize(_f, [(0.0, 1.0)], n_calls=7, n_initial_points=3, random_state=0, progress=False)
    b = gp_minimize(_f, [(0.0, 1.0)], n_calls=7, n_initial_points=3, random_state=0, progress=False,
                    xi=5.0)
    assert a.specs["args"]["xi"] is None and b.specs["args"]["xi"] == 5.0
    assert a.x_iters[3:] != b.x_iters[3:]  # a margin of 5 (the whole range of f) changes the search
    with pytest.raises(ValueError, match="xi must be a number >= 0"):
        gp_minimize(_f, [(0.0, 1.0)], n_calls=3, xi=-1)


def test_optimizer_run_copy_and_update_next_as_in_skopt():
    opt = Optimizer([(0.0, 1.0)], n_initial_points=3, random_state=0)
    res = opt.run(_f, n_iter=5)
    assert len(res.func_vals) == 5 and res.fun == min(res.func_vals)
    twin = opt.copy(random_state=1)
    assert twin.yi == opt.yi and twin.Xi == opt.Xi and twin.random_state == 1
    twin.tell(twin.ask(), 0.5)
    assert len(opt.yi) == 5 and len(twin.yi) == 6  # independent copies
    opt.update_next()
    assert opt.model is not None


def test_optimizer_takes_skopt_positional_and_keyword_arguments():
    sklearn_gp = pytest.importorskip("sklearn.gaussian_process")
    from tuner import Optimizer

    # skopt's order: dimensions, base_estimator, n_random_starts, n_initial_points, ...
    opt = Optimizer([(-1.0, 1.0)], "GP", None, 3, acq_optimizer="sampling", random_state=0,
                    acq_func_kwargs={"xi": 0.05, "kappa": 2.5}, acq_optimizer_kwargs={"n_points": 100},
                    n_jobs=1, avoid_duplicates=True)
    assert opt.n_initial_points == 3 and opt.acq_config.xi == 0.05 and opt.acq_config.kappa == 2.5
    gp = sklearn_gp.GaussianProcessRegressor()
    with pytest.deprecated_call(match="use n_initial_points"):  # as skopt's Optimizer warns
        assert Optimizer([(-1.0, 1.0)], gp, n_random_starts=4).n_initial_points == 4
    assert Optimizer([(-1.0, 1.0)], "Gp").random_only is False  # skopt reads the name in any case
    assert Optimizer([(-1.0, 1.0)], "Dummy").random_only is True
    for bad, match in ((dict(base_estimator="XGB"), "base_estimator must be one of 'RF', 'ET', 'GP'"),
                       (dict(acq_optimizer="newton"), "acq_optimizer must be"),
                       (dict(acq_func_kwargs={"zeta": 1}), "takes 'xi' and 'kappa', got \\['zeta'\\]"),
                       (dict(acq_optimizer_kwargs={"n_point": 100}), "got \\['n_point'\\]"),
                       (dict(acq_optimizer_kwargs={"n_points": -5}),
                        "acq_optimizer_kwargs\\['n_points'\\] must be an int >= 1, got -5"),
                       (dict(acq_optimizer_kwargs={"n_jobs": 0}), "or -1 \\(all cores\\), got 0")):
        with pytest.raises(ValueError, match=match):
            Optimizer([(-1.0, 1.0)], **bad)
    assert Optimizer([(-1.0, 1.0)], acq_optimizer_kwargs={"n_jobs": -1, "n_restarts_optimizer": 2})


def test_gp_minimize_checks_acq_optimizer_before_any_evaluation():
    """An unknown ``acq_optimizer`` is refused by gp_minimize as by scikit-optimize (it was
    accepted in silence: gp_minimize did not hand it on), and ``func`` is never called."""
    from tuner import gp_minimize

    calls = []
    with pytest.raises(ValueError, match=r"acq_optimizer must be 'auto', 'lbfgs' or 'sampling', got 'bogus'"):
        gp_minimize(lambda x: calls.append(x) or 0.0, [(0.0, 1.0)], n_calls=3, n_initial_points=2,
                    acq_optimizer="bogus", progress=False)
    for bad, match in ((dict(n_points=-3), "n_points must be an int >= 1, got -3"),
                       (dict(n_restarts_optimizer="5"), "n_restarts_optimizer must be an int >= 1, got '5'")):
        with pytest.raises(ValueError, match=match):  # accepted for skopt's sake, still checked
            gp_minimize(lambda x: calls.append(x) or 0.0, [(0.0, 1.0)], n_calls=3, n_initial_points=2,
                        progress=False, **bad)
    assert calls == []


def test_tell_checks_dimensions_with_skopt_wording():
    from tuner import Optimizer

    opt = Optimizer([(-2.0, 2.0), (-2.0, 2.0)], n_initial_points=2)
    with pytest.raises(ValueError, match=r"Dimensions of point \[-1\] and space \(2\) do not match"):
        opt.tell([-1], 2.0)
    with pytest.raises(ValueError, match=r"same dimensions as the space: .* got lengths \[1, 2, 2\]"):
        opt.tell([[-1], [-1, 0], [-1, 1]], [2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="'RF', 'ET', 'GP', 'GBRT' or 'DUMMY'"):
        Optimizer([(-2.0, 2.0)], base_estimator="rtr")
    assert opt.trials == []  # nothing was recorded by the refused tells


def test_a_given_estimator_brings_its_noise():
    skopt_utils = pytest.importorskip("skopt.utils")
    from tuner import gp_minimize

    domain = [(1.0, 2.0), (3.0, 4.0)]
    est = skopt_utils.cook_estimator("GP", domain, noise=1e5)
    res = gp_minimize(lambda x: (x[0] - 1.5) ** 2 + x[1], domain, base_estimator=est, n_calls=4,
                      n_initial_points=2, noise=1e-10, model_queue_size=1, random_state=0)
    assert len(res.models) == 1 and res.models[-1].noise == 1e5  # skopt: the estimator's noise wins
    with pytest.raises(ValueError, match="base_estimator must be one of 'RF', 'ET', 'GP', 'GBRT' or 'DUMMY'"):
        gp_minimize(lambda x: x[0], [(0.0, 1.0)], base_estimator="XGB", n_calls=2, n_initial_points=1)


def test_an_optimizer_result_prints_and_names_its_arguments():
    """scipy's ``OptimizeResult`` repr fails on an empty nested dict: the ``specs`` of an
    ``Optimizer``'s result were ``{"args": {}}``, so printing a told result raised ValueError."""
    from tuner import Optimizer

    opt = Optimizer([(-1.0, 1.0)], n_initial_points=2, random_state=3, acq_func="PI")
    for _ in range(3):
        res = opt.tell(opt.ask(), 0.25)
    assert res.specs["function"] == "Optimizer"
    assert res.specs["args"]["random_state"] == 3 and res.specs["args"]["acq_func"] == "PI"
    assert "fun_recommended" in repr(res) and "specs" in repr(res)


@pytest.mark.parametrize("name", ["dummy", "DUMMY"])
def test_the_dummy_estimator_is_random_search_as_in_skopt(name):
    opt = Optimizer([(-2.0, 2.0)], name, n_initial_points=2, random_state=1)
    x0, x1 = opt.ask(), opt.ask()
    r = opt.tell([x0, x1], [3.0, 4.0])
    x2, x3 = opt.ask(), opt.ask()  # past the design: fresh random points, never a model's
    r = opt.tell([x2, x3], [1.0, 2.0])
    assert len({x0[0], x1[0], x2[0], x3[0]}) == 4 and r.models == [] and opt.model is None
    assert opt.copy().random_only
    res = gp_minimize(_f, [(0.0, 1.0)], base_estimator=name, n_calls=12, n_initial_points=3,
                      random_state=0, progress=False)
    rng_res = gp_minimize(_f, [(0.0, 1.0)], base_estimator=name, n_calls=12, n_initial_points=3,
                          random_state=0, progress=False)
    assert res.x_iters == rng_res.x_iters and res.models == [] and len(res.func_vals) == 12


def test_asking_again_before_a_tell_gives_the_same_answer_as_in_skopt():
    opt = Optimizer([(-2.0, 2.0)], n_initial_points=2, random_state=1)
    x0, x1 = opt.ask(), opt.ask()
    assert x0 != x1  # initial random points are new on every ask
    opt.tell(x1, 3.0)
    x2 = opt.ask()
    r2 = opt.tell(x2, 4.0)
    assert len(r2.models) == 1
    x3, x4 = opt.ask(), opt.ask()
    assert x3 == x4  # nothing told in between: the model's same next point, no new trial
    assert sum(t.state == "pending" for t in opt.trials) == 2  # x0 and x3
    r3 = opt.tell(x3, 1.0)
    assert len(r3.models) == 2 and opt.ask() != x3
    # a batch asked twice is the same batch; asked with other arguments, new pending points
    a, b = opt.ask(3, "cl_min"), opt.ask(3, "cl_min")
    assert a == b
    c = opt.ask(2)
    assert not {tuple(p) for p in c} & {tuple(p) for p in a}


def test_an_unknown_acquisition_is_refused_naming_the_accepted_ones():
    with pytest.raises(ValueError, match=r"acq_func must be one of \[.*'EIps'.*'MES'.*'PIps'.*\], got 'KG'"):
        Optimizer([(0.0, 1.0)], acq_func="KG")


_PLOTS_AFTER_THE_RUN = """
import sys
import matplotlib
matplotlib.use("Agg")
from tuner import gp_minimize
from tuner.space import Categorical, Integer, Real
assert "skopt.space" not in sys.modules  # tuner itself does not import scikit-optimize
f = lambda x: (x[0] - 0.3) ** 2 + 0.01 * (x[1] - 3) ** 2 + (0.0 if x[2] == "a" else 0.5)
res = gp_minimize(f, [Real(0, 1, name="r"), Integer(1, 6, name="i"), Categorical(["a", "b"], name="c")],
                  n_calls=8, n_initial_points=5, random_state=0, progress=False)
from skopt.plots import plot_evaluations, plot_histogram, plot_objective, plot_objective_2D
from skopt.space import Categorical as SkCategorical
assert isinstance(res.space.dimensions[2], SkCategorical)
plot_histogram(res, "c")
plot_objective_2D(res, "r", "i", n_points=5, n_samples=10)
plot_objective(res, plot_dims=["r", "c"], n_points=5, n_samples=10)
plot_evaluations(res)
print("drawn")
"""


def test_skopt_plots_imported_after_the_run_draw_a_tuner_result():
    """``res.space`` is retyped when read: skopt's plots imported once the search is done
    recognise its categories and index it by name (they failed with "'Space' object is not
    subscriptable" and "could not convert string to float: 'a'")."""
    pytest.importorskip("skopt.plots")
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _PLOTS_AFTER_THE_RUN], capture_output=True,
                         text=True, timeout=300, check=False)
    assert out.returncode == 0 and "drawn" in out.stdout, out.stderr[-2000:]


def test_a_space_is_looked_up_by_name_and_index_as_in_skopt():
    from tuner.errors import SpaceError
    from tuner.space import Categorical, Integer, Real, Space

    sp = Space([Real(1, 2, name="a"), Integer(1, 100, name="b"), Categorical(["red", "blue"], name="c")])
    assert sp["a"] == (0, sp.dimensions[0]) and sp[2] == (2, sp.dimensions[2])
    assert sp["a", "c"] == sp[["a", 2]] == [(0, sp.dimensions[0]), (2, sp.dimensions[2])]
    with pytest.raises(SpaceError, match=r"the names are \['a', 'b', 'c'\], got 'd'"):
        sp["d"]
    with pytest.raises(SpaceError, match="got 3"):
        sp[3]


def test_dimensions_answer_in_and_check_names_dtypes_and_distances_as_skopt():
    from tuner.errors import SpaceError
    from tuner.space import Categorical, Integer, Real

    log = Real(1, 32, prior="log-uniform")
    for v in (32.0, 31.999999999999999, np.float64(2.0)):
        assert v in log and log.inverse_transform(log.transform([v])) in log
    assert 33 not in log and "a" not in log and 11 not in Integer(1, 10) and 2.5 not in Integer(1, 10)
    assert np.str_("a") in Categorical(["a", "b"]) and "z" not in Categorical(["a", "b"])
    for name in (1, 1.0, True):
        with pytest.raises(SpaceError, match=f"name must be a string or None, got {name!r}"):
            Real(1, 2, name=name)
    with pytest.raises(RuntimeError, match=r"compute distance for values within .* not 11 and 10"):
        Integer(1, 10).distance(11, 10)
    assert Integer(1, 10).distance(3, 10) == 7
    # dtype: what rvs and inverse_transform return; by default Python numbers
    assert Integer(1, 5, dtype="int32").rvs(4, random_state=0).dtype == np.int32
    assert Real(0, 1, dtype=np.float32).inverse_transform([0.5]).dtype == np.float32
    plain = Integer(1, 5, dtype=int).rvs(4, random_state=0)
    assert isinstance(plain, list) and all(type(v) is int for v in plain)
    with pytest.raises(SpaceError, match=r"dtype must be None or one of \('int'.*got 'float32'"):
        Integer(1, 5, dtype="float32")
    with pytest.raises(SpaceError, match=r"transform should be 'normalize' or 'identity'.*got 'onehot'"):
        Real(0, 1, transform="onehot")


def test_a_categorical_prior_is_honoured_in_draws_and_kept():
    """scikit-optimize's ``prior`` of a category was accepted and ignored: the initial design
    drew the categories evenly."""
    from tuner.errors import SpaceError
    from tuner.space import Categorical, Space, check_dimension

    c = Categorical(["a", "b", "c"], prior=[0.8, 0.15, 0.05], name="kind")
    draws = c.rvs(4000, random_state=0)
    share = [draws.count(k) / len(draws) for k in "abc"]
    assert share == pytest.approx([0.8, 0.15, 0.05], abs=0.02)
    design = Space([c, (0.0, 1.0)]).rvs(400, random_state=1, method="sobol")
    assert sum(p[0] == "a" for p in design) / 400 == pytest.approx(0.8, abs=0.02)
    assert check_dimension(c.spec()) == c and c != Categorical(["a", "b", "c"], name="kind")
    assert "prior=[0.8, 0.15, 0.05]" in repr(c)
    for bad in ([0.5, 0.5], [0.5, 0.6, -0.1], [0.2, 0.2, 0.2], "abc"):
        with pytest.raises(SpaceError, match="one probability >= 0 per category"):
            Categorical(["a", "b", "c"], prior=bad)
    sk = pytest.importorskip("skopt.space")
    assert Space([sk.Categorical(["x", "y"], prior=[0.25, 0.75])]).dimensions[0].prior == [0.25, 0.75]


def test_fixed_and_numpy_dimensions_and_a_space_from_yaml(tmp_path):
    from tuner.errors import SpaceError
    from tuner.space import Categorical, Space, check_dimension

    fixed = check_dimension((23,))
    assert isinstance(fixed, Categorical) and fixed.is_constant and fixed.categories == (23,)
    flags = check_dimension(np.array([True, False]))
    assert flags.categories == (True, False) and all(type(v) is bool for v in flags.categories)
    with pytest.raises(SpaceError, match=r"has to be a list or tuple .* got '23'"):
        check_dimension("23")
    f = tmp_path / "space.yaml"
    f.write_text("first: [{Real: {low: 0.0, high: 1.0}}]\n"
                 "hpo:\n  - Real: {low: 1.0e-4, high: 1.0e-1, prior: log-uniform, name: lr}\n"
                 "  - integer: {Low: 1, High: 4, name: layers}\n"
                 "  - Categorical: {categories: [adam, sgd], name: opt}\n")
    sp = Space.from_yaml(f, namespace="hpo")
    assert sp.dimension_names == ["lr", "layers", "opt"] and sp.dimensions[0].prior == "log-uniform"
    assert Space.from_yaml(f) == Space([(0.0, 1.0)])
    with pytest.raises(SpaceError, match="no space named 'nope'; the file has \\['first', 'hpo'\\]"):
        Space.from_yaml(f, namespace="nope")
    f.write_text("- Reals: {low: 0, high: 1}\n")
    with pytest.raises(SpaceError, match="each dimension is one of"):
        Space.from_yaml(f)
