"""Error classes of the explain package."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["ExplainError", "check_count", "check_finite", "check_labels", "check_number", "is_count"]


class ExplainError(Exception):
    """Base class of every error raised by :mod:`explain` on purpose."""


def is_count(value: Any) -> bool:
    """An int >= 1: Python's or numpy's (as search spaces such as scikit-optimize's hand them
    out), not a bool."""
    return (not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Integral)
            and int(value) >= 1)


def check_count(value: Any, name: str) -> int:
    """Refuse ``value`` unless it is an int >= 1 (numpy's integers too, as search spaces such as
    scikit-optimize's hand them out; ``True`` is not a count).

    Returns:
        ``value`` as a Python int.

    Raises:
        ExplainError: naming ``name`` and the value received.
    """
    if not is_count(value):
        raise ExplainError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


def check_number(value: Any, name: str, low: float, high: float = float("inf"), *,
                 low_open: bool = False, high_open: bool = True) -> float:
    """Refuse ``value`` unless it is a finite real number in the stated interval.

    Args:
        value: What the caller passed.
        name: Its name in the message.
        low, high: The interval's ends.
        low_open, high_open: Whether each end is excluded.

    Returns:
        ``value`` as a float.

    Raises:
        ExplainError: naming ``name``, the interval and the value received.
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    v = float(value) if ok else float("nan")
    inside = (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not (ok and math.isfinite(v) and inside):
        if math.isinf(high):
            rule = f"{'>' if low_open else '>='} {low:g}"
        else:
            rule = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ExplainError(f"{name} must be a finite number {rule}, got {value!r}")
    return v


def check_finite(values: Any, name: str) -> None:
    """Refuse an array with a NaN or infinite entry.

    Raises:
        ExplainError: naming ``name``, how many entries are bad and the first of them.
    """
    a = np.asarray(values, dtype=float)
    bad = ~np.isfinite(a)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ExplainError(f"{name} must be finite; got {int(bad.sum())} NaN or infinite values, "
                           f"the first at index {first}")


def check_labels(label: Any, n: int | None = None, name: str = "label", both: bool = True) -> np.ndarray:
    """Refuse class labels other than 0 (background) and 1 (signal), one per event.

    A label of 2 or 0.5 used to drop out of both classes in silence, and a ROC AUC computed over
    the remaining ones came out as 2.0.

    Args:
        label: What the caller passed (numbers or bools).
        n: The number of events it must label (``None``: any).
        name: Its name in the message.
        both: Require both classes to be present.

    Returns:
        ``label`` as a 1-D int array.

    Raises:
        ExplainError: naming ``name``, the rule and what was received.
    """
    try:
        a = np.asarray(label, dtype=float)
    except (TypeError, ValueError):
        raise ExplainError(f"{name} must hold 0 (background) or 1 (signal) per event; got "
                           f"{str(label)[:80]}") from None
    if a.ndim != 1 or (n is not None and len(a) != n):
        want = "1-D" if n is None else f"1-D with one entry per event ({n})"
        raise ExplainError(f"{name} must be {want}; got shape {a.shape}")
    bad = ~np.isin(a, (0.0, 1.0))
    if bad.any():
        raise ExplainError(f"{name} must be 0 (background) or 1 (signal) per event; got "
                           f"{int(bad.sum())} other values, e.g. {np.unique(a[bad])[:5].tolist()}")
    if both and (not (a == 1).any() or not (a == 0).any()):
        raise ExplainError(f"{name} must hold both classes; got {int((a == 1).sum())} signal and "
                           f"{int((a == 0).sum())} background events")
    return a.astype(int)
