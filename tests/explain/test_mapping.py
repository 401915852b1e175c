"""Mapping onto physics: ADO, pixel correlations, windows and the one-call report on real jets."""

from __future__ import annotations

import numpy as np
import pytest

from explain import ExplainError, ado, lrp, physics_report, pixel_correlation, predict
from explain.mapping import windows


def _brute_ado(f, g, y):
    pairs = [
        np.sign((f[i] - f[j]) * (g[i] - g[j])) for i in np.flatnonzero(y == 1) for j in np.flatnonzero(y == 0)
    ]
    return np.mean([(p > 0) + 0.5 * (p == 0) for p in pairs])


def test_ado_counts_pairs_ordered_alike():
    rng = np.random.default_rng(1)
    f, y = rng.normal(size=120), rng.integers(0, 2, 120)
    g = f + rng.normal(size=120)
    g[:10] = g[10:20]
    assert ado(f, g, y) == pytest.approx(_brute_ado(f, g, y), abs=1e-12)
    assert ado(f, np.exp(3 * f), y) == 1.0  # invariant under monotone maps
    assert ado(f, -f, y) == 0.0
    assert abs(ado(f, rng.normal(size=120), y) - 0.5) < 0.1
    with pytest.raises(ExplainError, match="both classes"):
        ado(f, g, np.ones(120))
    with pytest.raises(ExplainError, match=r"label must be 0 \(background\) or 1 .* e.g. \[0.5, 2.0\]"):
        ado(f, g, np.where(y == 1, 2.0, np.where(np.arange(120) < 5, 0.5, 0.0)))
    with pytest.raises(ExplainError, match=r"label must be 1-D with one entry per event \(120\); got "
                                           r"shape \(119,\)"):
        ado(f, g, y[:-1])
    with pytest.raises(ExplainError, match=r"max_per_class \(or None: every pair\) must be an int >= 1"):
        ado(f, g, y, max_per_class=0)


def test_pixel_correlation_matches_numpy():
    rng = np.random.default_rng(2)
    imgs = rng.random((50, 1, 4, 4))
    imgs[:, 0, 0, 0] = 0.0  # constant pixel -> 0
    out = imgs[:, 0, 1, 2] * 2 + rng.normal(0, 0.1, 50)
    corr = pixel_correlation(imgs, out)
    assert corr.shape == (1, 4, 4) and corr[0, 0, 0] == 0
    assert corr[0, 3, 1] == pytest.approx(np.corrcoef(imgs[:, 0, 3, 1], out)[0, 1], abs=1e-12)
    assert corr[0, 1, 2] > 0.9


def test_windows_average_per_class():
    out, obs, y = np.array([1.0, 2, 3, 4]), np.array([55.0, 56, 65, 66]), np.array([1, 0, 1, 0])
    w = windows(out, obs, y, np.array([50.0, 60, 70]))
    assert [(v.mean_signal, v.mean_background, v.n_signal) for v in w] == [(1.0, 2.0, 1), (3.0, 4.0, 1)]


def test_physics_report_on_the_trained_cnn(jets, trained_cnn):
    model, _ = trained_cnn
    out = predict(model, jets.images)
    rel = lrp(model, jets.images).numpy()
    report = physics_report(
        out, jets.obs, jets.label, images=jets.images, relevance=rel, hidden={"logit": out}
    )
    table = report.table
    assert set(table.index) == set(jets.obs)
    assert table["ado"].between(0.5, 1.0).all() and table["rank"].min() == 1
    top = [name for name, _ in report.top(5)]
    assert {"mass", "D2", "tau21", "C2", "dR_subjets"} & set(top[:3]), table
    assert report.correlations.loc["logit", "mass"] == pytest.approx(
        report.correlations.loc["output", "mass"]
    )
    assert report.pixel_corr.shape == (25, 25) and report.mean_relevance["signal"].shape == (25, 25)
    assert len(report.windows["mass"]) == 6
    figs = report.plot()
    assert {"ado_ranking", "correlations", "pixel_correlation", "mean_relevance", "windows_mass"} <= set(figs)
    with pytest.raises(ExplainError, match="observable 'x' has 3 entries"):
        physics_report(out, {"x": np.zeros(3)}, jets.label)
    with pytest.raises(ExplainError, match="observables must name at least one observable"):
        physics_report(out, {}, jets.label)


def test_physics_report_counts_the_jets_each_ado_was_computed_on():
    # an observable undefined on some jets (tau21 of a one-constituent jet is NaN) is ranked on the
    # jets where it is defined, and the table says on how many
    rng = np.random.default_rng(0)
    label = np.repeat([1, 0], 50)
    out = label + rng.normal(0, 0.5, 100)
    partial = out.copy()
    partial[::4] = np.nan
    report = physics_report(out, {"full": out ** 3, "partial": partial}, label)
    assert report.table.loc["full", "jets"] == 100 and report.table.loc["partial", "jets"] == 75
    assert report.table.loc["partial", "ado"] == 1.0  # the same ordering on the jets it has


def test_ado_of_monotone_equivalent_discriminants_is_exactly_one_with_ties():
    from explain import ado

    rng = np.random.default_rng(0)
    f = rng.integers(0, 5, 400).astype(float)  # many ties
    label = rng.integers(0, 2, 400)
    assert ado(f, f, label) == 1.0
    assert ado(f, np.exp(f), label) == 1.0
    assert ado(f, -f, label) == 0.0
    # a pair tied in one discriminant only still counts one half
    assert ado(np.array([1.0, 0.0]), np.array([1.0, 1.0]), np.array([1, 0])) == 0.5


def test_prong_maxima_finds_two_prongs_and_ignores_specks():
    from explain.mapping import prong_maxima

    m = np.zeros((25, 25))
    m[8, 12], m[16, 12] = 1.0, 0.6  # two prongs 0.8 apart on the axis
    peaks = prong_maxima(m)
    assert len(peaks) == 2 and peaks[0][0] == pytest.approx(-0.4) and peaks[1] == pytest.approx((0.4, 0.6))
    m = np.zeros((25, 25))
    m[12, 12] = -1.0
    m[2, 12] = 0.001  # a speck of positive relevance beside a negative core
    assert prong_maxima(m) == []
    # a batch or a row was an IndexError or a wrong answer
    with pytest.raises(ExplainError, match=r"one square map of at least 3 x 3 pixels; "
                                           r"got shape \(2, 25, 25\)"):
        prong_maxima(np.zeros((2, 25, 25)))
    with pytest.raises(ExplainError, match=r"got shape \(25,\)"):
        prong_maxima(np.zeros(25))


def test_relevance_summaries_take_batches_of_square_maps():
    from explain.mapping import relevance_summaries

    r = np.zeros((3, 1, 5, 5))
    r[:, 0, 2, 2] = 1.0
    s = relevance_summaries(r)
    assert np.allclose(s["R_total"], 1.0) and np.allclose(s["R_core"], 1.0)
    assert np.allclose(relevance_summaries(r[:, 0])["R_total"], 1.0)  # (n, k, k) too
    for bad in (np.ones(5), np.ones((3, 5, 4)), np.ones((3, 2, 5, 5))):  # was numpy's reshape error
        with pytest.raises(ExplainError, match=r"square maps shaped \(n, 1, k, k\) or \(n, k, k\); got"):
            relevance_summaries(bad)


def test_mapping_inputs_of_the_wrong_shape_or_kind_are_one_clear_error():
    rng = np.random.default_rng(0)
    f, g, lab = rng.random(40), rng.random(40), (rng.random(40) > 0.5).astype(int)
    with pytest.raises(ExplainError, match=r"f must be 1-D \(one value per event\); got shape \(4, 10\)"):
        ado(f.reshape(4, 10), g.reshape(4, 10), lab.reshape(4, 10))
    with pytest.raises(ExplainError, match="f must hold numbers, one per event"):
        ado(["a"] * 40, g, lab)
    with pytest.raises(ExplainError, match="a, b must have equal lengths; got a 40, b 39"):
        from explain.mapping import pearson

        pearson(f, g[:-1])
    images = rng.random((40, 5, 5))
    images[3, 2, 2] = np.nan
    with pytest.raises(ExplainError, match="must be finite; got 1 NaN or infinite"):
        pixel_correlation(images, f)
    with pytest.raises(ExplainError, match=r"at least two increasing numbers; got \[0\.5, 0\.2\]"):
        windows(f, g, lab, [0.5, 0.2])
    with pytest.raises(ExplainError, match="output, observable must have equal lengths"):
        windows(f, g[:-1], lab, [0.0, 0.5, 1.0])
    with pytest.raises(ExplainError, match=r"label must be 1-D with one entry per event \(40\)"):
        windows(f, g, lab[:-1], [0.0, 0.5, 1.0])


def test_predict_keeps_the_model_precision_and_names_a_shape_it_cannot_take():
    import torch
    from torch import nn

    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1)).double()
    x = np.random.default_rng(1).random((6, 4))
    np.testing.assert_allclose(predict(model, x)[:, 0], model(torch.as_tensor(x))[:, 0].detach().numpy(),
                               rtol=1e-6)
    with pytest.raises(ExplainError, match=r"cannot take inputs of shape \(6, 3\)"):
        predict(model, x[:, :3])
