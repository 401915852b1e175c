"""Pythia 8 (``pythia8mc``) behind the :class:`~tuner.mc.generators.base.Generator` contract.

Every setting is passed through ``readString`` and its return value checked: Pythia answers
``False`` for an unknown name, a malformed value or a value outside its allowed range, and then
keeps the old value, so a caller that ignores it would silently run the default tune.
"""

from __future__ import annotations

import ctypes
import functools
import math
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from tuner.errors import SettingsError
from tuner.mc.generators.base import Generator

__all__ = ["PRESETS", "SEEDING", "BeamSetup", "PythiaGenerator", "beam_setup", "check_init",
           "check_settings", "format_setting", "generator_version", "init_reason", "setting_range",
           "with_preset"]

#: process presets: name -> Pythia settings
PRESETS: dict[str, dict[str, Any]] = {
    # e+e- -> gamma*/Z -> q qbar (d u s c b) -> hadrons at the Z pole, no ISR photons
    "ee_Z_hadrons_91.2": {
        "Beams:idA": 11, "Beams:idB": -11, "Beams:eCM": 91.2,
        "PDF:lepton": "off",
        "WeakSingleBoson:ffbar2gmZ": "on",
        "23:onMode": "off", "23:onIfAny": "1 2 3 4 5",
    },
    # pp at 13 TeV, W + jet with hadronic W decays: boosted W jets (signal for taggers)
    "pp_W_jets_13TeV": {
        "Beams:idA": 2212, "Beams:idB": 2212, "Beams:eCM": 13000.0,
        "WeakBosonAndParton:qqbar2Wg": "on", "WeakBosonAndParton:qg2Wq": "on",
        "24:onMode": "off", "24:onIfAny": "1 2 3 4",
        "PhaseSpace:pTHatMin": 220.0, "PhaseSpace:pTHatMax": 350.0,
    },
    # pp at 13 TeV, hard QCD 2 -> 2 (background jets for taggers)
    "pp_QCD_jets_13TeV": {
        "Beams:idA": 2212, "Beams:idB": 2212, "Beams:eCM": 13000.0,
        "HardQCD:all": "on", "PhaseSpace:pTHatMin": 220.0, "PhaseSpace:pTHatMax": 350.0,
    },
}

_QUIET = {"Print:quiet": "on", "Next:numberCount": 0, "Next:numberShowEvent": 0,
          "Next:numberShowInfo": 0, "Next:numberShowProcess": 0}
#: the settings that seed Pythia: owned by the tune's ``seed`` (one stream per evaluation chunk)
SEEDING = ("Random:setSeed", "Random:seed")


def format_setting(name: str, value: Any) -> str:
    """``name = value`` as Pythia reads it (booleans as on/off, floats exactly; numpy scalars as
    the Python numbers they hold, not as numpy 2's ``np.float64(0.5)``)."""
    if isinstance(value, (bool, np.bool_)):
        value = "on" if value else "off"
    elif isinstance(value, (float, np.floating)):
        value = repr(float(value))
    elif isinstance(value, np.integer):
        value = int(value)
    return f"{name} = {value}"


def generator_version() -> str:
    """The generator's identity for a study's fingerprint: ``pythia8mc <version>``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"pythia8mc {version('pythia8mc')}"
    except PackageNotFoundError:  # a source build without metadata
        return "pythia8mc (unknown version)"


def _new_pythia() -> Any:
    import pythia8mc

    return pythia8mc.Pythia("", False)


def setting_range(name: str, pythia: Any = None,
                  real: bool = False) -> tuple[float | None, float | None, float]:
    """Pythia's allowed ``(min, max, default)`` of a numeric setting (``None`` when unbounded).

    Args:
        name: The setting.
        pythia: An instance to ask (a new one by default).
        real: Refuse an integer (mode) setting too: a tuned parameter must take every value of
            its range, and Pythia truncates a mode's ``3.4`` to ``3`` in silence.

    Raises:
        SettingsError: an unknown setting, or one that is not a number (flag, word...).
    """
    p = pythia or _new_pythia()
    s = p.settings
    if s.isParm(name):
        v = next(iter(s.getParmMap(name).values()))
    elif s.isMode(name) and real:
        raise SettingsError(f"{name} is an integer (mode) Pythia setting, which Pythia truncates "
                            "to an integer: only real-valued (parm) settings can be tuned over a "
                            "range (give a mode under fixed:)")
    elif s.isMode(name):
        v = next(iter(s.getModeMap(name).values()))
    elif s.isFlag(name) or s.isWord(name) or s.isPVec(name) or s.isMVec(name):
        raise SettingsError(f"{name} is not a numeric Pythia setting (flag, word or vector), so "
                            "it cannot be tuned over a range")
    else:
        raise SettingsError(f"unknown Pythia setting {name!r}")
    if v.name.lower() != name.lower():
        raise SettingsError(f"unknown Pythia setting {name!r}")
    return (float(v.valMin) if v.hasMin else None, float(v.valMax) if v.hasMax else None,
            float(v.valDefault))


@dataclass(frozen=True)
class BeamSetup:
    """The beams a set of Pythia settings collides.

    Attributes:
        ids: PDG ids of beams A and B.
        sqrt_s: Centre-of-mass energy in GeV (``None`` where the settings do not fix it: beams
            read from a Les Houches file or set up outside Pythia's frame types 1-3).
        source: The settings it was read from, for messages.
    """

    ids: tuple[int, int]
    sqrt_s: float | None
    source: str


def with_preset(preset: str | None, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of ``preset`` (a key of :data:`PRESETS`, or ``None``) with ``settings`` on top."""
    return {**(PRESETS[preset] if preset else {}), **settings}


def beam_setup(preset: str | None, settings: Mapping[str, Any]) -> BeamSetup:
    """The beams Pythia collides under ``preset`` with ``settings`` on top (Pythia's own
    defaults where neither sets them). Beam energies given per beam (frame types 2 and 3) are
    combined as massless beams, accurate to ``(m / E)^2``.

    Raises:
        SettingsError: a bad setting (as :func:`check_settings`).
    """
    p = check_settings(with_preset(preset, settings)).settings
    ids = (int(p.mode("Beams:idA")), int(p.mode("Beams:idB")))
    frame = int(p.mode("Beams:frameType"))
    sqrt_s: float | None = None
    if frame == 1:
        sqrt_s = float(p.parm("Beams:eCM"))
    elif frame == 2:
        sqrt_s = 2.0 * math.sqrt(p.parm("Beams:eA") * p.parm("Beams:eB"))
    elif frame == 3:
        pa = np.array([p.parm(f"Beams:p{c}A") for c in "xyz"])
        pb = np.array([p.parm(f"Beams:p{c}B") for c in "xyz"])
        e = float(np.linalg.norm(pa) + np.linalg.norm(pb))
        sqrt_s = math.sqrt(max(e * e - float(np.sum((pa + pb) ** 2)), 0.0))
    given = {k: v for k, v in settings.items() if k.lower().startswith("beams:")}
    source = f"preset {preset!r}" if preset else "Pythia's defaults"
    if given:
        source += f" with {given}"
    return BeamSetup(ids, sqrt_s, source)


def _is_particle_data(name: str) -> bool:
    """Whether ``name`` sets particle data (``23:onMode``) rather than a setting."""
    return ":" in name and name.split(":")[0].lstrip("-").isdigit()


_FLAG_WORDS = frozenset({"on", "off", "true", "false", "yes", "no", "ok", "1", "0"})


def _is_flag_word(value: Any) -> bool:
    """Whether Pythia reads ``value`` as on or off (anything else it reads as off in silence)."""
    return isinstance(value, bool) or str(value).strip().lower() in _FLAG_WORDS


def _as_number(value: Any) -> float:
    """``value`` as a float; NaN for a bool or anything that is no number."""
    try:
        return float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        return math.nan


#: particle and decay-channel properties whose values Pythia reads as numbers, lower-cased:
#: non-negative reals, integers, flags, and the on/off modes (a word or an integer 0-3)
_PD_REAL = frozenset({"m0", "mwidth", "mmin", "mmax", "tau0", "bratio"})
_PD_INT = frozenset({"spintype", "chargetype", "coltype", "memode"})
_PD_FLAG = frozenset({"isresonance", "maydecay", "isvisible", "doexternaldecay", "varwidth",
                      "taucalc", "doforcewidth"})
#: properties whose value is a list of particle ids (a channel's products, the ids that switch
#: channels on or off): Pythia reads a token that is no integer as 0 in silence
_PD_IDS = frozenset({"products"} | {f"{w}{c}if{m}" for w, c in (("on", ""), ("off", ""),
                                                                ("on", "pos"), ("on", "neg"))
                                   for m in ("any", "all", "match")})


def _check_particle_data(p: Any, name: str, value: Any, line: str) -> None:
    """Refuse particle data Pythia would refuse or read in silence as something else: an
    unknown particle or decay channel, and for the properties it reads as numbers a value that
    is none (Pythia sets ``23:m0 = abc`` to a Z mass of 0, ``23:mayDecay = maybe`` to off,
    ``23:spinType = 2.7`` to 2, ``23:onMode = foo`` to off, ``23:0:products = 1 x`` to ``1 0``).
    Other properties (names, whole entries) are left to ``readString``."""
    parts = name.split(":")
    pid = int(parts[0])
    if not p.particleData.isParticle(pid):
        raise SettingsError(f"Pythia refused {line!r}: no particle with id {pid} in Pythia's "
                            "particle data")
    if len(parts) == 3:
        n = p.particleData.particleDataEntryPtr(pid).sizeChannels()
        if not (parts[1].strip().isdigit() and int(parts[1]) < n):
            raise SettingsError(f"Pythia refused {line!r}: particle {pid} has decay channels "
                                f"0-{n - 1}, got {parts[1]!r}")
    prop = parts[-1].strip().lower()
    number = _as_number(value)
    rule = None
    if prop in _PD_REAL and not (math.isfinite(number) and number >= 0):
        rule = "a number >= 0"
    elif prop in _PD_INT and not (math.isfinite(number) and number == int(number)):
        rule = "an integer"
    elif prop in _PD_FLAG and not _is_flag_word(value):
        rule = "on or off (true/false, yes/no, 1/0)"
    elif prop == "onmode" and not (_is_flag_word(value) or number in (0, 1, 2, 3)):
        rule = "on or off, or a mode 0-3"
    elif prop in _PD_IDS and not all(t.lstrip("+-").isdigit() for t in str(value).split()):
        rule = "a list of particle ids (integers separated by spaces)"
    if rule is not None:
        raise SettingsError(f"Pythia refused {line!r}: {parts[-1]} must be {rule}, got {value!r}")


def _check_value(p: Any, name: str, value: Any, line: str) -> None:
    """Refuse what Pythia would refuse (after printing its own error lines) or read in silence
    as something else: an unknown name, a flag value outside on/off (Pythia reads ``maybe`` as
    off), a mode that is not an integer (Pythia reads ``2.7`` as 2), a number out of range.
    Particle data (``23:m0``, ``23:2:onMode``) go to :func:`_check_particle_data`."""
    s = p.settings
    if _is_particle_data(name):
        _check_particle_data(p, name, value, line)
        return
    if not any(f(name) for f in (s.isParm, s.isMode, s.isFlag, s.isWord, s.isPVec, s.isMVec,
                                 s.isFVec, s.isWVec)):
        raise SettingsError(f"unknown Pythia setting {name!r} (in {line!r})")
    if s.isFlag(name):
        if not _is_flag_word(value):
            raise SettingsError(f"Pythia refused {line!r}: the flag {name} must be on or off "
                                f"(true/false, yes/no, 1/0), got {value!r}")
        return
    if not (s.isParm(name) or s.isMode(name)):
        return
    v = _as_number(value)
    kind = "an integer" if s.isMode(name) else "a number"
    lo, hi, _ = setting_range(name, p)
    rng = "" if lo is None and hi is None else \
        f" in [{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}] (Pythia's range)"
    if not math.isfinite(v) or (s.isMode(name) and v != int(v)) \
            or (lo is not None and v < lo) or (hi is not None and v > hi):
        raise SettingsError(f"Pythia refused {line!r}: {name} must be {kind}{rng}, got {value!r}")


#: one capture of the process's standard output at a time (a worker may run tasks in threads)
_STDOUT_LOCK = threading.Lock()


@functools.cache
def _libc() -> Any:
    """The C library, whose ``fflush`` empties the buffer Pythia's ``std::cout`` writes to."""
    return ctypes.CDLL(None)


def _captured(call: Callable[[], Any]) -> tuple[Any, str]:
    """``call()``, with what Pythia prints meanwhile captured rather than written to the terminal.

    Returns:
        What ``call`` returned, and Pythia's output.
    """
    libc = _libc()
    with _STDOUT_LOCK, tempfile.TemporaryFile() as out:
        if sys.stdout is not None:  # None where Python runs without a console
            sys.stdout.flush()
        libc.fflush(None)
        saved = os.dup(1)
        try:
            os.dup2(out.fileno(), 1)
            value = call()
            libc.fflush(None)
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        out.seek(0)
        return value, out.read().decode(errors="replace")


def _read_string(p: Any, line: str) -> str | None:
    """``p.readString(line)``, with what Pythia prints on refusing it captured rather than
    written to the terminal beside this toolkit's error.

    Returns:
        ``None`` when Pythia accepted the line; else its own reason, on one line (empty when it
        printed none).
    """
    ok, text = _captured(lambda: bool(p.readString(line)))
    if ok:
        if text and sys.stdout is not None:  # nothing Pythia says on accepting a line is lost
            sys.stdout.write(text)
        return None
    words = " ".join(text.replace("PYTHIA Error:", " ").split())
    return words.replace(f": {line.strip()}", "").rstrip(":").strip()


def init_reason(settings: Mapping[str, Any]) -> str:
    """Why Pythia fails to initialise with ``settings``: its own error and abort messages, on
    one line (read from a second initialisation with its messages on; ``Print:quiet`` silences
    them). Empty where it printed none."""
    loud = {k: v for k, v in settings.items() if k.lower() != "print:quiet"}
    p = check_settings({**loud, **{k: v for k, v in _QUIET.items() if k != "Print:quiet"},
                        "Init:showProcesses": "off", "Init:showChangedSettings": "off",
                        "Init:showChangedParticleData": "off",
                        "Init:showMultipartonInteractions": "off"})
    ok, text = _captured(p.init)
    if ok:
        return ""
    lines = [" ".join(ln.split()) for ln in text.splitlines() if "PYTHIA Error" in ln
             or "PYTHIA Abort" in ln]
    return "; ".join(ln.replace("PYTHIA ", "", 1) for ln in lines)


def check_init(settings: Mapping[str, Any]) -> Any:
    """A Pythia instance with ``settings`` applied (as :func:`check_settings`) and initialised.

    Raises:
        SettingsError: a bad setting, or settings Pythia cannot initialise with (no process
            switched on, beams it cannot collide, ...), with Pythia's own reason.
    """
    p = check_settings({**_QUIET, **settings})
    if not p.init():
        why = init_reason(settings)
        shown = {k: v for k, v in settings.items() if k not in _QUIET and k not in SEEDING}
        raise SettingsError(f"Pythia failed to initialise with settings {shown!r}"
                            + (f": {why}" if why else ""))
    return p


def check_settings(settings: Mapping[str, Any], pythia: Any = None) -> Any:
    """Apply ``settings`` to a Pythia instance, refusing the first bad one.

    Returns:
        The Pythia instance with the settings applied (not initialised).

    Raises:
        SettingsError: an unknown setting, a malformed or out-of-range value.
    """
    p = pythia or _new_pythia()
    for name, value in settings.items():
        line = format_setting(name, value)
        if isinstance(value, float) and not math.isfinite(value):
            raise SettingsError(f"Pythia setting {name} must be a finite number, got {value!r}")
        _check_value(p, name, value, line)
        why = _read_string(p, line)  # particle data, words and vectors: Pythia's own check
        if why is not None:
            what = why or ("an unknown particle or property, or a malformed value"
                           if _is_particle_data(name) else f"a malformed value {value!r}")
            raise SettingsError(f"Pythia refused {line!r}: {what}")
    return p


class PythiaGenerator(Generator):
    """Pythia 8 event batches.

    Args:
        settings: Pythia setting -> value, applied after the preset.
        preset: A key of :data:`PRESETS`, or ``None`` for no preset.

    Raises:
        SettingsError: an unknown preset or any bad setting (checked at construction, before
            any event).
    """

    def __init__(self, settings: Mapping[str, Any] | None = None,
                 preset: str | None = "ee_Z_hadrons_91.2") -> None:
        if preset is not None and preset not in PRESETS:
            raise SettingsError(f"process preset must be one of {sorted(PRESETS)}, got {preset!r}")
        self.preset = preset
        self.settings = dict(settings or {})
        self._all = with_preset(preset, self.settings)
        check_settings({**_QUIET, **self._all})  # fail before any event
        self._charges: dict[int, float] = {}
        self._pd: Any = None

    def _pythia(self, seed: int) -> Any:
        if not 0 <= seed <= 900_000_000:
            raise SettingsError(f"Pythia seeds must be in [0, 900000000], got {seed}")
        p = check_init({**self._all, "Random:setSeed": "on", "Random:seed": seed})
        self._pd = p.particleData
        return p

    def batches(self, n_events: int, seed: int, batch_size: int = 1000) -> Iterator[ak.Array]:
        """Yield batches of events (awkward arrays with fields ``prt`` and ``info``)."""
        p = self._pythia(seed)
        done = 0
        while done < n_events:
            n = min(batch_size, n_events - done)
            batch = p.nextBatch(n)
            done += n
            yield batch

    def charge(self, ids: Any) -> np.ndarray:
        """Charges of PDG ids from Pythia's particle data (vectorised through the unique ids)."""
        ids = np.asarray(ids)
        uniq, inv = np.unique(ids, return_inverse=True)
        if self._pd is None:
            self._pd = _new_pythia().particleData
        for i in uniq.tolist():
            if i not in self._charges:
                self._charges[i] = float(self._pd.charge(int(i)))
        return np.array([self._charges[i] for i in uniq.tolist()])[inv].reshape(ids.shape)
