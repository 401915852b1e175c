"""Deprecated alias of :mod:`tuner.mc.runs` (moved in 0.2; this alias goes in the next release)."""

from __future__ import annotations

import warnings

from tuner.mc.runs import *  # noqa: F403
from tuner.mc.runs import __all__  # noqa: F401

warnings.warn("tuner.generation moved to tuner.mc.runs; import it from there",
              DeprecationWarning, stacklevel=2)
