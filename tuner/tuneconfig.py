"""Deprecated alias of :mod:`tuner.mc.config` (moved in 0.2; this alias goes in the next release)."""

from __future__ import annotations

import warnings

from tuner.mc.config import *  # noqa: F403
from tuner.mc.config import __all__  # noqa: F401

warnings.warn("tuner.tuneconfig moved to tuner.mc.config; import it from there",
              DeprecationWarning, stacklevel=2)
