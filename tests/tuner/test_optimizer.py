"""Ask/tell behaviour: batches, duplicates, failures, reproducibility, results."""

from __future__ import annotations

import math
import re

import matplotlib
import numpy as np
import pytest

from tuner import Categorical, EvaluationError, Optimizer, SpaceError, TunerError, gp_minimize
from tuner.optimizer import ASK_STRATEGIES

matplotlib.use("Agg")


def quad(x):
    return (x[0] - 0.3) ** 2 + (x[1] + 0.2) ** 2


def test_converges_on_a_quadratic():
    res = gp_minimize(quad, [(-1.0, 1.0), (-1.0, 1.0)], n_calls=20, n_initial_points=6,
                      random_state=0, progress=False)
    assert res.fun < 1e-3
    assert len(res.x_iters) == 20 and len(res.func_vals) == 20
    assert res.fun == min(res.func_vals)
    assert res.x_recommended == pytest.approx([0.3, -0.2], abs=0.05)


def test_same_seed_same_run_and_different_seed_differs():
    kw = dict(n_calls=12, n_initial_points=5, progress=False)
    a = gp_minimize(quad, [(-1.0, 1.0), (-1.0, 1.0)], random_state=7, **kw)
    b = gp_minimize(quad, [(-1.0, 1.0), (-1.0, 1.0)], random_state=7, **kw)
    c = gp_minimize(quad, [(-1.0, 1.0), (-1.0, 1.0)], random_state=8, **kw)
    assert a.x_iters == b.x_iters
    assert a.x_iters != c.x_iters


@pytest.mark.parametrize("strategy", ASK_STRATEGIES)
def test_batches_with_known_noise_are_reproducible_whatever_torch_was_seeded_with(strategy):
    """Batches (and known noise) take the Monte Carlo acquisition, whose QMC sampler draws its
    scrambling seed when it is made: the optimiser's seed fixes it, not torch's global state."""
    import torch

    def run(torch_seed: int) -> list:
        torch.manual_seed(torch_seed)
        opt = Optimizer([(-1.0, 1.0), (-1.0, 1.0), ["a", "b"]], n_initial_points=4, random_state=1)
        for _ in range(3):
            xs = opt.ask(n_points=2, strategy=strategy)
            opt.tell(xs, [quad(x[:2]) + (x[2] == "b") for x in xs], noise=[1e-3, 2e-3])
            torch.rand(int(torch_seed) + 1)  # whatever else the caller draws in between
        return opt.Xi

    assert run(0) == run(12345)


def test_batch_ask_gives_distinct_points_and_pending_are_not_repeated():
    opt = Optimizer([(-1.0, 1.0), (-1.0, 1.0)], n_initial_points=4, random_state=1)
    first = opt.ask(4)
    opt.tell(first, [quad(x) for x in first])
    batch = opt.ask(5)
    more = opt.ask(3)  # the 5 are still pending
    allpts = [tuple(p) for p in first + batch + more]
    assert len(set(allpts)) == len(allpts) == 12
    U = opt.space.to_unit(batch + more)
    d = np.sqrt(((U[:, None] - U[None]) ** 2).sum(-1)) + np.eye(len(U))
    assert d.min() > 1e-4


@pytest.mark.parametrize("strategy", ASK_STRATEGIES)
def test_every_batch_strategy_gives_distinct_points_and_finds_the_minimum(strategy):
    opt = Optimizer([(-1.0, 1.0), (-1.0, 1.0)], n_initial_points=4, random_state=2)
    for _ in range(5):
        xs = opt.ask(3, strategy=strategy)
        assert len({tuple(x) for x in xs}) == 3 and not set(map(tuple, xs)) & set(map(tuple, opt.Xi))
        opt.tell(xs, [quad(x) for x in xs])
    assert min(opt.yi) < 0.01  # random search with 19 points: 1 time in 7


def test_constant_liar_lies_as_told():
    """cl_max pretends the pending point was the worst so far, so the next point moves away from
    it; cl_min pretends it was the best, so the next point stays closer."""
    gaps = {}
    for strategy in ("cl_min", "cl_max"):
        opt = Optimizer([(-1.0, 1.0), (-1.0, 1.0)], n_initial_points=6, random_state=3)
        xs = opt.ask(6)
        opt.tell(xs, [quad(x) for x in xs])
        a, b = opt.ask(2, strategy=strategy)
        gaps[strategy] = float(np.hypot(a[0] - b[0], a[1] - b[1]))
    assert gaps["cl_max"] > gaps["cl_min"]
    with pytest.raises(TunerError, match=r"strategy must be one of .*got 'cl_maen'"):
        opt.ask(2, strategy="cl_maen")


def test_discrete_space_is_exhausted_without_duplicates():
    opt = Optimizer([(1, 3), ["a", "b"]], n_initial_points=2, random_state=0)
    seen = []
    for _ in range(3):
        pts = opt.ask(2)
        seen += [tuple(p) for p in pts]
        opt.tell(pts, [float(p[0]) + (p[1] == "b") for p in pts])
    assert len(set(seen)) == 6
    # every point taken: as scikit-optimize, evaluate again (the best one) with a warning
    with pytest.warns(UserWarning, match=r"every point .* evaluated .* \(6 distinct points\)"):
        again = opt.ask()
    assert tuple(again) in set(seen)


def test_small_discrete_space_with_more_calls_than_points_runs_to_the_end():
    with pytest.warns(UserWarning, match="evaluated again"):
        res = gp_minimize(lambda x: (x[0] - 2) ** 2, [(0, 4)], n_calls=8, n_initial_points=3,
                          random_state=0, progress=False)
    assert len(res.x_iters) == 8 and {x[0] for x in res.x_iters} == {0, 1, 2, 3, 4}
    assert res.x == [2] and res.fun == 0


def test_space_constraint_is_respected_by_every_asked_point():
    def inside(x):
        return x[0] + x[1] <= 1.0

    res = gp_minimize(lambda x: (x[0] - 0.8) ** 2 + (x[1] - 0.8) ** 2, [(0.0, 1.0), (0.0, 1.0)],
                      n_calls=16, n_initial_points=6, space_constraint=inside, random_state=0,
                      progress=False)
    assert all(inside(x) for x in res.x_iters)
    assert res.fun < 0.18 + 0.01  # the constrained minimum is 0.18 at (0.5, 0.5)
    opt = Optimizer([(0.0, 1.0), (0.0, 1.0)], n_initial_points=3, space_constraint=inside,
                    random_state=1)
    assert all(inside(x) for x in opt.ask(5))
    with pytest.raises(TunerError, match=r"space_constraint must be a callable .* got 3"):
        Optimizer([(0.0, 1.0)], space_constraint=3)
    with pytest.raises(TunerError, match="space_constraint rejected all of"):
        Optimizer([(0.0, 1.0)], space_constraint=lambda x: False)


def test_mixed_space_runs_and_respects_types():
    space = [(1e-4, 1e-1, "log-uniform"), (1, 6), ["adam", "sgd", "rmsprop"]]

    def f(x):
        return (math.log10(x[0]) + 2.5) ** 2 + (x[1] - 4) ** 2 / 4 + (x[2] != "sgd")

    found = 0
    for seed in (1, 2, 3):
        res = gp_minimize(f, space, n_calls=18, n_initial_points=6, random_state=seed,
                          progress=False)
        for x in res.x_iters:
            assert isinstance(x[0], float) and isinstance(x[1], int)
            assert x[2] in ("adam", "sgd", "rmsprop")
        found += res.fun < 0.5 and res.x[2] == "sgd"
    # random search finds f < 0.5 in 18 calls with probability ~0.15
    assert found >= 2


@pytest.mark.parametrize("design", ["lhs", "halton"])
def test_scikit_optimizes_mixed_case_with_and_without_a_categorical_prior(design):
    """scikit-optimize's `mixed_categoricals` case (its seed and designs): ``int(a) + b * z`` over
    two categories and a real. Until session 25 the default fit (no prior) ended these runs at
    ``b = 5`` or ``6``: the acquisition's maximum fell on evaluated points and those asks went
    to random points; the best untaken point by acquisition finds the optimum. With
    ``categorical_prior`` the categories share more (lengthscales above 0.05) and it is found too."""
    from botorch.models.kernels.categorical import CategoricalKernel

    from tuner.space import Categorical, Real, Space
    from tuner.surrogate import SurrogateConfig

    space = Space([Categorical(["1", "2", "3"], name="a"), Categorical([4, 5, 6], name="b"),
                   Real(1.0, 5.0, name="z")])
    for prior in (None, (0.0, 1.0)):
        res = gp_minimize(lambda p: int(p[0]) + p[1] * p[2], space, n_calls=20, random_state=1,
                          initial_point_generator=design, progress=False,
                          model_config=SurrogateConfig(categorical_prior=prior))
        assert res.x in (["1", 4, 1.0], ["2", 4, 1.0]), prior
        if prior is not None:
            scales = [float(k.lengthscale.min()) for k in res.models[-1].model.covar_module.modules()
                      if isinstance(k, CategoricalKernel)]
            assert min(scales) > 0.05


def test_failures_are_recorded_and_excluded():
    calls = []

    def f(x):
        calls.append(x)
        if x[0] > 0.5:
            raise RuntimeError("diverged")
        if x[0] < -0.8:
            return None
        return quad(x)

    res = gp_minimize(f, [(-1.0, 1.0), (-1.0, 1.0)], n_calls=15, n_initial_points=6,
                      random_state=3, progress=False)
    assert len(calls) == 15
    assert len(res.x_iters) + len(res.failed) == 15
    assert res.failed, "the design covers x > 0.5, so some evaluations failed"
    assert all(x[0] <= 0.5 and x[0] >= -0.8 for x in res.x_iters)
    assert any("diverged" in (f["error"] or "") for f in res.failed)
    assert np.all(np.isfinite(res.func_vals))


def test_nan_and_inf_are_refused_unless_declared_failed():
    opt = Optimizer([(0.0, 1.0)], random_state=0)
    x = opt.ask()
    with pytest.raises(EvaluationError, match="must be finite, got nan"):
        opt.tell(x, float("nan"))
    with pytest.raises(EvaluationError, match="must be finite, got inf"):
        opt.tell(x, np.inf)
    res = opt.tell(x, None)
    assert len(res.failed) == 1 and res.x_iters == []
    with pytest.raises(SpaceError, match="outside"):
        opt.tell([2.0], 1.0)
    with pytest.raises(EvaluationError, match="noise must be a finite variance >= 0"):
        opt.tell([0.5], 1.0, noise=-1.0)


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(acq_func="nope"), r"acq_func must be one of .*, got 'nope'"),
    (dict(y_warp="sqrt"), r"y_warp must be one of .*, got 'sqrt'"),
    (dict(noise=float("inf")), r"noise must be 'gaussian' or a finite variance >= 0, got inf"),
    (dict(noise=-0.1), r"noise must be 'gaussian' or a finite variance >= 0, got -0.1"),
    (dict(n_initial_points=True), r"n_initial_points must be an int >= 0, got True"),
    (dict(model_queue_size=0), r"model_queue_size must be None or an int >= 1, got 0"),
    (dict(failures="retry"), r"failures must be one of \('worst', 'ignore'\), got 'retry'"),
    (dict(space_constraint=3), r"space_constraint must be a callable point -> bool or None, got 3"),
    (dict(initial_point_generator="owen"), r"initial_point_generator must be one of .*, got 'owen'"),
])
def test_bad_optimizer_options_state_the_rule_and_the_value(kwargs, match):
    with pytest.raises(TunerError, match=match):
        Optimizer([(0.0, 1.0)], **kwargs)


def test_a_tell_of_several_points_needs_one_info_per_point():
    opt = Optimizer([(0.0, 1.0)], n_initial_points=2, random_state=0)
    with pytest.raises(EvaluationError, match=r"one info and one artifact per point .* got 2 points, "
                                              "3 infos"):
        opt.tell([[0.2], [0.5]], [1.0, 2.0], info=[{}, {}, {}])
    assert opt.trials == []


def test_bad_options_raise():
    with pytest.raises(TunerError, match="n_calls must be an int >= 1, got 0"):
        gp_minimize(quad, [(0.0, 1.0), (0.0, 1.0)], n_calls=0)
    with pytest.raises(TunerError, match="n_calls must be an int >= 1, got True"):  # a bool is no count
        gp_minimize(quad, [(0.0, 1.0), (0.0, 1.0)], n_calls=True)
    with pytest.raises(EvaluationError, match="needs objective values > 0"):
        Optimizer([(0.0, 1.0)], y_warp="log").tell([0.5], -1.0)
    # an objective that cannot be called is refused at once (it ran n_calls failed evaluations)
    with pytest.raises(TunerError, match=r"func must be callable \(the objective.*\), got 5"):
        gp_minimize(5, [(0.0, 1.0)], n_calls=12)


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(callback=5), r"callback must be a callable or a list of callables, got 5"),
    (dict(callback=[print, 5]), r"callback must be a callable or a list of callables, got 5"),
    (dict(y0=[1.0]), r"y0 gives the values of the points x0, and x0 is missing \(y0 = \[1.0\]\)"),
    (dict(kappa=-1.0), r"kappa must be a finite number >= 0, got -1.0"),
    (dict(kappa=float("nan")), r"kappa must be a finite number >= 0, got nan"),
    (dict(random_state="abc"), r"random_state must be None, an int >= 0 or a numpy RandomState / "
                               r"Generator, got 'abc'"),
    (dict(random_state=-3), r"random_state must be .* got -3"),
    (dict(exploit_last=-1), r"exploit_last must be an int >= 0, got -1"),
    (dict(exploit_last=True), r"exploit_last must be an int >= 0, got True"),
])
def test_bad_gp_minimize_arguments_are_refused_before_any_evaluation(kwargs, match):
    """Each with one ValueError that states the rule and the value (a negative kappa was taken
    as its square, a y0 without x0 ignored, a callback or seed of the wrong type ended in
    another library's TypeError), and the objective never runs."""
    calls = []
    with pytest.raises(ValueError, match=match):
        gp_minimize(lambda x: calls.append(x) or 0.0, [(0.0, 1.0)], n_calls=3, progress=False, **kwargs)
    assert calls == []


@pytest.mark.parametrize(("extra", "match"), [
    (dict(info=5), r"info must be a dict of JSON values \(or None\), got 5 at \[0.5\]"),
    (dict(info={"model": object()}), r"info must be a dict of JSON values"),
    (dict(artifact="text"), r"artifact must be bytes \(or None\), got str at \[0.5\]"),
])
def test_a_tell_with_bad_extras_records_nothing(extra, match):
    """A bad ``info`` or ``artifact`` was found only while the trial was being stored: the tell
    raised a TypeError and left a trial marked complete."""
    opt = Optimizer([(0.0, 1.0)], n_initial_points=2, random_state=0)
    with pytest.raises(ValueError, match=match):
        opt.tell([0.5], 1.0, **extra)
    with pytest.raises(ValueError, match=match):
        opt.tell([[0.2], [0.5]], [1.0, 2.0], **{k: [None, v] for k, v in extra.items()})
    assert opt.trials == []


@pytest.mark.parametrize(("extra", "match"), [
    ({"info": 5}, r"info must be a dict of JSON values \(or None\), got 5"),
    ({"artifact": "text"}, r"artifact must be bytes \(or None\), got str"),
])
def test_an_objective_returning_bad_extras_keeps_its_value_and_says_what_was_dropped(extra, match):
    """The same rule where an evaluation loop tells (``tell_trial``): the run ended in a
    TypeError for ``info=5`` with the trial left pending, and kept a ``str`` artifact. Now the
    value is kept (nothing computed is lost), what could not be stored is named in the trial's
    info and a warning says so."""
    def f(x):
        return {"value": (x[0] - 0.3) ** 2, **extra} if x[0] > 0.5 else (x[0] - 0.3) ** 2

    with pytest.warns(RuntimeWarning, match=r"the value is kept, the info and artifact are not"):
        res = gp_minimize(f, [(0.0, 1.0)], n_calls=6, n_initial_points=4, random_state=0, progress=False)
    assert len(res.trials) == 6 and all(t.state == "complete" for t in res.trials)
    bad = [t for t in res.trials if t.x[0] > 0.5]
    assert bad and all(re.search(match, t.info["dropped"]) for t in bad)
    assert all("dropped" not in t.info for t in res.trials if t.x[0] <= 0.5)


def test_numpy_and_torch_numbers_in_info_are_stored_as_plain_json(tmp_path):
    """An objective that computes its metrics with numpy or torch reports them as such
    (``np.float32``, ``np.int64``, arrays, 0-d tensors): they were refused as not JSON; they are
    stored as the numbers and lists they mean, and read back from the SQLite study."""
    import torch

    from tuner.storage import Study

    info = {"acc": np.float32(0.75), "epochs": np.int64(3), "ok": np.bool_(True),
            "curve": np.array([0.5, 0.25]), "loss": torch.tensor(0.125),
            "nested": {"t": (np.float64(1.5), "a")}, "per_class": {np.int64(3): np.float32(0.5)}}
    opt = Optimizer([(0.0, 1.0)], n_initial_points=2, random_state=0,
                    storage=str(tmp_path / "s.db"))
    opt.tell([0.5], 1.0, info=info)
    want = {"acc": 0.75, "epochs": 3, "ok": True, "curve": [0.5, 0.25], "loss": 0.125,
            "nested": {"t": [1.5, "a"]}, "per_class": {"3": 0.5}}
    assert opt.trials[0].info == want
    stored = Study(tmp_path / "s.db", opt.space).trials()[0].info
    assert stored == want and type(stored["epochs"]) is int and type(stored["ok"]) is bool


def test_random_state_may_be_a_numpy_generator_as_in_skopt():
    """scikit-optimize takes a ``RandomState`` as ``random_state``; one draw from it seeds the
    run, so equal generators give equal runs and a shared one gives each run its own seed."""
    runs = [Optimizer([(0.0, 1.0)], n_initial_points=3, random_state=rs).ask(3)
            for rs in (np.random.RandomState(4), np.random.RandomState(4), np.random.default_rng(4))]
    assert runs[0] == runs[1] and runs[0] != runs[2]
    shared = np.random.RandomState(4)
    assert (Optimizer([(0.0, 1.0)], n_initial_points=3, random_state=shared).ask(3)
            != Optimizer([(0.0, 1.0)], n_initial_points=3, random_state=shared).ask(3))


def test_callback_stops_the_run():
    seen = []

    def cb(res):
        seen.append(len(res.x_iters))
        return len(res.x_iters) >= 7

    res = gp_minimize(quad, [(-1.0, 1.0), (-1.0, 1.0)], n_calls=30, n_initial_points=4,
                      callback=[cb], random_state=0, progress=False)
    assert len(res.x_iters) == 7
    assert seen == list(range(1, 8))


def test_noisy_objective_recommendation_uses_the_posterior_mean():
    rng = np.random.default_rng(0)

    def noisy(x):
        return quad(x) + rng.normal(0, 0.05)

    res = gp_minimize(noisy, [(-1.0, 1.0), (-1.0, 1.0)], n_calls=25, n_initial_points=8,
                      random_state=0, progress=False)
    assert quad(res.x_recommended) < 0.01
    assert res.fun_recommended_std is not None


def test_ask_recommended_asks_the_recommendation_once():
    """The recommendation becomes a pending trial; asked again before anything is told, the
    point is taken already and nothing is asked."""
    opt = Optimizer([(-1.0, 1.0), (-1.0, 1.0)], n_initial_points=6, random_state=0)
    for _ in range(9):
        x = opt.ask()
        opt.tell(x, quad(x))
    rec = opt.recommend(search=True)
    assert rec is not None and not any(np.allclose(rec[0], x) for x in opt.Xi)
    trial = opt.ask_recommended()
    assert trial is not None and trial.x == rec[0] and trial.state == "pending"
    assert opt.ask_recommended() is None
    assert Optimizer([(0.0, 1.0)], random_state=0).ask_recommended() is None  # no model yet
    fenced = Optimizer([(-1.0, 1.0), (-1.0, 1.0)], n_initial_points=6, random_state=0,
                       space_constraint=lambda x: x[0] < 0.0)
    fenced.tell(opt.Xi[:9], opt.yi[:9])  # told points may lie anywhere; asked ones may not
    assert rec[0][0] > 0.0 and fenced.ask_recommended() is None


def test_the_default_acquisition_is_log_ei_then_noisy_ei_from_half_the_budget():
    """``acq_func="auto"`` (gp_minimize's default): the asks of the first half of ``n_calls`` are
    LogEI's, those from half of it on noisy EI's (``qLogNEI``); with a margin ``xi`` (which noisy
    EI has not) and in an ``Optimizer`` without a budget it is LogEI throughout."""
    from tuner.acquisition.functions import scheduled_acquisition

    assert [scheduled_acquisition(k, 10, 0.0) for k in (0, 4, 5, 9)] == ["LogEI", "LogEI", "qLogNEI",
                                                                         "qLogNEI"]
    assert scheduled_acquisition(9, None, 0.0) == scheduled_acquisition(9, 10, 0.01) == "LogEI"
    dims = [(-1.0, 1.0), (-1.0, 1.0)]
    # the power warp: the "loo" choice is made with the kernel of the fit before, so an Optimizer
    # told six points at once (one fit) may choose another warp than one told them one by one
    kw = dict(n_calls=12, n_initial_points=4, random_state=5, progress=False, exploit_last=0,
              y_warp="power")
    runs = {a: gp_minimize(quad, dims, acq_func=a, **kw) for a in ("auto", "LogEI", "qLogNEI")}
    auto, logei, nei = runs["auto"].x_iters, runs["LogEI"].x_iters, runs["qLogNEI"].x_iters
    assert runs["auto"].specs["args"]["acq_func"] == "auto"
    assert auto[:6] == logei[:6] and auto[6] != logei[6]  # the 7th ask (6 done) is noisy EI's
    # from there on it asks as qLogNEI does: about the same point given the same evaluations (a
    # fit of all six at once, not one per tell: hence the tolerance, 30x below LogEI's distance)
    opt = Optimizer(dims, n_initial_points=4, random_state=5, acq_func="qLogNEI", y_warp="power")
    opt.tell(auto[:6], list(runs["auto"].func_vals[:6]))
    assert nei[:4] == auto[:4] and np.allclose(opt.ask(), auto[6], atol=3e-4)
    with_xi = gp_minimize(quad, dims, xi=0.01, **kw)
    assert with_xi.x_iters == gp_minimize(quad, dims, acq_func="LogEI", xi=0.01, **kw).x_iters
    no_budget = Optimizer(dims, n_initial_points=4, random_state=5, acq_func="auto", y_warp="power")
    no_budget.tell(auto[:6], list(runs["auto"].func_vals[:6]))
    ref = Optimizer(dims, n_initial_points=4, random_state=5, acq_func="LogEI", y_warp="power")
    ref.tell(auto[:6], list(runs["auto"].func_vals[:6]))
    assert no_budget.ask() == ref.ask()
    with pytest.raises(TunerError, match=r"budget must be None or an int >= 1 .* got 0"):
        Optimizer(dims, acq_func="auto", budget=0)


def test_the_last_evaluations_go_to_the_recommendation():
    """``exploit_last=k``: the run is the acquisition's until the last k evaluations, which go
    to the surrogate's minimum (here the last ends closer to the optimum than the acquisition's
    choices did)."""
    kw = dict(n_calls=14, n_initial_points=6, random_state=3, progress=False)
    base = gp_minimize(quad, [(-1.0, 1.0), (-1.0, 1.0)], exploit_last=0, **kw)
    last = gp_minimize(quad, [(-1.0, 1.0), (-1.0, 1.0)], exploit_last=2, **kw)
    assert last.x_iters[:12] == base.x_iters[:12]
    assert last.x_iters[12:] != base.x_iters[12:]
    assert last.specs["args"]["exploit_last"] == 2
    assert quad(last.x_iters[-1]) < 1e-3
    assert last.fun <= base.fun
    # the last point is the recommendation of the first 13 (a fresh fit, hence the tolerance)
    opt = Optimizer([(-1.0, 1.0), (-1.0, 1.0)], n_initial_points=6, random_state=3)
    opt.tell(last.x_iters[:13], list(last.func_vals[:13]))
    rec = opt.recommend(search=True)
    assert rec is not None and np.allclose(last.x_iters[13], rec[0], atol=0.02)


def test_recommendation_refines_the_real_coordinates_of_a_mixed_space():
    """With categories, the search keeps the best point's category and moves its real
    coordinate (within 10% of the range) towards the surrogate's minimum."""
    opt = Optimizer([Categorical(["a", "b"]), (0.0, 1.0)], n_initial_points=0, random_state=0)
    xs = [["a", 0.1], ["a", 0.35], ["a", 0.6], ["a", 0.9], ["b", 0.2], ["b", 0.8]]
    opt.tell(xs, [(x[1] - 0.4) ** 2 + (0.0 if x[0] == "a" else 1.0) for x in xs])
    rec = opt.recommend(search=True)
    assert rec is not None and rec[0][0] == "a"
    assert rec[0][1] != 0.35 and abs(rec[0][1] - 0.35) <= 0.1 + 1e-9
    assert abs(rec[0][1] - 0.4) < abs(0.35 - 0.4)
    assert opt.recommend(search=False)[0] == ["a", 0.35]


def test_recommendation_stays_near_the_data():
    """The posterior-mean minimum is refined only within 10% of the range of the best evaluated
    point: an unexplored corner where the surrogate reverts to its prior is never recommended."""
    opt = Optimizer([(0.0, 1.0)] * 4, n_initial_points=6, random_state=0)
    for _ in range(10):
        x = opt.ask()
        opt.tell(x, float(np.sum((np.array(x) - 0.4) ** 2)))
    rec = opt.recommend()
    assert rec is not None
    mean, _ = opt.predict(opt.Xi)
    anchor = np.array(opt.Xi[int(np.argmin(mean))])
    assert np.max(np.abs(np.array(rec[0]) - anchor)) <= 0.1 + 1e-9


def test_known_noise_per_observation_and_log_warp():
    opt = Optimizer([(0.1, 5.0)], n_initial_points=4, random_state=0, y_warp="log")
    for _ in range(8):
        x = opt.ask()
        y = 1 + (x[0] - 2) ** 2
        opt.tell(x, y, noise=(0.01 * y) ** 2)
    res = opt.tell([2.5], 1.25, noise=0.0001)
    assert res.noise[-1] == 0.0001
    assert abs(res.x_recommended[0] - 2.0) < 0.5


def test_enqueued_points_come_first_and_the_design_is_not_shifted():
    opt = Optimizer([(-1.0, 1.0), (-1.0, 1.0)], n_initial_points=4, random_state=3)
    design = [list(p) for p in opt._design]
    opt.enqueue([0.1, 0.2])
    pts = opt.ask(5)
    assert pts[0] == [0.1, 0.2]
    assert pts[1:] == design


def test_x0_y0_are_used():
    res = gp_minimize(quad, [(-1.0, 1.0), (-1.0, 1.0)], n_calls=6, n_initial_points=2,
                      x0=[[0.3, -0.2], [0.0, 0.0]], y0=[0.0, 0.13], random_state=0, progress=False)
    assert res.fun == 0.0 and res.x == [0.3, -0.2]
    assert len(res.x_iters) == 8  # y0 points are not counted as calls


def test_skopt_plot_convergence_works_on_the_result():
    from skopt.plots import plot_convergence

    res = gp_minimize(quad, [(-1.0, 1.0), (-1.0, 1.0)], n_calls=8, n_initial_points=4,
                      random_state=0, progress=False)
    ax = plot_convergence(res)
    ys = ax.lines[0].get_ydata()
    assert len(ys) == 8
    assert ys[-1] == pytest.approx(res.fun)


@pytest.mark.parametrize("seed", [0, 8])
def test_a_weak_direction_is_not_explained_away_by_noise(seed):
    """With warm-started refits alone these seeds never moved x0 off its bound (the GP kept a
    long x0 lengthscale and a noise level that absorbed x0's effect; regret 0.49)."""
    res = gp_minimize(lambda x: (x[0] - 0.3) ** 2 + 10 * (x[1] - 0.1) ** 2,
                      [(-1.0, 1.0), (-1.0, 1.0)], n_calls=20, random_state=seed, progress=False)
    assert res.fun < 0.02 and abs(res.x[0] - 0.3) < 0.15
