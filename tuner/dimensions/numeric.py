"""Numeric search dimensions: :class:`Real` and :class:`Integer`, on ``[0, 1]`` in the model
(through ``log`` first for a log-uniform prior)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tuner.dimensions._base import (
    _PRIORS,
    Dimension,
    _as_dtype,
    _check_dtype,
    _check_name,
    _check_transform,
    _is_number,
)
from tuner.errors import SpaceError

__all__ = ["Integer", "Real"]

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
