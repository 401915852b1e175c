"""Analysis base class, registry, and the raw fill sums that travel between processes.

An analysis fills histograms in exactly the binning of the reference histograms it is given, then
normalises them as its measurement was normalised. What crosses process boundaries (and is stored
with each evaluation of a tune) are the *raw* sums ``sum w`` and ``sum w^2`` per reference bin and
the number of accepted events: they merge exactly by addition, in any order, and the normalised
histograms are rebuilt from them at any time (``rescore`` without generating again).
"""

from __future__ import annotations

import inspect
import io
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import boost_histogram as bh
import numpy as np

from tuner.errors import ConfigError, RefDataError
from tuner.mc.analyses.events import EventBatch
from tuner.mc.refdata import RefHisto

__all__ = ["ANALYSES", "Analysis", "Fills", "HistSpec", "filled_keys", "normalise", "register"]


@dataclass(frozen=True)
class HistSpec:
    """How a histogram is normalised.

    Attributes:
        kind: ``"density"``: ``scale * sum w / (N * width)`` (spectra per event, and event shapes
            normalised to unit area, since each event fills once); ``"mean"``: the mean per event
            of a per-event quantity (one-bin histograms such as mean multiplicities);
            ``"profile"``: the mean of ``y`` in each bin of ``x`` (:meth:`Analysis.fill_profile`),
            with the standard error of that mean.
        scale: Extra factor (e.g. 2 for a multiplicity distribution in bins two units wide).
        counter: ``N`` is the count of this named event counter of the analysis
            (:meth:`Analysis.count`) instead of its accepted events (e.g. events with at least
            four particles, for a 4-jet rate).
    """

    kind: str = "density"
    scale: float = 1.0
    counter: str = ""

    def events_key(self, analysis: str) -> str:
        """The key of ``N`` in :attr:`Fills.n_events`."""
        return f"{analysis}:{self.counter}" if self.counter else analysis


@dataclass
class Fills:
    """Raw sums of a run: per reference bin ``sumw`` and ``sumw2``, and accepted events.

    Attributes:
        sums: histogram key -> array of shape (2, nbins) with sum w and sum w^2.
        n_events: analysis name -> number of accepted events (and ``analysis:counter`` -> the
            count of a named event counter).
        n_generated: events generated.
    """

    sums: dict[str, np.ndarray] = field(default_factory=dict)
    n_events: dict[str, float] = field(default_factory=dict)
    n_generated: int = 0

    def __iadd__(self, other: Fills) -> Fills:
        for k, v in other.sums.items():
            self.sums[k] = self.sums[k] + v if k in self.sums else v.copy()
        for k, n in other.n_events.items():
            self.n_events[k] = self.n_events.get(k, 0.0) + n
        self.n_generated += other.n_generated
        return self

    @classmethod
    def merge(cls, parts: Iterable[Fills]) -> Fills:
        """The sum of ``parts`` (the chunks of one run), added in their order."""
        total = cls()
        for part in parts:
            total += part
        return total

    def __sub__(self, other: Fills) -> Fills:
        """These fills without those of ``other``, a part of them (a chunk's events): what a
        leave-one-out resampling over chunks needs."""
        out = Fills({k: v.copy() for k, v in self.sums.items()}, dict(self.n_events),
                    self.n_generated - other.n_generated)
        for k, v in other.sums.items():
            out.sums[k] = out.sums[k] - v
        for k, n in other.n_events.items():
            out.n_events[k] = out.n_events[k] - n
        return out

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        arrays = {f"h:{k}": v for k, v in self.sums.items()}
        arrays.update({f"n:{k}": np.array(v) for k, v in self.n_events.items()})
        arrays["generated"] = np.array(self.n_generated)
        np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Fills:
        with np.load(io.BytesIO(data)) as z:
            return cls({k[2:]: z[k] for k in z.files if k.startswith("h:")},
                       {k[2:]: float(z[k]) for k in z.files if k.startswith("n:")},
                       int(z["generated"]))


ANALYSES: dict[str, type[Analysis]] = {}
#: what an analysis name may be made of
_NAME = re.compile(r"[A-Za-z0-9_]+")


def register(cls: type[Analysis]) -> type[Analysis]:
    """Class decorator adding an analysis to :data:`ANALYSES` under its ``name``.

    Raises:
        ConfigError: ``cls`` is no :class:`Analysis` subclass, has no usable ``name`` or
            ``HISTOS``, leaves ``fill`` unimplemented, or takes the name of another module's
            analysis (a plug-in file imported again may register its own class again).
    """
    if not (isinstance(cls, type) and issubclass(cls, Analysis)):
        raise ConfigError(f"register takes a subclass of tuner.mc.analyses.Analysis, got {cls!r}")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(f"analysis class {cls.__qualname__}: name must be letters, digits and "
                          f"underscores (the prefix of its reference histograms), got {name!r}")
    histos = getattr(cls, "HISTOS", None)
    if not isinstance(histos, dict) or not histos or not all(
            isinstance(k, str) and isinstance(v, HistSpec) for k, v in histos.items()):
        raise ConfigError(f"analysis {name}: HISTOS must map each histogram's name to a HistSpec "
                          f"(at least one), got {histos!r}")
    if inspect.isabstract(cls):
        raise ConfigError(f"analysis {name}: implement {sorted(cls.__abstractmethods__)} (the class "
                          "is still abstract)")
    old = ANALYSES.get(name)
    if old is not None and (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ConfigError(f"analysis name {name!r} is taken by {old.__module__}.{old.__qualname__}; "
                          f"{cls.__module__}.{cls.__qualname__} needs a name of its own")
    ANALYSES[name] = cls
    return cls


def filled_keys(analyses: Iterable[str]) -> set[str]:
    """The reference keys (``ANALYSIS/dNN-xNN-yNN``) the registered ``analyses`` fill."""
    return {k for a in analyses for k in ANALYSES[a].fills_names()}


class Analysis(ABC):
    """Fills histograms in the reference binning.

    Contract for subclasses: set ``name`` (the Rivet analysis name, the prefix of the reference
    keys) and ``HISTOS`` (histogram name, e.g. ``d01-x01-y01`` -> :class:`HistSpec`); optionally
    ``BEAMS`` (the PDG ids of the two beams, in either order) and ``ENERGIES`` (the centre-of-mass
    energies in GeV the measurement was made at), which a tune configuration's generator set-up
    must match (as Rivet's ``.info`` ``Beams`` and ``Energies``; ``None``: any); and implement
    ``fill(batch)`` calling :meth:`fill_density` / :meth:`fill_mean` / :meth:`fill_profile` for
    the accepted events after :meth:`accept` (and :meth:`count` for a histogram normalised to a
    counter of its own). Histograms absent from the references given are not booked.

    Args:
        refs: Reference histograms (key ``ANALYSIS/dNN-xNN-yNN`` -> :class:`RefHisto`).
    """

    name: ClassVar[str]
    HISTOS: ClassVar[dict[str, HistSpec]]
    BEAMS: ClassVar[tuple[int, int] | None] = None
    ENERGIES: ClassVar[tuple[float, ...] | None] = None

    def __init__(self, refs: Mapping[str, RefHisto]) -> None:
        self.refs = {k: refs[f"{self.name}/{k}"] for k in self.HISTOS if f"{self.name}/{k}" in refs}
        self._hists: dict[str, tuple[bh.Histogram, np.ndarray]] = {}
        self._means: dict[str, np.ndarray] = {}
        self._profiles: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.counters = {s.counter: 0.0 for s in self.HISTOS.values() if s.counter}
        for h, ref in self.refs.items():
            if self.HISTOS[h].kind == "mean":
                self._means[h] = np.zeros((2, ref.nbins))
                continue
            if np.any(ref.widths <= 0):
                raise RefDataError(f"{ref.source}: histogram {ref.key} has bins of zero width, so "
                                   f"it cannot be filled as a distribution")
            edges = np.unique(np.concatenate([ref.xlow, ref.xhigh]))
            idx = np.searchsorted(edges, ref.xlow)
            if not np.allclose(edges[idx + 1], ref.xhigh):
                raise RefDataError(f"{ref.source}: overlapping bins in {ref.key}")
            if self.HISTOS[h].kind == "profile":
                ref_bin = np.full(len(edges) - 1, -1)
                ref_bin[idx] = np.arange(ref.nbins)
                self._profiles[h] = (edges, ref_bin, np.zeros((3, ref.nbins)))
            else:
                self._hists[h] = (bh.Histogram(bh.axis.Variable(edges), storage=bh.storage.Weight()), idx)
        self.n_events = 0.0

    @classmethod
    def fills_names(cls) -> list[str]:
        return [f"{cls.name}/{h}" for h in cls.HISTOS]

    def accept(self, batch: EventBatch) -> np.ndarray:
        """Event selection (boolean per event); default: at least 2 charged particles."""
        return batch.charged.counts >= 2

    @abstractmethod
    def fill(self, batch: EventBatch) -> None:
        """Fill the histograms with the accepted events of ``batch``."""

    def fill_density(self, h: str, x: np.ndarray, weight: np.ndarray | None = None) -> None:
        if h in self._hists:
            self._hists[h][0].fill(x, weight=weight)

    def fill_mean(self, h: str, per_event: np.ndarray) -> None:
        """Accumulate a per-event quantity (one value per accepted event) for a mean."""
        if h in self._means:
            self._means[h][0] += per_event.sum()
            self._means[h][1] += (per_event**2).sum()

    def fill_profile(self, h: str, x: np.ndarray, y: np.ndarray) -> None:
        """Accumulate ``y`` in the bins of ``x`` for a profile (the mean of ``y`` per bin)."""
        if h not in self._profiles:
            return
        edges, ref_bin, acc = self._profiles[h]
        pos = np.searchsorted(edges, x, side="right") - 1
        ok = (pos >= 0) & (pos < len(edges) - 1)
        b = ref_bin[pos[ok]]
        b, yy = b[b >= 0], y[ok][b >= 0]
        for row, v in enumerate((np.ones_like(yy), yy, yy**2)):
            acc[row] += np.bincount(b, weights=v, minlength=acc.shape[1])

    def count(self, counter: str, mask: np.ndarray) -> None:
        """Add the events passing ``mask`` to the named event counter (see :class:`HistSpec`)."""
        self.counters[counter] += float(np.sum(mask))

    def process(self, batch: EventBatch) -> None:
        self.n_events += float(self.accept(batch).sum())
        self.fill(batch)

    def fills(self) -> Fills:
        out = Fills(n_events={self.name: self.n_events,
                              **{f"{self.name}:{c}": n for c, n in self.counters.items()}})
        for h, (hist, idx) in self._hists.items():
            view: Any = hist.view(flow=False)  # a weighted view: .value, .variance
            out.sums[f"{self.name}/{h}"] = np.stack([view.value[idx], view.variance[idx]])
        for h, arr in self._means.items():
            out.sums[f"{self.name}/{h}"] = arr.copy()
        for h, (_, _, acc) in self._profiles.items():
            out.sums[f"{self.name}/{h}"] = acc.copy()
        return out


def _with_empty_bins(sumw: np.ndarray, sumw2: np.ndarray) -> np.ndarray:
    """``sumw2`` with every bin that has no entries given the squared weight of one typical entry
    of its histogram (``sum sumw2 / sum sumw``: 1 for unweighted fills).

    A bin a run left empty is not known to be empty: a Poisson count of 0 is consistent with a
    mean of about one entry (the 68% upper limit is 1.15). An error of zero there makes every low
    fluctuation of a sparse bin a many-sigma pull against the data (measured: single 4000-event
    runs of the embedded closure with two empty bins at pulls of -5 and -4, a chi2 of 111 where 57
    was expected), and the tune runs away from the parameters that leave tails sparse.
    """
    total = float(np.sum(sumw))
    if total <= 0:
        return sumw2
    one = float(np.sum(sumw2)) / total
    return np.where(sumw2 > 0, sumw2, one**2)


def normalise(fills: Fills, refs: Mapping[str, RefHisto], prefix: str = "") -> dict[str, RefHisto]:
    """Turn raw sums into normalised histograms in the binning of ``refs``.

    Args:
        fills: Raw sums.
        refs: The reference histograms (binning, paths).
        prefix: Path prefix of the result (``""`` gives ``/ANALYSIS/dNN-...``).

    Returns:
        Histogram key -> normalised :class:`RefHisto` with statistical errors.
    """
    out = {}
    for key, arr in fills.sums.items():
        ana, h = key.split("/", 1)
        spec = ANALYSES[ana].HISTOS[h]
        ref = refs[key]
        n = fills.n_events.get(spec.events_key(ana), 0.0)
        sumw, sumw2 = arr[0], arr[-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            if spec.kind == "profile":
                mean = arr[1] / sumw
                vals = spec.scale * mean
                errs = spec.scale * np.sqrt(np.maximum(sumw2 / sumw - mean**2, 0.0) / sumw)
            elif spec.kind == "mean":
                mean = sumw / n
                err = np.sqrt(np.maximum(sumw2 / n - mean**2, 0.0) / n)
                vals, errs = mean * spec.scale, err * spec.scale
            else:
                vals = spec.scale * sumw / (n * ref.widths)
                errs = spec.scale * np.sqrt(_with_empty_bins(sumw, sumw2)) / (n * ref.widths)
        out[key] = RefHisto(f"{prefix}/{key}", ref.xlow.copy(), ref.xhigh.copy(),
                            np.nan_to_num(vals), np.nan_to_num(errs), "simulation")
    return out
