"""Who owns a tune's output folder and study: fingerprints, locks, refused resumes, damaged files."""

from __future__ import annotations

import dataclasses
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tuner.errors import StorageError
from tuner.mc.config import default_config
from tuner.mc.setup import prepare
from tuner.mc.workflow import TuneRun

CLI = [sys.executable, "-m", "tuner.mc.cli"]


def _cfg(**change):
    cfg = default_config()
    cfg = dataclasses.replace(cfg, events=300, budget=3, validation_events=300,
                              closure={**cfg.closure, "events": 300})  # type: ignore[arg-type]
    return dataclasses.replace(cfg, **change)


def _created(out: Path, **change) -> Path:
    """A study made by TuneRun.open (pseudo-data, config, fingerprint; no evaluation)."""
    TuneRun.open(prepare(_cfg(**change)), out).close()
    return out


def _snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file() and p.name != ".lock"}


@pytest.mark.parametrize("change, named", [
    ({"histograms": ["d01-*"]}, "histograms"),
    ({"events": 400}, "events"),
    ({"weights": {"d01-*": 2.0}}, "weights"),
    ({"closure_truth": 0.8}, "closure"),
    ({"fixed": {"StringPT:sigma": 0.3}}, "fixed settings"),
])
def test_resume_with_another_definition_is_refused_and_nothing_written(tmp_path, change, named):
    out = _created(tmp_path / "o")
    before = _snapshot(out)
    if "closure_truth" in change:
        base = _cfg()
        change = {"closure": {**base.closure, "truth": {**base.closure["truth"],  # type: ignore[index]
                                                         "StringZ:aLund": change["closure_truth"]}}}
    with pytest.raises(StorageError, match=f"made with other .*{named}"):
        TuneRun.open(prepare(_cfg(**change)), out, resume=True)
    assert _snapshot(out) == before  # config.json, pseudodata.yoda and study.db untouched


def test_resume_with_the_same_definition_and_a_larger_budget_is_accepted(tmp_path):
    out = _created(tmp_path / "o")
    run = TuneRun.open(prepare(_cfg(budget=9)), out, resume=True)
    assert run.setup.data.keys() <= run.setup.refs.keys() and run.setup.data
    run.close()


def test_a_study_of_the_previous_release_adopts_the_fingerprint(tmp_path):
    out = _created(tmp_path / "o")
    with sqlite3.connect(out / "study.db") as db:
        db.execute("DELETE FROM meta WHERE key = 'fingerprint'")
    TuneRun.open(prepare(_cfg()), out, resume=True).close()
    with sqlite3.connect(out / "study.db") as db:
        assert db.execute("SELECT count(*) FROM meta WHERE key = 'fingerprint'").fetchone()[0] == 1


def test_a_fresh_run_refuses_a_folder_with_files_but_no_study(tmp_path):
    out = _created(tmp_path / "o")
    (out / "study.db").unlink()  # an old pseudodata.yoda and config.json stay
    before = _snapshot(out)
    with pytest.raises(StorageError, match="not empty and holds no study"):
        TuneRun.open(prepare(_cfg()), out)
    assert _snapshot(out) == before


@pytest.mark.parametrize("prepare_folder, match", [
    (lambda out: None, "nothing to resume"),                                  # no folder at all
    (lambda out: (out.mkdir(), (out / "study.db").write_bytes(b"")), "is empty"),
    (lambda out: (out.mkdir(), (out / "study.db").write_bytes(b"SQLite format 3\x00" + bytes(4080))),
     "not a usable study file"),
    (lambda out: (out.mkdir(), sqlite3.connect(out / "study.db").execute("CREATE TABLE x (a)")),
     "not a study"),
])
def test_a_missing_empty_or_foreign_study_is_one_clear_error(tmp_path, prepare_folder, match):
    out = tmp_path / "o"
    prepare_folder(out)
    with pytest.raises(StorageError, match=match):
        TuneRun.open(prepare(_cfg()), out, resume=True)


def test_a_damaged_study_is_a_clear_error_from_the_cli(tmp_path, cli_here):
    out = _created(tmp_path / "o")
    raw = bytearray((out / "study.db").read_bytes())
    raw[100:] = bytes(len(raw) - 100)  # zero every page after the header
    (out / "study.db").write_bytes(bytes(raw))
    r = cli_here("--default", "--out", str(out), "--resume")
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("error:") == 1 and "Traceback" not in r.stderr
    assert "study" in r.stderr


def test_a_second_process_on_the_same_folder_is_locked_out(tmp_path):
    out = _created(tmp_path / "o")
    first = TuneRun.open(prepare(_cfg()), out, resume=True)
    try:
        r = subprocess.run([*CLI, "--default", "--out", str(out), "--resume"], capture_output=True,
                           text=True)
        assert r.returncode == 2 and "another process is running a tune" in r.stderr, r.stderr
    finally:
        first.close()


def _children(pid: int) -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if int((p / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(p.name))
            except (OSError, IndexError, ValueError):
                pass
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_die_with_the_cli(tmp_path):
    proc = subprocess.Popen([*CLI, "--default", "--out", str(tmp_path / "o"), "--workers", "2",
                             "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    workers: list[int] = []
    while time.time() < deadline and len(workers) < 2:
        time.sleep(0.5)
        workers = [c for c in _children(proc.pid) if b"loky" in Path(f"/proc/{c}/cmdline").read_bytes()
                   or b"tuner" in Path(f"/proc/{c}/cmdline").read_bytes()]
    assert workers, "no worker process started"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 30
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.5)
    alive = {w: Path(f"/proc/{w}/cmdline").read_bytes()[:200] for w in workers if _alive(w)}
    assert not alive
