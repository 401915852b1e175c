"""Error classes of the tuner package.

Every error the toolkit raises on purpose derives from :class:`TunerError`, so a caller can catch the
whole family at once, and every message states the rule that was broken and the value received.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DistanceError",
    "EvaluationError",
    "PointSizeError",
    "RefDataError",
    "SettingsError",
    "SpaceError",
    "StorageError",
    "TunerError",
    "yaml_problem",
]


class TunerError(ValueError):
    """Base class of every error raised by :mod:`tuner`.

    A ``ValueError`` too, as scikit-optimize raises for bad arguments, so code written for
    ``skopt.gp_minimize`` catches ours."""


class SpaceError(TunerError, ValueError):
    """A search dimension, a space or a point does not follow the rules of the space."""


class PointSizeError(SpaceError, RuntimeError):
    """A starting point (``x0``) has not one value per dimension. A ``RuntimeError`` too, as
    scikit-optimize's ``gp_minimize`` raises for it."""


class DistanceError(SpaceError, RuntimeError):
    """A distance asked between values of which one lies outside the dimension. A
    ``RuntimeError`` too, as scikit-optimize's ``Dimension.distance`` raises for it."""


class StorageError(TunerError):
    """A study file cannot be opened, or it belongs to a different search."""


class EvaluationError(TunerError, ValueError):
    """An objective value cannot be accepted (NaN, infinite, wrong shape)."""


class SettingsError(TunerError, ValueError):
    """A generator setting is unknown, malformed, or outside the generator's allowed range."""


class RefDataError(TunerError, ValueError):
    """A reference-data file is missing, malformed, or lacks a requested histogram."""


class ConfigError(TunerError, ValueError):
    """A tune configuration breaks a rule (unknown key, bad range, missing file...)."""


def yaml_problem(exc: Exception) -> tuple[str, str]:
    """A YAML parser's error on one line: ``(":line:column" where it was found, or "", what was
    wrong there and, where the parser says, what it was reading from which line)``."""
    mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
    if mark is None or not problem:
        return "", " ".join(str(exc).split())
    where = f":{mark.line + 1}:{mark.column + 1}"
    context, cmark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context:
        problem += f" ({context}" + (f" from line {cmark.line + 1}, column {cmark.column + 1})"
                                     if cmark is not None else ")")
    return where, problem
