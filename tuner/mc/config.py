"""Tune configuration: reading, complete validation before any event, the embedded default.

A configuration (YAML) names::

    parameters:            # Pythia setting: [low, high]  or  {range: [low, high], log: true}
      StringZ:aLund: [0.2, 1.5]
    fixed: {}              # other Pythia settings
    preset: ee_Z_hadrons_91.2
    analyses: [ALEPH_1996_S3486095]   # their beams and energies must be the generator's
    refdata: [path/ALEPH_1996_S3486095.yoda]      # optional: YODA / HEPData YAML files that override
                                                  # the data shipped for the analyses; a HEPData table
                                                  # maps onto one histogram with
                                                  # {path: Table3.yaml, as: ANALYSIS/d03-x01-y01, y: 1},
                                                  # a table of a HEPData submission (.zip, .tar, .tar.gz,
                                                  # .tgz or its folder) with
                                                  # {path: sub.zip, table: Table 3, as: ..., y: 1}
    histograms: ["ALEPH_1996_S3486095/*"]          # names or globs; default: all filled
    exclude: []
    weights: {}            # histogram glob -> weight
    model_error: 0.0       # relative model-error floor in the chi2
    events: 100000         # per evaluation
    budget: 40             # evaluations (>= 2)
    initial: null          # space-filling evaluations (default max(6, 2 n + 2))
    batch: null            # parallel evaluations per round (default: the number of workers)
    seed: 1
    start_at_default: true    # evaluate Pythia's defaults (clipped into the ranges) first
    emulator: true         # propose points and the tune from GP-emulated histograms (every bin)
    strategy: emulator     # or chi2-gp (= emulator: false), professor, sobol (tuner.mc.proposers)
    uncertainty: posterior # or jackknife: the envelope of the robust jackknife and the emulator's
                           # posterior (wider; one refit per evaluation; see tuner.mc.recommend)
    validation_events: null   # default 4 x events
    scouting: null         # {start_events: N, ramp: M}: cheap early evaluations, ramping up to
                           # `events` over M evaluations (default 60% of the budget)
    closure: null          # {truth: {setting: value}, events: N}: pseudo-data at a known point
    sqrt_s: null           # the energy the analyses scale momenta by; default and only allowed
                           # value where the settings fix it: the generator's (Beams:eCM)

Numbers may be written as YAML 1.2 reads them (``events: 1e6``, ``2.5E-3``); a count (events, budget,
initial, batch, seed, ramp) takes any whole number, ``1e6`` or ``10.0`` included.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tuner.errors import ConfigError, SettingsError, yaml_problem
from tuner.mc.analyses import ANALYSES
from tuner.mc.analyses.plugins import load_plugins
from tuner.mc.config_beams import check_beams
from tuner.mc.config_refdata import refdata_entries, reference_histograms, resolve
from tuner.mc.generators.pythia import PRESETS, SEEDING, beam_setup, setting_range
from tuner.mc.refdata import RefHisto, shipped_files

__all__ = ["Parameter", "TuneConfig", "default_config", "load_config"]

#: the strategies a configuration may name (:mod:`tuner.mc.proposers`)
STRATEGIES = ("emulator", "chi2-gp", "professor", "sobol")
#: the quotes of the tune's uncertainty a configuration may name (:func:`tuner.mc.recommend.recommend`)
UNCERTAINTIES = ("posterior", "jackknife")
_KEYS = {"parameters", "fixed", "preset", "analyses", "refdata", "plugins", "histograms", "exclude",
         "weights", "model_error", "events", "budget", "initial", "batch", "seed",
         "validation_events", "scouting", "closure", "sqrt_s", "start_at_default", "emulator",
         "strategy", "uncertainty"}


@dataclass(frozen=True)
class Parameter:
    """A tuned Pythia parameter and its range (``log``: search in log space)."""

    name: str
    low: float
    high: float
    log: bool = False


@dataclass
class TuneConfig:
    """A validated tune configuration (see the module docstring for the YAML form)."""

    parameters: list[Parameter]
    analyses: list[str]
    refdata: list[Any] = field(default_factory=list)
    plugins: list[str] = field(default_factory=list)
    fixed: dict[str, Any] = field(default_factory=dict)
    preset: str | None = "ee_Z_hadrons_91.2"
    histograms: list[str] | None = None
    exclude: list[str] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)
    model_error: float = 0.0
    events: int = 100_000
    budget: int = 40
    initial: int | None = None
    batch: int | None = None
    seed: int = 1
    validation_events: int | None = None
    scouting: dict[str, Any] | None = None
    closure: dict[str, Any] | None = None
    sqrt_s: float = 91.2
    start_at_default: bool = True
    emulator: bool = True
    strategy: str = "emulator"
    uncertainty: str = "posterior"
    embedded_binning: bool = False

    def __post_init__(self) -> None:
        # one source of truth: emulator = False is the chi2-gp strategy, and the other way round
        if not self.emulator and self.strategy == "emulator":
            self.strategy = "chi2-gp"
        self.emulator = self.strategy != "chi2-gp"

    @property
    def n_initial(self) -> int:
        return self.initial if self.initial is not None else max(6, 2 * len(self.parameters) + 2)

    def events_for(self, index: int) -> int:
        """Events of evaluation ``index``: ramps up from ``scouting.start_events`` if set."""
        if not self.scouting:
            return self.events
        start = int(self.scouting["start_events"])
        frac = min(1.0, index / max(1, int(self.scouting.get("ramp", self.budget * 0.6))))
        return round(start * (self.events / start) ** frac)

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in _KEYS}
        d["parameters"] = {p.name: {"range": [p.low, p.high], "log": p.log}
                           for p in self.parameters}
        d["embedded_binning"] = self.embedded_binning
        return d


def _count(v: Any) -> int | None:
    """``v`` as a whole number: an int, or a float with a whole value (``events: 1e6``);
    ``None`` for anything else (bools included)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        return int(v)
    return None


def _num(d: dict[str, Any], key: str, kind: type, lo: float, where: str) -> Any:
    v = d[key]
    if kind is int:
        n = _count(v)
        if n is None:
            raise ConfigError(f"{where}: {key} must be an integer, got {v!r}")
        v = n
    if (kind is float and not isinstance(v, (int, float))) or isinstance(v, bool):
        raise ConfigError(f"{where}: {key} must be a number, got {v!r}")
    if not math.isfinite(v):
        raise ConfigError(f"{where}: {key} must be a finite number, got {v!r}")
    if v < lo:
        raise ConfigError(f"{where}: {key} must be >= {lo}, got {v!r}")
    return kind(v)


def _mapping(d: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """``d[key]`` as a mapping (absent or null: empty)."""
    v = d.get(key)
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise ConfigError(f"{where}: {key} must be a mapping {{name: value}}, got {type(v).__name__} {v!r}")
    return v


def _names(d: dict[str, Any], key: str, where: str) -> list[str] | None:
    """``d[key]`` as a list of strings (absent or null: ``None``)."""
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, str):
        raise ConfigError(f"{where}: {key} must be a list of names, got the string {v!r} "
                          f"(write [{v}])")
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        raise ConfigError(f"{where}: {key} must be a list of names, got {v!r}")
    twice = sorted({x for x in v if v.count(x) > 1})
    if twice:
        raise ConfigError(f"{where}: {key} must name each entry once, got {twice} more than once")
    return list(v)


def _weights(d: dict[str, Any], where: str) -> dict[str, float]:
    out = {}
    for k, v in _mapping(d, "weights", where).items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ConfigError(f"{where}: weights: the weight of {k!r} must be a finite number >= 0, "
                              f"got {v!r}")
        out[str(k)] = float(v)
    return out


def _scouting(sc: Any, cfg: TuneConfig, where: str) -> dict[str, Any]:
    start = _count(sc.get("start_events")) if isinstance(sc, dict) else None
    if start is None or not 0 < start <= cfg.events:
        raise ConfigError(f"{where}: scouting must be {{start_events: N}} with "
                          f"0 < N <= events ({cfg.events}), got {sc!r}")
    unknown = set(sc) - {"start_events", "ramp"}
    if unknown:
        raise ConfigError(f"{where}: scouting: unknown key(s) {sorted(unknown)}; allowed: "
                          "ramp, start_events")
    out = dict(sc, start_events=start)
    if "ramp" in sc:
        out["ramp"] = _num(sc, "ramp", int, 1, f"{where}: scouting")
        if out["ramp"] > cfg.budget:
            raise ConfigError(f"{where}: scouting: ramp (the evaluations over which the events rise "
                              f"to `events`) must be <= budget ({cfg.budget}), got {sc['ramp']}: the "
                              "tune would never reach its events per evaluation")
    return out


def _closure(d: dict[str, Any], cfg: TuneConfig, where: str) -> dict[str, Any]:
    cl = d["closure"]
    if not isinstance(cl, dict) or not isinstance(cl.get("truth"), dict):
        raise ConfigError(f"{where}: closure must be {{truth: {{setting: value}}, events: N}}, got {cl!r}")
    unknown = set(cl) - {"truth", "events"}
    if unknown:
        raise ConfigError(f"{where}: closure: unknown key(s) {sorted(unknown)}; allowed: events, truth")
    for k, v in cl["truth"].items():
        p = next((p for p in cfg.parameters if p.name == k), None)
        if p is None:
            raise ConfigError(f"{where}: closure truth {k!r} is not a tuned parameter")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not p.low <= float(v) <= p.high:
            raise ConfigError(f"{where}: closure truth {k} = {v!r} must be a number in its range "
                              f"[{p.low}, {p.high}]")
    events = _num(cl, "events", int, 1, f"{where}: closure") if "events" in cl else 4 * cfg.events
    missing = [p.name for p in cfg.parameters if p.name not in cl["truth"]]
    if missing:  # the pseudo-data would take Pythia's defaults there, and the pulls have no truth
        raise ConfigError(f"{where}: closure truth must give every tuned parameter a value; missing "
                          f"{missing} (got {sorted(cl['truth'])})")
    return {"truth": dict(cl["truth"]), "events": events}


def _parameters(raw: Any, where: str) -> list[Parameter]:
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{where}: parameters must map Pythia settings to [low, high], got {raw!r}")
    out = []
    seen: dict[str, str] = {}
    for name, spec in raw.items():
        if str(name).lower() in seen:  # Pythia's setting names ignore case: one would override the other
            raise ConfigError(f"{where}: parameter {name} is the Pythia setting {seen[str(name).lower()]} "
                              "again (setting names are case-insensitive); give each setting once")
        seen[str(name).lower()] = str(name)
        log = False
        if isinstance(spec, dict):
            unknown = set(spec) - {"range", "log"}
            if unknown:
                raise ConfigError(f"{where}: parameter {name}: unknown keys {sorted(unknown)}; "
                                  "allowed: range, log")
            log = spec.get("log", False)
            if not isinstance(log, bool):
                raise ConfigError(f"{where}: parameter {name}: log must be true or false, got {log!r}")
            spec = spec.get("range")
        if not (isinstance(spec, (list, tuple)) and len(spec) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in spec)):
            raise ConfigError(f"{where}: parameter {name}: range must be [low, high], got {spec!r}")
        lo, hi = float(spec[0]), float(spec[1])
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ConfigError(f"{where}: parameter {name}: low and high must be finite numbers, "
                              f"got [{lo}, {hi}]")
        if not lo < hi:
            raise ConfigError(f"{where}: parameter {name}: low must be < high, got [{lo}, {hi}]")
        try:
            pmin, pmax, _ = setting_range(name, real=True)
        except SettingsError as exc:
            raise ConfigError(f"{where}: parameter {name}: {exc}") from None
        if (pmin is not None and lo < pmin) or (pmax is not None and hi > pmax):
            raise ConfigError(f"{where}: parameter {name}: range [{lo}, {hi}] is outside Pythia's "
                              f"allowed range [{pmin}, {pmax}]")
        if log and lo <= 0:
            raise ConfigError(f"{where}: parameter {name}: a log range needs low > 0, got {lo}")
        out.append(Parameter(name, lo, hi, log))
    return out


def _counts(d: dict[str, Any], cfg: TuneConfig, where: str) -> None:
    """Events, budget, seed, initial design, batch and validation events, into ``cfg``."""
    for k in ("events", "budget", "seed"):
        if k in d:
            setattr(cfg, k, _num(d, k, int, 1 if k != "seed" else 0, where))
    if cfg.budget < 2:
        raise ConfigError(f"{where}: budget must be >= 2 (the tune is recommended from a surrogate "
                          f"fitted to the evaluations; one evaluation gives none), got {cfg.budget}")
    for k in ("initial", "batch", "validation_events"):
        if d.get(k) is not None:
            setattr(cfg, k, _num(d, k, int, 1, where))
    if cfg.batch is not None and cfg.batch > cfg.budget:
        raise ConfigError(f"{where}: batch (evaluations run at once) must be <= budget "
                          f"({cfg.budget}), got {cfg.batch}")
    if cfg.initial is not None and cfg.initial > cfg.budget:
        raise ConfigError(f"{where}: initial (the space-filling evaluations) must be <= budget "
                          f"({cfg.budget}), got {cfg.initial}: the tune would never leave its design")


def _options(d: dict[str, Any], cfg: TuneConfig, where: str) -> None:
    """The model-error floor, the start at Pythia's defaults, the strategy and the uncertainty
    quote, into ``cfg``."""
    if "model_error" in d:
        cfg.model_error = _num(d, "model_error", float, 0.0, where)
        if cfg.model_error >= 1:
            raise ConfigError(f"{where}: model_error is a fraction of each bin's value (0.05 for "
                              f"5%) and must be < 1, got {cfg.model_error!r}")
    if "start_at_default" in d:
        if not isinstance(d["start_at_default"], bool):
            raise ConfigError(f"{where}: start_at_default must be true or false, got "
                              f"{d['start_at_default']!r}")
        cfg.start_at_default = d["start_at_default"]
    if "emulator" in d:
        if not isinstance(d["emulator"], bool):
            raise ConfigError(f"{where}: emulator must be true or false, got {d['emulator']!r}")
        cfg.emulator = d["emulator"]
    cfg.strategy = "emulator" if cfg.emulator else "chi2-gp"
    if "strategy" in d:
        if d["strategy"] not in STRATEGIES:
            raise ConfigError(f"{where}: strategy must be one of {list(STRATEGIES)}, got {d['strategy']!r}")
        if "emulator" in d and (d["strategy"] == "chi2-gp") == d["emulator"]:
            raise ConfigError(f"{where}: emulator: {d['emulator']} contradicts strategy: {d['strategy']} "
                              "(give only strategy)")
        cfg.strategy = d["strategy"]
        cfg.emulator = cfg.strategy != "chi2-gp"
    if "uncertainty" in d:
        if d["uncertainty"] not in UNCERTAINTIES:
            raise ConfigError(f"{where}: uncertainty must be one of {list(UNCERTAINTIES)}, got "
                              f"{d['uncertainty']!r}")
        cfg.uncertainty = d["uncertainty"]


def config_from_dict(d: dict[str, Any], base: Path, where: str = "config") -> TuneConfig:
    """Build and validate a configuration (nothing is generated).

    Raises:
        ConfigError: an unknown key, bad types, a bad parameter or setting, an unknown analysis
            or preset, a missing reference file.
    """
    if not isinstance(d, dict):
        raise ConfigError(f"{where}: a tune configuration must be a mapping, got {type(d).__name__}")
    unknown = set(d) - _KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    for req in ("parameters", "analyses"):
        if req not in d:
            raise ConfigError(f"{where}: missing required key {req!r}")
    analyses = _names(d, "analyses", where)
    if not analyses:
        raise ConfigError(f"{where}: analyses must name at least one analysis, got {d['analyses']!r}")
    plugins = [resolve(base, p) if p.endswith(".py") else p for p in (_names(d, "plugins", where) or [])]
    try:
        load_plugins(plugins)  # before the analyses are looked up: they may register some
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    cfg = TuneConfig(parameters=_parameters(d["parameters"], where), analyses=analyses, plugins=plugins)
    for a in cfg.analyses:
        if a not in ANALYSES:
            raise ConfigError(f"{where}: unknown analysis {a!r}; known: {sorted(ANALYSES)}")
    cfg.preset = d.get("preset", cfg.preset)
    if cfg.preset is not None and (not isinstance(cfg.preset, str) or cfg.preset not in PRESETS):
        raise ConfigError(f"{where}: preset must be one of {sorted(PRESETS)}, got {cfg.preset!r}")
    cfg.fixed = dict(_mapping(d, "fixed", where))
    fixed_names = {str(k).lower() for k in cfg.fixed}  # Pythia's setting names ignore case
    clash = {p.name for p in cfg.parameters if p.name.lower() in fixed_names}
    if clash:
        raise ConfigError(f"{where}: {sorted(clash)} are both tuned and fixed")
    seeding = sorted(k for k in cfg.fixed if str(k).lower() in {s.lower() for s in SEEDING})
    if seeding:
        raise ConfigError(f"{where}: fixed must not set Pythia's seed: every evaluation draws its own "
                          f"stream from the tune's `seed` (give `seed: N`), got "
                          f"{ {k: cfg.fixed[k] for k in seeding} }")
    try:  # one Pythia instance: the preset, then every fixed setting checked, then its beams read
        beams = beam_setup(cfg.preset, cfg.fixed)
    except SettingsError as exc:
        raise ConfigError(f"{where}: fixed settings: {exc}") from None
    cfg.refdata = refdata_entries(d, base, where)
    _counts(d, cfg, where)
    _options(d, cfg, where)
    given_sqrt_s = _num(d, "sqrt_s", float, 1e-3, where) if "sqrt_s" in d else None
    cfg.sqrt_s = check_beams(cfg.analyses, beams, given_sqrt_s, where)
    cfg.histograms = _names(d, "histograms", where)
    if cfg.histograms == []:  # an empty selection is no selection: not "all of them" in silence
        raise ConfigError(f"{where}: histograms must name at least one histogram (leave it out "
                          f"to fit every histogram the analyses fill), got []")
    cfg.exclude = _names(d, "exclude", where) or []
    cfg.weights = _weights(d, where)
    if d.get("scouting") is not None:
        cfg.scouting = _scouting(d["scouting"], cfg, where)
    if d.get("closure") is not None:
        cfg.closure = _closure(d, cfg, where)
    else:
        missing = [a for a in cfg.analyses if "yoda" not in shipped_files(a)]
        if missing and not cfg.refdata:
            raise ConfigError(f"{where}: no reference data is shipped for {missing}: give refdata "
                              "files, or a closure section for pseudo-data")
    return cfg


class _DuplicateKeyError(Exception):
    def __init__(self, key: Any, line: int) -> None:
        super().__init__(key)
        self.key, self.line = key, line


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML keeps the last), and
    reading ``1e6`` or ``2.5E-3`` as numbers, as YAML 1.2 does (PyYAML's YAML 1.1 reads an exponent
    without a sign or a number without a dot as a string)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _DuplicateKeyError(key, key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep)


_UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+.0123456789"))


def load_config(path: str | Path) -> TuneConfig:
    """Read and validate a YAML configuration.

    Raises:
        ConfigError: a missing or malformed file, or any rule of :func:`config_from_dict`.
    """
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"configuration file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot be read as a YAML (UTF-8 text) file: {exc}") from None
    try:
        d = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        where, problem = yaml_problem(exc)
        raise ConfigError(f"{p}{where}: not valid YAML: {problem}") from None
    except _DuplicateKeyError as exc:
        raise ConfigError(f"{p}:{exc.line}: the key {exc.key!r} is given twice") from None
    return config_from_dict(d, p.parent, str(p))


def load_refs(cfg: TuneConfig) -> dict[str, RefHisto]:
    """The reference histograms of a configuration: the data shipped for its analyses, overridden
    histogram by histogram by the files it names (or the embedded binning);
    :func:`tuner.mc.config_refdata.reference_histograms`."""
    return reference_histograms(cfg.analyses, cfg.refdata, cfg.embedded_binning)


def default_config() -> TuneConfig:
    """The embedded default: a small closure tune of two parameters, minutes on a laptop.

    Pseudo-data at a non-default point (StringZ:aLund 0.9, TimeShower:alphaSvalue 0.125) in the
    toolkit's own binning of six ALEPH observables; no external file is read.
    """
    return TuneConfig(
        parameters=[Parameter("StringZ:aLund", 0.3, 1.5),
                    Parameter("TimeShower:alphaSvalue", 0.10, 0.16)],
        analyses=["ALEPH_1996_S3486095"], events=4000, budget=14, initial=6, seed=7,
        closure={"truth": {"StringZ:aLund": 0.9, "TimeShower:alphaSvalue": 0.125},
                 "events": 40_000},
        validation_events=8000, embedded_binning=True)

