"""Deprecated alias of :mod:`tuner.mc.analyses` (moved in 0.2; this alias goes in the next release)."""

from __future__ import annotations

import warnings

from tuner.mc.analyses import *  # noqa: F403
from tuner.mc.analyses import __all__  # noqa: F401

warnings.warn("tuner.analyses moved to tuner.mc.analyses; import it from there",
              DeprecationWarning, stacklevel=2)
