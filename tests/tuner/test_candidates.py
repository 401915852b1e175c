"""The optimiser's candidate points: grid neighbours, the duplicate rule, and what an ask does
when the acquisition's maximum is a point already evaluated."""

import numpy as np
import pytest

from tuner import Categorical, Integer, Optimizer, Real
from tuner.candidates import deduplicate, grid_neighbours, is_new, n_distinct, sample
from tuner.errors import TunerError
from tuner.space import Space


def test_grid_neighbours_are_every_combination_when_few():
    space = Space([Categorical(["a", "b", "c"]), Integer(0, 1), Real(0.0, 1.0)])
    u = space.to_unit([["b", 1, 0.25]])[0]
    nb = grid_neighbours(space, u)
    assert nb.shape == (6, 3)
    assert np.allclose(nb[:, 2], u[2])  # the real coordinate is kept
    pts = space.from_unit(nb)
    assert sorted((p[0], p[1]) for p in pts) == [(c, i) for c in "abc" for i in (0, 1)]


def test_grid_neighbours_change_one_coordinate_at_a_time_when_many():
    space = Space([Integer(0, 30), Integer(0, 30), Real(0.0, 1.0)])
    u = space.to_unit([[3, 4, 0.5]])[0]
    nb = grid_neighbours(space, u, limit=100)
    assert len(nb) == 62
    assert all(int(np.sum(row != u)) <= 1 for row in nb)
    assert len(grid_neighbours(Space([Real(0.0, 1.0)]), np.array([0.5]))) == 0


def test_sample_honours_the_constraint_and_refuses_an_impossible_one():
    space = Space([Real(0.0, 1.0), Real(0.0, 1.0)])
    pts = sample(space, 50, 0, lambda p: p[0] < p[1])
    assert len(pts) == 50 and all(p[0] < p[1] for p in pts)
    with pytest.raises(TunerError, match=r"space_constraint rejected all of .* random points"):
        sample(space, 1, 0, lambda p: False)


def test_deduplicate_replaces_a_taken_point_and_warns_when_the_space_is_spent():
    space = Space([Integer(0, 2)])
    taken = space.to_unit([[0], [1]])
    assert deduplicate(space, [0], taken, 0, None) == [2]
    assert n_distinct(space) == 3 and is_new(taken, space.to_unit([[2]])[0])
    with pytest.warns(UserWarning, match="every point of the search space"):
        assert deduplicate(space, [0], space.to_unit([[0], [1], [2]]), 0, None) == [0]


def test_an_ask_never_repeats_a_told_point_in_a_small_mixed_space():
    opt = Optimizer([Categorical(["a", "b"]), Integer(0, 3)], n_initial_points=3, random_state=0)
    seen = set()
    for _ in range(8):
        x = opt.ask()
        assert tuple(x) not in seen
        seen.add(tuple(x))
        opt.tell(x, float({"a": 0, "b": 1}[x[0]] + (x[1] - 2) ** 2))
    assert ("a", 2) in seen
