"""A batch of events prepared once for every analysis: particle selections and cached observables."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import awkward as ak
import numpy as np

from tuner.mc.analyses.clustering import ymerge_max
from tuner.mc.analyses.shapes import EventShapes, event_shapes, project, rapidity_wrt_axis

__all__ = ["EventBatch", "Particles"]


class Particles:
    """Flat particle arrays of a selection, with per-event counts."""

    def __init__(self, ids: np.ndarray, px: np.ndarray, py: np.ndarray, pz: np.ndarray,
                 e: np.ndarray, counts: np.ndarray) -> None:
        self.id, self.px, self.py, self.pz, self.e, self.counts = ids, px, py, pz, e, counts

    @cached_property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.counts)]).astype(np.int64)

    @cached_property
    def pabs(self) -> np.ndarray:
        return np.sqrt(self.px**2 + self.py**2 + self.pz**2)

    @cached_property
    def event_index(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.counts)), self.counts)

    @cached_property
    def _species(self) -> tuple[np.ndarray, np.ndarray]:
        return np.unique(np.abs(self.id), return_inverse=True)

    def species(self, abs_ids: tuple[int, ...]) -> np.ndarray:
        """Mask of the particles whose ``|PDG id|`` is one of ``abs_ids`` (a gather through the
        few unique ids of the batch, not a search over every particle)."""
        uniq, inv = self._species
        return np.isin(uniq, abs_ids)[inv]

    @cached_property
    def _species_counts(self) -> np.ndarray:
        """Particles of each unique ``|PDG id|`` per event (``n_events x n_unique``)."""
        uniq, inv = self._species
        flat = self.event_index * len(uniq) + inv
        return np.bincount(flat, minlength=len(self.counts) * len(uniq)).reshape(len(self.counts), -1)

    def count_species(self, abs_ids: tuple[int, ...]) -> np.ndarray:
        """Number of particles whose ``|PDG id|`` is one of ``abs_ids`` in each event (the same as
        ``per_event(species(abs_ids))``, from one table of counts per batch)."""
        uniq, _ = self._species
        return self._species_counts[:, np.isin(uniq, abs_ids)].sum(axis=1).astype(float)

    def mask(self, m: np.ndarray) -> Particles:
        """The sub-selection ``m`` (a boolean array over particles)."""
        counts = np.bincount(self.event_index[m], minlength=len(self.counts))
        return Particles(self.id[m], self.px[m], self.py[m], self.pz[m], self.e[m], counts)

    def per_event(self, m: np.ndarray) -> np.ndarray:
        """Number of particles passing ``m`` in each event."""
        return np.bincount(self.event_index[m], minlength=len(self.counts)).astype(float)


class EventBatch:
    """Events of one generator batch with the selections the LEP analyses share.

    Args:
        events: An awkward array of events (``prt`` with ``id``, ``status``, ``p``).
        charge: Callable returning charges of PDG ids (the generator's particle data).
        sqrt_s: Centre-of-mass energy in GeV.
    """

    def __init__(self, events: ak.Array, charge: Any, sqrt_s: float) -> None:
        prt = events.prt
        self.n = len(events)
        self.sqrt_s = sqrt_s
        self.e_beam = sqrt_s / 2
        counts = np.asarray(ak.num(prt.id, axis=1))
        p = prt.p
        self._all = Particles(np.asarray(ak.flatten(prt.id)), np.asarray(ak.flatten(p.px)),
                              np.asarray(ak.flatten(p.py)), np.asarray(ak.flatten(p.pz)),
                              np.asarray(ak.flatten(p.e)), counts)
        self._status = np.asarray(ak.flatten(prt.status))
        self._charge = charge
        self._along: dict[str, np.ndarray] = {}

    @cached_property
    def charged(self) -> Particles:
        """Charged final-state particles (status > 0, non-zero charge from the particle data)."""
        final = self._status > 0
        ch = np.zeros(len(final), dtype=bool)
        ch[final] = self._charge(self._all.id[final]) != 0
        return self._all.mask(ch)

    @cached_property
    def final_counts(self) -> np.ndarray:
        """Number of final-state particles per event."""
        return self._all.per_event(self._status > 0)

    @cached_property
    def hadrons(self) -> Particles:
        """Every hadron and photon *instance*: final-state particles and decayed hadrons
        (Pythia status -81..-99: hadronisation products and decay products that decayed), so a
        K0S that decayed counts as a K0 and its pions as pions."""
        s = self._status
        return self._all.mask((s > 0) | ((s <= -81) & (s >= -99)))

    @cached_property
    def shapes(self) -> EventShapes:
        """Event shapes of the charged final state."""
        c = self.charged
        return event_shapes(c.px, c.py, c.pz, c.e, c.offsets)

    @cached_property
    def durham(self) -> np.ndarray:
        """Durham ``y_{n,n+1}`` (``exclusive_ymerge_max(n)``, n = 2, 3, 4) of the charged final
        state, ``n_events x 3``."""
        c = self.charged
        return ymerge_max(c.px, c.py, c.pz, c.e, c.counts, "durham")

    @cached_property
    def jade(self) -> np.ndarray:
        """JADE ``y_{n,n+1}`` of the charged final state, as :attr:`durham`."""
        c = self.charged
        return ymerge_max(c.px, c.py, c.pz, c.e, c.counts, "jade")

    @property
    def y23(self) -> np.ndarray:
        """Durham y23 of the charged final state."""
        return self.durham[:, 0]

    def charged_along(self, axis: str) -> np.ndarray:
        """``p . n`` of each charged particle along an axis of its event, computed once per batch
        however many analyses ask: ``"thrust"``, ``"major"``, ``"minor"`` (the thrust axes) or
        ``"sphericity"``, ``"sph_major"``, ``"sph_minor"`` (the sphericity eigenvectors, largest
        eigenvalue first)."""
        if axis not in self._along:
            sh, c = self.shapes, self.charged
            axes = {"thrust": sh.thrust_axis, "major": sh.major_axis, "minor": sh.minor_axis,
                    "sphericity": sh.sph_axes[:, :, 0], "sph_major": sh.sph_axes[:, :, 1],
                    "sph_minor": sh.sph_axes[:, :, 2]}
            self._along[axis] = project(c.px, c.py, c.pz, c.counts, axes[axis])
        return self._along[axis]

    @property
    def charged_pl_thrust(self) -> np.ndarray:
        """``p . n_thrust`` for each charged particle."""
        return self.charged_along("thrust")

    @cached_property
    def charged_rapidity_thrust(self) -> np.ndarray:
        """Rapidity of each charged particle with respect to the thrust axis."""
        return rapidity_wrt_axis(self.charged.e, self.charged_pl_thrust)
