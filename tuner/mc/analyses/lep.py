"""LEP Z-pole analyses: ALEPH 1996 QCD summary, PDG hadron multiplicities (91.2 GeV), OPAL 1992.

Definitions follow ``shared/specs/lep-analyses.md`` and the Rivet analyses of the same names.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from tuner.mc.analyses.base import Analysis, HistSpec, register
from tuner.mc.analyses.events import EventBatch

__all__ = ["ALEPH_1996_S3486095", "OPAL_1992_I321190", "PDG_HADRON_MULTIPLICITIES"]

D = HistSpec("density")
M = HistSpec("mean")


# ALEPH identified spectra: name -> (|PDG ids|, variable, x_p >= 0.1 required)
_ALEPH_SPECTRA: dict[str, tuple[tuple[int, ...], str, bool]] = {
    "d25-x01-y01": ((211,), "xp", False),
    "d26-x01-y01": ((321,), "xp", False),
    "d27-x01-y01": ((2212,), "xp", False),
    "d28-x01-y01": ((22,), "xi", False),
    "d29-x01-y01": ((111,), "xp", False),
    "d30-x01-y01": ((221,), "xe", True),
    "d31-x01-y01": ((331,), "xe", True),
    "d32-x01-y01": ((310, 130), "xp", False),
    "d33-x01-y01": ((3122,), "xp", False),
    "d34-x01-y01": ((3312,), "xe", False),
    "d35-x01-y01": ((3114, 3224), "xe", False),
    "d36-x01-y01": ((3324,), "xe", False),
    "d37-x01-y01": ((113,), "xp", False),
    "d38-x01-y01": ((223,), "xp", False),
    "d39-x01-y01": ((313,), "xp", False),
    "d40-x01-y01": ((333,), "xp", False),
    "d43-x01-y01": ((323,), "xe", False),
}
# ALEPH mean multiplicities d44-x01-yMM: |PDG ids|, x_p >= 0.1 required
_ALEPH_MULTS: dict[str, tuple[tuple[int, ...], bool]] = {
    "d44-x01-y02": ((111,), False), "d44-x01-y03": ((221,), True), "d44-x01-y04": ((331,), True),
    "d44-x01-y05": ((310, 130), False), "d44-x01-y06": ((113,), False),
    "d44-x01-y07": ((223,), False), "d44-x01-y08": ((333,), False),
    "d44-x01-y09": ((323,), False), "d44-x01-y10": ((313,), False),
    "d44-x01-y11": ((3122,), False), "d44-x01-y12": ((3212,), False),
    "d44-x01-y13": ((3312,), False), "d44-x01-y14": ((3114, 3224), False),
    "d44-x01-y15": ((3324,), False), "d44-x01-y16": ((3334,), False),
}
_RAP_CUTS = {"d20-x01-y01": 0.5, "d21-x01-y01": 1.0, "d22-x01-y01": 1.5, "d23-x01-y01": 2.0}


@register
class ALEPH_1996_S3486095(Analysis):  # noqa: N801 - Rivet's analysis name
    """ALEPH QCD summary (Phys. Rept. 294 (1998) 1): event shapes, charged spectra and
    multiplicities, identified-hadron spectra and multiplicities at the Z pole."""

    name: ClassVar[str] = "ALEPH_1996_S3486095"
    BEAMS: ClassVar[tuple[int, int] | None] = (11, -11)
    ENERGIES: ClassVar[tuple[float, ...] | None] = (91.2,)
    HISTOS: ClassVar[dict[str, HistSpec]] = {
        **{f"d{i:02d}-x01-y01": D for i in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 17)},
        "d18-x01-y01": HistSpec("density", 2.0),
        "d19-x01-y01": M,
        **dict.fromkeys(_RAP_CUTS, M),
        **dict.fromkeys(_ALEPH_SPECTRA, D),
        **dict.fromkeys(_ALEPH_MULTS, M),
    }

    def fill(self, b: EventBatch) -> None:
        ok = self.accept(b)
        sh, c = b.shapes, b.charged
        pok = ok[c.event_index]
        self.fill_density("d01-x01-y01", sh.sphericity[ok])
        self.fill_density("d02-x01-y01", sh.aplanarity[ok])
        self.fill_density("d03-x01-y01", 1.0 - sh.thrust[ok])
        self.fill_density("d04-x01-y01", sh.minor[ok])
        y3 = b.y23[ok]
        with np.errstate(divide="ignore"):
            self.fill_density("d05-x01-y01", -np.log(y3[np.isfinite(y3) & (y3 > 0)]))
        self.fill_density("d06-x01-y01", sh.heavy_jet_mass2[ok])
        self.fill_density("d07-x01-y01", sh.c_parameter[ok])
        self.fill_density("d08-x01-y01", sh.oblateness[ok])
        xp = c.pabs / b.e_beam
        self.fill_density("d09-x01-y01", xp[pok])
        self.fill_density("d17-x01-y01", -np.log(xp[pok]))
        rap = np.abs(b.charged_rapidity_thrust)
        self.fill_density("d10-x01-y01", rap[pok])
        for h, ax in (("d11-x01-y01", "sph_major"), ("d12-x01-y01", "sph_minor")):
            self.fill_density(h, np.abs(b.charged_along(ax))[pok])
        self.fill_density("d18-x01-y01", c.counts[ok].astype(float))
        self.fill_mean("d19-x01-y01", c.counts[ok].astype(float))
        for h, ycut in _RAP_CUTS.items():
            self.fill_mean(h, c.per_event(rap < ycut)[ok])
        had = b.hadrons
        hok = ok[had.event_index]
        hxp = had.pabs / b.e_beam
        variables = {"xp": hxp, "xe": had.e / b.e_beam, "xi": -np.log(hxp)}
        for h, (ids, var, xpcut) in _ALEPH_SPECTRA.items():
            m = had.species(ids) & hok
            if xpcut:
                m &= hxp >= 0.1
            self.fill_density(h, variables[var][m])
        for h, (ids, xpcut) in _ALEPH_MULTS.items():
            n = had.per_event(had.species(ids) & (hxp >= 0.1)) if xpcut else had.count_species(ids)
            self.fill_mean(h, n[ok])


# PDG mean multiplicities at 91.2 GeV: histogram -> |PDG ids| (Rivet's PDG_HADRON_MULTIPLICITIES;
# chi_c1 is 20443, where Rivet counts 445, the chi_c2)
_PDG_91: dict[str, tuple[int, ...]] = {
    "d01-x01-y03": (211,), "d02-x01-y03": (111,), "d03-x01-y03": (321,),
    "d04-x01-y03": (130, 310), "d05-x01-y03": (221,), "d06-x01-y03": (331,),
    "d07-x01-y03": (411,), "d08-x01-y03": (421,), "d09-x01-y03": (431,),
    "d10-x01-y01": (511, 521), "d11-x01-y01": (521,), "d12-x01-y01": (531,),
    "d13-x01-y03": (9010221,), "d14-x01-y01": (9000211,), "d15-x01-y03": (113,),
    "d16-x01-y01": (213,), "d17-x01-y02": (223,), "d18-x01-y03": (323,),
    "d19-x01-y03": (313,), "d20-x01-y03": (333,), "d21-x01-y03": (413,),
    "d23-x01-y02": (433,), "d24-x01-y01": (513, 523, 533), "d25-x01-y02": (443,),
    "d26-x01-y01": (100443,), "d27-x01-y01": (553,), "d28-x01-y01": (20223,),
    "d29-x01-y01": (20333,), "d30-x01-y01": (20443,), "d31-x01-y03": (225,),
    "d32-x01-y01": (335,), "d34-x01-y02": (315,), "d35-x01-y01": (515, 525, 535),
    "d36-x01-y01": (10433, 20433), "d37-x01-y01": (435,), "d38-x01-y03": (2212,),
    "d39-x01-y03": (3122,), "d40-x01-y02": (3212,), "d41-x01-y01": (3112,),
    "d42-x01-y01": (3222,), "d43-x01-y01": (3112, 3222), "d44-x01-y03": (3312,),
    "d45-x01-y02": (2224,), "d46-x01-y03": (3114,), "d47-x01-y03": (3224,),
    "d48-x01-y03": (3114, 3224), "d49-x01-y02": (3324,), "d50-x01-y03": (3334,),
    "d51-x01-y03": (4122,), "d52-x01-y01": (5122,), "d54-x01-y02": (3124,),
}


@register
class PDG_HADRON_MULTIPLICITIES(Analysis):  # noqa: N801 - Rivet's analysis name
    """World-average mean hadron multiplicities per hadronic Z decay (the 91.2 GeV points)."""

    name: ClassVar[str] = "PDG_HADRON_MULTIPLICITIES"
    BEAMS: ClassVar[tuple[int, int] | None] = (11, -11)
    ENERGIES: ClassVar[tuple[float, ...] | None] = (91.2,)
    HISTOS: ClassVar[dict[str, HistSpec]] = dict.fromkeys(_PDG_91, M)

    def accept(self, batch: EventBatch) -> np.ndarray:
        return batch.final_counts >= 2

    def fill(self, b: EventBatch) -> None:
        ok = self.accept(b)
        had = b.hadrons
        for h, ids in _PDG_91.items():
            self.fill_mean(h, had.count_species(ids)[ok])


@register
class OPAL_1992_I321190(Analysis):  # noqa: N801 - Rivet's analysis name
    """OPAL charged multiplicity distribution (in %, bins two units wide) and its mean."""

    name: ClassVar[str] = "OPAL_1992_I321190"
    BEAMS: ClassVar[tuple[int, int] | None] = (11, -11)
    ENERGIES: ClassVar[tuple[float, ...] | None] = (91.2,)
    HISTOS: ClassVar[dict[str, HistSpec]] = {"d01-x01-y01": HistSpec("density", 200.0),
                                             "d05-x01-y01": M}

    def accept(self, batch: EventBatch) -> np.ndarray:
        return np.ones(batch.n, dtype=bool)

    def fill(self, b: EventBatch) -> None:
        n = b.charged.counts.astype(float)
        self.fill_density("d01-x01-y01", n)
        self.fill_mean("d05-x01-y01", n)
