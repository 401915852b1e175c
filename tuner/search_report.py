"""Deprecated alias of :mod:`tuner.hpo.report` (moved in 0.2; this alias goes in the next release)."""

from __future__ import annotations

import warnings

from tuner.hpo.report import *  # noqa: F403
from tuner.hpo.report import __all__  # noqa: F401

warnings.warn("tuner.search_report moved to tuner.hpo.report; import it from there",
              DeprecationWarning, stacklevel=2)
