"""Trimming and soft drop against the scikit-hep fastjet package on the same constituents."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from explain.errors import ExplainError
from explain.grooming import four_momenta, groomed_mass, soft_drop, subjets, trim


def _jets(n_jets: int, seed: int = 0) -> list[tuple[np.ndarray, ...]]:
    """Two hard prongs plus soft, wide-angle radiation, as a boosted W with underlying event."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_jets):
        n = int(rng.integers(20, 90))
        k = n // 3
        eta = np.concatenate([rng.normal(0.1, 0.05, k), rng.normal(-0.15, 0.05, k),
                              rng.uniform(-0.7, 0.7, n - 2 * k)])
        phi = np.concatenate([rng.normal(0.0, 0.05, k), rng.normal(0.2, 0.05, k),
                              rng.uniform(-0.7, 0.7, n - 2 * k)])
        pt = np.concatenate([rng.exponential(8, k), rng.exponential(5, k),
                             rng.exponential(0.7, n - 2 * k)])
        m = rng.choice([0.0, 0.1396], n)
        out.append((pt, eta, phi, np.sqrt((pt * np.cosh(eta)) ** 2 + m**2)))
    return out


def _jet_fields(n: int) -> dict[str, np.ndarray]:
    z = np.zeros(n)
    return {"jet_pt": z + 275, "jet_eta": z, "jet_phi": z, "jet_m": z + 80, "label": np.ones(n, dtype=int),
            "truth_pt": z + 275}


def _fastjet_input(jets):
    fastjet = pytest.importorskip("fastjet")
    arrays = [four_momenta(*j) for j in jets]
    rec = ak.Array([{"px": a[:, 0], "py": a[:, 1], "pz": a[:, 2], "E": a[:, 3]} for a in arrays])
    return fastjet, ak.zip({k: rec[k] for k in ("px", "py", "pz", "E")}, with_name="Momentum4D")


@pytest.mark.parametrize(("z_cut", "beta"), [(0.1, 0.0), (0.2, 1.0)])
def test_soft_drop_matches_fastjet(z_cut, beta):
    jets = _jets(25)
    fastjet, arr = _fastjet_input(jets)
    # Cambridge/Aachen over the whole jet (a radius large enough to merge everything)
    cs = fastjet.ClusterSequence(arr, fastjet.JetDefinition(fastjet.cambridge_algorithm, 10.0))
    ref = cs.exclusive_jets_softdrop_grooming(njets=1, beta=beta, symmetry_cut=z_cut, R0=0.8)
    ours = np.array([groomed_mass(*j, soft_drop(*j, z_cut=z_cut, beta=beta, r0=0.8)) for j in jets])
    np.testing.assert_allclose(ours, np.asarray(ref.msoftdrop, dtype=float), rtol=1e-6, atol=1e-6)
    full = np.array([groomed_mass(*j) for j in jets])
    assert np.all(ours <= full + 1e-9) and np.any(ours < 0.9 * full)  # grooming removes mass


@pytest.mark.parametrize(("r_sub", "f_cut"), [(0.2, 0.05), (0.3, 0.03)])
def test_trimming_matches_fastjet_kt_subjets(r_sub, f_cut):
    jets = _jets(25, seed=1)
    fastjet, arr = _fastjet_input(jets)
    cs = fastjet.ClusterSequence(arr, fastjet.JetDefinition(fastjet.kt_algorithm, r_sub))
    sub = cs.inclusive_jets()
    for j, sx, sy, sz, se in zip(jets, sub.px, sub.py, sub.pz, sub.E, strict=True):
        s = np.stack([np.asarray(v, dtype=float) for v in (sx, sy, sz, se)], axis=1)
        p = four_momenta(*j)
        jet_pt = np.hypot(*p[:, :2].sum(axis=0))
        kept = s[np.hypot(s[:, 0], s[:, 1]) >= f_cut * jet_pt].sum(axis=0)
        np.testing.assert_allclose(p[trim(*j, r_sub=r_sub, f_cut=f_cut)].sum(axis=0), kept,
                                   rtol=1e-9, atol=1e-9)


def test_subjets_are_fastjets_kt_subjets_hardest_first():
    jets = _jets(15, seed=2)
    fastjet, arr = _fastjet_input(jets)
    cs = fastjet.ClusterSequence(arr, fastjet.JetDefinition(fastjet.kt_algorithm, 0.3))
    sub = cs.inclusive_jets()
    for j, sx, sy, sz in zip(jets, sub.px, sub.py, sub.pz, strict=True):
        sx, sy, sz = (np.asarray(v, dtype=float) for v in (sx, sy, sz))
        pt = np.hypot(sx, sy)
        order = np.argsort(-pt)
        ref = np.stack([pt, np.arcsinh(sz / pt), np.arctan2(sy, sx)], axis=1)[order]
        np.testing.assert_allclose(subjets(*j, r_sub=0.3), ref, rtol=1e-9, atol=1e-9)


def test_the_subjet_frame_puts_the_two_prongs_at_fixed_places():
    from explain.images import jet_images, preprocess
    from explain.jets import JetSample

    rng = np.random.default_rng(3)
    jets = []
    for _ in range(20):  # two prongs 0.4-0.7 apart in a random direction, harder one first
        d, a = rng.uniform(0.4, 0.7), rng.uniform(-np.pi, np.pi)
        c = np.array([rng.uniform(-1, 1), rng.uniform(-np.pi, np.pi)])
        k1, k2 = rng.integers(5, 15), rng.integers(5, 15)
        eta = np.concatenate([c[0] + rng.normal(0, 0.02, k1), c[0] + d * np.cos(a) + rng.normal(0, 0.02, k2)])
        phi = np.concatenate([c[1] + rng.normal(0, 0.02, k1), c[1] + d * np.sin(a) + rng.normal(0, 0.02, k2)])
        pt = np.concatenate([rng.uniform(8, 12, k1), rng.uniform(2, 5, k2)])
        first, second = slice(0, k1), slice(k1, None)
        centres = [np.array([np.average(eta[k], weights=pt[k]), np.average(phi[k], weights=pt[k])])
                   for k in (first, second)]
        dr = float(np.hypot(*(centres[1] - centres[0])))  # before phi is wrapped into (-pi, pi]
        phi = (phi + np.pi) % (2 * np.pi) - np.pi
        x, y = preprocess(pt, eta, phi, "subjets")
        # the hard prong at the origin, the soft one straight below at its distance
        assert abs(np.average(x[first], weights=pt[first])) < 0.01
        assert abs(np.average(y[first], weights=pt[first])) < 0.01
        assert abs(np.average(x[second], weights=pt[second])) < 0.01
        assert np.average(y[second], weights=pt[second]) == pytest.approx(-dr, abs=0.01)
        assert np.sum(pt * (x > 0)) >= np.sum(pt * (x < 0))  # flipped: more pT on the right
        jets.append((pt, eta, phi))
    # images in that frame: every jet's two prongs in the same pixels
    cat = [np.concatenate(c) for c in zip(*jets, strict=True)]
    sample = JetSample(pt=cat[0], eta=cat[1], phi=cat[2], e=cat[0] * np.cosh(cat[1]),
                       counts=np.array([len(j[0]) for j in jets]), **_jet_fields(len(jets)))
    img = jet_images(sample, frame="subjets")[:, 0].mean(axis=0)
    assert np.unravel_index(np.argmax(img), img.shape) == (12, 12)
    assert img[5:9, 11:14].sum() > 0.1  # y from -0.4 to -0.7: the soft prongs
    with pytest.raises(ExplainError, match=r"frame must be one of \('centroid', 'subjets'\), got 'leading'"):
        preprocess(pt, eta, phi, "leading")


def test_a_clean_two_prong_jet_is_left_alone():
    pt = np.array([100.0, 60.0, 40.0])
    eta = np.array([0.0, 0.05, 0.3])
    phi = np.array([0.0, 0.02, 0.25])
    e = pt * np.cosh(eta)
    assert trim(pt, eta, phi, e).all()
    assert soft_drop(pt, eta, phi, e).all()
    assert groomed_mass(pt, eta, phi, e, soft_drop(pt, eta, phi, e)) == pytest.approx(
        groomed_mass(pt, eta, phi, e))


def test_bad_input_is_one_clear_error():
    with pytest.raises(ExplainError, match=r"1-D arrays of one length .* \[\(3,\), \(2,\)"):
        trim(np.ones(3), np.ones(2), np.ones(3), np.ones(3))
    with pytest.raises(ExplainError, match="finite numbers"):
        soft_drop(np.array([1.0, np.nan]), np.zeros(2), np.zeros(2), np.ones(2))
    with pytest.raises(ExplainError, match=r"finite z_cut >= 0, beta and r0 > 0, got z_cut=-0.1"):
        soft_drop(np.ones(2), np.zeros(2), np.zeros(2), np.ones(2), z_cut=-0.1)
    with pytest.raises(ExplainError, match=r"one boolean per constituent \(2\), got shape \(3,\)"):
        groomed_mass(np.ones(2), np.zeros(2), np.zeros(2), np.ones(2), keep=np.ones(3, bool))
    with pytest.raises(ExplainError, match=r"got z_cut=0.1, beta=nan, r0=0.8"):
        soft_drop(np.ones(2), np.zeros(2), np.zeros(2), np.ones(2), beta=float("nan"))
    with pytest.raises(ExplainError, match=r"r_sub > 0 and 0 <= f_cut < 1, got r_sub=0"):
        trim(np.ones(2), np.zeros(2), np.zeros(2), np.ones(2), r_sub=0)


def test_groomed_samples_are_generated_groomed_and_cached_apart(tmp_path):
    from explain import load_or_generate
    from explain.grooming import PAPER_1511_05190

    plain = load_or_generate(4, cache_dir=tmp_path, seed=5)
    paper = load_or_generate(4, cache_dir=tmp_path, seed=5, **PAPER_1511_05190)  # type: ignore[arg-type]
    assert len(list(tmp_path.glob("*.npz"))) == 2  # one cache file per choice
    assert len(plain) == len(paper) == 8
    assert np.all((paper.jet_pt >= 250) & (paper.jet_pt <= 300))  # the window on the trimmed jet
    for i in range(len(paper)):
        pt, eta, phi, e = paper.constituents(i)
        # only trimmed constituents are kept: trimming them again removes nothing
        assert trim(pt, eta, phi, e, r_sub=0.3, f_cut=0.05).all()
        assert groomed_mass(pt, eta, phi, e) == pytest.approx(paper.jet_m[i], rel=1e-9)
    with pytest.raises(ExplainError, match=r"grooming must be None or one of .*got 'prune'"):
        load_or_generate(4, cache_dir=tmp_path, seed=5, grooming="prune")


def test_negative_beta_grooms_harder_and_survives_coincident_branches():
    """beta < 0 (not IRC safe, but a setting physicists use) raises the cut at small angles; two
    branches at one point made it a ZeroDivisionError (0 ** negative) instead of an infinite cut."""
    pt, eta = np.array([100.0, 30.0, 8.0]), np.array([0.0, 0.05, 0.3])
    phi, e = np.zeros(3), pt * np.cosh(eta)
    kept = [soft_drop(pt, eta, phi, e, z_cut=0.1, beta=b).tolist() for b in (1.0, 0.0, -1.0)]
    assert kept == [[True, True, True], [True, True, False], [True, False, False]]
    one = np.array([50.0, 50.0]), np.zeros(2), np.zeros(2), np.array([50.0, 50.0])
    assert soft_drop(*one, beta=-1.0).sum() == 1  # an infinite cut at zero separation
    assert soft_drop(*one, z_cut=0.0, beta=-1.0).all()  # no cut at all, whatever the angle
