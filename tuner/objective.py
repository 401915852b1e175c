"""Deprecated alias of :mod:`tuner.mc.chi2` (moved in 0.2; this alias goes in the next release)."""

from __future__ import annotations

import warnings

from tuner.mc.chi2 import *  # noqa: F403
from tuner.mc.chi2 import __all__  # noqa: F401

warnings.warn("tuner.objective moved to tuner.mc.chi2; import it from there",
              DeprecationWarning, stacklevel=2)
