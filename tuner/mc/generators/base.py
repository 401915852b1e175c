"""The generator contract."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from typing import Any

import awkward as ak

__all__ = ["Generator"]


class Generator(ABC):
    """Turns settings and a seed into a stream of event batches.

    Contract for implementations:

    * ``__init__(settings, preset)`` validates *every* setting before any event is generated and
      raises :class:`tuner.errors.SettingsError` naming the setting and the value on the first bad
      one; nothing is silently ignored.
    * ``batches(n_events, seed, batch_size)`` yields awkward arrays of whole events (one record
      per event with a ``prt`` list of particles: ``id``, ``status``, ``p`` with ``px, py, pz, e``)
      until ``n_events`` were produced. The same seed gives the same events. Memory stays flat:
      only one batch is alive at a time.
    * ``charge(ids)`` returns the electric charges of PDG ids from the generator's particle data.
    """

    settings: Mapping[str, Any]

    @abstractmethod
    def batches(self, n_events: int, seed: int, batch_size: int = 1000) -> Iterator[ak.Array]:
        """Yield event batches."""

    @abstractmethod
    def charge(self, ids: Any) -> Any:
        """Electric charges (units of e) of PDG ids."""
