"""Deprecated alias of :mod:`tuner.mc.workflow` (moved in 0.2; this alias goes in the next release)."""

from __future__ import annotations

import warnings

from tuner.mc.workflow import *  # noqa: F403
from tuner.mc.workflow import __all__  # noqa: F401

warnings.warn("tuner.tune moved to tuner.mc.workflow; import it from there",
              DeprecationWarning, stacklevel=2)
