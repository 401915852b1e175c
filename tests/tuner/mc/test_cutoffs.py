"""The floor Pythia raises TimeShower:pTmin to, checked against Pythia itself, and how a tune
quotes a minimum that lies below it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import pythia8mc

from tuner import SettingsError
from tuner.mc.generators.cutoffs import ptmin_floor, raised_settings, values_used
from tuner.mc.generators.pythia import PRESETS
from tuner.mc.recommend import quote_at_floor
from tuner.mc.refdata import read_yoda
from tuner.mc.runs import RunSpec, generate, needed_refs

EE = "ee_Z_hadrons_91.2"
PT = "TimeShower:pTmin"


def pythia_raises(settings: dict, ptmin: float) -> bool:
    """Pythia's own answer: its flag after a full initialisation of the process."""
    p = pythia8mc.Pythia("", False)
    for k, v in {**PRESETS[EE], **settings, PT: ptmin, "Print:quiet": "on"}.items():
        assert p.readString(f"{k} = {v}")
    assert p.init()
    return bool(p.infoPython().tooLowPTmin())


@pytest.mark.parametrize("settings", [
    {"TimeShower:alphaSvalue": 0.1365},  # Monash: 0.357 GeV
    {"TimeShower:alphaSvalue": 0.1839},  # a closure truth's: 1.336 GeV
    {"TimeShower:alphaSvalue": 0.16, "TimeShower:alphaSuseCMW": "on"},
    {"TimeShower:alphaSvalue": 0.17, "TimeShower:renormMultFac": 2.0},
    {"TimeShower:alphaSvalue": 0.13, "TimeShower:alphaSorder": 2},  # not the one-loop formula
])
def test_the_floor_is_where_pythia_stops_raising_ptmin(settings):
    floor = ptmin_floor(settings, EE)
    assert 0.1 < floor < 2.0
    assert pythia_raises(settings, floor * 0.998)
    assert not pythia_raises(settings, floor * 1.002)


def test_a_floor_above_pythias_range_and_one_below_it():
    assert ptmin_floor({"TimeShower:alphaSvalue": 0.16, "TimeShower:alphaSorder": 2}, EE) == math.inf
    assert pythia_raises({"TimeShower:alphaSvalue": 0.16, "TimeShower:alphaSorder": 2}, 2.0)
    # one-loop running beyond 2 GeV: the value Pythia's warning names (3.645 at alpha_s 0.25)
    assert ptmin_floor({"TimeShower:alphaSvalue": 0.25}, EE) == pytest.approx(3.645, abs=1e-3)
    assert pythia_raises({"TimeShower:alphaSvalue": 0.25}, 2.0)
    assert ptmin_floor({"TimeShower:alphaSvalue": 0.08}, EE) == 0.1  # Pythia's lowest pTmin
    assert ptmin_floor({}, EE) == pytest.approx(ptmin_floor({"TimeShower:alphaSvalue": 0.1365}, EE))


def test_every_ptmin_below_the_floor_gives_the_same_events_and_one_above_does_not(refdata):
    refs = {}
    for a in ("ALEPH_1996_S3486095",):
        refs.update(read_yoda(refdata / f"{a}.yoda"))
    refs = needed_refs(refs, ("ALEPH_1996_S3486095",))

    def fills(ptmin):
        return generate(RunSpec({"TimeShower:alphaSvalue": 0.1839, PT: ptmin},
                                ("ALEPH_1996_S3486095",), refs), 300, 9)

    low, mid, above = fills(0.3), fills(1.2), fills(1.5)
    for k in low.sums:
        np.testing.assert_array_equal(low.sums[k], mid.sums[k])
    assert any(not np.array_equal(low.sums[k], above.sums[k]) for k in low.sums)


def test_raised_settings_and_the_values_pythia_runs_with():
    point = {"TimeShower:alphaSvalue": 0.1839, PT: 0.6, "StringZ:aLund": 0.7}
    (r,) = raised_settings(point, {}, EE)
    assert (r.name, r.given) == (PT, 0.6) and r.used == pytest.approx(1.3359, abs=1e-3)
    assert "raises TimeShower:pTmin" in r.rule
    used = values_used(point, {}, EE)
    assert used[PT] == r.used and used["StringZ:aLund"] == 0.7
    # the fixed settings count: alpha_s fixed low, the same pTmin runs as given
    assert raised_settings({PT: 0.6}, {"TimeShower:alphaSvalue": 0.12}, EE) == []
    assert raised_settings({"StringZ:aLund": 0.7}, {}, EE) == []  # pTmin not tuned
    assert values_used({PT: 1.5, "TimeShower:alphaSvalue": 0.1839}, {}, EE)[PT] == 1.5
    with pytest.raises(SettingsError, match="TimeShower:alphaSvalue"):
        raised_settings({PT: 0.6, "TimeShower:alphaSvalue": 7.0}, {}, EE)


def test_a_minimum_below_the_floor_is_quoted_as_the_interval_below_it():
    names = ["StringZ:aLund", "TimeShower:alphaSvalue", PT]
    lo, hi = np.array([0.0, 0.06, 0.1]), np.array([2.0, 0.25, 2.0])
    cov = np.array([[1e-3, 1e-6, 5e-4], [1e-6, 1e-7, 1e-6], [5e-4, 1e-6, 0.02]])
    x = np.array([1.0, 0.1839, 0.63])
    out = quote_at_floor({}, EE, names, x, cov, lo, hi)
    floor = ptmin_floor({"TimeShower:alphaSvalue": 0.1839}, EE)
    assert [r["name"] for r in out] == [PT] and out[0]["minimum"] == 0.63
    assert out[0]["floor"] == pytest.approx(floor)
    assert x[2] == pytest.approx((0.1 + floor) / 2) and x[0] == 1.0 and x[1] == 0.1839
    assert cov[2, 2] == pytest.approx((floor - 0.1) ** 2 / 12)  # the interval's variance
    assert cov[2, 0] == cov[0, 2] == cov[1, 2] == 0.0 and cov[0, 1] == 1e-6
    # a truth anywhere below the floor lies within sqrt(3) sigma of the quote
    for truth in (0.1, floor):
        assert abs(x[2] - truth) / math.sqrt(cov[2, 2]) == pytest.approx(math.sqrt(3))
    # the quoted value runs as the floor: the same events as the minimum
    assert values_used(dict(zip(names, x, strict=True)), {}, EE)[PT] == pytest.approx(floor)
    # above the floor by more than a standard deviation: nothing moves
    x2, cov2 = np.array([1.0, 0.1839, 1.6]), np.diag([1e-3, 1e-7, 0.1**2])
    before = cov2.copy()
    assert quote_at_floor({}, EE, names, x2, cov2, lo, hi) == [] and x2[2] == 1.6
    np.testing.assert_array_equal(cov2, before)
    # a floor above the range: the whole range, flat
    x3, cov3 = np.array([1.0, 0.1839, 0.63]), np.diag([1e-3, 1e-7, 1e-4])
    (r3,) = quote_at_floor({}, EE, names, x3, cov3, lo, np.array([2.0, 0.25, 1.0]))
    assert r3["floor"] == 1.0 and x3[2] == pytest.approx(0.55)
    assert cov3[2, 2] == pytest.approx(0.9 ** 2 / 12)


def test_a_minimum_within_one_sigma_above_the_floor_is_quoted_as_an_upper_limit():
    """The floor inside the minimum's 1-sigma interval: every value below it fits as well, so a
    value and a symmetric error would exclude values the data allow (session 48's truth 13:
    1.40 +- 0.06 for a truth at 0.72 below a floor of 1.38)."""
    names = ["StringZ:aLund", "TimeShower:alphaSvalue", PT]
    lo, hi = np.array([0.0, 0.06, 0.1]), np.array([2.0, 0.25, 2.0])
    floor = ptmin_floor({"TimeShower:alphaSvalue": 0.1859}, EE)
    sigma = 0.063
    cov = np.array([[1e-3, 1e-6, 5e-4], [1e-6, 1e-7, 1e-6], [5e-4, 1e-6, sigma**2]])
    x = np.array([1.0, 0.1859, floor + 0.023])
    (r,) = quote_at_floor({}, EE, names, x, cov, lo, hi)
    assert r["minimum"] == pytest.approx(floor + 0.023) and r["floor"] == pytest.approx(floor)
    assert r["upper"] == pytest.approx(floor + 0.023 + sigma) and "one standard deviation" in r["rule"]
    assert x[2] == pytest.approx((0.1 + r["upper"]) / 2)
    assert cov[2, 2] == pytest.approx((r["upper"] - 0.1) ** 2 / 12) and cov[0, 2] == cov[2, 1] == 0.0
    for truth in (0.72, floor, r["upper"]):  # anywhere in the interval: within sqrt(3) sigma
        assert abs(x[2] - truth) / math.sqrt(cov[2, 2]) <= math.sqrt(3) + 1e-9
    # more than one sigma above the floor: a value and its error, as before
    x2, cov2 = np.array([1.0, 0.1859, floor + 0.07]), cov.copy()
    cov2[2, :] = cov2[:, 2] = 0.0
    cov2[2, 2], cov2[0, 2], cov2[2, 0] = sigma**2, 5e-4, 5e-4
    before = cov2.copy()
    assert quote_at_floor({}, EE, names, x2, cov2, lo, hi) == [] and x2[2] == floor + 0.07
    np.testing.assert_array_equal(cov2, before)
    # a floor below the range's low end leaves nothing below it to allow
    x3, cov3 = np.array([1.0, 0.1859, 1.6]), np.diag([1e-3, 1e-7, 0.04])
    assert quote_at_floor({}, EE, names, x3, cov3, np.array([0.0, 0.06, 1.5]), hi) == []
