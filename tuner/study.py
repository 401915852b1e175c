"""Deprecated alias of :mod:`tuner.storage` (moved in 0.2; this alias goes in the next release)."""

from __future__ import annotations

import warnings

from tuner.storage import *  # noqa: F403
from tuner.storage import __all__  # noqa: F401

warnings.warn("tuner.study moved to tuner.storage; import it from there",
              DeprecationWarning, stacklevel=2)
