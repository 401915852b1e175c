"""DELPHI_1996_S3430090: every observable against an independent slow reference written from
Rivet's definitions (or against fastjet and Pythia's own classes), and the analysis in a tune."""

from __future__ import annotations

import numpy as np
import pytest

from tuner.mc.analyses import ANALYSES, EventBatch, normalise
from tuner.mc.analyses.clustering import eec_pairs, ymerge_max
from tuner.mc.generators import PythiaGenerator
from tuner.mc.refdata import read_yoda, shipped_files
from tuner.mc.runs import RunSpec, generate, needed_refs

DELPHI = "DELPHI_1996_S3430090"


@pytest.fixture(scope="module")
def batch():
    g = PythiaGenerator()
    return EventBatch(next(g.batches(200, 17, 200)), g.charge, 91.2)


@pytest.fixture(scope="module")
def refs():
    return needed_refs(read_yoda(shipped_files(DELPHI)["yoda"]), (DELPHI,))


def _events(c, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Momenta (n x 3) and energies of event ``k`` of a particle selection."""
    s = slice(c.offsets[k], c.offsets[k + 1])
    return np.stack([c.px[s], c.py[s], c.pz[s]], axis=1), c.e[s]


def _slow_ymerge(p: np.ndarray, e: np.ndarray, jade: bool) -> list[float]:
    """Exclusive clustering by the definition, one merge at a time: y_{n,n+1} max for n = 2,3,4."""
    jets = [np.append(p[i], e[i]) for i in range(len(e))]
    q2 = e.sum() ** 2
    ys: dict[int, float] = {}
    while len(jets) > 2:
        best = (np.inf, 0, 0)
        for u in range(len(jets)):
            for v in range(u + 1, len(jets)):
                a, b = jets[u], jets[v]
                cos = a[:3] @ b[:3] / np.linalg.norm(a[:3]) / np.linalg.norm(b[:3])
                d = 2 * (a[3] * b[3] if jade else min(a[3], b[3]) ** 2) * (1 - cos)
                best = min(best, (d, u, v))
        ys[len(jets)] = best[0] / q2
        _, u, v = best
        jets[u] = jets[u] + jets[v]
        del jets[v]
    return [max((y for n_alive, y in ys.items() if n_alive > n), default=np.nan) for n in (2, 3, 4)]


@pytest.mark.parametrize("algorithm", ["durham", "jade"])
def test_jet_rates_agree_with_a_slow_clustering(batch, algorithm):
    c = batch.charged
    ours = ymerge_max(c.px, c.py, c.pz, c.e, c.counts, algorithm)
    for k in range(25):
        want = _slow_ymerge(*_events(c, k), jade=algorithm == "jade")
        np.testing.assert_allclose(ours[k], want, rtol=1e-9)


def test_durham_rates_agree_with_fastjet(batch):
    import awkward as ak
    import fastjet

    c = batch.charged
    ok = c.counts >= 5
    ev = ak.unflatten(ak.zip({"px": c.px, "py": c.py, "pz": c.pz, "E": c.e}), c.counts)[ok]
    cs = fastjet.ClusterSequence(ev, fastjet.JetDefinition0Param(fastjet.ee_kt_algorithm))
    ours = ymerge_max(c.px, c.py, c.pz, c.e, c.counts, "durham")[ok]
    for col, n in enumerate((2, 3, 4)):
        np.testing.assert_allclose(ours[:, col], np.asarray(cs.exclusive_ymerge_max(n)), rtol=1e-9)
    with pytest.raises(ValueError, match=r"must be one of .*got 'cambridge'"):
        ymerge_max(c.px, c.py, c.pz, c.e, c.counts, "cambridge")


def test_hemispheres_and_parisi_parameters(batch):
    import pythia8mc

    c, sh = batch.charged, batch.shapes
    lin = pythia8mc.Sphericity(1.0, 3)
    py8 = pythia8mc.Pythia("", False)
    ev = pythia8mc.Event()
    ev.init("", py8.particleData)
    for k in range(40):
        p, e = _events(c, k)
        n = sh.thrust_axis[k]
        pl = p @ n
        pt = np.linalg.norm(p - np.outer(pl, n), axis=1)
        m2, br = [], []
        for side in (pl > 0, pl < 0):  # Rivet's Hemispheres: split by the thrust plane
            four = np.append(e[side].sum(), p[side].sum(axis=0))
            m2.append(four[0] ** 2 - four[1:] @ four[1:])
            br.append(pt[side].sum() / (2 * np.linalg.norm(p, axis=1).sum()))
        want = [max(m2) / e.sum() ** 2, min(m2) / e.sum() ** 2, max(br), min(br)]
        np.testing.assert_allclose(sh.hemispheres[k], want, rtol=1e-9, atol=1e-15)
        ev.reset()
        for i in range(len(e)):
            ev.append(211, 1, 0, 0, *p[i], e[i], max(e[i] ** 2 - p[i] @ p[i], 0.0) ** 0.5)
        assert lin.analyze(ev)
        lam = [lin.eigenValue(i) for i in (1, 2, 3)]
        assert sh.c_parameter[k] == pytest.approx(3 * (lam[0] * lam[1] + lam[1] * lam[2] + lam[2] * lam[0]),
                                                  abs=1e-9)
        assert sh.d_parameter[k] == pytest.approx(27 * lam[0] * lam[1] * lam[2], abs=1e-9)
        s = sh.sph_eigenvalues[k]
        assert sh.planarity[k] == pytest.approx(s[1] - s[2], abs=1e-12)


def test_eec_pairs_by_definition(batch):
    c = batch.charged
    cos, w, ev = eec_pairs(c.px, c.py, c.pz, c.e, c.counts)
    assert len(cos) == np.sum(c.counts * (c.counts - 1) // 2)
    for k in range(5):
        p, e = _events(c, k)
        u = p / np.linalg.norm(p, axis=1)[:, None]
        i, j = np.triu_indices(len(e), 1)
        np.testing.assert_allclose(cos[ev == k], np.sum(u[i] * u[j], axis=1), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(w[ev == k], e[i] * e[j] / e.sum() ** 2, rtol=1e-12)
    # unordered pairs: the weights of an event sum to (1 - sum E_i^2 / E^2) / 2
    tot = np.bincount(ev, weights=w, minlength=len(c.counts))
    esum = np.bincount(c.event_index, weights=c.e, minlength=len(c.counts))
    e2 = np.bincount(c.event_index, weights=c.e**2, minlength=len(c.counts))
    np.testing.assert_allclose(tot, (1 - e2 / esum**2) / 2, rtol=1e-9)


def test_delphi_histograms_follow_their_definitions(batch, refs):
    a = ANALYSES[DELPHI](refs)
    assert len(a.refs) == 60  # d01-d40 y01 series: the only ones with a definition
    a.process(batch)
    f = a.fills()
    sim = normalise(f, refs)
    c, sh = batch.charged, batch.shapes
    ok = c.counts >= 2
    # profile: mean |pT_out| (thrust minor axis) per x_p bin, computed here from scratch
    prof = sim[f"{DELPHI}/d09-x01-y01"]
    xp = c.pabs / 45.6
    pout = np.abs(np.sum(np.stack([c.px, c.py, c.pz], 1) * sh.minor_axis[c.event_index], axis=1))
    for b in (0, 3, 8):
        m = ok[c.event_index] & (xp >= prof.xlow[b]) & (xp < prof.xhigh[b])
        assert prof.values[b] == pytest.approx(pout[m].mean(), rel=1e-9)
        assert prof.errors[b] == pytest.approx(pout[m].std() / np.sqrt(m.sum()), rel=1e-6)
    # 4-jet rates are normalised to the events with >= 4 charged particles
    assert f.n_events[f"{DELPHI}:n>=4"] == np.sum(c.counts >= 4)
    # AEEC(x) = EEC(x) - EEC(-x) where the two binnings mirror
    eec, aeec = sim[f"{DELPHI}/d33-x01-y01"], sim[f"{DELPHI}/d34-x01-y01"]
    for b in range(aeec.nbins):
        lo = np.flatnonzero(np.isclose(eec.xlow, aeec.xlow[b]) & np.isclose(eec.xhigh, aeec.xhigh[b]))
        hi = np.flatnonzero(np.isclose(eec.xlow, -aeec.xhigh[b]) & np.isclose(eec.xhigh, -aeec.xlow[b]))
        if len(lo) and len(hi):
            assert aeec.values[b] == pytest.approx(eec.values[lo[0]] - eec.values[hi[0]], abs=1e-12)
    # multiplicities count every hadron instance; Sigma(1385)+- is both charges
    had = batch.hadrons
    sigma = np.isin(np.abs(had.id), (3114, 3224)) & ok[had.event_index]
    assert f.sums[f"{DELPHI}/d40-x01-y06"][0, 0] == np.sum(sigma)


def test_monash_is_close_to_delphi_and_tunes_beside_aleph(refs, tmp_path):
    from tuner.mc.config import config_from_dict
    from tuner.mc.setup import prepare

    sim = normalise(generate(RunSpec({}, (DELPHI,), refs), 1500, 3), refs)
    nch = sim[f"{DELPHI}/d35-x01-y01"]
    assert abs(nch.values[0] - 20.92) < 0.6  # DELPHI 20.92 +- 0.24; Monash about 20.5
    thrust = sim[f"{DELPHI}/d11-x01-y01"]
    assert np.sum(thrust.values * (thrust.xhigh - thrust.xlow)) == pytest.approx(1.0, abs=0.02)
    cfg = config_from_dict({"parameters": {"StringZ:aLund": [0.3, 1.0]},
                            "analyses": ["ALEPH_1996_S3486095", DELPHI], "events": 200,
                            "budget": 3, "initial": 2}, tmp_path)
    setup = prepare(cfg)
    assert any(k.startswith(DELPHI) for k in setup.keys)
    assert any(k.startswith("ALEPH_1996_S3486095") for k in setup.keys)
