"""Search dimensions (:class:`Real`, :class:`Integer`, :class:`Categorical`) and their encoding.

A value lives in two coordinate systems: the *user* value (a float, an int, one of the
categories) and the *model* coordinate the surrogate sees: reals and integers on ``[0, 1]``
(through ``log`` first for a log-uniform prior), categoricals as their index ``0..K-1``.

Every dimension also has scikit-optimize's ``Dimension`` API (``rvs``, ``transform``,
``inverse_transform``, ``distance``, ``transformed_size``, ``transformed_bounds``, ``is_constant``,
``set_transformer``), whose transform *is* the model coordinate, so skopt's plots and utilities
work on this toolkit's results.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from tuner.errors import DistanceError, SpaceError

__all__ = ["Categorical", "Dimension", "Integer", "Real", "as_generator", "check_dimension"]

_PRIORS = ("uniform", "log-uniform")
#: scikit-optimize's transformer names, accepted by ``set_transformer`` (the encoding stays ours):
#: those of its reals and integers, and those of its categories
NUMERIC_TRANSFORMS = ("normalize", "identity")
SKOPT_TRANSFORMS = (*NUMERIC_TRANSFORMS, "onehot", "label", "string")


def _check_transform(transform: Any, label: str, allowed: tuple[str, ...]) -> None:
    """scikit-optimize's ``transform`` argument: one of its names for the kind of dimension
    (the encoding stays ours)."""
    if transform is not None and transform not in allowed:
        names = " or ".join(repr(t) for t in allowed)
        raise SpaceError(f"{label}: transform should be {names} (scikit-optimize's names, or None), "
                         f"got {transform!r}")


def as_generator(random_state: Any) -> np.random.Generator:
    """A numpy ``Generator`` from a seed, a ``Generator`` or a legacy ``RandomState`` (skopt's)."""
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2**31))
    return np.random.default_rng(random_state)


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _check_name(name: Any, kind: str) -> None:
    """A dimension's name is a string or ``None`` (scikit-optimize's rule)."""
    if name is not None and not isinstance(name, str):
        raise SpaceError(f"{kind} dimension: a dimension's name must be a string or None, got "
                         f"{name!r} ({type(name).__name__})")


#: scikit-optimize's ``dtype`` of each kind of numeric dimension: the type its ``inverse_transform``
#: and ``rvs`` return (the points the optimiser hands an objective stay Python ints and floats)
_DTYPES = {
    "Real": ("float", "float16", "float32", "float64"),
    "Integer": ("int", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"),
}


def _check_dtype(dtype: Any, kind: str, label: str) -> Any:
    """``dtype`` if it is one scikit-optimize allows for ``kind`` (a name, a numpy type, or
    ``float`` / ``int``), else SpaceError; ``None`` stays ``None`` (Python numbers)."""
    if dtype is None:
        return None
    names = _DTYPES[kind]
    name = dtype if isinstance(dtype, str) else getattr(dtype, "__name__", None)
    if name not in names:
        raise SpaceError(f"{label}: dtype must be None or one of {names} (a name or the numpy "
                         f"type), got {dtype!r}")
    return dtype


def _as_dtype(values: list[Any], dtype: Any) -> Any:
    """``values`` as scikit-optimize returns them for ``dtype``: a list of Python numbers for
    ``None``, ``float``, ``int`` or their names, else a numpy array of that type."""
    if dtype is None or dtype in (float, int, "float", "int"):
        return values
    return np.asarray(values, dtype=dtype)


class Dimension:
    """Base class of a search dimension.

    Contract for subclasses: ``to_unit`` maps user values to model coordinates, ``from_unit`` maps
    model coordinates back (rounding or snapping where the dimension is discrete), ``contains``
    says whether a user value lies in the dimension, and ``spec`` returns a JSON-able description
    from which :func:`check_dimension` rebuilds an equal dimension.
    """

    name: str | None
    #: values the model coordinate may take, or ``None`` when it is continuous
    model_values: list[float] | None = None
    #: whether the model coordinate is an unordered category index
    is_categorical: bool = False
    #: scikit-optimize's transformer names for this kind of dimension
    transforms: tuple[str, ...] = NUMERIC_TRANSFORMS

    def to_unit(self, values: Sequence[Any]) -> np.ndarray:
        raise NotImplementedError

    def from_unit(self, u: np.ndarray) -> list[Any]:
        raise NotImplementedError

    def contains(self, value: Any) -> bool:
        raise NotImplementedError

    def refusal(self, value: Any) -> str:
        """Why ``value`` is not in the dimension, as the end of a sentence ("value 0.5 of
        dimension 'n' ..."): the rule it breaks."""
        return f"is outside {self!r}"

    def __contains__(self, value: Any) -> bool:
        """``value in dimension`` (scikit-optimize's test): a numpy scalar counts as its Python
        value, and a one-element list or array (a round trip through ``inverse_transform``) as
        its element."""
        if (not self.is_categorical and isinstance(value, (list, tuple, np.ndarray))
                and np.size(value) == 1):
            value = np.asarray(value).reshape(-1)[0]
        if isinstance(value, np.generic):
            value = value.item()
        return self.contains(value)

    def canonical(self, value: Any) -> Any:
        """Return ``value`` as the dimension's native Python type (raises SpaceError if outside)."""
        if not self.contains(value):
            raise SpaceError(f"value {value!r} is not in dimension {self!r}")
        return value

    def spec(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def model_bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dimension) and self.spec() == other.spec()

    def __hash__(self) -> int:
        return hash(repr(self.spec()))

    # --- scikit-optimize's Dimension API: its "transformed" space is the model coordinate ------
    @property
    def transformed_size(self) -> int:
        return 1

    @property
    def transformed_bounds(self) -> tuple[float, float]:
        return self.model_bounds

    @property
    def is_constant(self) -> bool:
        return False

    def transform(self, values: Sequence[Any]) -> np.ndarray:
        """User values -> model coordinates (skopt's name for :meth:`to_unit`)."""
        return self.to_unit(list(values))

    def inverse_transform(self, coords: Sequence[float]) -> list[Any]:
        """Model coordinates -> user values (skopt's name for :meth:`from_unit`)."""
        return self.from_unit(np.asarray(coords, dtype=float).reshape(-1))

    def uniform_to_model(self, u: np.ndarray) -> np.ndarray:
        """Model coordinates distributed by the dimension's prior, from uniform ``[0, 1)`` draws."""
        return np.asarray(u, dtype=float)

    def rvs(self, n_samples: int = 1, random_state: Any = None) -> list[Any]:
        """``n_samples`` values drawn by the dimension's prior."""
        return self.from_unit(self.uniform_to_model(as_generator(random_state).random(n_samples)))

    def distance(self, a: Any, b: Any) -> float:
        """``|a - b|`` (0 or 1 for categories), as skopt measures it.

        Raises:
            DistanceError: a value outside the dimension (a ``SpaceError`` and, as in
                scikit-optimize, a ``RuntimeError``).
        """
        for v in (a, b):
            if v not in self:
                raise DistanceError(f"can only compute distance for values within {self!r}, "
                                    f"not {a!r} and {b!r}")
        if self.is_categorical:
            return 0.0 if self.canonical(a) == self.canonical(b) else 1.0
        return float(abs(a - b))

    def set_transformer(self, transform: str = "normalize") -> None:
        """Accepted for scikit-optimize code; the encoding stays the model coordinate.

        Raises:
            SpaceError: a transformer name scikit-optimize does not have for this kind.
        """
        _check_transform(transform, f"{type(self).__name__} dimension", self.transforms)


class _Numeric(Dimension):
    def __init__(self, low: Any, high: Any, prior: str = "uniform", base: float = 10,
                 name: str | None = None, kind: str = "Real", dtype: Any = None) -> None:
        _check_name(name, kind)
        label = f"{kind} dimension{'' if name is None else f' {name!r}'}"
        self.dtype = _check_dtype(dtype, kind, label)
        if not (_is_number(low) and _is_number(high)):
            raise SpaceError(f"{label}: low and high must be numbers, got low={low!r}, high={high!r}")
        if not (math.isfinite(low) and math.isfinite(high)):
            raise SpaceError(f"{label}: low and high must be finite, got low={low!r}, high={high!r}")
        if low >= high:
            raise SpaceError(f"{label}: low must be < high, got low={low!r}, high={high!r}")
        if prior not in _PRIORS:
            raise SpaceError(f"{label}: prior must be one of {_PRIORS}, got {prior!r}")
        if prior == "log-uniform" and low <= 0:
            raise SpaceError(f"{label}: a log-uniform prior needs low > 0, got low={low!r}")
        if not (_is_number(base) and math.isfinite(base) and base > 0 and base != 1):
            raise SpaceError(f"{label}: base must be a finite number > 0 other than 1, got {base!r}")
        self.low, self.high, self.prior, self.base, self.name = low, high, prior, base, name

    def _warp(self, x: np.ndarray) -> np.ndarray:
        return np.log(x) if self.prior == "log-uniform" else x

    def _unwarp(self, x: np.ndarray) -> np.ndarray:
        return np.exp(x) if self.prior == "log-uniform" else x

    def to_unit(self, values: Sequence[Any]) -> np.ndarray:
        v = np.asarray(values, dtype=float)
        lo, hi = self._warp(np.array([self.low, self.high], dtype=float))
        return (self._warp(v) - lo) / (hi - lo)

    def _from_unit_float(self, u: np.ndarray) -> np.ndarray:
        lo, hi = self._warp(np.array([self.low, self.high], dtype=float))
        x = self._unwarp(lo + np.clip(np.asarray(u, dtype=float), 0.0, 1.0) * (hi - lo))
        return np.clip(x, self.low, self.high)

    @property
    def bounds(self) -> tuple[Any, Any]:
        return (self.low, self.high)

    def inverse_transform(self, coords: Sequence[float]) -> Any:
        """Model coordinates -> values, of the dimension's ``dtype`` (scikit-optimize's)."""
        return _as_dtype(super().inverse_transform(coords), self.dtype)

    def rvs(self, n_samples: int = 1, random_state: Any = None) -> Any:
        """``n_samples`` values drawn by the prior, of the dimension's ``dtype``."""
        return _as_dtype(super().rvs(n_samples, random_state), self.dtype)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(low={self.low!r}, high={self.high!r}, "
                f"prior={self.prior!r}, name={self.name!r})")


class Real(_Numeric):
    """A continuous dimension ``low <= x <= high``.

    Args:
        low: Lower bound (inclusive).
        high: Upper bound (inclusive).
        prior: ``"uniform"`` or ``"log-uniform"`` (sampled and modelled in ``log x``).
        base: Kept for scikit-optimize compatibility; the log base does not change the model.
        transform: scikit-optimize's transformer name, accepted; the encoding stays the model
            coordinate (module docstring).
        name: Optional name (a string), used in messages, results and plots.
        dtype: scikit-optimize's: the type :meth:`inverse_transform` and :meth:`rvs` return
            (``"float32"``, ``np.float64``, ...; default Python floats). The points the
            optimiser hands an objective are Python floats.

    Raises:
        SpaceError: ``low >= high``, non-finite bounds, an unknown prior, a log prior with
            ``low <= 0``, a name that is no string, or a dtype that is no float type.
    """

    def __init__(self, low: float, high: float, prior: str = "uniform", base: float = 10,
                 transform: str | None = None, name: str | None = None, dtype: Any = None) -> None:
        _check_transform(transform, f"Real dimension{'' if name is None else f' {name!r}'}",
                         self.transforms)
        super().__init__(low, high, prior, base, name, kind="Real", dtype=dtype)
        self.low, self.high = float(low), float(high)

    def from_unit(self, u: np.ndarray) -> list[Any]:
        return [float(x) for x in self._from_unit_float(u)]

    def contains(self, value: Any) -> bool:
        return _is_number(value) and self.low <= float(value) <= self.high

    def canonical(self, value: Any) -> float:
        if not self.contains(value):
            raise SpaceError(f"value {value!r} is outside {self!r}")
        return float(value)

    def spec(self) -> dict[str, Any]:
        return {"type": "Real", "low": self.low, "high": self.high, "prior": self.prior,
                "name": self.name}


class Integer(_Numeric):
    """An integer dimension ``low <= k <= high``.

    The model sees the integers on ``[0, 1]`` and the acquisition optimiser only proposes the
    allowed grid values, so no post-hoc rounding changes a point after it was chosen.

    ``dtype`` is scikit-optimize's: the type :meth:`inverse_transform` and :meth:`rvs` return
    (``"int32"``, ``np.int64``, ...; default Python ints); the points the optimiser hands an
    objective are Python ints.

    Raises:
        SpaceError: bounds that are not integers, ``low >= high``, a log prior with ``low <= 0``,
            a name that is no string, or a dtype that is no integer type.
    """

    def __init__(self, low: int, high: int, prior: str = "uniform", base: float = 10,
                 transform: str | None = None, name: str | None = None, dtype: Any = None) -> None:
        label = f"Integer dimension{'' if name is None else f' {name!r}'}"
        _check_transform(transform, label, self.transforms)
        for v in (low, high):
            if not (_is_number(v) and float(v) == int(v)):
                raise SpaceError(f"{label}: bounds must be integers, got low={low!r}, high={high!r}")
        super().__init__(int(low), int(high), prior, base, name, kind="Integer", dtype=dtype)
        n = self.high - self.low + 1
        self.model_values = (self.to_unit(list(range(self.low, self.high + 1))).tolist()
                             if n <= 2048 else None)

    def from_unit(self, u: np.ndarray) -> list[Any]:
        x = self._from_unit_float(u)
        if self.prior == "log-uniform":
            # round in the warped space so that the nearest grid value in model space is chosen
            lo_r, hi_r = np.floor(x), np.ceil(x)
            u = np.asarray(u, dtype=float)
            pick_hi = np.abs(self.to_unit(np.maximum(hi_r, self.low)) - u) < np.abs(
                self.to_unit(np.maximum(lo_r, self.low)) - u)
            x = np.where(pick_hi, hi_r, lo_r)
        return [int(v) for v in np.clip(np.round(x), self.low, self.high)]

    def contains(self, value: Any) -> bool:
        return (_is_number(value) and float(value) == int(value)
                and self.low <= int(value) <= self.high)

    def uniform_to_model(self, u: np.ndarray) -> np.ndarray:
        """Uniform over the integers (or their log grid), not over a rounded cube."""
        log = self.prior == "log-uniform"
        lo, hi = (np.log(self.low), np.log(self.high + 1)) if log else (self.low, self.high + 1)
        raw = lo + np.asarray(u, dtype=float) * (hi - lo)
        vals = np.floor(np.exp(raw) if log else raw)
        return self.to_unit(np.clip(vals, self.low, self.high))

    def refusal(self, value: Any) -> str:
        if _is_number(value) and self.low <= float(value) <= self.high:
            return f"is not a whole number, and {self!r} takes whole numbers only"
        return super().refusal(value)

    def canonical(self, value: Any) -> int:
        if not self.contains(value):
            raise SpaceError(f"value {value!r} {self.refusal(value)}")
        return int(value)

    def spec(self) -> dict[str, Any]:
        return {"type": "Integer", "low": self.low, "high": self.high, "prior": self.prior,
                "name": self.name}


class Categorical(Dimension):
    """An unordered choice among ``categories``.

    The model sees the category index and uses a categorical (Hamming) kernel on it, so no
    order between the categories is assumed.

    Args:
        categories: The choices (numpy scalars are kept as their Python values).
        prior: scikit-optimize's: the probability of each category in random draws (the
            initial design, :meth:`rvs`); ``None`` for equal ones.
        transform: scikit-optimize's transformer name, accepted; the encoding stays the model
            coordinate (module docstring).
        name: Optional name (a string).

    Raises:
        SpaceError: an empty list of categories, repeated categories, a prior that is not one
            probability per category summing to 1, or a name that is no string.
    """

    is_categorical = True
    transforms = SKOPT_TRANSFORMS

    def __init__(self, categories: Iterable[Any], prior: Any = None, transform: str | None = None,
                 name: str | None = None) -> None:
        _check_name(name, "Categorical")
        cats = [c.item() if isinstance(c, np.generic) else c for c in categories]
        label = f"Categorical dimension{'' if name is None else f' {name!r}'}"
        _check_transform(transform, label, self.transforms)
        if not cats:
            raise SpaceError(f"{label}: needs at least one category, got {cats!r}")
        if len({repr(c) for c in cats}) != len(cats):
            raise SpaceError(f"{label}: categories must be distinct, got {cats!r}")
        self.categories = tuple(cats)
        self.name = name
        self.model_values = [float(i) for i in range(len(cats))]
        self.prior = None if prior is None else self._check_prior(prior, label)

    def _check_prior(self, prior: Any, label: str) -> list[float]:
        try:
            p = [float(v) for v in prior]
        except (TypeError, ValueError):
            p = []
        if (len(p) != len(self.categories) or not all(math.isfinite(v) and v >= 0 for v in p)
                or abs(sum(p) - 1.0) > 1e-6):
            raise SpaceError(f"{label}: prior must be one probability >= 0 per category "
                             f"({len(self.categories)}), summing to 1, got {prior!r}")
        return p

    @property
    def model_bounds(self) -> tuple[float, float]:
        return (0.0, float(max(len(self.categories) - 1, 1)))

    @property
    def is_constant(self) -> bool:
        return len(self.categories) == 1

    def uniform_to_model(self, u: np.ndarray) -> np.ndarray:
        """Category indices drawn by the prior (equal probabilities without one)."""
        k = len(self.categories)
        u = np.asarray(u, dtype=float)
        if self.prior is None:
            return np.minimum(np.floor(u * k), k - 1)
        edges = np.cumsum(self.prior)[:-1]
        return np.searchsorted(edges, u, side="right").astype(float)

    def index(self, value: Any) -> int:
        for i, c in enumerate(self.categories):
            if (c == value and type(c) is type(value)) or repr(c) == repr(value):
                return i
        raise SpaceError(f"value {value!r} is not one of the categories {list(self.categories)!r}"
                         f"{'' if self.name is None else f' of dimension {self.name!r}'}")

    def to_unit(self, values: Sequence[Any]) -> np.ndarray:
        return np.array([float(self.index(v)) for v in values], dtype=float)

    def from_unit(self, u: np.ndarray) -> list[Any]:
        idx = np.clip(np.round(np.asarray(u, dtype=float)), 0, len(self.categories) - 1)
        return [self.categories[int(i)] for i in idx]

    def contains(self, value: Any) -> bool:
        try:
            self.index(value)
        except SpaceError:
            return False
        return True

    def canonical(self, value: Any) -> Any:
        return self.categories[self.index(value)]

    @property
    def bounds(self) -> tuple[Any, ...]:
        return self.categories

    def spec(self) -> dict[str, Any]:
        out = {"type": "Categorical", "categories": list(self.categories), "name": self.name}
        if self.prior is not None:
            out["prior"] = list(self.prior)
        return out

    def __repr__(self) -> str:
        prior = "" if self.prior is None else f", prior={self.prior!r}"
        return f"Categorical(categories={self.categories!r}{prior}, name={self.name!r})"


def _from_skopt(dim: Any) -> Dimension | None:
    module = type(dim).__module__
    if not module.startswith("skopt"):
        return None
    kind = type(dim).__name__
    if kind == "Real":
        return Real(dim.low, dim.high, prior=dim.prior, base=getattr(dim, "base", 10), name=dim.name)
    if kind == "Integer":
        return Integer(dim.low, dim.high, prior=dim.prior, base=getattr(dim, "base", 10),
                       name=dim.name)
    if kind == "Categorical":
        return Categorical(dim.categories, prior=dim.prior, name=dim.name)
    raise SpaceError(f"unsupported scikit-optimize dimension type {kind!r}: {dim!r}")


def check_dimension(dimension: Any, name: str | None = None) -> Dimension:
    """Turn a dimension given in any accepted form into a :class:`Dimension`.

    Accepted: a :class:`Dimension`; a ``skopt.space`` dimension; ``(low, high)`` (two ints give an
    :class:`Integer`, otherwise a :class:`Real`); ``(low, high, prior)``; ``(low, high, prior,
    base)``; a list (or 1-D numpy array) of categories; a one-value tuple, a dimension fixed at
    that value (scikit-optimize's rule); a spec dict as written by :meth:`Dimension.spec`.

    Args:
        dimension: The dimension in any accepted form.
        name: A name for the dimension when the form carries none.

    Returns:
        The dimension.

    Raises:
        SpaceError: the form is not recognised, or it breaks a rule of the dimension.
    """
    if isinstance(dimension, Dimension):
        if name is not None and dimension.name is None:
            dimension.name = name
        return dimension
    converted = _from_skopt(dimension)
    if converted is not None:
        return converted
    if isinstance(dimension, dict) and "type" in dimension:
        spec = dict(dimension)
        kind = spec.pop("type")
        cls = {"Real": Real, "Integer": Integer, "Categorical": Categorical}.get(kind)
        if cls is None:
            raise SpaceError(f"unknown dimension type {kind!r} in {dimension!r}")
        spec.setdefault("name", name)
        return cls(**spec)  # type: ignore[arg-type]
    label = f"dimension {name!r}" if name is not None else "dimension"
    if isinstance(dimension, np.ndarray) and dimension.ndim == 1:
        dimension = dimension.tolist()  # numpy's values as Python's: a list of categories
    if isinstance(dimension, list) or (isinstance(dimension, tuple) and len(dimension) == 1):
        return Categorical(dimension, name=name)  # one value: a dimension fixed at it, as in skopt
    if isinstance(dimension, tuple):
        if len(dimension) in (2, 3, 4) and all(_is_number(v) for v in dimension[:2]) and all(
                isinstance(v, str) for v in dimension[2:3]):
            low, high = dimension[0], dimension[1]
            prior = dimension[2] if len(dimension) > 2 else "uniform"
            base = dimension[3] if len(dimension) > 3 else 10
            if all(isinstance(v, numbers.Integral) for v in (low, high)):
                return Integer(low, high, prior=prior, base=base, name=name)
            return Real(low, high, prior=prior, base=base, name=name)
        if len(dimension) >= 2 and any(_is_number(v) for v in dimension) and any(
                not _is_number(v) for v in dimension):
            raise SpaceError(f"{label}: a tuple must be (low, high[, prior[, base]]) of numbers; "
                             f"mixed types received: {dimension!r}")
        if len(dimension) >= 1 and not any(_is_number(v) for v in dimension):
            return Categorical(dimension, name=name)
    raise SpaceError(f"{label} has to be a list or tuple (a list of categories, or (low, "
                     f"high[, prior[, base]])) or a Dimension, got {dimension!r}")
