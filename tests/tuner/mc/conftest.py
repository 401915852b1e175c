"""Fixtures of the Monte Carlo tests."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest


@pytest.fixture
def cli_here(capsys) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``tune-generator`` run in this interpreter (the CLI's own ``main``, exit status and
    streams as a separate process would give them) for tests of what it refuses: the refusal
    comes before any event is generated, and a fresh interpreter costs seconds of imports. Tests
    of what a process does (signals, workers, exit on a kill) run the real command."""
    from tuner.mc.cli import main

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()
        code = 0
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out = capsys.readouterr()
        return subprocess.CompletedProcess(["tune-generator", *args], code, out.out, out.err)

    return run


@pytest.fixture(scope="session")
def embedded_tune(tmp_path_factory):
    """One finished tune of the embedded default at tiny event counts (the emulator strategy,
    10 evaluations of 600 events), shared by the tests that read a finished tune: its folder, the
    returned :class:`tuner.mc.recommend.TuneResult` and the configuration it ran. Tests may add
    files; none may change what is there."""
    import dataclasses

    from tuner.mc.config import default_config
    from tuner.mc.workflow import run_tune

    out = tmp_path_factory.mktemp("embedded") / "tune"
    cfg = dataclasses.replace(default_config(), strategy="emulator", events=600, budget=10, initial=4,
                              validation_events=600,
                              closure={**default_config().closure, "events": 3000})  # type: ignore[dict-item]
    return out, run_tune(cfg, out, workers=1, progress=False), cfg
