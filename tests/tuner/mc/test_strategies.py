"""Every tune strategy runs end to end at tiny event counts and recommends a tune in range."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tuner.errors import ConfigError, TunerError
from tuner.mc.config import config_from_dict, default_config
from tuner.mc.professor import PolynomialHistograms, polynomial_order
from tuner.mc.proposers import PROPOSERS
from tuner.mc.workflow import run_tune


@pytest.mark.parametrize("strategy", sorted(PROPOSERS))
def test_every_strategy_tunes_the_embedded_closure(tmp_path, strategy, request):
    # the emulator's run is 10 long so that its final phase reaches a check
    cfg = dataclasses.replace(default_config(), strategy=strategy, events=600, initial=4,
                              budget=10 if strategy == "emulator" else 8, validation_events=600,
                              closure={**default_config().closure, "events": 3000})  # type: ignore[dict-item]
    if strategy == "emulator":  # the shared tune is exactly this one
        _, res, shared = request.getfixturevalue("embedded_tune")
        assert shared == cfg
    else:
        res = run_tune(cfg, tmp_path / "o", workers=1, progress=False)
    assert res.n_evaluations == cfg.budget and res.n_failed == 0
    for p in cfg.parameters:
        assert p.low <= res.best[p.name] <= p.high and res.uncertainties[p.name] > 0
    if strategy in ("sobol", "professor"):
        from tuner.storage import Study

        labels = [t.info["proposer"] for t in Study(tmp_path / "o" / "study.db",
                                                     __import__("tuner").Space(cfg_space(cfg))).trials()]
        assert labels[0] == "design" and set(labels[1:]) == {strategy}
    if strategy == "professor":
        assert res.surrogate.startswith("Professor polynomials")


def cfg_space(cfg):
    from tuner.space import Real

    return [Real(p.low, p.high, name=p.name) for p in cfg.parameters]


def test_strategy_and_emulator_keys_agree(tmp_path):
    d = {"parameters": {"StringZ:aLund": [0.3, 1.5]}, "analyses": ["ALEPH_1996_S3486095"]}
    assert config_from_dict(d, tmp_path).strategy == "emulator"
    assert config_from_dict({**d, "emulator": False}, tmp_path).strategy == "chi2-gp"
    assert config_from_dict({**d, "strategy": "professor"}, tmp_path).emulator
    with pytest.raises(ConfigError, match=r"strategy must be one of .*got 'bayes'"):
        config_from_dict({**d, "strategy": "bayes"}, tmp_path)
    with pytest.raises(ConfigError, match="contradicts strategy"):
        config_from_dict({**d, "emulator": False, "strategy": "emulator"}, tmp_path)


def test_the_uncertainty_key_is_read_and_survives_the_stored_config(tmp_path):
    """``uncertainty:`` defaults to the posterior quote and round-trips through config.json (what
    ``report`` and a resume read back), so a stored tune is re-quoted the way it was asked for."""
    d = {"parameters": {"StringZ:aLund": [0.3, 1.5]}, "analyses": ["ALEPH_1996_S3486095"]}
    assert config_from_dict(d, tmp_path).uncertainty == "posterior"
    cfg = config_from_dict({**d, "uncertainty": "jackknife"}, tmp_path)
    stored = {k: v for k, v in cfg.to_dict().items() if k != "embedded_binning"}
    assert config_from_dict(stored, tmp_path).uncertainty == "jackknife"


def test_professor_polynomials_recover_a_quadratic_model():
    rng = np.random.default_rng(0)
    U = rng.random((19, 2))
    truth = np.array([0.3, 0.6])

    def hist(u):  # 5 bins, each quadratic in the parameters
        u = np.atleast_2d(u)
        return np.stack([1 + k * (u[:, 0] - truth[0]) + (u[:, 1] - truth[1]) ** 2 * (k + 1)
                         for k in range(5)], axis=1)

    data = hist(truth)[0]
    poly = PolynomialHistograms.fit(U, hist(U), data, np.full(5, 0.01), np.ones(5))
    assert poly.order == 2  # 19 runs < 2 x 10 cubic coefficients
    u, f = poly.minimum(U)
    np.testing.assert_allclose(u, truth, atol=2e-3)  # the second parameter enters quartically
    assert f < 1e-6
    assert polynomial_order(20, 2) == 3
    with pytest.raises(TunerError, match="need >= 10 runs in 3 parameters, got 6"):
        polynomial_order(6, 3)


def test_the_proposing_emulator_sees_the_better_half_of_the_evaluations():
    from tuner.mc.proposers.histograms import local_evaluations
    from tuner.storage import Trial

    ys = [9.0, 1.0, 7.0, 3.0, 8.0, 2.0, 6.0, 4.0, 5.0, 10.0, 0.5, 11.0, 12.0, 13.0]
    done = [Trial(i, [0.1 * i], "complete", y) for i, y in enumerate(ys)]
    # 14 evaluations in 2 parameters: the 7 lowest chi2, in the order they were evaluated
    assert [t.id for t in local_evaluations(done, 2)] == [1, 3, 5, 6, 7, 8, 10]
    # never fewer than 2 d + 2: in 6 parameters all 14 are kept
    assert local_evaluations(done, 6) == done
    assert [t.id for t in local_evaluations(done[:8], 2)] == [1, 2, 3, 5, 6, 7]


def test_the_final_phase_is_the_second_half_after_the_design():
    from tuner.mc.proposers.histograms import final_phase_start

    assert final_phase_start(40, 15) == 27  # 25 after the design, the last ceil(12.5) = 13 refine
    assert final_phase_start(14, 7) == 10
    assert final_phase_start(8, 5) == 6
    assert final_phase_start(10, 10) == 10 and final_phase_start(5, 8) == 5  # all design: none


def test_the_last_evaluations_evaluate_the_recommendation_and_check_it(embedded_tune):
    """The final phase proposes the minimum of the emulator the tune is recommended from (linear
    mean, every evaluation so far), then a check of it: the recommendation is evaluated, and so is
    the emulator's least-measured claim that the chi2 rises away from it."""
    from tuner.mc.proposers.histograms import check_point, final_phase_start
    from tuner.mc.workflow import TuneRun

    out, _, cfg = embedded_tune
    run = TuneRun.load(out)
    try:
        state = run.state()
        trials = run.opt.trials
        labels = [t.info["proposer"] for t in trials]
        start = final_phase_start(cfg.budget, state.n_design)
        assert (state.n_design, start, len(trials)) == (5, 7, 10)
        assert labels[:5] == ["design"] * 5
        assert labels[7:] == ["emulated minimum", "refining check", "emulated minimum"]
        assert set(labels[5:7]) <= {"emulator EI", "emulator Thompson"}
        space = run.opt.space
        bounds = np.asarray(space.model_bounds)
        width = np.array([p.high - p.low for p in cfg.parameters])
        for k in (7, 8):
            before = sorted(trials[:k], key=lambda t: float(t.y))
            U = np.asarray(space.to_unit([t.x for t in before]))
            emu = run.setup.emulator(U, [state.vectors[t.id] for t in before], seed=cfg.seed)
            u = emu.minimum(U[:5], bounds, seed=cfg.seed)
            if k == 8:
                u = check_point(emu, u, bounds, U)
                assert np.min(np.linalg.norm(U - u, axis=1)) > 0.0
            proposed = np.asarray(space.from_unit(u[None])[0], dtype=float)
            np.testing.assert_array_less(np.abs(np.subtract(trials[k].x, proposed)) / width, 1e-4)
    finally:
        run.close()


class _Bowl:
    """A chi2 with the interface a refining check reads: ``chi2`` at rows of unit-cube points
    and ``scale`` (one entry per fitted bin)."""

    def __init__(self, curvature, n_bins):
        self.curvature = np.asarray(curvature, dtype=float)
        self.scale = np.ones(n_bins)

    def chi2(self, X):
        return 600.0 + np.sum(self.curvature * (np.atleast_2d(X) - 0.5) ** 2, axis=1)


def test_a_refining_check_tests_the_least_measured_rise_of_the_chi2():
    """Along each axis from the minimum, the first point of a 40-step line where the chi2 has
    risen by 2 sqrt(2 n) (n fitted bins), or the range's end; of those, the one farthest from
    what was evaluated."""
    from tuner.mc.proposers.histograms import check_point, check_rise

    bowl = _Bowl([40_000.0, 1_000.0, 10.0], n_bins=200)
    rise = check_rise(bowl)  # type: ignore[arg-type]
    assert rise == pytest.approx(2 * np.sqrt(400))
    u0 = np.full(3, 0.5)
    bounds = np.array([[0.0] * 3, [1.0] * 3])
    seen = np.array([u0, [0.5, 0.9, 0.5], [0.5, 0.1, 0.5]])
    c = check_point(bowl, u0, bounds, seen)  # type: ignore[arg-type]
    moved = np.flatnonzero(c != u0)
    # the third axis never rises by 40 within its range: its candidates are the range's ends,
    # the farthest from the evaluations of all six
    assert moved.tolist() == [2] and c[2] in (0.0, 1.0)
    # with evaluations at both ends of it, the second axis's first point past the rise wins
    seen = np.vstack([seen, [[0.5, 0.5, 0.0], [0.5, 0.5, 1.0]]])
    c = check_point(bowl, u0, bounds, seen)  # type: ignore[arg-type]
    assert np.flatnonzero(c != u0).tolist() == [1]
    step = 0.5 / 40
    assert bowl.chi2(c[None])[0] - 600.0 >= rise
    assert bowl.chi2((c - np.sign(c - u0) * step)[None])[0] - 600.0 < rise


class _Valley(_Bowl):
    """A chi2 whose flat direction is the diagonal of two parameters that trade off."""

    def chi2(self, X):
        X = np.atleast_2d(X) - 0.5
        across, along = (X[:, 0] - X[:, 1]) / np.sqrt(2), (X[:, 0] + X[:, 1]) / np.sqrt(2)
        return 600.0 + self.curvature[0] * across**2 + self.curvature[1] * along**2


def test_a_refining_check_follows_a_valley_no_axis_follows():
    """Where two parameters trade off, the checks also walk the eigenvectors of the emulated
    chi2's Hessian: the flat diagonal reaches a corner of the range, far from the evaluation at
    the minimum, while every axis rises within a few hundredths."""
    from tuner.mc.proposers.histograms import check_directions, check_point

    valley = _Valley([40_000.0, 10.0], n_bins=200)
    u0 = np.full(2, 0.5)
    D = check_directions(valley, u0)  # type: ignore[arg-type]
    assert D.shape == (4, 2)  # the two axes and the two diagonals
    np.testing.assert_allclose(np.abs(D[2:]), np.sqrt(0.5), atol=1e-6)
    c = check_point(valley, u0, np.array([[0.0, 0.0], [1.0, 1.0]]), u0[None])  # type: ignore[arg-type]
    np.testing.assert_allclose(np.abs(c - 0.5), 0.5, atol=1e-9)  # (0, 0) or (1, 1)
    assert c[0] == pytest.approx(c[1])
    # a bowl's eigenvectors are its axes: no direction is added twice
    assert check_directions(_Bowl([40_000.0, 1_000.0, 10.0], 200), np.full(3, 0.5)).shape == (3, 3)  # type: ignore[arg-type]
