"""``tune-generator``: a thin command line over :mod:`tuner.mc.workflow`.

    tune-generator CONFIG.yaml [--resume] [--dry-run] [--workers N] [--scheduler ADDR] [--out DIR]
    tune-generator --default --out DIR          # the embedded closure tune
    tune-generator rescore DIR [--weight GLOB=W ...] [--histograms GLOB ...] [--model-error F]
    tune-generator report DIR [--html]

Errors print one line (the rule and the value received) and exit with status 2; what a study has
already stored is never touched by a failed command.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tuner.errors import TunerError

if TYPE_CHECKING:
    from tuner.mc.config import TuneConfig
    from tuner.mc.recommend import TuneResult

__all__ = ["main"]


class _DefaultGroup(click.Group):
    """Runs the ``run`` command when the first argument is no subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultGroup)
def cli() -> None:
    """Tune Pythia 8 to measured (or pseudo-) data with Bayesian optimisation."""


def _note_floor(cfg: TuneConfig) -> None:
    """At the start of a tune that tunes ``TimeShower:pTmin``: where Pythia's floor lies over
    the tuned alpha_s range, when it reaches into the pTmin range."""
    from tuner.mc.generators.cutoffs import floor_span

    span = floor_span({q.name: (q.low, q.high) for q in cfg.parameters}, cfg.fixed, cfg.preset)
    if span is not None:
        name, f_lo, f_hi = span
        top = f"{f_hi:.3g} GeV" if math.isfinite(f_hi) else "beyond the largest pTmin Pythia allows"
        pt_high = next(q.high for q in cfg.parameters if q.name == name)
        where = (f"{f_lo:.3g} GeV at the low end of this alpha_s range and {top} at the high end"
                 if f_hi > f_lo else top) + (", above the whole pTmin range" if f_hi > pt_high else "")
        click.echo(f"note: Pythia raises {name} below 1.1 Lambda_3 of the shower's alpha_s ({where}) "
                   "to that floor: below it every pTmin gives the same events, and a tune whose "
                   "minimum lies there is quoted as pTmin <= the floor")


def _print_result(res: TuneResult, out: str, truth: dict[str, float] | None = None) -> None:
    """The tune, its validation and its warnings, as the end of ``run`` prints them; with a
    closure ``truth``, each parameter's truth and pull beside it (what the closure checks)."""
    v = res.validation.to_dict()
    click.echo(f"tune ({res.n_evaluations} evaluations, {res.n_failed} failed):")
    floors = {r["name"]: r for r in res.raised}
    for k, val in res.best.items():
        sigma = res.uncertainties[k]
        t = "" if truth is None else f" (closure truth {truth[k]:.5g})"
        if k in floors:
            r = floors[k]
            upper = r["upper"]
            why = ("the floor Pythia raises any lower value to" if upper == r["floor"] else
                   f"its minimum {r['minimum']:.4g} plus one standard deviation: Pythia's floor "
                   f"{r['floor']:.4g} lies within it")
            click.echo(f"  {k} <= {upper:.4g}, {why} (every value below the floor gives the same "
                       f"events; quoted {val:.4g} +- {sigma:.2g}, that interval's mean and spread){t}")
        elif k in res.unconstrained:
            click.echo(f"  {k}: unconstrained by these data (anywhere in its range; {val:.5g} is the "
                       f"surrogate's minimum){t}")
        else:
            if truth is not None and sigma > 0:
                t = f" (closure truth {truth[k]:.5g}: pull {(val - truth[k]) / sigma:+.2f})"
            click.echo(f"  {k} = {val:.5g} +- {sigma:.2g}{t}")
    click.echo(f"validation ({v['events']} events, independent seed): chi2 tune "
               f"{v['tune']['chi2']:.1f} +- {v['tune']['chi2_sd']:.2g}, default "
               f"{v['default']['chi2']:.1f} +- {v['default']['chi2_sd']:.2g} ({v['tune']['nbins']} "
               "bins; +- the Monte Carlo spread of each chi2 from seed to seed)")
    if res.validation.closure_missed:
        click.echo(f"warning: closure missed: the tune validates at {v['tune']['chi2']:.1f}, "
                   f"{res.validation.closure_excess_sds:.1f} of its Monte Carlo spread above the "
                   f"{res.validation.expected_at_truth:.0f} the truth itself scores (pseudo-data and "
                   "validation both drawn at one point): it describes the pseudo-data measurably worse "
                   "than the truth, whatever its pulls say; a larger budget or another seed may find it"
                   + ("; its spread here is the delta method's lower bound (more validation_events "
                      "give the jackknife's)" if "lower bound" in v["tune"]["chi2_sd_method"] else ""))
    if res.at_edge:
        click.echo(f"warning: at the edge of their range: {', '.join(res.at_edge)}")
    if not v["tune_better_than_default"]:
        click.echo(f"warning: the tune validates no better than the default (chi2 "
                   f"{v['tune']['chi2']:.1f} vs {v['default']['chi2']:.1f}): the default may already "
                   "sit at the chi2 minimum of these parameters; per-histogram chi2 in summary.json")
    elif not v["resolved"]:
        click.echo(f"note: the tune's chi2 is below the default's by "
                   f"{v['default']['chi2'] - v['tune']['chi2']:.1f}, less than twice the Monte Carlo "
                   f"spread of that difference ({v['difference_sd']:.2g}): {v['events']} validation "
                   "events do not tell them apart; more validation_events would")
    click.echo(f"outputs in {out}/: tune.cmnd, summary.json, report.html, plots/")


@cli.command("run")
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@click.option("--default", "use_default", is_flag=True, help="Run the embedded closure tune.")
@click.option("--resume", is_flag=True, help="Continue the study in --out.")
@click.option("--dry-run", is_flag=True, help="Validate everything, generate nothing.")
@click.option("--workers", type=int, default=None, help="Local worker processes (default: cores).")
@click.option("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://host:8786.")
@click.option("--out", default="tune-out", show_default=True, type=click.Path(file_okay=False))
@click.option("--no-progress", is_flag=True)
def run_cmd(config: str | None, use_default: bool, resume: bool, dry_run: bool,
            workers: int | None, scheduler: str | None, out: str, no_progress: bool) -> None:
    """Run a tune from CONFIG (YAML) or the embedded --default."""
    from tuner.mc.config import default_config, load_config
    from tuner.mc.setup import check_generator, prepare
    from tuner.mc.workflow import TuneRun, check_out_folder, connect_scheduler, run_tune

    if (config is None) == (not use_default):
        raise TunerError("give exactly one of CONFIG or --default, got "
                         f"{'both' if config else 'neither'}")
    cfg = default_config() if use_default else load_config(config)  # type: ignore[arg-type]
    setup = prepare(cfg)
    if workers is not None and workers < 1:
        raise TunerError(f"--workers must be >= 1, got {workers}")
    if not out.strip():  # '' would write the tune into the working directory
        raise TunerError(f"--out must name a folder, got {out!r}")
    n_workers = workers if workers is not None else min(os.cpu_count() or 1, 16)
    events = (f"{cfg.scouting['start_events']} rising to {cfg.events}" if cfg.scouting
              else str(cfg.events))
    click.echo(f"{len(cfg.parameters)} parameters, {len(setup.keys)} histograms "
               f"({sum(setup.data[k].nbins for k in setup.keys)} bins), {cfg.budget} evaluations "
               f"of {events} events, {n_workers if scheduler is None else 'dask'} workers")
    _note_floor(cfg)
    if dry_run:
        check_generator(cfg)
        check_out_folder(out, resume)
        if resume:
            TuneRun.check_resumable(setup, out)
        if scheduler is not None:  # the address a run would fail on, found before it is started
            connect_scheduler(scheduler).close()
        click.echo("configuration valid (dry run: nothing generated)")
        return
    res = run_tune(cfg, out, workers=n_workers, scheduler=scheduler, resume=resume,
                   progress=not no_progress)
    _print_result(res, out, cfg.closure["truth"] if cfg.closure else None)


def _next_free(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/stem.suffix``, or ``stem-2``, ``stem-3``, ... if taken: an earlier rescore with
    other weights is never overwritten."""
    path, k = folder / f"{stem}{suffix}", 1
    while path.exists():
        k += 1
        path = folder / f"{stem}-{k}{suffix}"
    return path


@cli.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--weight", "weights", multiple=True, help="GLOB=W, e.g. 'd44-*=0.5'.")
@click.option("--histograms", multiple=True, help="Histogram names or globs to include.")
@click.option("--model-error", type=float, default=None)
def rescore(folder: str, weights: tuple[str, ...], histograms: tuple[str, ...],
            model_error: float | None) -> None:
    """Recompute every stored evaluation's chi2 with other weights or selection (no events).

    Writes FOLDER/rescore.json (rescore-2.json, ... when taken): the settings used and every
    evaluation's chi2, best first."""
    from tuner.mc.analyses import Fills, normalise
    from tuner.mc.chi2 import check_weights, chi2, select_histograms
    from tuner.mc.workflow import TuneRun

    run = TuneRun.load(folder)
    setup, opt = run.setup, run.opt
    w = dict(setup.config.weights)
    for item in weights:
        if "=" not in item:
            raise TunerError(f"--weight must be GLOB=W, got {item!r}")
        k, v = item.split("=", 1)
        if not k:
            raise TunerError(f"--weight must be GLOB=W with a histogram name or glob, got {item!r}")
        try:
            w[k] = float(v)
        except ValueError:
            raise TunerError(f"--weight must be GLOB=W with a number W >= 0, got {item!r}") from None
        if not (w[k] >= 0 and math.isfinite(w[k])):
            raise TunerError(f"--weight must be GLOB=W with a number W >= 0, got {item!r}")
    if model_error is not None and not (0 <= model_error < 1):
        raise TunerError(f"--model-error is a fraction of each bin's value (0.05 for 5%) and must "
                         f"be in [0, 1), got {model_error}")
    keys = select_histograms(setup.refs, list(histograms)) if histograms else setup.keys
    check_weights(keys, w, [item.split("=", 1)[0] for item in weights])
    me = setup.config.model_error if model_error is None else model_error
    rows: list[dict[str, Any]] = []
    for t in opt.trials:
        blob = opt.storage.artifact(t.id) if t.state == "complete" else None
        if blob is None:
            continue
        c = chi2(normalise(Fills.from_bytes(blob), setup.refs), setup.data, keys, w, me)
        rows.append({"trial": t.id, "x": t.x, "chi2": c.total, "nbins": c.nbins})
    rows.sort(key=lambda r: r["chi2"])
    settings = {"weights": w, "histograms": list(histograms) or None, "model_error": me}
    path = _next_free(Path(folder), "rescore", ".json")
    path.write_text(json.dumps({"settings": settings, "evaluations": rows}, indent=1))
    click.echo(f"rescored {len(rows)} evaluations on {len(keys)} histograms into {path}; best:")
    for r in rows[:5]:
        click.echo(f"  trial {r['trial']}: chi2 {r['chi2']:.1f} ({r['nbins']} bins) at {r['x']}")


@cli.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--html", "as_html", is_flag=True,
              help="Also write FOLDER/report.html: tables and every plot in one self-contained page.")
def report(folder: str, as_html: bool) -> None:
    """Redraw every plot of a stored tune (no new events): convergence, traces, slices,
    correlation, profiles, and data vs default vs tune from the validation runs' YODA files."""
    from tuner.mc import plots
    from tuner.mc.recommend import recommend
    from tuner.mc.refdata import read_yoda
    from tuner.mc.workflow import TuneRun

    if as_html:  # refused before any plot is redrawn
        from tuner.mc.html import finished_summary

        finished_summary(folder)
    run = TuneRun.load(folder)
    setup, opt = run.setup, run.opt
    res = recommend(opt, setup, run.state().vectors if setup.config.emulator else None, progress=True)
    sims = {label: read_yoda(Path(folder) / f"{label}.yoda") for label in ("tune", "default")
            if (Path(folder) / f"{label}.yoda").exists()}
    written = plots.tune_plots(Path(folder) / "plots", setup, opt, res, sims)
    run.close()
    click.echo(f"{len(written)} plots in {Path(folder) / 'plots'}/")
    if as_html:
        from tuner.mc.html import write_html_report

        click.echo(f"report: {write_html_report(folder)}")
    click.echo(json.dumps({"tune": res.best, "uncertainties": res.uncertainties}, indent=1))


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning toolkit errors into one line and exit status 2."""
    import matplotlib

    if not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")  # a command line draws to files
    try:
        cli.main(args=argv, standalone_mode=False)
    except TunerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
