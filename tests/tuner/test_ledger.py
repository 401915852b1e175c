"""TrialLedger: the optimiser's trials in step with a real SQLite study."""

from __future__ import annotations

import numpy as np
import pytest

from tuner import Optimizer
from tuner.errors import SpaceError
from tuner.ledger import TrialLedger
from tuner.space import Space
from tuner.storage import InMemoryStorage, Study

DIMS = [(-2.0, 2.0), (0, 4)]


def test_new_trials_get_seeded_ids_and_cached_units(tmp_path):
    space = Space(DIMS)
    ledger = TrialLedger(space, Study(tmp_path / "s.db", space), seed=5)
    a, b = ledger.new_trial([0.0, 1]), ledger.new_trial([1.0, 3])
    assert (a.id, b.id) == (0, 1)
    assert (a.seed, b.seed) == (5, 5 + 7919)
    np.testing.assert_allclose(ledger.units([a, b]), space.to_unit([[0.0, 1], [1.0, 3]]))
    assert ledger.units([]).shape == (0, 2)
    assert ledger.told_state() == (2, 0)
    ledger.record(a, 1.5, None, {}, None)
    ledger.record(b, None, None, {"error": "boom"}, None)
    assert ledger.told_state() == (2, 2)
    assert [t.state for t in ledger.trials] == ["complete", "failed"]
    assert ledger.taken_units().shape == (1, 2)  # a failed point may be asked again
    assert ledger.n_evaluated == 2


def test_pending_trials_of_a_resumed_study_are_queued_first(tmp_path):
    space = Space(DIMS)
    first = TrialLedger(space, Study(tmp_path / "s.db", space), seed=0)
    done, left = first.new_trial([0.0, 0]), first.new_trial([0.5, 2])
    first.record(done, 2.0, None, {}, None)
    first.add_told_unasked(3)
    again = TrialLedger(space, Study(tmp_path / "s.db", space), seed=0)
    assert [t.id for t in again.queue] == [left.id]
    assert again.told_unasked == 3  # kept by the storage
    assert again.find_pending([0.5, 2]).id == left.id
    assert again.find_pending([0.0, 0]) is None  # complete, not pending
    again.record(again.queue[0], 1.0, 0.1, {}, None)
    assert again.queue == [] and again.complete[-1].noise == 0.1


def test_enqueue_checks_the_point_and_queues_it():
    ledger = TrialLedger(Space(DIMS), InMemoryStorage(), seed=0)
    t = ledger.enqueue([1.0, 2])
    assert ledger.queue == [t] and ledger.n_enqueued == 1
    with pytest.raises(SpaceError):
        ledger.enqueue([3.0, 2])
    assert len(ledger.trials) == 1  # nothing recorded for the refused point


@pytest.mark.parametrize("failures, imputed", [("worst", 1), ("ignore", 0)])
def test_observations_impute_failures_only_when_asked_to(failures, imputed):
    ledger = TrialLedger(Space(DIMS), InMemoryStorage(), seed=0)
    for x, y in [([0.0, 0], 1.0), ([1.0, 1], 2.0), ([-1.0, 3], None)]:
        ledger.record(ledger.new_trial(x), y, None, {}, None)
    obs = ledger.observations(failures)
    assert obs.U.shape == (2, 2) and list(obs.y) == [1.0, 2.0]
    assert len(obs.U_failed) == imputed


def test_the_optimizer_hands_out_its_ledger_queue_first():
    opt = Optimizer(DIMS, random_state=0, n_initial_points=3)
    t = opt.enqueue([1.5, 4])
    assert opt.n_queued == 1 and opt.ask() == [1.5, 4] and opt.ledger.queue == []
    assert opt.trials is opt.ledger.trials and opt.pending == [t]
