"""Jet samples for examples, tests and benchmarks: boosted W -> qq' jets against QCD jets.

Events come from Pythia 8 through :class:`tuner.mc.generators.PythiaGenerator` (pp at 13 TeV; W + jet
with hadronic W decays for the signal, hard QCD 2 -> 2 for the background), final-state visible
particles are clustered with anti-kt R = 0.8 (scikit-hep ``fastjet``), and the leading jet within
|eta| < 2 and the pT window is kept. A signal jet must contain the W: Delta R(jet, W) < 0.6.
Samples are cached to ``.npz`` (constituents flat with per-jet counts) so notebooks do not
regenerate.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from explain.errors import ExplainError, check_count
from explain.grooming import GROOMERS

__all__ = ["JetSample", "generate_jets", "load_or_generate"]


@dataclass
class JetSample:
    """Jets with constituents, labels (1 = W, 0 = QCD) and truth.

    Attributes:
        pt, eta, phi, e: Constituents, flat arrays (all jets concatenated).
        counts: Constituents per jet.
        jet_pt, jet_eta, jet_phi, jet_m: Jet four-momentum summaries.
        label: 1 for W jets, 0 for QCD jets.
        truth_pt: pT of the matched W (signal) or NaN.
    """

    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    e: np.ndarray
    counts: np.ndarray
    jet_pt: np.ndarray
    jet_eta: np.ndarray
    jet_phi: np.ndarray
    jet_m: np.ndarray
    label: np.ndarray
    truth_pt: np.ndarray

    def __len__(self) -> int:
        return len(self.counts)

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.counts)]).astype(np.int64)

    def constituents(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(pt, eta, phi, e) of jet ``i``."""
        a, b = self.offsets[i], self.offsets[i + 1]
        return self.pt[a:b], self.eta[a:b], self.phi[a:b], self.e[a:b]

    def padded(self, n_max: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Constituents as (n_jets, n_max, 4) arrays (pt, eta, phi, e), pT-ordered, and a mask."""
        n_max = n_max or int(self.counts.max())
        out = np.zeros((len(self), n_max, 4))
        mask = np.zeros((len(self), n_max), dtype=bool)
        for i in range(len(self)):
            pt, eta, phi, e = self.constituents(i)
            order = np.argsort(-pt)[:n_max]
            k = len(order)
            out[i, :k] = np.stack([pt[order], eta[order], phi[order], e[order]], 1)
            mask[i, :k] = True
        return out, mask

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **{k: getattr(self, k) for k in self.__dataclass_fields__})
        return path

    @classmethod
    def load(cls, path: str | Path) -> JetSample:
        with np.load(path) as z:
            return cls(**{k: z[k] for k in cls.__dataclass_fields__})

    @classmethod
    def concat(cls, samples: list[JetSample]) -> JetSample:
        return cls(**{k: np.concatenate([getattr(s, k) for s in samples])
                      for k in cls.__dataclass_fields__})

    def shuffled(self, seed: int = 0) -> JetSample:
        """Jets in a random order (constituents kept with their jets)."""
        return self.subset(np.random.default_rng(seed).permutation(len(self)))

    def subset(self, order: np.ndarray) -> JetSample:
        """The jets at indices ``order``, in that order (constituents kept with their jets)."""
        order = np.asarray(order, dtype=np.int64)
        offs = self.offsets
        idx = np.concatenate([np.arange(offs[i], offs[i + 1]) for i in order]).astype(np.int64)
        flat = {k: getattr(self, k)[idx] for k in ("pt", "eta", "phi", "e")}
        per = {k: getattr(self, k)[order] for k in self.__dataclass_fields__ if k not in flat}
        return JetSample(**flat, **per)


def _groom(cpt: np.ndarray, ceta: np.ndarray, cphi: np.ndarray, ce: np.ndarray, grooming: str | None,
           options: dict | None) -> np.ndarray:
    """Mask of the constituents kept by ``grooming`` (all of them without grooming)."""
    if grooming is None:
        return np.ones(len(cpt), dtype=bool)
    return GROOMERS[grooming](cpt, ceta, cphi, ce, **(options or {}))


def _cluster(events: ak.Array, pt_window: tuple[float, float], radius: float,
             signal: bool, charge, grooming: str | None = None,
             grooming_options: dict | None = None) -> dict[str, list]:
    import fastjet

    prt = events.prt
    # visible final state: status > 0, not neutrinos
    aid = np.abs(prt.id)
    vis = prt[(prt.status > 0) & (aid != 12) & (aid != 14) & (aid != 16)]
    p = vis.p
    particles = ak.zip({"px": p.px, "py": p.py, "pz": p.pz, "E": p.e}, with_name="Momentum4D")
    cs = fastjet.ClusterSequence(particles, fastjet.JetDefinition(fastjet.antikt_algorithm, radius))
    jets = cs.inclusive_jets(min_pt=pt_window[0] * 0.8)
    cons = cs.constituents(min_pt=pt_window[0] * 0.8)
    out: dict[str, list] = {k: [] for k in ("pt", "eta", "phi", "e", "counts", "jet_pt", "jet_eta",
                                            "jet_phi", "jet_m", "label", "truth_pt")}
    ws = prt[np.abs(prt.id) == 24]
    for i in range(len(events)):
        j = jets[i]
        if len(j) == 0:
            continue
        k = int(np.argmax(np.hypot(np.asarray(j["px"]), np.asarray(j["py"]))))
        c = cons[i][k]
        cpx, cpy, cpz, ce = (np.asarray(c[f]) for f in ("px", "py", "pz", "E"))
        cpt = np.hypot(cpx, cpy)
        ceta = np.arcsinh(cpz / np.maximum(cpt, 1e-12))
        cphi = np.arctan2(cpy, cpx)
        keep = _groom(cpt, ceta, cphi, ce, grooming, grooming_options)
        cpx, cpy, cpz, ce, cpt, ceta, cphi = (v[keep] for v in (cpx, cpy, cpz, ce, cpt, ceta, cphi))
        # the (groomed) jet: the sum of its kept constituents
        sx, sy, sz, se = cpx.sum(), cpy.sum(), cpz.sum(), ce.sum()
        jet_pt = float(np.hypot(sx, sy))
        pabs = np.sqrt(jet_pt**2 + sz**2)
        eta = np.arctanh(sz / pabs) if pabs > abs(sz) else np.sign(sz) * 10
        phi = np.arctan2(sy, sx)
        if not (pt_window[0] <= jet_pt <= pt_window[1]) or abs(eta) > 2.0:
            continue
        truth = np.nan
        if signal:
            w = ws[i]
            if len(w) == 0:
                continue
            wl = w[-1].p  # the last W copy: after recoils, before its decay
            wpt = float(np.hypot(wl.px, wl.py))
            weta = float(np.arcsinh(wl.pz / wpt))
            dphi = (np.arctan2(wl.py, wl.px) - phi + np.pi) % (2 * np.pi) - np.pi
            if np.hypot(weta - eta, dphi) > 0.6:
                continue
            truth = wpt
        out["pt"].append(cpt)
        out["eta"].append(ceta)
        out["phi"].append(cphi)
        out["e"].append(ce)
        out["counts"].append(len(cpt))
        out["jet_pt"].append(jet_pt)
        out["jet_eta"].append(eta)
        out["jet_phi"].append(phi)
        out["jet_m"].append(np.sqrt(max(se**2 - pabs**2, 0.0)))
        out["label"].append(1 if signal else 0)
        out["truth_pt"].append(truth)
    return out


def _check_window(pt_window: Any, radius: Any) -> None:
    """Refuse a pT window that is not ``(low, high)`` with ``0 <= low < high``, or a radius <= 0."""
    ok = (isinstance(pt_window, (tuple, list)) and len(pt_window) == 2
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pt_window)
          and 0 <= pt_window[0] < pt_window[1])
    if not ok:
        raise ExplainError(f"pt_window must be (low, high) in GeV with 0 <= low < high, got {pt_window!r}")
    if isinstance(radius, bool) or not isinstance(radius, (int, float)) or not radius > 0:
        raise ExplainError(f"radius must be a number > 0, got {radius!r}")


#: Pythia's largest seed (``Random:seed``)
MAX_SEED = 900_000_000


def _check_seed(seed: Any, room: int = 0) -> None:
    """Refuse a seed Pythia cannot take (``room``: the largest offset added to it)."""
    if (isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral)
            or not 0 <= int(seed) <= MAX_SEED - room):
        raise ExplainError(f"seed must be an int in [0, {MAX_SEED - room}] (Pythia's seeds"
                           f"{f' less the {room} added for the chunks' if room else ''}), got {seed!r}")


def _check_grooming(grooming: Any, options: Any) -> None:
    """Refuse an unknown groomer, options without a groomer or options it does not take, and bad
    option values (the groomer is run once on a two-particle jet), before any event."""
    if grooming is not None and grooming not in GROOMERS:
        raise ExplainError(f"grooming must be None or one of {sorted(GROOMERS)}, got {grooming!r}")
    if options is None:
        return
    if grooming is None:
        raise ExplainError(f"grooming_options need a groomer ({sorted(GROOMERS)}), got {options!r} "
                           "with grooming=None")
    allowed = list(inspect.signature(GROOMERS[grooming]).parameters)[4:]  # after pt, eta, phi, e
    if not isinstance(options, dict) or set(options) - set(allowed):
        raise ExplainError(f"grooming_options of {grooming!r} must be a dict of {allowed}, got "
                           f"{options!r}")
    pt, eta = np.array([40.0, 20.0]), np.array([0.0, 0.1])
    _groom(pt, eta, np.array([0.0, 0.1]), pt * np.cosh(eta), grooming, options)


def generate_jets(n_jets: int, signal: bool, seed: int = 1, pt_window: tuple[float, float] = (250, 300),
                  radius: float = 0.8, batch: int = 200, max_events: int | None = None,
                  progress: bool = True, grooming: str | None = None,
                  grooming_options: dict | None = None) -> JetSample:
    """Generate ``n_jets`` W jets (``signal``) or QCD jets in the pT window (with a progress bar).

    Args:
        grooming: ``None``, ``"trim"`` or ``"soft_drop"`` (:mod:`explain.grooming`): the leading
            jet's constituents are groomed before the pT window is applied, and the sample keeps
            only the groomed constituents (its images, observables and mass are groomed).
        grooming_options: Keyword arguments of the groomer.

    Raises:
        ExplainError: ``n_jets`` not an int >= 1, a pT window that is not ``(low, high)`` with
            ``0 <= low < high``, ``radius <= 0``, an unknown groomer or options it does not
            take (or bad values of them), a seed Pythia cannot take, or fewer jets than asked
            within ``max_events`` events.
    """
    n_jets = check_count(n_jets, "n_jets")
    _check_window(pt_window, radius)
    _check_grooming(grooming, grooming_options)
    _check_seed(seed)
    from tuner.mc.generators import PythiaGenerator

    gen = PythiaGenerator(preset="pp_W_jets_13TeV" if signal else "pp_QCD_jets_13TeV")
    max_events = max_events or 50 * n_jets
    parts: dict[str, list] = {"counts": []}
    have = 0
    from tqdm.auto import tqdm

    with tqdm(total=n_jets, desc=f"{'W' if signal else 'QCD'} jets", unit="jet", disable=not progress,
              dynamic_ncols=True) as bar:
        for events in gen.batches(max_events, seed, batch):
            got = _cluster(events, pt_window, radius, signal, gen.charge, grooming, grooming_options)
            for k, v in got.items():
                parts.setdefault(k, []).extend(v)
            bar.update(min(len(parts["counts"]), n_jets) - have)
            have = len(parts["counts"])
            if have >= n_jets:
                break
    if have < n_jets:
        raise ExplainError(f"only {have} jets in the pT window {pt_window} from {max_events} "
                           f"events, {n_jets} asked")
    n = n_jets
    counts = np.array(parts["counts"][:n])
    flat = {k: np.concatenate(parts[k][:n]) for k in ("pt", "eta", "phi", "e")}
    per = {k: np.array(parts[k][:n], dtype=float) for k in ("jet_pt", "jet_eta", "jet_phi",
                                                            "jet_m", "truth_pt")}
    return JetSample(**flat, counts=counts, label=np.array(parts["label"][:n]), **per)


def load_or_generate(n_per_class: int, cache_dir: str | Path = "jet-cache", seed: int = 1,
                     pt_window: tuple[float, float] = (250, 300), n_jobs: int = 1,
                     radius: float = 0.8, grooming: str | None = None,
                     grooming_options: dict | None = None) -> JetSample:
    """A shuffled W + QCD sample of ``2 n_per_class`` jets, from the cache when it exists.

    Args:
        n_jobs: 1 or 2 generate the same jets (2: the two classes in parallel processes). More
            split each class into ``n_jobs // 2`` chunks generated in parallel, each with its own
            Pythia seed: an equally valid sample, but other jets, cached under its own key.
        radius, grooming, grooming_options: As :func:`generate_jets`; each choice is cached
            separately (``load_or_generate(n, **explain.grooming.PAPER_1511_05190)`` gives the
            trimmed R = 1.0 sample of arXiv 1511.05190).

    Raises:
        ExplainError: ``n_jobs`` or ``n_per_class`` not an int >= 1, a ``cache_dir`` that cannot be
            made, or as :func:`generate_jets`.
    """
    n_jobs = check_count(n_jobs, "n_jobs")
    n_per_class = check_count(n_per_class, "n_per_class")
    _check_window(pt_window, radius)
    _check_grooming(grooming, grooming_options)
    _check_seed(seed, room=2 * max(1, min(n_jobs // 2, n_per_class)) - 1)
    chunks = max(1, min(n_jobs // 2, n_per_class))
    spec: dict = {"n": n_per_class, "seed": seed, "pt": pt_window, "v": 1}
    if (radius, grooming, grooming_options) != (0.8, None, None):  # today's sample keeps its key
        spec.update(radius=radius, grooming=grooming, options=grooming_options or {})
    if chunks > 1:
        spec["chunks"] = chunks
    key = json.dumps(spec)
    path = Path(cache_dir) / f"jets-{hashlib.sha1(key.encode()).hexdigest()[:12]}.npz"
    if path.exists():
        return JetSample.load(path)
    try:  # before any event: a cache that cannot be written would lose the whole sample at the end
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        why = "a file" if path.parent.is_file() else err.strerror
        raise ExplainError(f"cache_dir must be a folder that can be written, got {str(cache_dir)!r} "
                           f"({why})") from err
    sizes = [n_per_class // chunks + (i < n_per_class % chunks) for i in range(chunks)]
    # chunk i of the signal has seed + 2 i, of the background seed + 2 i + 1 (one chunk: seed, seed + 1)
    jobs = [(size, signal, seed + 2 * i + (not signal)) for signal in (True, False)
            for i, size in enumerate(sizes)]
    options: dict[str, Any] = {"grooming": grooming, "grooming_options": grooming_options}
    if n_jobs > 1:
        from tuner.execution.executors import process_pool

        pool = process_pool(min(n_jobs, len(jobs)))
        futures = [pool.submit(generate_jets, n, signal, s, pt_window, radius, **options,
                               progress=chunks == 1) for n, signal, s in jobs]
        if chunks > 1:  # one bar over the chunks' jets, as each chunk returns
            from concurrent.futures import as_completed

            from tqdm.auto import tqdm

            with tqdm(total=2 * n_per_class, desc=f"W + QCD jets, {len(jobs)} chunks", unit="jet",
                      dynamic_ncols=True) as bar:
                for f in as_completed(futures):
                    bar.update(len(f.result()))
        parts = [f.result() for f in futures]
    else:
        parts = [generate_jets(n, signal, s, pt_window, radius, **options) for n, signal, s in jobs]
    sample = JetSample.concat(parts).shuffled(seed)  # the signal's chunks, then the background's
    sample.save(path)
    return sample
