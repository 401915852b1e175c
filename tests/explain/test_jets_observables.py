"""Jet samples, images and observables checked against their definitions."""

from __future__ import annotations

import numpy as np
import pytest

from explain import (
    ExplainError,
    JetSample,
    efp,
    efps,
    generate_jets,
    jet_images,
    jet_observables,
    multigraphs,
)
from explain.observables import ecf_ratios, nsubjettiness


@pytest.fixture(scope="module")
def sample():
    sig = generate_jets(25, True, seed=3)
    bkg = generate_jets(25, False, seed=4)
    return JetSample.concat([sig, bkg]).shuffled(0)


def _narrow_jet(n=30, width=0.05, seed=0):
    rng = np.random.default_rng(seed)
    pt = rng.exponential(10, n) + 1
    eta = rng.normal(0.3, width, n)
    phi = rng.normal(1.0, width, n)
    return pt, eta, phi


def test_multigraph_counts_match_the_efp_basis():
    assert [sum(len(g) == d for g in multigraphs(5)) for d in range(1, 6)] == [1, 2, 5, 12, 33]


def test_one_edge_efp_beta2_is_twice_mass_over_pt_squared():
    pt, eta, phi = _narrow_jet()
    px, py, pz, e = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta)
    m2 = e.sum() ** 2 - px.sum() ** 2 - py.sum() ** 2 - pz.sum() ** 2
    z = pt / pt.sum()
    dr = np.hypot(eta[:, None] - eta[None], phi[:, None] - phi[None])
    val = efp(z, dr**2, ((0, 1),))
    # massless constituents, small angles: m^2 = sum_{i<j} pTi pTj dR^2 (1 + O(dR^2))
    assert val == pytest.approx(2 * m2 / pt.sum() ** 2, rel=2e-3)


@pytest.mark.parametrize("graph", [None, (), [(0, 0)], [(0, 2)], [(0, 1.5)], "01", [(0, 1, 2)],
                                   [(0, True)]])
def test_efp_refuses_a_graph_that_is_not_a_multigraph(graph):
    z, theta = np.full(3, 1 / 3), np.ones((3, 3))
    with pytest.raises(ExplainError, match=r"an EFP graph is .* got"):
        efp(z, theta, graph)
    with pytest.raises(ExplainError, match=r"z of shape \(m,\).*\(3,\) and \(2, 2\)"):
        efp(z, np.ones((2, 2)), [(0, 1)])


def test_efps_against_explicit_sums():
    pt, eta, phi = _narrow_jet(8, 0.3, 1)
    z = pt / pt.sum()
    th = np.hypot(eta[:, None] - eta[None], phi[:, None] - phi[None])
    tri = sum(z[i] * z[j] * z[k] * th[i, j] * th[j, k] * th[i, k]
              for i in range(8) for j in range(8) for k in range(8))
    assert efp(z, th, ((0, 1), (0, 2), (1, 2))) == pytest.approx(tri)
    dbl = sum(z[i] * z[j] * th[i, j] ** 2 for i in range(8) for j in range(8))
    assert efp(z, th, ((0, 1), (0, 1))) == pytest.approx(dbl)


def test_ecf_ratios_against_explicit_sums():
    pt, eta, phi = _narrow_jet(7, 0.3, 2)
    z = pt / pt.sum()
    th = np.hypot(eta[:, None] - eta[None], phi[:, None] - phi[None])
    e2 = sum(z[i] * z[j] * th[i, j] for i in range(7) for j in range(i + 1, 7))
    e3 = sum(z[i] * z[j] * z[k] * th[i, j] * th[i, k] * th[j, k]
             for i in range(7) for j in range(i + 1, 7) for k in range(j + 1, 7))
    c2, d2 = ecf_ratios(pt, eta, phi)
    assert c2 == pytest.approx(e3 / e2**2) and d2 == pytest.approx(e3 / e2**3)


def test_nsubjettiness_of_two_pronged_toy_jet():
    # two tight prongs: tau2 << tau1, and the subjet separation is the prong separation
    rng = np.random.default_rng(5)
    eta = np.concatenate([rng.normal(0.0, 0.01, 10), rng.normal(0.4, 0.01, 10)])
    phi = np.concatenate([rng.normal(0.0, 0.01, 10), rng.normal(0.0, 0.01, 10)])
    pt = np.full(20, 10.0)
    taus, dr = nsubjettiness(pt, eta, phi, pt * np.cosh(eta))
    assert taus[1] / taus[0] < 0.1
    assert dr == pytest.approx(0.4, abs=0.02)
    assert taus[0] == pytest.approx(0.2 / 0.8, rel=0.1)


def test_generated_w_jets_look_like_w_jets(sample):
    obs = jet_observables(sample)
    sig, bkg = sample.label == 1, sample.label == 0
    assert sig.sum() == 25 and bkg.sum() == 25
    assert np.all((sample.jet_pt >= 250) & (sample.jet_pt <= 300))
    assert 65 < np.median(obs["mass"][sig]) < 95
    assert np.median(obs["tau21"][sig]) < np.median(obs["tau21"][bkg])
    assert np.all(np.isfinite(sample.truth_pt[sig])) and np.all(np.isnan(sample.truth_pt[bkg]))
    shared = jet_observables(sample, n_jobs=2)  # processes share the jets, the columns do not change
    assert shared.keys() == obs.keys()
    for k in obs:
        np.testing.assert_array_equal(shared[k], obs[k], err_msg=k)
    with pytest.raises(ExplainError, match="n_jobs must be an int >= 1, got 0"):
        jet_observables(sample, n_jobs=0)


def test_images_and_cache_round_trip(sample, tmp_path):
    imgs = jet_images(sample)
    assert imgs.shape == (50, 1, 25, 25) and imgs.dtype == np.float32
    assert np.allclose(imgs.sum(axis=(1, 2, 3)), 1.0, atol=1e-4)
    # preprocessing: the pT centroid at the centre (within a pixel), and for every jet at least
    # half of the pT on the positive side of each axis (pixel 12 straddles the axis)
    yy, xx = np.meshgrid(np.arange(25) - 12, np.arange(25) - 12, indexing="ij")
    img = imgs[:, 0]
    assert np.all(np.abs((img * xx).sum(axis=(1, 2))) < 1.0)
    assert np.all(np.abs((img * yy).sum(axis=(1, 2))) < 1.0)
    assert np.all(img[:, :, 12:].sum(axis=(1, 2)) >= 0.5 - 1e-6)
    assert np.all(img[:, 12:, :].sum(axis=(1, 2)) >= 0.5 - 1e-6)
    back = JetSample.load(sample.save(tmp_path / "s.npz"))
    assert np.array_equal(back.pt, sample.pt) and np.array_equal(back.label, sample.label)
    e, graphs = efps(back, 2)
    assert e.shape == (50, 3) and len(graphs) == 3


def test_bad_grids_degrees_and_caches_are_refused(sample, tmp_path):
    """They gave empty arrays, inf or NaN EFPs in silence, numpy's histogram error, and a cache
    folder that could not be made failed only after every jet was generated."""
    from explain import ExplainError, load_or_generate

    with pytest.raises(ExplainError, match="n_pixels must be an int >= 1, got 0"):
        jet_images(sample, n_pixels=0)
    with pytest.raises(ExplainError, match=r"jet_images takes a JetSample .*, got ndarray"):
        jet_images(sample.label)  # was AttributeError: no attribute 'constituents'
    with pytest.raises(ExplainError, match=r"half_width must be a finite number > 0, got -1\.0"):
        jet_images(sample, half_width=-1.0)
    with pytest.raises(ExplainError, match="max_degree must be an int >= 1, got 0"):
        efps(sample, 0)
    with pytest.raises(ExplainError, match=r"beta must be a finite number > 0, got -1\.0"):
        efps(sample, 2, beta=-1.0)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ExplainError, match=r"cache_dir must be a folder that can be written, .*' \(a file\)"):
        load_or_generate(2, cache_dir=blocker)


def test_parallel_generation_gives_the_same_jets(tmp_path):
    from explain import load_or_generate

    a = load_or_generate(8, cache_dir=tmp_path / "serial", seed=5)
    b = load_or_generate(8, cache_dir=tmp_path / "parallel", seed=5, n_jobs=2)
    for field in ("pt", "eta", "counts", "label", "jet_m"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))

    # n_jobs > 2: each class in n_jobs // 2 chunks with seeds of their own, under a key of their own;
    # chunk 0 of each class has the serial seeds, so its jets are the serial sample's first ones
    c = load_or_generate(4, cache_dir=tmp_path / "parallel", seed=5, n_jobs=4)
    assert len(c) == 8 and c.label.sum() == 4
    assert len(list((tmp_path / "parallel").glob("jets-*.npz"))) == 2
    for label in (0, 1):
        serial, chunked = (set(np.round(s.jet_pt[s.label == label], 6)) for s in (a, c))
        assert len(serial & chunked) == 2, (label, serial, chunked)  # chunk 0: 2 of 4 jets
    for bad in (0, -2, 2.0, True):
        with pytest.raises(ExplainError, match=f"n_jobs must be an int >= 1, got {bad!r}"):
            load_or_generate(5, cache_dir=tmp_path, n_jobs=bad)
