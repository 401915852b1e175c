"""Deprecated alias of :mod:`tuner.mc.refdata` (moved in 0.2; this alias goes in the next release)."""

from __future__ import annotations

import warnings

from tuner.mc.refdata import *  # noqa: F403
from tuner.mc.refdata import __all__  # noqa: F401

warnings.warn("tuner.refdata moved to tuner.mc.refdata; import it from there",
              DeprecationWarning, stacklevel=2)
