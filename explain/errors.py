"""Error classes of the explain package."""

from __future__ import annotations

from typing import Any

__all__ = ["ExplainError", "check_count"]


class ExplainError(Exception):
    """Base class of every error raised by :mod:`explain` on purpose."""


def check_count(value: Any, name: str) -> None:
    """Refuse ``value`` unless it is an int >= 1 (``True`` is not a count).

    Raises:
        ExplainError: naming ``name`` and the value received.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ExplainError(f"{name} must be an int >= 1, got {value!r}")
