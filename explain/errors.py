"""Error classes of the explain package."""

from __future__ import annotations

__all__ = ["ExplainError"]


class ExplainError(Exception):
    """Base class of every error raised by :mod:`explain` on purpose."""
