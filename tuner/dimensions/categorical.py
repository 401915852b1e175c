"""The categorical search dimension: an unordered choice, its index in the model."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from tuner.dimensions._base import SKOPT_TRANSFORMS, Dimension, _check_name, _check_transform
from tuner.errors import SpaceError

__all__ = ["Categorical"]

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
