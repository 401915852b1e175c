"""Random points for the optimiser: drawn under a user's ``space_constraint``, and kept apart
from the points already evaluated or asked (the duplicate rule of
:class:`~tuner.optimizer.Optimizer`).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from tuner.dimensions import Categorical, Integer
from tuner.errors import TunerError
from tuner.space import Space

__all__ = ["DUP_TOL", "allowed", "best_untaken", "deduplicate", "grid_neighbours", "is_new",
           "n_distinct", "sample"]

#: two unit-cube points closer than this in every coordinate are the same point
DUP_TOL = 1e-7

Constraint = Callable[[list[Any]], bool] | None


def is_new(U: np.ndarray, u: np.ndarray) -> bool:
    """Whether the unit-cube point ``u`` differs from every row of ``U`` (by more than
    :data:`DUP_TOL` in some coordinate)."""
    return len(U) == 0 or bool(np.min(np.max(np.abs(U - u), axis=1)) > DUP_TOL)


def allowed(points: list[list[Any]], constraint: Constraint) -> list[list[Any]]:
    """The points that satisfy ``constraint`` (all of them without one)."""
    if constraint is None:
        return points
    return [p for p in points if constraint(p)]


def sample(space: Space, n: int, random_state: Any, constraint: Constraint) -> list[list[Any]]:
    """``n`` random points of ``space`` that satisfy ``constraint`` (by rejection).

    Raises:
        TunerError: the constraint rejects 100,000 random points in a row.
    """
    rng = np.random.default_rng(random_state)
    out: list[list[Any]] = []
    tries = 0
    while len(out) < n:
        batch = max(4 * (n - len(out)), 64)
        out += allowed(space.rvs(batch, random_state=rng), constraint)
        tries += batch
        if not out and tries >= 100_000:
            raise TunerError(f"space_constraint rejected all of {tries} random points of "
                             f"{space!r}; it must allow part of the space")
    return out[:n]


def n_distinct(space: Space) -> float:
    """How many distinct points ``space`` has (``inf`` with a real dimension)."""
    n = 1.0
    for d in space.dimensions:
        if isinstance(d, Categorical):
            n *= len(d.categories)
        elif isinstance(d, Integer):
            n *= d.high - d.low + 1
        else:
            return math.inf
    return n


def grid_neighbours(space: Space, u: np.ndarray, limit: int = 512) -> np.ndarray:
    """Model-coordinate points that share ``u``'s real coordinates and differ in its integer or
    categorical ones: every combination of their allowed values when there are at most
    ``limit``, else each such coordinate changed on its own. Empty without such coordinates.
    """
    grid = {**space.discrete_dims, **space.cat_dims}
    if not grid:
        return np.zeros((0, len(u)))
    idx = sorted(grid)
    if math.prod(len(grid[i]) for i in idx) <= limit:
        rows = []
        for combo in itertools.product(*(grid[i] for i in idx)):
            v = np.array(u, dtype=float)
            v[idx] = combo
            rows.append(v)
        return np.stack(rows)
    rows = []
    for i in idx:
        for val in grid[i]:
            v = np.array(u, dtype=float)
            v[i] = val
            rows.append(v)
    return np.stack(rows)


def deduplicate(space: Space, x: list[Any], taken: np.ndarray, random_state: Any,
                constraint: Constraint) -> list[Any]:
    """``x``, or a random point not yet taken when ``x`` was (``taken``: unit-cube rows of the
    points evaluated or asked). A finite space with every point taken gives ``x`` back with a
    warning (it is evaluated again), as scikit-optimize does.

    Warns:
        UserWarning: every point of a finite space is taken.
    """
    if not len(taken):
        return x

    def new(p: list[Any]) -> bool:
        return is_new(taken, space.to_unit([p])[0])

    if new(x):
        return x
    distinct = len({tuple(np.round(row, 9)) for row in taken})
    if distinct < n_distinct(space):
        rng = np.random.default_rng(random_state)
        for _attempt in range(2000):
            y = sample(space, 1, rng, constraint)[0]
            if new(y):
                return y
    warnings.warn(f"every point of the search space has been evaluated or asked already "
                  f"({distinct} distinct points); the objective is evaluated again at {x!r}",
                  UserWarning, stacklevel=4)
    return x


def best_untaken(space: Space, cand: list[list[Any]], score: Callable[[np.ndarray], np.ndarray],
                 taken: np.ndarray, random_state: Any, constraint: Constraint) -> list[list[Any]]:
    """``cand``, with each point that breaks ``constraint`` or is taken (a row of ``taken``, the
    unit-cube points evaluated or asked) replaced by the point of highest ``score`` (the
    acquisition, of an ``n x d`` array of unit-cube points) among those that do neither: the
    grid neighbours of the replaced candidates (:func:`grid_neighbours`) and random points (2048
    without such neighbours, 256 beside them).

    The acquisition's maximum lands on a taken point when the surrogate's noise leaves
    improvement at the incumbent (a real coordinate at its bound, a categorical choice): the
    best untaken point then beats a random one (scikit-optimize's mixed-space test
    ``test_mixed_categoricals`` missed its optimum, a grid neighbour of the incumbent, on two of
    its five designs when such asks were random; BENCHMARKS.md section 1, session 25).
    """
    units = space.to_unit(cand)
    bad = [i for i, (p, u) in enumerate(zip(cand, units, strict=True))
           if not allowed([p], constraint) or not is_new(taken, u)]
    if not bad:
        return cand
    near = [grid_neighbours(space, units[i]) for i in bad]
    pool = allowed(space.from_unit(np.concatenate(near)), constraint) if sum(map(len, near)) else []
    pool += sample(space, 256 if pool else 2048, random_state, constraint)
    U = space.to_unit(pool)
    _, first = np.unique(np.round(U, 9), axis=0, return_index=True)
    fresh = [int(i) for i in sorted(first) if is_new(taken, U[i]) and is_new(units, U[i])]
    if not fresh:
        return cand
    order = np.argsort(-np.nan_to_num(score(U[fresh]), nan=-np.inf), kind="stable")
    out = list(cand)
    for slot, j in zip(bad, order, strict=False):
        out[slot] = pool[fresh[int(j)]]
    return out
