"""A tune's report as one self-contained HTML page (``tune-generator report DIR --html``).

The page carries everything a collaboration reviews without the study: the tune with its
uncertainties and flags (unconstrained, at a range edge, the pull on a closure truth), the
validation chi2 of the tune and of Pythia's default per histogram, the correlation matrix, the
eigentunes and every plot of ``plots/`` (the histograms grouped by analysis, each with its chi2),
embedded: no file next to it is needed to read it. Every tune writes it; ``report --html``
rewrites it from a stored tune.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from tuner.errors import TunerError

__all__ = ["finished_summary", "write_html_report"]

_STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.flag { color: #b00; font-weight: bold; }
figure { display: inline-block; margin: 0.5em; }
figure img { max-width: 520px; }
"""


def _e(v: Any) -> str:
    return html.escape(str(v))


def _num(v: Any, digits: int = 4) -> str:
    return _e(f"{v:.{digits}g}") if isinstance(v, (int, float)) else _e(v)


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _floor_note(r: dict[str, Any]) -> str:
    """The sentence of one ``raised_to_floor`` entry (:func:`tuner.mc.recommend.quote_at_floor`)."""
    upper = r.get("upper", r["floor"])
    where = (f"lies below the floor {_num(r['floor'], 4)}" if upper == r["floor"] else
             f"lies less than one standard deviation above the floor {_num(r['floor'], 4)}")
    return (f" {_e(r['name'])}: the surrogate's minimum {_num(r['minimum'], 4)} {where}; "
            f"{_e(r['rule'])}; the tune quotes the mean and spread of the values up to "
            f"{_num(upper, 4)}.")


def _tune_table(s: dict[str, Any], ranges: dict[str, Any]) -> str:
    truth = s.get("closure_truth") or {}
    rows = []
    floors = {r["name"] for r in s.get("raised_to_floor", [])}
    for name in s["parameters"]:
        lo, hi = ranges.get(name, {}).get("range", ("?", "?"))
        val, sig = s["tune"][name], s["uncertainties"][name]
        flags = [f for f, on in (("unconstrained", name in s.get("unconstrained", [])),
                                 ("Pythia's floor: every lower value gives the same events",
                                  name in floors),
                                 ("at range edge", name in s.get("parameters_at_range_edge", [])))
                 if on]
        row = [_e(name), _num(val, 5), _num(sig, 2), f"[{_num(lo)}, {_num(hi)}]",
               f"<span class='flag'>{_e(', '.join(flags))}</span>"]
        if truth:
            t = truth.get(name)
            row += [_num(t), _num((val - t) / sig, 2) if t is not None and sig else ""]
        rows.append(row)
    header = ["parameter", "tune", "uncertainty", "range", "flags"]
    return _table(header + (["closure truth", "pull"] if truth else []), rows)


def _validation_table(v: dict[str, Any]) -> str:
    tune, default = v.get("tune", {}), v.get("default", {})
    keys = sorted(set(tune.get("per_hist", {})) | set(default.get("per_hist", {})))
    rows = [[_e(k), _num(tune.get("per_hist", {}).get(k, float("nan")), 4),
             _num(default.get("per_hist", {}).get(k, float("nan")), 4)] for k in keys]
    rows.append(["<b>total</b>", f"<b>{_num(tune.get('chi2', float('nan')), 5)}</b>",
                 f"<b>{_num(default.get('chi2', float('nan')), 5)}</b>"])
    note = (f"<p>{_e(v.get('events', '?'))} events per run, seed {_e(v.get('seed', '?'))}, "
            f"{_e(tune.get('nbins', '?'))} bins.")
    if "chi2_sd" in tune:  # summaries written before the validation quoted it have none
        rows.append(["Monte Carlo sd of the total", _num(tune["chi2_sd"], 2),
                     _num(default.get("chi2_sd", float("nan")), 2)])
        note += (" The last row: how far another seed of as many events would move each total "
                 f"(one standard deviation; {_e(tune.get('chi2_sd_method', ''))}); a difference "
                 "between the columns below about twice that is not resolved by this validation.")
    if v.get("resolved") is False:
        note += (" <b>Here it is not: tune and default lie within twice the spread of their "
                 "difference; more validation events would tell them apart.</b>")
    closure = v.get("closure")
    if closure:  # a closure: the tune against what the truth itself scores
        z = closure.get("excess_sds")
        where = "" if z is None else f", {_num(z, 2)} of its Monte Carlo sd above it"
        note += (f" Closure: the truth itself is expected to score about "
                 f"{_num(closure['expected_at_truth'], 4)}{where}"
                 + ("; <b>the closure is missed: the tune describes the pseudo-data measurably worse "
                    "than the truth does, whatever its pulls say.</b>" if closure.get("missed")
                    else "; within the rule, as the truth would validate.")
                 + f" ({_e(closure.get('rule', ''))})")
    note += "</p>"
    return note + _table(["histogram", "chi2 at the tune", "chi2 at Pythia's default"], rows)


def _matrix_table(names: list[str], m: list[list[float]]) -> str:
    rows = [[_e(n)] + [_num(x, 2) for x in row] for n, row in zip(names, m, strict=True)]
    return _table(["", *names], rows)


def _eigentune_table(eig: list[dict[str, Any]], names: list[str]) -> str:
    rows = [[_e(e.get("file", "")), _e(f"{e.get('eigenvector')}{e.get('sign')}")]
            + [_num(e.get("point", {}).get(n, float("nan")), 4) for n in names]
            + [_e("yes" if e.get("clipped") else "no")] for e in eig]
    return _table(["file", "variation", *names, "clipped at range"], rows)


def _img(png: Path, caption: str) -> str:
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    return (f"<figure><img alt='{_e(png.name)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{caption}</figcaption></figure>")


def _figures(plots: Path, validation: dict[str, Any]) -> str:
    """The overview plots, then the data/default/tune plot of each histogram, grouped by analysis
    and captioned with the histogram's validation chi2 at the tune and at the default."""
    out = ["<h3>Overview</h3>"]
    out += [_img(png, _e(png.stem)) for png in sorted(plots.glob("*.png"))]
    tune = validation.get("tune", {}).get("per_hist", {})
    default = validation.get("default", {}).get("per_hist", {})
    groups: dict[str, list[str]] = {}
    for png in sorted((plots / "histograms").glob("*.png")):
        ana, _, hist = png.stem.rpartition("_")
        key = f"{ana}/{hist}"
        cap = _e(key)
        if key in tune:
            other = _num(default.get(key, float("nan")), 4)
            cap += f" &mdash; chi2 tune {_num(tune[key], 4)}, default {other}"
        groups.setdefault(ana, []).append(_img(png, cap))
    for ana, figs in groups.items():
        out += [f"<h3>{_e(ana)}</h3>", *figs]
    return "\n".join(out)


def finished_summary(folder: str | Path) -> Path:
    """The ``summary.json`` an HTML report is written from.

    Raises:
        TunerError: the folder has none (no finished tune).
    """
    path = Path(folder) / "summary.json"
    if not path.exists():
        raise TunerError(f"an HTML report needs a finished tune (its summary.json); there is none in "
                         f"{folder}")
    return path


def write_html_report(folder: str | Path) -> Path:
    """Write ``FOLDER/report.html`` from ``summary.json`` and ``plots/``; return its path.

    Raises:
        TunerError: the folder has no ``summary.json`` (no finished tune).
    """
    folder = Path(folder)
    s = json.loads(finished_summary(folder).read_text())
    names = list(s["parameters"])
    cfg_path = folder / "config.json"
    cfg = json.loads(cfg_path.read_text()) if cfg_path.exists() else {}
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Tune report: {_e(folder.name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Tune report: {_e(folder.name)}</h1>",
        f"<p>{_e(s.get('n_evaluations'))} evaluations ({_e(s.get('n_failed'))} failed), "
        f"{_e(s.get('events_generated'))} events generated ({_e(cfg.get('events', '?'))} per "
        f"evaluation, seed {_e(cfg.get('seed', '?'))}, strategy {_e(cfg.get('strategy', '?'))}); "
        f"surrogate: {_e(s.get('surrogate'))}.</p>",
        "<h2 id='tune'>Tune</h2>", _tune_table(s, cfg.get("parameters", {})),
        f"<p>Uncertainties: {_e(s.get('uncertainty_method', ''))}. "
        f"{_e(s.get('unconstrained_rule', ''))}."
        + "".join(_floor_note(r) for r in s.get("raised_to_floor", [])) + "</p>",
        "<h2 id='validation'>Validation</h2>", _validation_table(s.get("validation") or {}),
        "<h2 id='correlation'>Correlation matrix</h2>", _matrix_table(names, s["correlation"]),
    ]
    if s.get("eigentunes"):
        parts += ["<h2 id='eigentunes'>Eigentunes</h2>", f"<p>{_e(s.get('eigentune_rule', ''))}</p>",
                  _eigentune_table(s["eigentunes"], names)]
    parts += ["<h2 id='plots'>Plots</h2>", _figures(folder / "plots", s.get("validation") or {}),
              "</body></html>"]
    out = folder / "report.html"
    out.write_text("\n".join(parts), encoding="utf-8")
    return out
