"""DELPHI_1996_S3430090: the event shapes, charged-particle spectra, jet rates, energy-energy
correlations and identified-hadron multiplicities that the first Professor tune was made on
(Z. Phys. C73 (1996) 11).

Definitions follow Rivet's analysis of the same name, read line by line: the charged final state
of events with at least two charged particles; the thrust and sphericity axes of that final
state; single-particle spectra per event (Rivet normalises them to the mean charged multiplicity,
which is the same); Durham and JADE rates ``y_{n,n+1}`` normalised to the events with at least
``n + 1`` charged particles; EEC and AEEC over unordered pairs with weight ``E_i E_j / E_vis^2``;
multiplicities of every hadron instance (decayed ones included). Two deliberate differences from
Rivet, both where its code counts other particles than the measurement's title names:
``d36-x01-y09`` (B+/B-/B0) counts |id| 511, 521 (Rivet adds the B_s, 531), and ``d40-x01-y06``
(Sigma(1385)+-) counts 3114 and 3224 (Rivet only 3114, the Sigma(1385)-), as the ALEPH analysis
here does.

Not booked: the ``x01-y02`` series of d01-d32 and d41-d56 of the reference file. Neither Rivet's
analysis nor the ``.plot`` file says what they measure (they have no title), so no observable
can be filled for them.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from tuner.mc.analyses.base import Analysis, HistSpec, register
from tuner.mc.analyses.clustering import eec_pairs
from tuner.mc.analyses.events import EventBatch
from tuner.mc.analyses.shapes import rapidity_wrt_axis

__all__ = ["DELPHI_1996_S3430090"]

D = HistSpec("density")
M = HistSpec("mean")
P = HistSpec("profile")

#: Durham / JADE rate histograms: name -> (algorithm, column of ymerge_max, counter)
_RATES: dict[str, tuple[str, int, str]] = {
    "d27-x01-y01": ("durham", 0, "n>=3"), "d28-x01-y01": ("jade", 0, "n>=3"),
    "d29-x01-y01": ("durham", 1, "n>=4"), "d30-x01-y01": ("jade", 1, "n>=4"),
    "d31-x01-y01": ("durham", 2, "n>=5"), "d32-x01-y01": ("jade", 2, "n>=5"),
}
#: mean multiplicities per event: name -> |PDG ids|
_MULTS: dict[str, tuple[int, ...]] = {
    "d36-x01-y01": (211,), "d36-x01-y02": (111,), "d36-x01-y03": (321,),
    "d36-x01-y04": (130, 310), "d36-x01-y05": (221,), "d36-x01-y06": (331,),
    "d36-x01-y07": (411,), "d36-x01-y08": (421,), "d36-x01-y09": (511, 521),
    "d37-x01-y01": (9010221,),
    "d38-x01-y01": (113,), "d38-x01-y02": (323,), "d38-x01-y03": (313,), "d38-x01-y04": (333,),
    "d38-x01-y05": (413,),
    "d39-x01-y01": (225,), "d39-x01-y02": (315,),
    "d40-x01-y01": (2212,), "d40-x01-y02": (3122,), "d40-x01-y03": (3312,),
    "d40-x01-y04": (3334,), "d40-x01-y05": (2224,), "d40-x01-y06": (3114, 3224),
    "d40-x01-y07": (3324,), "d40-x01-y08": (5122,),
}
#: event-shape histograms (their values: :func:`_shape_values`)
_SHAPES = ("d11", "d12", "d13", "d14", "d15", "d16", "d17", "d18", "d19",
           "d20", "d21", "d22", "d23", "d24", "d25", "d26")


def _shape_values(b: EventBatch) -> dict[str, np.ndarray]:
    """Per-event values of d11-d26."""
    sh = b.shapes
    hemi = sh.hemispheres
    vals = (1.0 - sh.thrust, sh.major, sh.minor, sh.oblateness, sh.sphericity, sh.aplanarity,
            sh.planarity, sh.c_parameter, sh.d_parameter, hemi[:, 0], hemi[:, 1],
            hemi[:, 0] - hemi[:, 1], hemi[:, 2], hemi[:, 3], hemi[:, 2] + hemi[:, 3],
            hemi[:, 2] - hemi[:, 3])
    return {f"{d}-x01-y01": v for d, v in zip(_SHAPES, vals, strict=True)}


@register
class DELPHI_1996_S3430090(Analysis):  # noqa: N801 - Rivet's analysis name
    """DELPHI event shapes, charged spectra, jet rates, (A)EEC and identified-hadron
    multiplicities at the Z pole (the definitions are in the module docstring)."""

    name: ClassVar[str] = "DELPHI_1996_S3430090"
    BEAMS: ClassVar[tuple[int, int] | None] = (11, -11)
    ENERGIES: ClassVar[tuple[float, ...] | None] = (91.2,)
    HISTOS: ClassVar[dict[str, HistSpec]] = {
        **{f"d{i:02d}-x01-y01": D for i in range(1, 9)},
        "d09-x01-y01": P, "d10-x01-y01": P,
        **{f"{d}-x01-y01": D for d in _SHAPES},
        **{h: HistSpec("density", counter=c) for h, (_, _, c) in _RATES.items()},
        "d33-x01-y01": D, "d34-x01-y01": D,
        "d35-x01-y01": M,
        **dict.fromkeys(_MULTS, M),
    }

    def fill(self, b: EventBatch) -> None:
        ok = self.accept(b)
        c = b.charged
        self._fill_spectra(b, ok)
        for h, v in _shape_values(b).items():
            self.fill_density(h, v[ok])
        for n in (3, 4, 5):
            self.count(f"n>={n}", ok & (c.counts >= n))
        for h, (alg, col, _) in _RATES.items():
            y = (b.durham if alg == "durham" else b.jade)[:, col]
            self.fill_density(h, y[ok & np.isfinite(y)])
        cos, w, ev = eec_pairs(c.px, c.py, c.pz, c.e, c.counts)
        m = ok[ev]
        cos, w = cos[m], w[m]
        self.fill_density("d33-x01-y01", cos, weight=w)
        back = cos < 0
        self.fill_density("d34-x01-y01", np.where(back, cos, -cos), weight=np.where(back, w, -w))
        self.fill_mean("d35-x01-y01", c.counts[ok].astype(float))
        had = b.hadrons
        for h, ids in _MULTS.items():
            self.fill_mean(h, had.count_species(ids)[ok])

    def _fill_spectra(self, b: EventBatch, ok: np.ndarray) -> None:
        """d01-d10: charged-particle momenta about the thrust and sphericity axes."""
        c = b.charged
        pok = ok[c.event_index]
        xp = c.pabs / b.e_beam
        t_in, t_out = b.charged_along("major"), b.charged_along("minor")
        s_in, s_out = b.charged_along("sph_major"), b.charged_along("sph_minor")
        rap_s = rapidity_wrt_axis(c.e, b.charged_along("sphericity"))
        spectra = {"d01": np.abs(t_in), "d02": np.abs(t_out), "d03": np.abs(s_in), "d04": np.abs(s_out),
                   "d05": np.abs(b.charged_rapidity_thrust), "d06": np.abs(rap_s), "d07": xp,
                   "d08": -np.log(xp)}
        for h, v in spectra.items():
            self.fill_density(f"{h}-x01-y01", v[pok])
        self.fill_profile("d09-x01-y01", xp[pok], np.abs(t_out[pok]))
        self.fill_profile("d10-x01-y01", xp[pok], np.hypot(t_in, t_out)[pok])
