"""The base class of a search dimension and the rules its subclasses share: names, dtypes,
scikit-optimize's transformer names, random generators from any seed.

:class:`Dimension`'s contract is in its docstring; :mod:`tuner.dimensions.numeric` and
:mod:`tuner.dimensions.categorical` implement it.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from tuner.errors import DistanceError, SpaceError

__all__ = ["NUMERIC_TRANSFORMS", "SKOPT_TRANSFORMS", "Dimension", "as_generator"]

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
