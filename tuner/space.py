"""Search spaces: an ordered collection of dimensions, their unit-cube encoding, sampling.

A point lives in two coordinate systems: the *user* space, a list with one value per dimension,
and the *model* space where the surrogate works (see :mod:`tuner.dimensions`). Dimensions accept
the scikit-optimize shorthand (``(0.1, 1.0)``, ``(1, 5)``, ``(1e-4, 1e-1, "log-uniform")``,
``["adam", "sgd"]``) and ``skopt.space`` objects as they are, and :class:`Space` has
scikit-optimize's ``Space`` API (``transform``, ``inverse_transform``, ``distance``,
``is_partly_categorical``, ...), so skopt's plots, stoppers and ``expected_minimum`` work on this
toolkit's results.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy.stats import qmc

from tuner.dimensions import Categorical, Dimension, Integer, Real, as_generator, check_dimension
from tuner.errors import SpaceError

__all__ = [
    "INITIAL_POINT_GENERATORS",
    "Categorical",
    "Dimension",
    "Integer",
    "Real",
    "Space",
    "check_dimension",
]

INITIAL_POINT_GENERATORS = ("random", "sobol", "halton", "hammersly", "lhs", "grid")


class Space:
    """An ordered collection of dimensions with the encoding used by the surrogate.

    Args:
        dimensions: Dimensions in any form accepted by :func:`check_dimension`, or a ``Space``.

    Raises:
        SpaceError: an empty space, a bad dimension, or two dimensions with the same name.
    """

    def __init__(self, dimensions: Iterable[Any] | Space) -> None:
        if isinstance(dimensions, Space):
            dims = list(dimensions.dimensions)
        elif type(dimensions).__module__.startswith("skopt") and hasattr(dimensions, "dimensions"):
            dims = [check_dimension(d) for d in dimensions.dimensions]
        elif isinstance(dimensions, (str, bytes, dict)) or not hasattr(dimensions, "__iter__"):
            raise SpaceError(f"a search space is a list of dimensions (Dimension objects, (low, high) "
                             f"tuples or lists of categories), got {dimensions!r}")
        else:
            dims = [check_dimension(d) for d in dimensions]
        if not dims:
            raise SpaceError("a search space needs at least one dimension, got none")
        names = [d.name for d in dims if d.name is not None]
        if len(set(names)) != len(names):
            raise SpaceError(f"dimension names must be distinct, got {names!r}")
        self.dimensions: list[Dimension] = dims

    # --- sizes and names -------------------------------------------------------------------
    @property
    def n_dims(self) -> int:
        return len(self.dimensions)

    def __len__(self) -> int:
        return len(self.dimensions)

    def __iter__(self) -> Iterator[Dimension]:
        return iter(self.dimensions)

    def __getitem__(self, key: Any) -> Any:
        """scikit-optimize's lookup: ``space["lr"]`` or ``space[0]`` is ``(index, dimension)``; a
        list or tuple of names and indices gives a list of those pairs (skopt's
        ``plot_histogram``, ``plot_objective_2D`` and ``plot_dims=`` index the space so).

        Raises:
            SpaceError: a name or index the space does not have (scikit-optimize returns
                ``(None, None)``, which its plots then fail on).
        """
        if isinstance(key, (list, tuple)):
            return [self._lookup(k) for k in key]
        return self._lookup(key)

    def _lookup(self, key: Any) -> tuple[int, Dimension]:
        for i, d in enumerate(self.dimensions):
            if (isinstance(key, str) and key == d.name) or (
                    isinstance(key, (int, np.integer)) and not isinstance(key, bool) and key == i):
                return i, d
        raise SpaceError(f"a dimension is looked up by its name or its index (0..{self.n_dims - 1}); "
                         f"the names are {[d.name for d in self.dimensions]!r}, got {key!r}")

    @classmethod
    def from_yaml(cls, path: str | Path, namespace: str | None = None) -> Space:
        """scikit-optimize's ``Space.from_yaml``: a space from a YAML file holding a list of
        ``{Real: {low: ..., high: ...}}``, ``{Integer: ...}``, ``{Categorical: {categories:
        [...]}}`` entries (keys in any case), at the top level or under a key (``namespace``;
        the first key without one).

        Raises:
            SpaceError: a file that holds no such list, an unknown kind of dimension, or a
                dimension that breaks its rules.
        """
        with open(path, "rb") as fh:
            config = yaml.safe_load(fh)
        if isinstance(config, dict) and config:
            if namespace is not None and namespace not in config:
                raise SpaceError(f"{path}: no space named {namespace!r}; the file has "
                                 f"{list(config)!r}")
            options = config[namespace] if namespace is not None else next(iter(config.values()))
        else:
            options = config
        kinds = {"real": Real, "integer": Integer, "categorical": Categorical}
        if not isinstance(options, list) or not options:
            raise SpaceError(f"{path}: a space is a list of dimensions (Real, Integer, "
                             f"Categorical entries), got {options!r}")
        dims: list[Dimension] = []
        for option in options:
            if not (isinstance(option, dict) and len(option) == 1
                    and str(next(iter(option))).lower() in kinds
                    and isinstance(next(iter(option.values())), dict)):
                raise SpaceError(f"{path}: each dimension is one of {{Real: {{...}}}}, "
                                 f"{{Integer: {{...}}}}, {{Categorical: {{...}}}}, got {option!r}")
            kind, values = next(iter(option.items()))
            try:
                dims.append(kinds[kind.lower()](**{str(k).lower(): v for k, v in values.items()}))
            except TypeError as e:
                raise SpaceError(f"{path}: {kind} {values!r}: {e}") from None
        return cls(dims)

    @property
    def dimension_names(self) -> list[str]:
        return [d.name if d.name is not None else f"X_{i}" for i, d in enumerate(self.dimensions)]

    @property
    def is_real(self) -> bool:
        return all(isinstance(d, Real) for d in self.dimensions)

    @property
    def bounds(self) -> list[tuple[Any, ...]]:
        return [d.bounds for d in self.dimensions]  # type: ignore[attr-defined]

    # --- encoding ----------------------------------------------------------------------------
    @property
    def model_bounds(self) -> np.ndarray:
        """Array of shape ``(2, n_dims)`` with the model-space bounds."""
        return np.array([d.model_bounds for d in self.dimensions], dtype=float).T

    @property
    def discrete_dims(self) -> dict[int, list[float]]:
        """Ordered discrete (integer) dimensions: index -> allowed model values."""
        return {i: list(d.model_values) for i, d in enumerate(self.dimensions)
                if d.model_values is not None and not d.is_categorical}

    @property
    def cat_dims(self) -> dict[int, list[float]]:
        """Categorical dimensions: index -> allowed model values (category indices)."""
        return {i: list(d.model_values or []) for i, d in enumerate(self.dimensions)
                if d.is_categorical}

    def check_point(self, point: Sequence[Any]) -> list[Any]:
        """Validate a user point and return it with canonical Python types.

        Raises:
            SpaceError: wrong length, or a value outside its dimension.
        """
        if isinstance(point, (str, bytes)) or not isinstance(point, Sequence | np.ndarray):
            raise SpaceError(f"a point must be a list with one value per dimension, got {point!r}")
        if len(point) != self.n_dims:
            raise SpaceError(f"Dimensions of point {list(point)!r} and space ({self.n_dims}) do not "
                             f"match: a point must have one value per dimension, got {len(point)}")
        out = []
        for d, v, nm in zip(self.dimensions, point, self.dimension_names, strict=True):
            if isinstance(v, np.generic):
                v = v.item()
            if not d.contains(v):
                raise SpaceError(f"value {v!r} of dimension {nm!r} {d.refusal(v)}")
            out.append(d.canonical(v))
        return out

    def to_unit(self, points: Sequence[Sequence[Any]], check: bool = True) -> np.ndarray:
        """Encode user points as an ``(n, n_dims)`` array of model coordinates (``check=False``:
        points known to be valid and canonical, such as :meth:`rvs` draws, skip the checks)."""
        pts = [self.check_point(p) for p in points] if check else list(points)
        if not pts:
            return np.zeros((0, self.n_dims))
        cols = [d.to_unit([p[i] for p in pts]) for i, d in enumerate(self.dimensions)]
        return np.stack(cols, axis=1)

    def from_unit(self, u: np.ndarray) -> list[list[Any]]:
        """Decode model coordinates (``(n, n_dims)``) into user points."""
        u = np.atleast_2d(np.asarray(u, dtype=float))
        cols = [d.from_unit(u[:, i]) for i, d in enumerate(self.dimensions)]
        return [list(row) for row in zip(*cols, strict=True)]

    # --- sampling ----------------------------------------------------------------------------
    def rvs(self, n_samples: int = 1, random_state: Any = None,
            method: str = "random") -> list[list[Any]]:
        """Draw points, uniformly in the model space (so log-uniform where the prior says so).

        Args:
            n_samples: Number of points.
            random_state: Seed or generator.
            method: One of :data:`INITIAL_POINT_GENERATORS`.

        Raises:
            SpaceError: an unknown method.
        """
        rng = as_generator(random_state)
        d = self.n_dims
        if method == "random":
            u = rng.random((n_samples, d))
        elif method in ("sobol", "halton", "lhs"):
            seed = int(rng.integers(2**31))
            engine: qmc.QMCEngine
            if method == "sobol":
                engine = qmc.Sobol(d, scramble=True, seed=seed)
            elif method == "halton":
                engine = qmc.Halton(d, scramble=True, seed=seed)
            else:
                engine = qmc.LatinHypercube(d, seed=seed)
            with warnings.catch_warnings():  # scrambled Sobol is fine for any n
                warnings.simplefilter("ignore", UserWarning)
                u = engine.random(n_samples) if n_samples > 0 else np.zeros((0, d))
        elif method in ("hammersly", "grid"):
            u = _hammersley(n_samples, d, rng) if method == "hammersly" else _grid(n_samples, d, rng)
        else:
            raise SpaceError(f"initial_point_generator must be one of {INITIAL_POINT_GENERATORS}, "
                             f"got {method!r}")
        for i, dim in enumerate(self.dimensions):
            u[:, i] = dim.uniform_to_model(u[:, i])
        return self.from_unit(u)

    # --- scikit-optimize's Space API ------------------------------------------------------------
    def transform(self, points: Sequence[Sequence[Any]]) -> np.ndarray:
        """Points -> model coordinates, as skopt's ``Space.transform``: like :meth:`to_unit`, but
        a numeric value between grid points (a minimiser's iterate on an integer dimension) is
        mapped as it is rather than refused."""
        rows = [list(p) for p in points]
        if not rows:
            return np.zeros((0, self.n_dims))
        if any(len(r) != self.n_dims for r in rows):
            raise SpaceError(f"points must have {self.n_dims} values each, got {rows[:2]!r}")
        cols = [d.transform([r[i] for r in rows]) for i, d in enumerate(self.dimensions)]
        return np.stack(cols, axis=1)

    def inverse_transform(self, coords: Any) -> list[list[Any]]:
        """Model coordinates -> points (skopt's name for :meth:`from_unit`)."""
        return self.from_unit(np.atleast_2d(np.asarray(coords, dtype=float)))

    @property
    def transformed_n_dims(self) -> int:
        return self.n_dims

    @property
    def transformed_bounds(self) -> list[tuple[float, float]]:
        return [d.model_bounds for d in self.dimensions]

    @property
    def is_categorical(self) -> bool:
        return all(d.is_categorical for d in self.dimensions)

    @property
    def is_partly_categorical(self) -> bool:
        return any(d.is_categorical for d in self.dimensions)

    @property
    def n_constant_dimensions(self) -> int:
        return sum(d.is_constant for d in self.dimensions)

    def distance(self, a: Sequence[Any], b: Sequence[Any]) -> float:
        """Sum of the per-dimension distances (skopt's ``Space.distance``).

        Raises:
            SpaceError: points of the wrong length or outside the space.
        """
        if len(a) != self.n_dims or len(b) != self.n_dims:
            raise SpaceError(f"distance needs two points of {self.n_dims} values, got {a!r} and {b!r}")
        return float(sum(d.distance(x, y) for d, x, y in zip(self.dimensions, a, b, strict=True)))

    def set_transformer(self, transform: str | Sequence[str]) -> None:
        """Accepted for scikit-optimize code; the encoding stays the model coordinate."""
        names = [transform] * self.n_dims if isinstance(transform, str) else list(transform)
        for d, t in zip(self.dimensions, names, strict=True):
            d.set_transformer(t)

    def set_transformer_by_type(self, transform: str, dim_type: type) -> None:
        for d in self.dimensions:
            if type(d).__name__ == getattr(dim_type, "__name__", dim_type):
                d.set_transformer(transform)

    def get_transformer(self) -> list[str]:
        return ["label" if d.is_categorical else "normalize" for d in self.dimensions]

    def __contains__(self, point: Any) -> bool:
        try:
            self.check_point(point)
        except SpaceError:
            return False
        return True

    # --- persistence -------------------------------------------------------------------------
    def spec(self) -> list[dict[str, Any]]:
        return [d.spec() for d in self.dimensions]

    @classmethod
    def from_spec(cls, spec: list[dict[str, Any]]) -> Space:
        return cls([check_dimension(s) for s in spec])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.spec() == other.spec()

    def __hash__(self) -> int:
        return hash(repr(self.spec()))

    def __repr__(self) -> str:
        inner = ",\n       ".join(repr(d) for d in self.dimensions)
        return f"Space([{inner}])"


def _hammersley(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """A Hammersley set in ``[0, 1)^d``: one coordinate on the ``n`` midpoints ``(i + 1/2) / n``,
    the others a scrambled Halton sequence; rows in random order."""
    if n <= 0:
        return np.zeros((0, d))
    u = np.empty((n, d))
    u[:, 0] = (np.arange(n) + 0.5) / n
    if d > 1:
        u[:, 1:] = qmc.Halton(d - 1, scramble=True, seed=int(rng.integers(2**31))).random(n)
    return u[rng.permutation(n)]


def _grid(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct midpoints of the smallest regular grid with at least ``n`` cells
    (``ceil(n^(1/d))`` per coordinate), chosen at random."""
    if n <= 0:
        return np.zeros((0, d))
    k = max(1, int(np.ceil(n ** (1.0 / d) - 1e-9)))
    while k**d < n:
        k += 1
    if k**d <= 1_000_000:
        cells = rng.choice(k**d, size=n, replace=False)
        idx = np.stack(np.unravel_index(cells, (k,) * d), axis=1)
    else:  # too many cells to enumerate: draw indices (repeats are negligible)
        idx = rng.integers(k, size=(n, d))
    return (idx + 0.5) / k
