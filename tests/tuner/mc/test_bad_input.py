"""Bad input: one clear error stating the rule and the value received, nothing written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tuner.errors import ConfigError, StorageError
from tuner.mc.config import config_from_dict, load_config
from tuner.mc.setup import check_generator, prepare
from tuner.mc.workflow import check_out_folder

CLI = [sys.executable, "-m", "tuner.mc.cli"]


def _base(**change):
    d = {"parameters": {"StringZ:aLund": [0.3, 1.5], "TimeShower:alphaSvalue": [0.10, 0.16]},
         "analyses": ["ALEPH_1996_S3486095"], "events": 1000, "budget": 4}
    d.update(change)
    return d


@pytest.mark.parametrize("change, match", [
    ({"weights": {"d01-*": -1.0}}, r"weight of 'd01-\*' must be a finite number >= 0, got -1\.0"),
    ({"weights": {"*": 0.0}}, r"every selected histogram has weight 0"),
    ({"weights": {"d99-*": 2.0}}, r"weights: 'd99-\*' matches none of the 51 selected histograms"),
    ({"weights": ["d01-*", 2]}, r"weights must be a mapping \{name: value\}, got list"),
    ({"weights": "d01=2"}, r"weights must be a mapping \{name: value\}, got str"),
    ({"weights": {"d01-*": "heavy"}}, r"weight of 'd01-\*' must be a finite number >= 0, got 'heavy'"),
    ({"fixed": ["StringPT:sigma", 0.3]}, r"fixed must be a mapping \{name: value\}, got list"),
    ({"parameters": {"StringZ:aLund": {"range": [0.3, 1.5], "log": "no"}}},
     r"parameter StringZ:aLund: log must be true or false, got 'no'"),
    ({"analyses": "ALEPH_1996_S3486095"}, r"analyses must be a list of names, got the string 'ALEPH"),
    ({"analyses": []}, r"analyses must name at least one analysis"),
    ({"histograms": "d01-*"}, r"histograms must be a list of names, got the string 'd01-\*'"),
    ({"histograms": []}, r"histograms must name at least one histogram \(leave it out .*\), got \[\]"),
    ({"closure": {"truth": [0.9, 0.125]}}, r"closure must be \{truth: \{setting: value\}, events: N\}"),
    ({"closure": {"truth": {"StringZ:aLund": 0.9}, "events": 0}}, r"closure: events must be >= 1, got 0"),
    ({"closure": {"truth": {"StringZ:aLund": "high"}}},
     r"closure truth StringZ:aLund = 'high' must be a number"),
    ({"closure": {"truth": {"StringZ:aLund": 0.9}, "evnts": 5}}, r"closure: unknown key\(s\) \['evnts'\]"),
    ({"closure": {"truth": {"StringZ:aLund": 0.9}}},
     r"closure truth must give every tuned parameter a value; missing \['TimeShower:alphaSvalue'\]"),
    ({"initial": 100}, r"initial \(the space-filling evaluations\) must be <= budget \(4\), got 100"),
    ({"model_error": float("nan")}, r"model_error must be a finite number, got nan"),
    ({"model_error": float("inf")}, r"model_error must be a finite number, got inf"),
    ({"exclude": ["d99-*"]}, r"histogram exclusion 'd99-\*' matches none of the histograms"),
    ({"exclude": ["*"]}, r"exclude must leave at least one histogram to fit: all 51 histograms of "
                         r"\['ALEPH_1996_S3486095'\] minus the exclusions \['\*'\] is empty"),
    ({"histograms": ["d01-*"], "exclude": ["d01-x01-y01"]},
     r"exclude must leave .*: \['d01-\*'\] minus the exclusions \['d01-x01-y01'\] is empty"),
    ({"parameters": {"StringZ:aLund": [0.3, 1.5], "stringz:alund": [0.4, 1.0]}},
     r"parameter stringz:alund is the Pythia setting StringZ:aLund again \(setting names are "
     r"case-insensitive\)"),
    ({"fixed": {"stringz:ALUND": 0.5}}, r"\['StringZ:aLund'\] are both tuned and fixed"),
    ({"parameters": {"StringZ:aLund": [0.3, float("nan")]}},
     r"parameter StringZ:aLund: low and high must be finite numbers, got \[0\.3, nan\]"),
    ({"parameters": {"Tune:ee": [1, 7]}},
     r"parameter Tune:ee: Tune:ee is an integer \(mode\) Pythia setting, which Pythia truncates"),
    ({"analyses": ["ALEPH_1996_S3486095", "ALEPH_1996_S3486095"]},
     r"analyses must name each entry once, got \['ALEPH_1996_S3486095'\] more than once"),
    ({"batch": 5}, r"batch \(evaluations run at once\) must be <= budget \(4\), got 5"),
    ({"model_error": 5}, r"model_error is a fraction of each bin's value \(0\.05 for 5%\) and must be "
                         r"< 1, got 5"),
    ({"scouting": {"start_events": 100, "rmap": 3}}, r"scouting: unknown key\(s\) \['rmap'\]"),
    ({"scouting": {"start_events": 100, "ramp": -1}}, r"scouting: ramp must be >= 1, got -1"),
    ({"scouting": {"start_events": True}}, r"scouting must be \{start_events: N\}"),
    ({"scouting": {"start_events": 100, "ramp": 5}}, r"scouting: ramp .* must be <= budget \(4\), got 5"),
    ({"budget": 1}, r"budget must be >= 2 \(the tune is recommended from a surrogate fitted to the "
                    r"evaluations; one evaluation gives none\), got 1"),
    ({"uncertainty": "envelope"}, r"uncertainty must be one of \['posterior', 'jackknife'\], got 'envelope'"),
    ({"uncertainty": True}, r"uncertainty must be one of .*, got True"),
    ({"preset": ["ee_Z_hadrons_91.2"]}, r"preset must be one of \[.*\], got \['ee_Z_hadrons_91.2'\]"),
    # the generator's beams against the analyses' (Rivet's Beams and Energies)
    ({"preset": "pp_QCD_jets_13TeV"}, r"analysis ALEPH_1996_S3486095 measured collisions of beams "
                                      r"\[11, -11\] \(PDG ids\), but the generator collides "
                                      r"\[2212, 2212\] \(preset 'pp_QCD_jets_13TeV'\)"),
    ({"fixed": {"Beams:idB": 11}}, r"beams \[11, -11\] .* collides \[11, 11\] \(preset "
                                   r"'ee_Z_hadrons_91.2' with \{'Beams:idB': 11\}\)"),
    ({"fixed": {"Beams:eCM": 200.0}}, r"measured at sqrt\(s\) = \[91.2\] GeV, but the generator runs "
                                      r"at 200 GeV .* within 1%"),
    ({"fixed": {"Beams:frameType": 2, "Beams:eA": 100.0, "Beams:eB": 100.0}},
     r"measured at sqrt\(s\) = \[91.2\] GeV, but the generator runs at 200 GeV"),
    ({"sqrt_s": 200.0}, r"sqrt_s \(the energy the analyses scale momenta by\) must be the generator's "
                        r"centre-of-mass energy, 91.2 GeV \(preset 'ee_Z_hadrons_91.2'\), got 200"),
    ({"fixed": {"Beams:frameType": 4}}, r"settings do not fix the centre-of-mass energy .* give sqrt_s"),
    # counts: whole numbers, written as ints or as whole floats (1e6), nothing else
    ({"events": 1000.5}, r"events must be an integer, got 1000\.5"),
    ({"events": "1e6"}, r"events must be an integer, got '1e6'"),
    ({"budget": float("inf")}, r"budget must be an integer, got inf"),
    ({"scouting": {"start_events": 10.5}}, r"scouting must be \{start_events: N\}"),
    # Pythia's seed belongs to the tune's seed: a fixed one would be overridden in silence
    ({"fixed": {"Random:seed": 5}}, r"fixed must not set Pythia's seed: .* got \{'Random:seed': 5\}"),
    ({"fixed": {"random:SETSEED": "off"}}, r"fixed must not set Pythia's seed: .*'random:SETSEED'"),
    # settings that each pass but leave Pythia nothing to run: refused with Pythia's own reason,
    # not as every evaluation failing
    ({"preset": None, "fixed": {"Beams:idA": 11, "Beams:idB": -11, "Beams:eCM": 91.2}},
     r"the generator cannot start \(checked at the middle of the parameter ranges, "
     r"\{'StringZ:aLund': 0\.9, 'TimeShower:alphaSvalue': 0\.13\}\): Pythia failed to initialise "
     r".*: Error in ProcessLevel::init: no process switched on"),
])
def test_configuration_rules(tmp_path, change, match):
    with pytest.raises(ConfigError, match=match):  # what `run --dry-run` checks, in its order
        cfg = config_from_dict(_base(**change), tmp_path)
        prepare(cfg)
        check_generator(cfg)


def test_numbers_in_scientific_notation_read_as_numbers_and_whole_ones_count(tmp_path):
    """``events: 1e6`` is a number in YAML 1.2 but a string to PyYAML's YAML 1.1: a physicist's
    way of writing a million must not be refused as "got '1e6'"; a quoted '1e6' stays a string."""
    path = tmp_path / "sci.yaml"
    path.write_text("parameters:\n  StringZ:aLund: [3E-1, 1.5]\n  TimeShower:alphaSvalue: [1e-1, 0.16]\n"
                    "analyses: [ALEPH_1996_S3486095]\nevents: 1e6\nbudget: 4.0\nseed: 2e0\n"
                    "scouting: {start_events: 1e5, ramp: 2.0}\n"
                    "closure: {truth: {StringZ:aLund: 9e-1, TimeShower:alphaSvalue: 1.25e-1}, events: 4e6}\n")
    cfg = load_config(path)
    assert (cfg.events, cfg.budget, cfg.seed) == (1_000_000, 4, 2)
    assert all(type(v) is int for v in (cfg.events, cfg.budget, cfg.seed))
    assert cfg.scouting == {"start_events": 100_000, "ramp": 2}
    assert type(cfg.scouting["start_events"]) is int
    assert (cfg.parameters[0].low, cfg.parameters[1].low) == (0.3, 0.1)
    assert cfg.closure == {"truth": {"StringZ:aLund": 0.9, "TimeShower:alphaSvalue": 0.125},
                           "events": 4_000_000}
    path.write_text(path.read_text().replace("events: 1e6", "events: '1e6'"))
    with pytest.raises(ConfigError, match=r"events must be an integer, got '1e6'"):
        load_config(path)


def test_beams_and_energies_that_match_pass_and_set_the_analyses_energy(tmp_path):
    """Beams in either order, an energy within 1% of the data's or given per beam: accepted,
    and the analyses scale momenta by the energy the generator runs at."""
    for change, energy in (({}, 91.2), ({"sqrt_s": 91.2}, 91.2),
                           ({"fixed": {"Beams:idA": -11, "Beams:idB": 11, "Beams:eCM": 91.5}}, 91.5),
                           ({"fixed": {"Beams:frameType": 2, "Beams:eA": 45.6, "Beams:eB": 45.6}}, 91.2),
                           ({"fixed": {"Beams:frameType": 4}, "sqrt_s": 91.2}, 91.2)):
        cfg = config_from_dict(_base(**change), tmp_path)
        assert abs(cfg.sqrt_s - energy) < 1e-9, (change, cfg.sqrt_s)
        if cfg.fixed.get("Beams:frameType") == 4:  # beams from a Les Houches file: none given here
            with pytest.raises(ConfigError, match=r"the generator cannot start .*: Abort from "
                                                  r"BeamSetup::initFrame: Les Houches Event File "
                                                  r"not found"):
                check_generator(cfg)
            continue
        assert prepare(cfg).spec().sqrt_s == cfg.sqrt_s
        check_generator(cfg)


def test_an_empty_out_and_an_unreachable_scheduler_are_one_error_and_leave_nothing(
        tmp_path, cli_here, monkeypatch):
    """``--out ''`` wrote the tune into the working directory (and said "outputs in /"); a
    scheduler address nobody listens on ended in dask's traceback after creating the study, so
    the corrected command was refused as a resume."""
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(_base()))
    monkeypatch.chdir(tmp_path)
    r = cli_here(str(good), "--out", "")
    assert r.returncode == 2 and "--out must name a folder, got ''" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.yaml"]
    import dask
    import distributed  # noqa: F401  (its defaults first: set() would drop what it did not find)

    for dry in ([], ["--dry-run"]):  # a dry run said "configuration valid" to an address the run refused
        with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
            r = cli_here(str(good), "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:9", *dry)
        assert r.returncode == 2 and r.stderr.count("error:") == 1 and "Traceback" not in r.stderr
        assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in r.stderr
        assert "configuration valid" not in r.stdout and not (tmp_path / "o").exists()


def test_a_nan_in_a_hepdata_bin_is_refused_at_the_bin(tmp_path):
    from tuner.errors import RefDataError
    from tuner.mc.refdata import read_hepdata_yaml

    f = tmp_path / "Table1.yaml"
    f.write_text(yaml.safe_dump({
        "independent_variables": [{"header": {"name": "x"}, "values": [{"low": 0, "high": 1}]}],
        "dependent_variables": [{"header": {"name": "y"}, "values": [
            {"value": float("nan"), "errors": [{"symerror": 0.1}]}]}]}))
    with pytest.raises(RefDataError, match=r"dependent variable 1, bin 1: every bin needs a finite value"):
        read_hepdata_yaml(f)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_an_out_folder_is_probed_not_judged_by_its_permission_bits(tmp_path):
    # root passes os.access on /proc, where nothing can be made: a dry run said "valid" and
    # the real run then failed (another user is refused by the permission bits already); the
    # probe leaves nothing behind where it succeeds
    with pytest.raises(StorageError, match=r"cannot use /proc/tuner-out as the output folder: "
                                           r"(nothing can be created in /proc|/proc is not a)"):
        check_out_folder("/proc/tuner-out")
    check_out_folder(tmp_path / "new" / "deeper")
    assert list(tmp_path.iterdir()) == []


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd)


def test_cli_refuses_a_duplicate_yaml_key_workers_0_and_an_out_under_a_file(tmp_path, cli_here):
    cfg = tmp_path / "dup.yaml"
    cfg.write_text("parameters:\n  StringZ:aLund: [0.3, 1.5]\nanalyses: [ALEPH_1996_S3486095]\n"
                   "events: 1000\nevents: 2000\n")
    r = _cli(str(cfg), "--dry-run")
    assert r.returncode == 2 and r.stderr.count("error:") == 1
    assert "dup.yaml:5: the key 'events' is given twice" in r.stderr
    broken = tmp_path / "broken.yaml"  # an unclosed flow mapping: where, what, on one line
    broken.write_text("parameters: {StringZ:aLund: [0.3, 1.5]\nevents: 1000\n")
    r = cli_here(str(broken), "--dry-run")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert re.search(r"broken\.yaml:2:\d+: not valid YAML: .*\(while parsing a flow mapping from "
                     r"line 1, column 13\)$", r.stderr.strip())
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\x00\x01\xff\xfe parameters")
    r = cli_here(str(binary), "--dry-run")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "bin.yaml: cannot be read as a YAML (UTF-8 text) file" in r.stderr
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(_base()))
    r = cli_here(str(good), "--workers", "0", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "--workers must be >= 1, got 0" in r.stderr
    assert not (tmp_path / "o").exists()
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    for dry in ([], ["--dry-run"]):  # a dry run checks the folder too, and writes nothing
        r = cli_here(str(good), "--out", str(blocker / "sub"), *dry)
        assert r.returncode == 2 and r.stderr.count("error:") == 1 and "Traceback" not in r.stderr
        assert "cannot use" in r.stderr and blocker.read_text() == "x"
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    r = cli_here(str(good), "--out", str(tmp_path / "full"), "--dry-run")
    assert r.returncode == 2 and "is not empty and holds no study" in r.stderr
    r = cli_here(str(good), "--out", str(tmp_path / "new" / "deeper"), "--dry-run")
    assert r.returncode == 0 and not (tmp_path / "new").exists()
    r = cli_here("rescore", str(tmp_path), "--weight", "d01=abc")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_rescore_refuses_a_weight_that_names_no_histogram(embedded_tune, cli_here):
    """A mistyped --weight was ignored in silence; an empty pattern too."""
    out = embedded_tune[0]
    for bad, msg in (("d98-*=2", "weights: 'd98-*' matches none of the 6 selected histograms"),
                     ("=2", "--weight must be GLOB=W with a histogram name or glob, got '=2'"),
                     ("*=0", "every selected histogram has weight 0"),
                     ("d01-*=1", None)):
        r = cli_here("rescore", str(out), "--weight", bad)
        if msg is None:
            assert r.returncode == 0 and "rescored 10 evaluations" in r.stdout
        else:
            assert r.returncode == 2 and r.stderr.count("error:") == 1 and msg in r.stderr


def test_a_dry_run_resume_checks_the_study_as_the_resume_would_and_writes_nothing(embedded_tune, cli_here):
    """``run --dry-run --resume`` said "configuration valid" for a configuration whose
    evaluations differ from the study's, which the real resume then refused."""
    import dataclasses
    import hashlib

    from tuner.mc.workflow import TuneRun

    out, _, cfg = embedded_tune
    digest = hashlib.sha256((out / "study.db").read_bytes()).hexdigest()
    TuneRun.check_resumable(prepare(cfg), out)  # the same definition: resumable
    with pytest.raises(StorageError, match=r"made with other seed; a resumed tune must define"):
        TuneRun.check_resumable(prepare(dataclasses.replace(cfg, seed=cfg.seed + 1)), out)
    r = cli_here("run", "--default", "--resume", "--dry-run", "--out", str(out))
    assert r.returncode == 2 and "made with other closure, events" in r.stderr, r.stderr
    assert "configuration valid" not in r.stdout
    assert hashlib.sha256((out / "study.db").read_bytes()).hexdigest() == digest


def test_report_html_without_a_summary_refuses_before_redrawing_anything(embedded_tune, cli_here, tmp_path):
    """It redrew every plot first and then said the HTML report needs summary.json."""
    import shutil

    out, _, _ = embedded_tune
    copy = tmp_path / "tune"
    shutil.copytree(out, copy)
    (copy / "summary.json").unlink()
    shutil.rmtree(copy / "plots")
    r = cli_here("report", "--html", str(copy))
    assert r.returncode == 2 and "an HTML report needs a finished tune (its summary.json)" in r.stderr
    assert not (copy / "plots").exists()
