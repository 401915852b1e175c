"""tune-generator end to end: validation, closure tune, kill -9 and resume, rescore, Dask."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from tuner.mc.config import config_from_dict, default_config
from tuner.mc.workflow import run_tune
from tuner.space import Real, Space
from tuner.storage import Study

CLI = [sys.executable, "-m", "tuner.mc.cli"]


def _cli(*args, cwd=None, timeout=600):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)


def _closure(events=600, budget=5, **extra):
    d = {"parameters": {"StringZ:aLund": [0.3, 1.5], "TimeShower:alphaSvalue": [0.10, 0.16]},
         "analyses": ["ALEPH_1996_S3486095"], "events": events, "budget": budget, "initial": 3,
         "seed": 3, "histograms": ["d01-*", "d03-*", "d18-*", "d19-*"],
         "closure": {"truth": {"StringZ:aLund": 0.9, "TimeShower:alphaSvalue": 0.125},
                     "events": 3000},
         "validation_events": 600}
    d.update(extra)
    return d


def _write(tmp_path, d, refdata):
    d = dict(d)
    d.setdefault("refdata", [str(refdata / "ALEPH_1996_S3486095.yoda")])
    p = tmp_path / "tune.yaml"
    p.write_text(yaml.safe_dump(d))
    return p


@pytest.mark.parametrize("change, match", [
    ({"colour": "red"}, "unknown key\\(s\\) \\['colour'\\]"),
    ({"parameters": {"StringZ:aLundd": [0, 1]}}, "unknown Pythia setting 'StringZ:aLundd'"),
    ({"parameters": {"StringZ:aLund": [0.5, 3.0]}},
     "range \\[0.5, 3.0\\] is outside Pythia's allowed range \\[0.0, 2.0\\]"),
    ({"refdata": ["/nonexistent/ALEPH.yoda"]}, "reference file not found: /nonexistent/ALEPH.yoda"),
    ({"histograms": ["d99-*"]}, "'d99-\\*' matches none"),
    ({"fixed": {"StringPT:sigma": 7.0}}, "Pythia refused 'StringPT:sigma = 7.0'"),
    ({"events": 0}, "events must be >= 1, got 0"),
    ({"analyses": ["NOPE_2000"]}, "unknown analysis 'NOPE_2000'"),
    ({"emulator": "yes"}, "emulator must be true or false, got 'yes'"),
])
def test_bad_config_is_one_clear_error_and_exit_2(tmp_path, refdata, change, match, cli_here):
    d = _closure()
    d.update(change)
    cfg = _write(tmp_path, d, refdata)
    r = cli_here(str(cfg), "--out", str(tmp_path / "out"))
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("error:") == 1
    import re

    assert re.search(match, r.stderr), r.stderr
    assert not (tmp_path / "out").exists()


def test_binning_mismatch_is_refused(tmp_path, refdata, cli_here):
    bad = tmp_path / "ALEPH.yoda"
    text = (refdata / "ALEPH_1996_S3486095.yoda").read_text()
    # make d01's bins overlap: the analysis cannot fill that binning
    text = text.replace("7.500000e-03\t2.500000e-03\t2.500000e-03",
                        "7.500000e-03\t4.500000e-03\t2.500000e-03", 1)
    bad.write_text(text)
    r = cli_here(str(_write(tmp_path, _closure(refdata=[str(bad)]), refdata)), "--dry-run")
    assert r.returncode == 2 and "binning mismatch" in r.stderr and "d01-x01-y01" in r.stderr


def test_dry_run_on_real_data(tmp_path, refdata, cli_here):
    d = {"parameters": {"StringZ:aLund": [0.2, 1.5]}, "analyses": ["ALEPH_1996_S3486095",
         "PDG_HADRON_MULTIPLICITIES"], "refdata": [str(refdata / "ALEPH_1996_S3486095.yoda"),
         str(refdata / "PDG_HADRON_MULTIPLICITIES.yoda")]}
    r = cli_here(str(_write(tmp_path, d, refdata)), "--dry-run", "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    assert "configuration valid" in r.stdout and "102 histograms" in r.stdout
    assert not (tmp_path / "o").exists()
    assert "note: Pythia raises" not in r.stdout  # pTmin not tuned


def test_dry_run_says_where_pythia_raises_ptmin(tmp_path, refdata, cli_here):
    d = _closure(parameters={"TimeShower:alphaSvalue": [0.06, 0.25], "TimeShower:pTmin": [0.1, 2.0]},
                 closure={"truth": {"TimeShower:alphaSvalue": 0.14, "TimeShower:pTmin": 0.8},
                          "events": 3000})
    r = cli_here(str(_write(tmp_path, d, refdata)), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "note: Pythia raises TimeShower:pTmin below 1.1 Lambda_3" in r.stdout
    assert ("(0.1 GeV at the low end of this alpha_s range and 3.64 GeV at the high end, above the "
            "whole pTmin range)") in r.stdout
    d["parameters"] = {"TimeShower:alphaSvalue": [0.06, 0.12], "TimeShower:pTmin": [0.4, 2.0]}
    d["closure"]["truth"] = {"TimeShower:alphaSvalue": 0.1, "TimeShower:pTmin": 0.8}
    r = cli_here(str(_write(tmp_path, d, refdata)), "--dry-run")
    assert r.returncode == 0 and "note: Pythia raises" not in r.stdout  # every floor below 0.4


def _space():
    return Space([Real(0.3, 1.5, name="StringZ:aLund"), Real(0.10, 0.16, name="TimeShower:alphaSvalue")])


def test_kill_9_then_resume_loses_and_repeats_nothing(tmp_path, refdata):
    cfg = _write(tmp_path, _closure(events=1500, budget=8), refdata)
    out = tmp_path / "out"
    proc = subprocess.Popen([*CLI, str(cfg), "--out", str(out), "--workers", "2", "--no-progress"])
    db = out / "study.db"
    deadline = time.time() + 300
    before = []
    while time.time() < deadline:
        time.sleep(0.2)
        if db.exists():
            before = [t for t in Study(db, _space()).trials() if t.state == "complete"]
            if len(before) >= 3:
                break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 3 <= len(before) < 8
    r = _cli(str(cfg), "--out", str(out), "--workers", "2", "--resume")
    assert r.returncode == 0, r.stderr
    # the end of a tune shows its progress too: the profiles' minimisations, the validation's events
    assert re.search(r"profiles: 100%", r.stderr), r.stderr[-2000:]
    assert re.search(r"validation: 100%", r.stderr), r.stderr[-2000:]
    assert re.search(r"chi2 tune [\d.]+ \+- [\d.e+]+, default [\d.]+ \+- [\d.e+]+ \(", r.stdout), r.stdout
    # a closure shows each parameter's truth and pull beside its tune, as summary.json has them
    summary = json.loads((out / "summary.json").read_text())
    for name, truth in (("StringZ:aLund", 0.9), ("TimeShower:alphaSvalue", 0.125)):
        pull = (summary["tune"][name] - truth) / summary["uncertainties"][name]
        assert f"(closure truth {truth:.5g}: pull {pull:+.2f})" in r.stdout, r.stdout
    after = Study(db, _space()).trials()
    done = [t for t in after if t.state == "complete"]
    assert len(done) == 8 and all(t.state != "pending" for t in after)
    # the first evaluation is Pythia's own default (Monash) point
    assert after[0].x == [0.68, 0.1365]
    for t in before:  # nothing committed was lost or changed
        assert after[t.id].y == t.y and after[t.id].x == t.x
    # the evaluated points are all distinct: nothing was evaluated twice
    assert len({tuple(t.x) for t in done}) == 8
    # after the design (default + 3 Sobol points) the histogram emulator proposes every point,
    # by expected improvement and by Thompson sampling, also after the resume (it reads the
    # stored histograms back); the last two (the second half after the design) are the minimum
    # of the emulator it recommends the tune from and a check of it
    proposers = [t.info["proposer"] for t in after]
    emulated = {"emulator EI", "emulator Thompson"}
    assert set(proposers[4:6]) <= emulated | {"asked before the resume"}
    assert proposers[6] in {"emulated minimum", "asked before the resume"}
    assert proposers[7] in {"refining check", "asked before the resume"}
    assert proposers[0] == "design" and set(proposers[1:4]) <= {"design", "asked before the resume"}
    assert sum(p in emulated | {"emulated minimum"} for p in proposers) >= 2
    summary = json.loads((out / "summary.json").read_text())
    assert summary["surrogate"] == "histogram emulator"
    assert set(summary["tune"]) == {"StringZ:aLund", "TimeShower:alphaSvalue"}
    # the full covariance, in the order of "parameters", matches the quoted uncertainties
    import numpy as np

    cov = np.array(summary["covariance"])
    sig = np.array([summary["uncertainties"][p] for p in summary["parameters"]])
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), sig, rtol=1e-9)
    np.testing.assert_allclose(cov, cov.T, atol=1e-15)
    corr = np.array(summary["correlation"])
    assert np.allclose(np.diag(corr), 1) and np.all(np.abs(corr) <= 1 + 1e-9)
    assert "over the emulator's posterior (its variance widened" in summary["uncertainty_method"]
    assert "data errors and model-error floor alone" in summary["uncertainty_method"]
    assert "interpolation systematic" in summary["uncertainty_method"]
    assert re.search(r"noise on its leading components is [\d.]+(, [\d.]+)* times",
                     summary["uncertainty_method"])
    curv = np.array([summary["uncertainty_curvature_only"][p] for p in summary["parameters"]])
    free = np.isin(summary["parameters"], summary["unconstrained"])
    assert np.all((sig >= curv * (1 - 1e-9)) | free)
    # Professor-style eigentunes: two per eigenvector, each a file Pythia reads line by line
    import pythia8mc

    files = sorted((out / "eigentunes").glob("*.cmnd"))
    assert len(files) == len(summary["eigentunes"]) == 4 and "eigenpairs" in summary["eigentune_rule"]
    for f in files:
        py = pythia8mc.Pythia("", False)
        lines = [ln for ln in f.read_text().splitlines() if ln and not ln.startswith("!")]
        assert len(lines) == 2 and all(py.readString(ln) for ln in lines), f
    for f in ("plots/correlation.png", "plots/profiles.png"):
        assert (out / f).exists(), f
    assert set(summary["profiles"]) == set(summary["tune"])
    assert summary["validation"]["tune"]["chi2"] > 0
    v = summary["validation"]
    assert v["tune_better_than_default"] == (v["tune"]["chi2"] < v["default"]["chi2"])
    # each chi2 with its Monte Carlo spread; 600 events are one chunk: the delta method, said so
    assert v["tune"]["chi2_sd"] > 0 and v["default"]["chi2_sd"] > 0
    assert "delta method" in v["tune"]["chi2_sd_method"]
    assert v["difference_sd"] == pytest.approx(np.hypot(v["tune"]["chi2_sd"], v["default"]["chi2_sd"]))
    for f in ("tune.cmnd", "plots/convergence.png", "plots/traces.png", "plots/slices.png",
              "plots/histograms/ALEPH_1996_S3486095_d01-x01-y01.png"):
        assert (out / f).exists(), f
    assert "StringZ:aLund = " in (out / "tune.cmnd").read_text()
    # a second run without --resume refuses to touch the study
    r2 = _cli(str(cfg), "--out", str(out))
    assert r2.returncode == 2 and "--resume" in r2.stderr
    # rescore: new weights, no events generated
    r3 = _cli("rescore", str(out), "--weight", "d18-*=0")
    assert r3.returncode == 0, r3.stderr
    first = json.loads((out / "rescore.json").read_text())
    rows = first["evaluations"]
    assert len(rows) == 8 and all(r["nbins"] < summary["validation"]["tune"]["nbins"] for r in rows)
    assert first["settings"]["weights"]["d18-*"] == 0
    # a second rescore with other weights goes beside the first, which stays as it was
    r4 = _cli("rescore", str(out), "--model-error", "0.05")
    assert r4.returncode == 0 and "rescore-2.json" in r4.stdout, r4.stderr
    assert json.loads((out / "rescore.json").read_text()) == first
    second = json.loads((out / "rescore-2.json").read_text())
    assert second["settings"]["model_error"] == 0.05
    assert len(second["evaluations"]) == 8 and second["settings"]["weights"].get("d18-*") is None
    assert all(r["nbins"] > rows[0]["nbins"] for r in second["evaluations"])


def test_crashing_evaluation_is_recorded_and_the_study_goes_on(tmp_path):
    cfg = config_from_dict(_closure(events=400, budget=5, refdata=None), Path("."))
    cfg.embedded_binning = True
    cfg.histograms = None
    res = run_tune(cfg, tmp_path / "o", workers=2, progress=False, fault_at=1)
    trials = Study(tmp_path / "o" / "study.db", _space()).trials()
    failed = [t for t in trials if t.state == "failed"]
    assert [t.id for t in failed] == [1]
    assert "fault injection: SIGSEGV" in failed[0].info["stderr"]
    assert res.n_evaluations == 4 and res.n_failed == 1
    # rescore and report reload a tune on the embedded binning
    r = _cli("rescore", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    assert len(json.loads((tmp_path / "o" / "rescore.json").read_text())["evaluations"]) == 4
    import shutil

    shutil.rmtree(tmp_path / "o" / "plots")
    assert _cli("report", str(tmp_path / "o")).returncode == 0
    # report redraws every plot, the data / default / tune comparisons included
    for f in ("convergence", "correlation", "profiles", "slices", "traces"):
        assert (tmp_path / "o" / "plots" / f"{f}.png").exists(), f
    assert len(list((tmp_path / "o" / "plots" / "histograms").glob("*.png"))) == 6


def test_dask_cluster_with_a_worker_killed_mid_run(tmp_path):
    distributed = pytest.importorskip("distributed")
    cfg = config_from_dict(_closure(events=3000, budget=4, refdata=None), Path("."))
    cfg.embedded_binning = True
    cfg.histograms = None
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        box = {}
        th = threading.Thread(target=lambda: box.setdefault("res", run_tune(
            cfg, tmp_path / "o", scheduler=cluster.scheduler_address, progress=False)))
        th.start()
        db = tmp_path / "o" / "study.db"
        deadline = time.time() + 120
        while time.time() < deadline and not (db.exists() and any(
                t.state == "pending" for t in Study(db, _space()).trials())):
            time.sleep(0.1)
        time.sleep(1.0)  # evaluations are running on both workers
        pid = next(iter(client.run(os.getpid).values()))
        os.kill(pid, signal.SIGKILL)
        th.join(600)
    res = box["res"]
    trials = Study(db, _space()).trials()
    assert res.n_failed == 0 and res.n_evaluations == 4
    assert all(t.state == "complete" for t in trials)


def test_embedded_default_is_valid_without_external_data():
    cfg = default_config()
    from tuner.mc.workflow import prepare

    setup = prepare(cfg)
    assert len(setup.keys) == 6 and cfg.closure is not None and not cfg.refdata


EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_configuration_is_valid_from_a_clone(path):
    """The example tunes the README and BENCHMARKS.md point at validate completely with nothing
    outside the repository (reference data shipped in the package)."""
    from tuner.mc.config import load_config
    from tuner.mc.setup import prepare

    setup = prepare(load_config(path))
    assert setup.keys and all(setup.data[k].nbins > 0 for k in setup.keys)
    if path.name == "tune_aleph_eventshapes.yaml":  # BayesOptPythia's objective: d01-d07 only
        assert [k.split("/")[1][:3] for k in setup.keys] == [f"d0{i}" for i in range(1, 8)]
        assert sum(setup.data[k].nbins for k in setup.keys) == 137


def test_a_minimum_below_pythias_ptmin_floor_is_quoted_as_the_interval_below_it(tmp_path, refdata,
                                                                                cli_here):
    """alpha_s fixed at 0.19 puts Pythia's floor (1.51 GeV) above the whole pTmin range: every
    pTmin tuned gives the same events, and the tune says pTmin <= 1.0 (the range's end)."""
    import math

    d = _closure(parameters={"StringZ:aLund": [0.3, 1.5], "TimeShower:pTmin": [0.1, 1.0]},
                 fixed={"TimeShower:alphaSvalue": 0.19}, histograms=["d01-*", "d03-*"],
                 closure={"truth": {"StringZ:aLund": 0.9, "TimeShower:pTmin": 0.5}, "events": 3000})
    out = tmp_path / "o"
    r = cli_here(str(_write(tmp_path, d, refdata)), "--out", str(out), "--workers", "1",
                 "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "note: Pythia raises TimeShower:pTmin below 1.1 Lambda_3 of the shower's alpha_s (1.51 " \
           "GeV, above the whole pTmin range)" in r.stdout
    assert "TimeShower:pTmin <= 1, the floor Pythia raises any lower value to" in r.stdout
    summary = json.loads((out / "summary.json").read_text())
    (raised,) = summary["raised_to_floor"]
    assert raised["name"] == "TimeShower:pTmin" and raised["floor"] == 1.0
    assert summary["tune"]["TimeShower:pTmin"] == pytest.approx(0.55)
    assert summary["uncertainties"]["TimeShower:pTmin"] == pytest.approx(0.9 / math.sqrt(12))
    i = summary["parameters"].index("TimeShower:pTmin")
    assert all(c == 0.0 for j, c in enumerate(summary["covariance"][i]) if j != i)
