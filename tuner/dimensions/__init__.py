"""Search dimensions (:class:`Real`, :class:`Integer`, :class:`Categorical`) and their encoding.

A value lives in two coordinate systems: the *user* value (a float, an int, one of the
categories) and the *model* coordinate the surrogate sees: reals and integers on ``[0, 1]``
(through ``log`` first for a log-uniform prior), categoricals as their index ``0..K-1``.

Every dimension also has scikit-optimize's ``Dimension`` API (``rvs``, ``transform``,
``inverse_transform``, ``distance``, ``transformed_size``, ``transformed_bounds``, ``is_constant``,
``set_transformer``), whose transform *is* the model coordinate, so skopt's plots and utilities
work on this toolkit's results.

The base class and its shared rules are in :mod:`tuner.dimensions._base`, the kinds in
:mod:`~tuner.dimensions.numeric` and :mod:`~tuner.dimensions.categorical`, the reading of every
accepted form in :mod:`~tuner.dimensions.convert`.
"""

from __future__ import annotations

from tuner.dimensions._base import NUMERIC_TRANSFORMS, SKOPT_TRANSFORMS, Dimension, as_generator
from tuner.dimensions.categorical import Categorical
from tuner.dimensions.convert import check_dimension
from tuner.dimensions.numeric import Integer, Real

__all__ = ["NUMERIC_TRANSFORMS", "SKOPT_TRANSFORMS", "Categorical", "Dimension", "Integer", "Real",
           "as_generator", "check_dimension"]
