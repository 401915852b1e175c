"""Settings that Pythia raises at initialisation, and the values it runs with instead.

Pythia's final-state shower stops emitting at ``TimeShower:pTmin``, but never below
``1.1 Lambda_3 / sqrt(TimeShower:renormMultFac)``, where ``Lambda_3`` is the three-flavour Lambda
of the shower's own alpha_s (``TimeShower:alphaSvalue``, ``TimeShower:alphaSorder``,
``TimeShower:alphaSuseCMW``, ``StandardModel:alphaSnfmax``). A lower ``pTmin`` is raised to that
floor at ``init()`` (Pythia's warning "pTmin too low, raised to ..."; ``Info::tooLowPTmin()``).
The floor moves fast with alpha_s: 0.18 GeV at alpha_s = 0.12, 0.36 GeV at 0.1365 (Monash), 1.34 GeV
at 0.184, above the largest pTmin Pythia allows (2 GeV) from 0.206 on.

Every ``pTmin`` below the floor gives the same events, event for event at a fixed seed: no data
can tell them apart, so a tune can place its minimum anywhere among them, and a closure test that
compares raw values compares numbers without physical meaning. :func:`raised_settings` names the
tuned settings of a point that Pythia would raise and the values it runs with;
:func:`values_used` gives the whole point as Pythia runs it.

The initial-state shower has a floor of the same kind, ``SpaceShower:pTmin`` raised to
``sqrt(1.21 Lambda_3^2 / SpaceShower:renormMultFac - pT0^2)`` of its own alpha_s, with ``pT0`` its
energy-dependent regularisation scale: zero while ``pT0 > 1.1 Lambda_3`` (measured with Pythia
8.317, pp at 13 TeV, the default ``pT0Ref``: nothing raised up to ``SpaceShower:alphaSvalue =
0.2``, ``pTmin = 0.2`` raised to 1.48 GeV at 0.22 and 3.05 GeV at 0.25; with ``pT0Ref = 0.5``,
to 1.74 GeV at 0.2). It is not computed here: the tunes of this toolkit are of e+e- beams
without initial-state QCD radiation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tuner.errors import SettingsError
from tuner.mc.generators.pythia import check_settings, setting_range, with_preset

__all__ = ["LAMBDA3_MARGIN", "PTMIN_RULE", "RaisedSetting", "floor_span", "ptmin_floor",
           "ptmin_setting", "raised_settings", "values_used"]

#: Pythia's margin above Lambda_3 (``LAMBDA3MARGIN`` in its shower code)
LAMBDA3_MARGIN = 1.1

#: the rule, in words, for messages and summary.json
PTMIN_RULE = ("Pythia raises TimeShower:pTmin below 1.1 Lambda_3 / sqrt(TimeShower:renormMultFac) "
              "(Lambda_3 of the shower's alpha_s) to that value: every lower pTmin gives the same events")


@dataclass(frozen=True)
class RaisedSetting:
    """A setting Pythia does not run with as given.

    Attributes:
        name: The setting.
        given: The value given.
        used: The value Pythia runs with (its floor; ``inf`` where that lies beyond the largest
            ``pTmin`` Pythia allows and could not be computed: :func:`ptmin_floor`).
        rule: Why, in words.
    """

    name: str
    given: float
    used: float
    rule: str


def _raised(settings: Mapping[str, Any], ptmin: float) -> bool:
    """Whether Pythia, initialised with ``settings`` (the process level off: the showers are
    set up all the same, in a tenth of a second), raises ``TimeShower:pTmin = ptmin``."""
    p = check_settings({**settings, "TimeShower:pTmin": ptmin, "ProcessLevel:all": "off",
                        "Print:quiet": "on"})
    if not p.init():
        raise SettingsError(f"Pythia could not be initialised with {dict(settings)} to read its "
                            "shower cutoff")
    return bool(p.infoPython().tooLowPTmin())


def _formula(s: Any) -> float:
    """``1.1 Lambda_3 / sqrt(renormMultFac)`` from the settings of an uninitialised Pythia."""
    import pythia8mc

    alpha = pythia8mc.AlphaStrong()
    alpha.init(float(s.parm("TimeShower:alphaSvalue")), int(s.mode("TimeShower:alphaSorder")),
               int(s.mode("StandardModel:alphaSnfmax")), bool(s.flag("TimeShower:alphaSuseCMW")))
    return LAMBDA3_MARGIN * float(alpha.Lambda3()) / math.sqrt(float(s.parm("TimeShower:renormMultFac")))


def ptmin_floor(settings: Mapping[str, Any], preset: str | None = None, rtol: float = 1e-4) -> float:
    """The lowest ``TimeShower:pTmin`` Pythia runs with under ``preset`` and ``settings`` (the
    alpha_s settings not given take the preset's or Pythia's defaults), to ``rtol``.

    The floor is computed from Pythia's own alpha_s (``1.1 Lambda_3 / sqrt(renormMultFac)``)
    and confirmed by initialising Pythia just below and just above it (two initialisations);
    where Pythia disagrees (its second-order running sets another Lambda_3) the floor is found
    by bisection on Pythia's own flag. Where Pythia raises even its largest allowed ``pTmin``,
    the formula's value if it lies beyond that, else ``inf``.

    Raises:
        SettingsError: a bad setting (as :func:`tuner.mc.generators.pythia.check_settings`).
    """
    merged = with_preset(preset, settings)
    p = check_settings(merged)
    lo, hi, _ = setting_range("TimeShower:pTmin", p)
    lo_allowed, hi_allowed = float(lo or 0.0), float(hi or 10.0)
    guess = _formula(p.settings)
    below, above = guess * (1 - rtol), guess * (1 + rtol)
    if lo_allowed <= below and above <= hi_allowed \
            and _raised(merged, below) and not _raised(merged, above):
        return guess
    if not _raised(merged, lo_allowed):
        return lo_allowed
    if _raised(merged, hi_allowed):  # the formula's value where it lies beyond (as Pythia's
        return guess if guess > hi_allowed else math.inf  # warning says), else unknown
    a, b = lo_allowed, hi_allowed  # raised at a, not at b
    while b - a > rtol * b:
        m = 0.5 * (a + b)
        a, b = (m, b) if _raised(merged, m) else (a, m)
    return b


def ptmin_setting(names: Iterable[str]) -> str | None:
    """The one of ``names`` that is ``TimeShower:pTmin`` (setting names are case-insensitive),
    the setting Pythia raises to a floor; ``None`` when none is."""
    return next((k for k in names if k.lower() == "timeshower:ptmin"), None)


def raised_settings(point: Mapping[str, float], fixed: Mapping[str, Any] | None = None,
                    preset: str | None = None) -> list[RaisedSetting]:
    """The settings of ``point`` (on top of ``fixed`` and ``preset``) that Pythia raises at
    ``init()``, with the values it runs with; empty where it runs with every value as given."""
    name = ptmin_setting(point)
    if name is None:
        return []
    floor = ptmin_floor({**(fixed or {}), **point}, preset)
    if float(point[name]) >= floor:
        return []
    return [RaisedSetting(name, float(point[name]), floor, PTMIN_RULE)]


def values_used(point: Mapping[str, float], fixed: Mapping[str, Any] | None = None,
                preset: str | None = None) -> dict[str, float]:
    """``point`` as Pythia runs it: each setting it raises replaced by the value it uses."""
    out = {k: float(v) for k, v in point.items()}
    for r in raised_settings(point, fixed, preset):
        out[r.name] = r.used
    return out


def floor_span(ranges: Mapping[str, tuple[float, float]], fixed: Mapping[str, Any] | None = None,
               preset: str | None = None) -> tuple[str, float, float] | None:
    """Where a tune's space reaches below Pythia's pTmin floor: ``(the pTmin setting's name, the
    floor at the low end of the tuned alpha_s range, the floor at its high end)`` (the same floor
    twice where alpha_s is not tuned), when ``TimeShower:pTmin`` is tuned (``ranges``: name ->
    (low, high)) and the highest floor lies above its low end; ``None`` otherwise. The floor
    rises with alpha_s: in that part of the space every pTmin below it gives the same events."""
    name = ptmin_setting(ranges)
    if name is None:
        return None
    alpha = next((k for k in ranges if k.lower() == "timeshower:alphasvalue"), None)
    floors = ([ptmin_floor({**(fixed or {}), alpha: a}, preset) for a in ranges[alpha]] if alpha
              else [ptmin_floor(fixed or {}, preset)])
    if max(floors) <= ranges[name][0]:
        return None
    return name, min(floors), max(floors)
