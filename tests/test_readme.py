from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command_word_for_word():
    readme = ROOT.joinpath("README.md").read_text()
    ci_cmd = [line for line in ROOT.joinpath(".ci/run").read_text().splitlines()
              if "pytest" in line and not line.startswith("#")]
    assert len(ci_cmd) == 1
    blocks = readme.split("```bash")[1:3]
    assert "tune-generator" in blocks[0]  # first: install + main job
    assert ci_cmd[0].strip() in blocks[1]  # second: install + tests, the exact CI line
