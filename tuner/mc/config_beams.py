"""The generator's beams against the analyses' (the ``Beams`` and ``Energies`` of a Rivet ``.info``).

A tune of Z-pole measurements run on proton collisions at 13 TeV, or at another energy than the
data's, or with momenta scaled by an energy the generator does not run at, generates, fits and
reports a chi2 that means nothing, with no error anywhere. :func:`check_beams` refuses it before
any event, from the beams the workers' settings give (the preset, then ``fixed``:
:func:`tuner.mc.generators.pythia.beam_setup`).
"""

from __future__ import annotations

from collections.abc import Sequence

from tuner.errors import ConfigError
from tuner.mc.analyses import ANALYSES
from tuner.mc.generators.pythia import BeamSetup

__all__ = ["ENERGY_TOLERANCE", "check_beams"]

#: relative difference allowed between the generator's centre-of-mass energy and an analysis's
ENERGY_TOLERANCE = 0.01


def check_beams(analyses: Sequence[str], setup: BeamSetup, sqrt_s: float | None, where: str) -> float:
    """Check that the generator collides the beams every analysis measured, at one of its
    energies, and return the energy the analyses scale momenta by (``sqrt_s`` when given,
    else the generator's).

    Analyses without ``BEAMS`` / ``ENERGIES`` (user plug-ins may leave them out) accept any.

    Raises:
        ConfigError: other beams, another energy (beyond :data:`ENERGY_TOLERANCE`), a
            ``sqrt_s`` that is not the generator's energy, or no energy known at all.
    """
    if setup.sqrt_s is not None and sqrt_s is not None and abs(sqrt_s - setup.sqrt_s) > 1e-9 * setup.sqrt_s:
        raise ConfigError(f"{where}: sqrt_s (the energy the analyses scale momenta by) must be the "
                          f"generator's centre-of-mass energy, {setup.sqrt_s:g} GeV ({setup.source}), "
                          f"got {sqrt_s:g}; leave it out to take the generator's")
    energy = setup.sqrt_s if setup.sqrt_s is not None else sqrt_s
    if energy is None:
        raise ConfigError(f"{where}: the generator's settings do not fix the centre-of-mass energy "
                          f"({setup.source}): give sqrt_s, the energy in GeV the analyses scale "
                          "momenta by")
    for name in analyses:
        cls = ANALYSES[name]
        if cls.BEAMS is not None and sorted(cls.BEAMS) != sorted(setup.ids):
            raise ConfigError(
                f"{where}: analysis {name} measured collisions of beams {list(cls.BEAMS)} (PDG ids), "
                f"but the generator collides {list(setup.ids)} ({setup.source})")
        if cls.ENERGIES and not any(abs(energy - e) <= ENERGY_TOLERANCE * e for e in cls.ENERGIES):
            raise ConfigError(
                f"{where}: analysis {name} was measured at sqrt(s) = {list(cls.ENERGIES)} GeV, but "
                f"the generator runs at {energy:g} GeV ({setup.source}); they must agree within "
                f"{ENERGY_TOLERANCE:.0%}")
    return energy
