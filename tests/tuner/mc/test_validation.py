"""The validation run's chi2 and its quoted Monte Carlo spread (tuner/mc/validation.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tuner.mc.analyses import Fills
from tuner.mc.config import default_config
from tuner.mc.runs import generate, generate_chunks
from tuner.mc.setup import prepare
from tuner.mc.validation import MIN_JACKKNIFE_CHUNKS, ScoredRun, Validation, chi2_spread


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
