"""An analysis plug-in: the charged-particle multiplicity of hadronic Z decays.

Name it in a tune configuration and give its reference file::

    analyses: [EXAMPLE_NCH]
    plugins: [plugins/example_nch.py]
    refdata: [plugins/EXAMPLE_NCH.yoda]

``EXAMPLE_NCH.yoda`` holds the ALEPH 1996 charged multiplicity distribution (its d18) under this
analysis' name, for illustration. The contract (see ``tuner.mc.analyses.Analysis``): a ``name``
(the prefix of the reference keys), ``HISTOS`` (histogram name -> how it is normalised),
optionally ``BEAMS`` and ``ENERGIES`` (the collisions the data were measured in: a configuration
whose generator collides other beams or runs at another energy is refused), and ``fill(batch)``,
which fills the accepted events of an ``EventBatch`` into the reference binning with
``fill_density`` (a distribution, normalised per accepted event and bin width, times ``scale``)
or ``fill_mean`` (a mean per event).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from tuner.mc.analyses import Analysis, EventBatch, HistSpec, register


@register
class EXAMPLE_NCH(Analysis):  # noqa: N801 - analyses are named like Rivet's
    """Charged multiplicity distribution (bins two units wide, so scaled by 2)."""

    name: ClassVar[str] = "EXAMPLE_NCH"
    HISTOS: ClassVar[dict[str, HistSpec]] = {"d01-x01-y01": HistSpec("density", 2.0)}
    BEAMS: ClassVar[tuple[int, int] | None] = (11, -11)  # e- e+ (PDG ids), in either order
    ENERGIES: ClassVar[tuple[float, ...] | None] = (91.2,)  # GeV

    def accept(self, batch: EventBatch) -> np.ndarray:
        return batch.charged.counts >= 5  # hadronic events

    def fill(self, batch: EventBatch) -> None:
        ok = self.accept(batch)
        self.fill_density("d01-x01-y01", batch.charged.counts[ok].astype(float))
