from __future__ import annotations

import numpy as np
import pytest
import skopt.space

from tuner import Categorical, Integer, Real, Space, SpaceError
from tuner.space import INITIAL_POINT_GENERATORS, check_dimension


def test_shorthand_forms():
    s = Space([(0.0, 1.0), (1, 5), (1e-4, 1e-1, "log-uniform"), ["adam", "sgd"], (2, 64, "log-uniform")])
    kinds = [type(d).__name__ for d in s]
    assert kinds == ["Real", "Integer", "Real", "Categorical", "Integer"]
    assert s.dimensions[2].prior == "log-uniform"
    assert s.cat_dims == {3: [0.0, 1.0]}
    assert set(s.discrete_dims) == {1, 4}


def test_skopt_objects_accepted_as_they_are():
    sk = [skopt.space.Real(1e-3, 1.0, prior="log-uniform", name="lr"),
          skopt.space.Integer(1, 8, name="depth"),
          skopt.space.Categorical(["relu", "tanh"], name="act")]
    s = Space(sk)
    assert s.dimension_names == ["lr", "depth", "act"]
    assert isinstance(s.dimensions[0], Real) and s.dimensions[0].prior == "log-uniform"
    assert isinstance(s.dimensions[1], Integer) and s.dimensions[1].bounds == (1, 8)
    assert isinstance(s.dimensions[2], Categorical)
    assert Space(skopt.space.Space(sk)) == s


@pytest.mark.parametrize(
    "dim, match",
    [
        ((1.0, 1.0), "low must be < high, got low=1.0, high=1.0"),
        ((2, 1), "low must be < high, got low=2, high=1"),
        ([], "at least one category"),
        ((0.0, 1.0, "log-uniform"), "log-uniform prior needs low > 0, got low=0.0"),
        ((1.0, 2.0, "cubic"), "prior must be one of"),
        ((1, "a"), "mixed types received: \\(1, 'a'\\)"),
        ((0.0, float("inf")), "must be finite"),
        (42, "has to be a list or tuple .* or a Dimension, got 42"),
        (["a", "a"], "distinct"),
        ((1.0, 10.0, "log-uniform", -2), "base must be a finite number > 0 other than 1, got -2"),
        ((1.0, 10.0, "log-uniform", 1), "base must be a finite number > 0 other than 1, got 1"),
        (Real(0.0, 1.0), None),
    ],
)
def test_bad_dimensions_raise_one_clear_error(dim, match):
    if match is None:  # the good one
        check_dimension(dim, name="p")
        return
    with pytest.raises(SpaceError, match=match):
        check_dimension(dim, name="p")


@pytest.mark.parametrize("make", [lambda: Real(0.0, 1.0, transform="log"),
                                  lambda: Integer(0, 3, transform="foo"),
                                  lambda: Categorical(["a", "b"], transform="hash")])
def test_an_unknown_skopt_transform_is_refused(make):
    """scikit-optimize's ``transform`` names are accepted (the encoding stays this toolkit's);
    a name it does not know was accepted in silence."""
    with pytest.raises(SpaceError, match=r"transform should be 'normalize' or 'identity'"):
        make()


def test_a_categorical_with_one_category_is_a_constant_dimension():
    """scikit-optimize allows a single category (a constant dimension); the mixed acquisition
    search drew a neighbour from the empty set of the others and ended in torch's RuntimeError at
    the first model-based ask."""
    import warnings

    from tuner import gp_minimize

    res = gp_minimize(lambda x: (x[1] - 0.2) ** 2 + x[2], [Categorical(["a"]), Real(-1.0, 1.0),
                      Integer(0, 3)], n_calls=12, n_initial_points=5, random_state=0, progress=False)
    assert all(x[0] == "a" for x in res.x_iters) and res.x[2] == 0 and abs(res.x[1] - 0.2) < 0.2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # every point of a one-point space is taken
        one = gp_minimize(lambda x: 1.0, [("only",)], n_calls=4, n_initial_points=2,
                          random_state=0, progress=False)
    assert one.x_iters == [["only"]] * 4


@pytest.mark.parametrize("dims", [None, 3, "abc", {"x": (0.0, 1.0)}])
def test_a_space_that_is_not_a_list_of_dimensions_is_refused(dims):
    """``None`` or a number ended in a TypeError; a string or a dict was read item by item."""
    from tuner import Optimizer

    with pytest.raises(SpaceError, match=r"a search space is a list of dimensions .* got "):
        Optimizer(dims)


def test_error_names_the_dimension():
    with pytest.raises(SpaceError, match="'lr'"):
        Real(1.0, 0.5, name="lr")


def test_unit_round_trip_and_bounds():
    s = Space([Real(1e-4, 1.0, prior="log-uniform"), Integer(-3, 7), Categorical(["a", 2, None])])
    pts = s.rvs(200, random_state=0)
    u = s.to_unit(pts)
    assert u.shape == (200, 3)
    assert np.all(u[:, :2] >= 0) and np.all(u[:, :2] <= 1)
    back = s.from_unit(u)
    for p, q in zip(pts, back, strict=True):
        assert p[0] == pytest.approx(q[0], rel=1e-12)
        assert p[1:] == q[1:]
    # log-uniform: half the draws below the geometric midpoint
    assert 0.35 < np.mean(np.array([p[0] for p in pts]) < 1e-2) < 0.65
    # every integer and category reachable
    assert {p[1] for p in pts} == set(range(-3, 8))
    assert {repr(p[2]) for p in pts} == {"'a'", "2", "None"}


def test_integer_log_grid_rounds_to_nearest_in_model_space():
    d = Integer(1, 1000, prior="log-uniform")
    vals = d.from_unit(d.to_unit([1, 7, 999, 1000]))
    assert vals == [1, 7, 999, 1000]


def test_check_point_rejects_outside_and_wrong_length():
    s = Space([(0.0, 1.0), (1, 3)])
    with pytest.raises(SpaceError, match="outside"):
        s.check_point([1.5, 2])
    with pytest.raises(SpaceError, match=r"Dimensions of point \[0.5\] and space \(2\) do not match"):
        s.check_point([0.5])
    with pytest.raises(SpaceError, match=r"value 2.5 of dimension .* is not a whole number, and "
                                         r"Integer\(low=1, high=3.*\) takes whole numbers only"):
        s.check_point([0.5, 2.5])  # inside the bounds: the rule broken is not "outside"
    with pytest.raises(SpaceError, match=r"value 4 of dimension .* is outside Integer"):
        s.check_point([0.5, 4])
    assert s.check_point([np.float64(0.5), np.int64(2)]) == [0.5, 2]


@pytest.mark.parametrize("method", INITIAL_POINT_GENERATORS)
def test_samplers_are_reproducible(method):
    s = Space([(0.0, 1.0), (1, 10), ["x", "y", "z"]])
    assert s.rvs(8, random_state=3, method=method) == s.rvs(8, random_state=3, method=method)
    assert s.rvs(8, random_state=3, method=method) != s.rvs(8, random_state=4, method=method)


@pytest.mark.parametrize("method", ["sobol", "halton", "hammersly", "lhs", "grid"])
def test_space_filling_samplers_stratify_each_coordinate(method):
    n = 16
    u = np.asarray(Space([(0.0, 1.0), (0.0, 1.0)]).rvs(n, random_state=1, method=method))
    assert u.shape == (n, 2) and len({tuple(p) for p in u}) == n
    # every coordinate covers the range: no stratum of width 1/4 is left empty
    for col in u.T:
        assert set(np.floor(col * 4).astype(int)) == {0, 1, 2, 3}


def test_spec_round_trip():
    s = Space([Real(0.1, 2.0, name="a"), Integer(1, 4, name="b"), Categorical([1, "x"], name="c")])
    assert Space.from_spec(s.spec()) == s
