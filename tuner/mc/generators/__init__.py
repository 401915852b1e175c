"""Event generators behind a small base class."""

from __future__ import annotations

from tuner.mc.generators.base import Generator
from tuner.mc.generators.pythia import PRESETS, PythiaGenerator, check_settings, setting_range

__all__ = ["PRESETS", "Generator", "PythiaGenerator", "check_settings", "setting_range"]
