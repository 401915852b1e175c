"""Results whose space also passes scikit-optimize's class tests, when scikit-optimize is in use.

Code written for ``skopt.gp_minimize`` tests classes: ``isinstance(res.space, skopt.space.Space)``
in scikit-optimize's own tests, ``isinstance(dim, skopt.space.Categorical)`` in its plots (which
otherwise treat a category as a number). This toolkit's :class:`~tuner.space.Space` and
dimensions already have scikit-optimize's methods and attributes; :func:`skopt_typed` gives a copy
of a space whose classes derive from this toolkit's *and* scikit-optimize's classes, this
toolkit's first, so every method and value is this toolkit's and only ``isinstance`` changes.

Nothing is imported from scikit-optimize here: the copy is made only when ``skopt.space`` is
already imported (a script that uses scikit-optimize's plots or utilities imports them first);
otherwise the space is returned as it is. Pickling (``skopt.dump``) stores the plain classes and
loading retypes them again under the same rule.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

from tuner.dimensions import Categorical, Dimension, Integer, Real
from tuner.space import Space

__all__ = ["skopt_typed"]

_CACHE: dict[type, type] = {}


def _name_property() -> property:
    """``name`` read from the instance: scikit-optimize's ``Dimension.name`` is a property over
    ``_name`` that would otherwise hide this toolkit's plain attribute."""
    def get(self: Any) -> Any:
        return self.__dict__.get("name")

    def set_(self: Any, value: Any) -> None:
        self.__dict__["name"] = value

    return property(get, set_)


def _typed_class(ours: type, theirs: type) -> type:
    if ours not in _CACHE:
        body: dict[str, Any] = {"__module__": ours.__module__, "__qualname__": ours.__qualname__,
                                "__reduce_ex__": _reduce}
        if issubclass(ours, Dimension):
            body["name"] = _name_property()
        _CACHE[ours] = type(ours.__name__, (ours, theirs), body)
    return _CACHE[ours]


_OURS = (Space, Real, Integer, Categorical)


def _ours(obj: Any) -> type:
    """This toolkit's class of ``obj`` (itself, or the one a typed copy derives from)."""
    return next(c for c in type(obj).__mro__ if c in _OURS)


def _plain(obj: Any) -> Any:
    """A copy of ``obj`` with this toolkit's class alone (what is pickled)."""
    out: Any = object.__new__(_ours(obj))  # not copy.copy: that would call _reduce again
    out.__dict__.update(obj.__dict__)
    if isinstance(out, Space):
        out.dimensions = [_plain(d) for d in out.dimensions]
    return out


def _reduce(self: Any, protocol: Any) -> tuple[Any, tuple[Any]]:
    return skopt_typed, (_plain(self),)


def skopt_typed(obj: Any) -> Any:
    """``obj`` (a :class:`~tuner.space.Space` or dimension) as a copy that is also an instance of
    scikit-optimize's class of the same name, when ``skopt.space`` is imported; else ``obj``.

    Args:
        obj: A space or dimension of this toolkit (anything else is returned as it is).
    """
    sk = sys.modules.get("skopt.space")
    if sk is None or not isinstance(obj, _OURS):
        return obj
    ours = _ours(obj)
    theirs = getattr(sk, ours.__name__, None)
    if theirs is None or isinstance(obj, theirs):
        return obj
    out: Any = copy.copy(obj)
    out.__class__ = _typed_class(ours, theirs)
    if isinstance(obj, Space):
        out.dimensions = [skopt_typed(d) for d in obj.dimensions]
    return out
