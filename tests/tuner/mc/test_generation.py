"""Pythia generation and the LEP analyses, checked against Pythia's own classes and fastjet."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import awkward as ak
import numpy as np
import pytest

from tuner import SettingsError
from tuner.mc.analyses import ANALYSES, EventBatch, normalise
from tuner.mc.analyses.shapes import durham_y23, durham_y23_fastjet
from tuner.mc.generators import PythiaGenerator, setting_range
from tuner.mc.generators.pythia import check_settings
from tuner.mc.refdata import read_yoda
from tuner.mc.runs import GenerationError, RunSpec, generate, needed_refs

LEP = ("ALEPH_1996_S3486095", "PDG_HADRON_MULTIPLICITIES", "OPAL_1992_I321190")


@pytest.fixture(scope="module")
def refs(refdata):
    out = {}
    for a in LEP:
        out.update(read_yoda(refdata / f"{a}.yoda"))
    return needed_refs(out, LEP)


@pytest.fixture(scope="module")
def batch():
    g = PythiaGenerator()
    return EventBatch(next(g.batches(300, 11, 300)), g.charge, 91.2), g


@pytest.mark.parametrize("settings, match", [
    ({"StringZ:aLund": 2.5}, r"Pythia refused 'StringZ:aLund = 2.5'.*a number in \[0.0, 2.0\]"),
    ({"StringZ:aLundX": 0.5}, "unknown Pythia setting 'StringZ:aLundX'"),
    ({"TimeShower:alphaSvalue": "abc"}, "Pythia refused 'TimeShower:alphaSvalue = abc'"),
    ({"StringZ:aLund": float("nan")}, "must be a finite number"),
    # what Pythia reads in silence as something else: "maybe" as off, 2.7 as 2
    ({"HadronLevel:all": "maybe"}, r"the flag HadronLevel:all must be on or off .*got 'maybe'"),
    ({"Beams:frameType": 2.7}, r"Beams:frameType must be an integer in \[1.0, 5.0\].*got 2.7"),
    ({"Beams:frameType": 9}, r"Beams:frameType must be an integer in \[1.0, 5.0\].*got 9"),
    ({"PartonLevel:MPI": 2}, r"the flag PartonLevel:MPI must be on or off"),
    # particle data Pythia reads in silence as something else: a Z mass of 0, decays off
    ({"23:m0": "abc"}, r"'23:m0 = abc': m0 must be a number >= 0, got 'abc'"),
    ({"23:mWidth": -1.0}, r"mWidth must be a number >= 0, got -1.0"),
    ({"111:mayDecay": "maybe"}, r"mayDecay must be on or off .*got 'maybe'"),
    ({"23:spinType": 2.7}, r"spinType must be an integer, got 2.7"),
    ({"23:onMode": "foo"}, r"onMode must be on or off, or a mode 0-3, got 'foo'"),
    ({"23:2:bRatio": "abc"}, r"bRatio must be a number >= 0"),
    ({"23:99:onMode": 1}, r"particle 23 has decay channels 0-\d+, got '99'"),
    ({"99999999:m0": 3.0}, r"no particle with id 99999999 in Pythia's particle data"),
    ({"23:doForceWidth": "maybe"}, r"doForceWidth must be on or off .*got 'maybe'"),
    # lists of ids Pythia reads with a bad token as 0: a product or a switch of the wrong particle
    ({"23:0:products": "1 x"}, r"products must be a list of particle ids .*got '1 x'"),
    ({"23:onIfAny": "1 2 b"}, r"onIfAny must be a list of particle ids .*got '1 2 b'"),
    ({"23:offIfMatch": [1, 2]}, r"offIfMatch must be a list of particle ids .*got \[1, 2\]"),
    # what Pythia refuses itself: its reason, in our one message, not printed beside it
    ({"111:mayDecayy": "on"},
     r"Pythia refused '111:mayDecayy = on': input property not found in Particle Data Table$"),
    ({"23:0:rescaleFactor": 2}, r"input property not found in Particle Data Table$"),
])
def test_bad_settings_refused_before_any_event(settings, match, capfd):
    with pytest.raises(SettingsError, match=match):
        PythiaGenerator(settings)
    assert "PYTHIA Error" not in capfd.readouterr().out  # ours is the one message


@pytest.mark.parametrize("settings", [{"HadronLevel:all": "on"}, {"HadronLevel:all": "Yes"},
                                      {"HadronLevel:all": 1}, {"HadronLevel:all": True},
                                      {"Beams:frameType": "1"}, {"Beams:frameType": 1.0},
                                      {"23:onMode": "off"}, {"Tune:ee": 7}, {"23:onMode": 2},
                                      {"23:m0": 91.2}, {"111:mayDecay": False},
                                      {"-24:onMode": "on"}, {"23:3:onMode": 0},
                                      {"23:onIfAny": "1 2 3"}, {"23:0:products": "-1 1"},
                                      {"23:doExternalDecay": "on"}, {"23:onPosIfAll": "+1 2"}])
def test_good_settings_in_every_spelling_pass(settings):
    PythiaGenerator(settings)


def test_settings_checked_in_threads_give_each_its_reason_and_leave_stdout_working(capfd):
    """Pythia's refusals are captured from the process's stdout: threads checking at once (a
    Dask worker's tasks) must each get their own reason, and stdout must still work after."""
    def one(i: int) -> str:
        try:
            check_settings({"StringZ:aLund": 0.5, "111:mayDecayy" if i % 2 else "111:mayDecay": "on"})
            return "ok"
        except SettingsError as exc:
            return str(exc)

    with ThreadPoolExecutor(4) as pool:
        out = list(pool.map(one, range(16)))
    assert out.count("ok") == 8
    assert all(o.endswith("input property not found in Particle Data Table") for o in out if o != "ok")
    print("stdout still reaches the terminal")
    assert "stdout still reaches the terminal" in capfd.readouterr().out


def test_numpy_scalars_set_the_values_they_hold():
    """numpy 2 writes np.float64(0.61) as its repr: Pythia must get 0.61."""
    p = check_settings({"StringZ:aLund": np.float64(0.61), "StringZ:bLund": np.float32(0.9),
                        "HadronLevel:all": np.bool_(False),
                        "TimeShower:alphaSorder": np.int64(2)}).settings
    assert p.parm("StringZ:aLund") == 0.61 and p.parm("StringZ:bLund") == pytest.approx(0.9)
    assert not p.flag("HadronLevel:all") and p.mode("TimeShower:alphaSorder") == 2


def test_setting_ranges_come_from_pythia():
    assert setting_range("TimeShower:pTmin") == (0.1, 2.0, 0.5)
    with pytest.raises(SettingsError, match="not a numeric"):
        setting_range("PDF:lepton")


def test_event_shapes_agree_with_pythia(batch):
    import pythia8mc

    b, _g = batch
    c, sh = b.charged, b.shapes
    py8 = pythia8mc.Pythia("", False)
    thr, sph = pythia8mc.Thrust(3), pythia8mc.Sphericity(2.0, 3)
    ev = pythia8mc.Event()
    ev.init("", py8.particleData)
    checked = 0
    for k in range(60):
        if c.counts[k] < 2:
            continue
        ev.reset()
        for i in range(c.offsets[k], c.offsets[k + 1]):
            m2 = max(c.e[i] ** 2 - c.pabs[i] ** 2, 0.0)
            ev.append(int(c.id[i]), 1, 0, 0, c.px[i], c.py[i], c.pz[i], c.e[i], m2**0.5)
        assert thr.analyze(ev) and sph.analyze(ev)
        assert sh.thrust[k] == pytest.approx(thr.thrust(), abs=1e-6)
        assert sh.major[k] == pytest.approx(thr.tMajor(), abs=1e-6)
        assert sh.minor[k] == pytest.approx(thr.tMinor(), abs=1e-6)
        assert sh.oblateness[k] == pytest.approx(thr.oblateness(), abs=1e-6)
        assert sh.sphericity[k] == pytest.approx(sph.sphericity(), abs=1e-6)
        assert sh.aplanarity[k] == pytest.approx(sph.aplanarity(), abs=1e-6)
        checked += 1
    assert checked > 50


@pytest.mark.parametrize("ids", [(211,), (130, 310), (3122,), (999999,)])
def test_species_counts_per_event_equal_the_count_of_the_species_mask(batch, ids):
    had = batch[0].hadrons
    expected = had.per_event(had.species(ids))
    np.testing.assert_array_equal(had.count_species(ids), expected)
    assert ids == (999999,) or expected.sum() > 0


def test_durham_y23_agrees_with_fastjet(batch):
    c = batch[0].charged
    ours = durham_y23(c.px, c.py, c.pz, c.e, c.counts)
    ref = durham_y23_fastjet(c.px, c.py, c.pz, c.e, c.counts)
    ok = np.isfinite(ref)
    assert ok.sum() > 250
    np.testing.assert_allclose(ours[ok], ref[ok], rtol=1e-9)


def test_multiplicities_are_exact(batch, refs):
    b, _g = batch
    a = ANALYSES["PDG_HADRON_MULTIPLICITIES"](refs)
    a.process(b)
    f = a.fills()
    ids = np.abs(b.hadrons.id)
    n_pi = np.sum(ids == 211)
    assert f.sums["PDG_HADRON_MULTIPLICITIES/d01-x01-y03"][0, 0] == n_pi
    assert f.sums["PDG_HADRON_MULTIPLICITIES/d04-x01-y03"][0, 0] == np.sum((ids == 310) | (ids == 130))
    # charged final state: counted independently from the awkward record
    g2 = PythiaGenerator()
    ev = next(g2.batches(300, 11, 300))
    final = ev.prt[ev.prt.status > 0]
    charge = g2.charge(np.asarray(ak.flatten(final.id)))
    assert np.sum(charge != 0) == b.charged.counts.sum()


def test_monash_mean_charged_multiplicity(refs):
    """<N_ch> at the Monash default is about 20.50 (ALEPH measures 20.91 +- 0.22)."""
    fills = generate(RunSpec({}, ("ALEPH_1996_S3486095",), refs), 4000, 2024)
    sim = normalise(fills, refs)
    nch = sim["ALEPH_1996_S3486095/d19-x01-y01"]
    assert nch.errors[0] < 0.15
    assert abs(nch.values[0] - 20.50) < 3 * nch.errors[0] + 0.05
    # the multiplicity distribution is normalised like the data
    assert sim["ALEPH_1996_S3486095/d18-x01-y01"].values.sum() == pytest.approx(1.0, abs=0.01)


def test_same_seed_same_histograms_for_any_number_of_workers(refs):
    spec = RunSpec({"StringZ:aLund": 0.8}, LEP, refs)
    one = generate(spec, 600, 5, chunk_size=200)
    two = generate(spec, 600, 5, n_workers=2, chunk_size=200)
    assert one.sums.keys() == two.sums.keys() and one.n_events == two.n_events
    for k in one.sums:
        np.testing.assert_array_equal(one.sums[k], two.sums[k])
    other = generate(spec, 600, 6, chunk_size=200)
    assert any(not np.array_equal(one.sums[k], other.sums[k]) for k in one.sums)


def test_crashing_worker_surfaces_with_its_stderr(refs):
    spec = RunSpec({}, ("OPAL_1992_I321190",), refs, batch_size=50, fault="segv")
    with pytest.raises(GenerationError, match=r"(?s)chunk 0.*fault injection: SIGSEGV"):
        generate(spec, 200, 1, n_workers=2, chunk_size=100)
    # the caller keeps going: the next run works
    ok = generate(RunSpec({}, ("OPAL_1992_I321190",), refs), 200, 1, n_workers=2, chunk_size=100)
    assert ok.n_events["OPAL_1992_I321190"] == 200


def test_an_empty_bin_has_the_error_of_one_entry_not_zero(refs):
    """A bin a run left empty gets the error of one typical entry of its histogram; filled bins
    keep sqrt(sum w^2)."""
    from tuner.mc.analyses import Fills

    key = "ALEPH_1996_S3486095/d01-x01-y01"  # a density histogram (1/N dN/dx)
    ref = refs[key]
    sumw = np.zeros(ref.nbins)
    sumw[:3] = [4.0, 9.0, 1.0]
    sumw2 = sumw * 2.0**2 / 2.0  # entries of weight 2: sum w^2 = 2 sum w
    fills = Fills(sums={key: np.stack([sumw, sumw2])}, n_events={"ALEPH_1996_S3486095": 100.0})
    h = normalise(fills, refs)[key]
    scale = h.values[0] * 100.0 * ref.widths[0] / 4.0
    np.testing.assert_allclose(h.errors[:3], scale * np.sqrt(sumw2[:3]) / (100.0 * ref.widths[:3]))
    # one entry of the typical weight (sum w^2 / sum w = 2) in every empty bin
    np.testing.assert_allclose(h.errors[3:], scale * 2.0 / (100.0 * ref.widths[3:]))
    assert np.all(h.values[3:] == 0)
