"""Analyses: observables, the Analysis base class and registry, and the LEP analyses."""

from __future__ import annotations

from tuner.mc.analyses import delphi, lep  # noqa: F401 - registers the LEP analyses
from tuner.mc.analyses.base import ANALYSES, Analysis, Fills, HistSpec, filled_keys, normalise, register
from tuner.mc.analyses.events import EventBatch

__all__ = ["ANALYSES", "Analysis", "EventBatch", "Fills", "HistSpec", "filled_keys", "normalise", "register"]
