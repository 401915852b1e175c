"""Proposers: what a tune evaluates next, given its study (see :class:`Proposer`).

Strategies, by the name a configuration gives in ``strategy:``: ``emulator`` (default: the
histogram emulator's expected improvement, :class:`EmulatorProposer`), ``chi2-gp`` (scalar BO of
the chi2 after a Sobol design, as BayesOptPythia does, :class:`Chi2GPProposer`), ``professor``
(a space-filling design of the whole budget, recommended from per-bin polynomials) and ``sobol``
(the same design, recommended by the emulator: the floor).
"""

from __future__ import annotations

from tuner.errors import ConfigError
from tuner.mc.proposers.base import Chi2GPProposer, Proposer, TuneState
from tuner.mc.proposers.design import ProfessorProposer, SobolProposer
from tuner.mc.proposers.histograms import EmulatorProposer

__all__ = ["PROPOSERS", "Chi2GPProposer", "EmulatorProposer", "ProfessorProposer", "Proposer",
           "SobolProposer", "TuneState", "make_proposer"]

#: strategy name -> proposer class
PROPOSERS: dict[str, type[Proposer]] = {p.name: p for p in (EmulatorProposer, Chi2GPProposer,
                                                              ProfessorProposer, SobolProposer)}


def make_proposer(name: str) -> Proposer:
    """A fresh proposer of the named strategy.

    Raises:
        ConfigError: an unknown strategy.
    """
    if name not in PROPOSERS:
        raise ConfigError(f"strategy must be one of {sorted(PROPOSERS)}, got {name!r}")
    return PROPOSERS[name]()
