"""The validation run's chi2 and its quoted Monte Carlo spread (tuner/mc/validation.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tuner.mc.analyses import Fills
from tuner.mc.cli import _print_result
from tuner.mc.config import default_config
from tuner.mc.recommend import TuneResult
from tuner.mc.runs import generate, generate_chunks
from tuner.mc.setup import make_pseudodata, prepare
from tuner.mc.validation import (
    CLOSURE_SDS,
    MIN_JACKKNIFE_CHUNKS,
    ScoredRun,
    Validation,
    chi2_spread,
    validate,
)


@pytest.fixture(scope="module")
def setup():
    return prepare(default_config())


def test_chunks_are_what_generate_merges_and_subtract_back(setup):
    spec = setup.spec({})
    chunks = generate_chunks(spec, 250, 5, chunk_size=100)
    assert [c.n_generated for c in chunks] == [100, 100, 50]
    merged, whole = Fills.merge(chunks), generate(spec, 250, 5, chunk_size=100)
    assert merged.n_generated == whole.n_generated == 250
    for k, v in whole.sums.items():
        np.testing.assert_array_equal(merged.sums[k], v)
    rest = merged - chunks[1]
    again = Fills.merge([chunks[0], chunks[2]])
    assert rest.n_generated == 150 and rest.n_events == pytest.approx(again.n_events)
    for k, v in again.sums.items():
        np.testing.assert_allclose(rest.sums[k], v, rtol=1e-12, atol=1e-12)
    assert merged.sums[k] is not rest.sums[k]  # the whole is left as it was


def test_the_quoted_spread_is_the_spread_over_seeds(setup):
    """Twelve seeds of 4000 events in 8 chunks each: the jackknife's sd is the sd of the chi2
    over the seeds (within what twelve seeds can tell), as a user comparing two validations
    reads it."""
    spec = setup.spec({})
    totals, quoted = [], []
    for seed in range(12):
        chunks = generate_chunks(spec, 4000, 300 + seed, chunk_size=500)
        totals.append(setup.score(Fills.merge(chunks)).total)
        sd, how = chi2_spread(setup, chunks)
        assert "jackknife over 8 chunks" in how
        quoted.append(sd)
    ratio = float(np.std(totals, ddof=1) / np.mean(quoted))
    assert 0.6 < ratio < 1.6, (ratio, totals, quoted)


def test_too_few_chunks_fall_back_to_the_delta_method_and_say_so(setup):
    chunks = generate_chunks(setup.spec({}), 300, 9, chunk_size=100)
    assert len(chunks) < MIN_JACKKNIFE_CHUNKS
    sd, how = chi2_spread(setup, chunks)
    c = setup.score(Fills.merge(chunks))
    assert sd == pytest.approx(math.sqrt(c.variance)) and "delta method" in how and "lower bound" in how


def _run(chi2: float, sd: float) -> ScoredRun:
    return ScoredRun(chi2, 10, {}, Fills(), chi2_sd=sd)


def test_a_difference_within_twice_its_spread_is_not_resolved():
    near = Validation(1000, 1, _run(100.0, 3.0), _run(109.0, 4.0))  # 9 < 2 x 5
    far = Validation(1000, 1, _run(100.0, 3.0), _run(111.0, 4.0))  # 11 > 2 x 5
    assert near.difference_sd == pytest.approx(5.0)
    assert near.tune_better_than_default and not near.resolved
    assert far.resolved and far.to_dict()["resolved"] is True
    assert not near.to_dict()["resolved"]
    unknown = Validation(1000, 1, _run(100.0, float("nan")), _run(101.0, 4.0))
    assert unknown.resolved  # no spread quoted: judged as before


def test_a_closure_validation_far_above_what_the_truth_scores_is_a_miss():
    """In a closure the truth scores about the bins' weighted count; a validation more than
    CLOSURE_SDS of its spread above it is reported missed, in summary.json and by the CLI."""
    def closure(chi2: float, sd: float, expected: float | None = 50.0) -> Validation:
        return Validation(1000, 1, _run(chi2, sd), _run(500.0, 20.0), expected)

    assert closure(50.0 + 2.1 * 5, 5.0).closure_missed
    inside = closure(50.0 + 1.9 * 5, 5.0)
    assert not inside.closure_missed and inside.closure_excess_sds == pytest.approx(1.9)
    d = closure(80.0, 5.0).to_dict()["closure"]
    assert d["missed"] is True and d["excess_sds"] == pytest.approx(6.0) and d["expected_at_truth"] == 50
    assert "whatever its pulls say" in d["rule"] and f"{CLOSURE_SDS:g} of its" in d["rule"]
    assert not closure(80.0, float("nan")).closure_missed  # no spread, no verdict
    measured = closure(80.0, 5.0, expected=None)
    assert "closure" not in measured.to_dict() and not measured.closure_missed


@pytest.mark.parametrize("missed, lower_bound", [(False, False), (True, False), (True, True)])
def test_the_cli_warns_of_a_missed_closure_only_when_it_is_one(missed, lower_bound, capsys):
    tune = _run(80.0 if missed else 55.0, 5.0)
    tune.chi2_sd_method = ("delta method from the bins' errors (a lower bound: 1 chunk(s))" if lower_bound
                           else "jackknife over 40 chunks of independently seeded events")
    v = Validation(1000, 1, tune, _run(500.0, 20.0), 50.0)
    res = TuneResult(best={"StringZ:aLund": 0.9}, uncertainties={"StringZ:aLund": 0.01},
                     chi2_surrogate=40.0, chi2_best_evaluated=45.0, at_edge=[], validation=v)
    _print_result(res, "out", {"StringZ:aLund": 0.91})
    out = capsys.readouterr().out
    assert ("warning: closure missed: the tune validates at 80.0, 6.0 of its Monte Carlo spread "
            "above the 50 the truth itself scores" in out) is missed
    assert "pull -1.00" in out
    assert ("its spread here is the delta method's lower bound" in out) is lower_bound


def test_validating_a_closure_at_its_truth_passes_and_far_from_it_misses():
    """Real events: pseudo-data of 10k events at the embedded truth; 4000 validation events at
    the truth stay within the rule, at a point far from it do not."""
    cfg = default_config()
    cfg.closure["events"], cfg.validation_events, cfg.seed = 10_000, 4000, 8
    setup = prepare(cfg)
    setup.data = make_pseudodata(setup)
    at_truth = validate(setup, cfg.closure["truth"])
    assert at_truth.expected_at_truth == sum(setup.data[k].nbins for k in setup.keys)
    assert not at_truth.closure_missed and abs(at_truth.closure_excess_sds) < CLOSURE_SDS
    far = validate(setup, {"StringZ:aLund": 0.5, "TimeShower:alphaSvalue": 0.14})
    assert far.closure_missed and far.to_dict()["closure"]["missed"] is True
    cfg.closure = None  # measured data: no expectation, no verdict
    assert validate(prepare(cfg), {}).expected_at_truth is None
