"""A dimension from any form a user may write it in (:func:`check_dimension`)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from tuner.dimensions._base import Dimension, _is_number
from tuner.dimensions.categorical import Categorical
from tuner.dimensions.numeric import Integer, Real
from tuner.errors import SpaceError

__all__ = ["check_dimension"]

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
