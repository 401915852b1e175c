"""User analyses as plug-ins: named in the configuration, registered in every worker process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuner.errors import ConfigError
from tuner.mc.config import config_from_dict
from tuner.mc.workflow import run_tune
from tuner.storage import Study

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _config(**change):
    d = {"parameters": {"StringZ:aLund": [0.3, 1.5]}, "analyses": ["EXAMPLE_NCH"],
         "plugins": ["plugins/example_nch.py"], "refdata": ["plugins/EXAMPLE_NCH.yoda"],
         "events": 500, "budget": 3, "initial": 2, "seed": 5, "validation_events": 500,
         "start_at_default": False}
    d.update(change)
    return config_from_dict(d, EXAMPLES)


def test_a_plugin_analysis_tunes_on_two_worker_processes(tmp_path):
    res = run_tune(_config(), tmp_path / "o", workers=2, progress=False)
    assert res.n_evaluations == 3 and res.n_failed == 0
    trials = Study(tmp_path / "o" / "study.db", __import__("tuner").Space(
        [__import__("tuner").Real(0.3, 1.5, name="StringZ:aLund")])).trials()
    assert all(t.state == "complete" and "EXAMPLE_NCH/d01-x01-y01" in t.info["per_hist"] for t in trials)
    assert res.validation.tune.nbins > 10


def test_plugin_errors_name_the_plugin(tmp_path):
    with pytest.raises(ConfigError, match=r"plug-in file not found: .*nope\.py"):
        _config(plugins=["nope.py"])
    bad = tmp_path / "bad_plugin.py"
    bad.write_text("raise RuntimeError('half-written analysis')\n")
    with pytest.raises(ConfigError, match=r"plug-in .*bad_plugin\.py failed to import: RuntimeError: "
                                          r"half-written analysis"):
        _config(plugins=[str(bad)])
    with pytest.raises(ConfigError, match=r"plug-ins are Python files \(\.py\) or importable module names, "
                                          r"got '.*tune\.yaml'"):
        _config(plugins=[str(tmp_path / "tune.yaml")])
    with pytest.raises(ConfigError, match=r"unknown analysis 'EXAMPLE_NCH2'"):
        _config(analyses=["EXAMPLE_NCH2"])


_SOURCE = (EXAMPLES / "plugins" / "example_nch.py").read_text()


@pytest.mark.parametrize("change, match", [
    (("def fill(self", "def fill_all(self"), r"analysis EXAMPLE_NCH: implement \['fill'\] \(the class is "
                                             r"still abstract\)"),
    (('= {"d01-x01-y01": HistSpec("density", 2.0)}', "= {}"),
     r"analysis EXAMPLE_NCH: HISTOS must map each histogram's name to a HistSpec \(at least one\), got \{\}"),
    (('name: ClassVar[str] = "EXAMPLE_NCH"', 'name: ClassVar[str] = "ALEPH_1996_S3486095"'),
     r"analysis name 'ALEPH_1996_S3486095' is taken by tuner.mc.analyses.lep.ALEPH_1996_S3486095; "
     r"tuner_plugin_\w+.EXAMPLE_NCH needs a name of its own"),
    (('name: ClassVar[str] = "EXAMPLE_NCH"', 'name: ClassVar[str] = "EXAMPLE NCH"'),
     r"analysis class EXAMPLE_NCH: name must be letters, digits and underscores .* got 'EXAMPLE NCH'"),
])
def test_a_plugin_analysis_that_breaks_the_contract_is_refused_at_import(tmp_path, change, match):
    """An unimplemented fill ended in a TypeError at the first evaluation, a built-in's name was
    taken over in silence, an empty HISTOS or a name with a blank gave a misleading error later."""
    plugin = tmp_path / "broken.py"
    plugin.write_text(_SOURCE.replace(*change))
    with pytest.raises(ConfigError, match=rf"plug-in .*broken\.py: {match}"):
        _config(plugins=[str(plugin)])


def test_a_plugin_analysis_tunes_on_a_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        # the workers are fresh processes: only the configuration's plug-in list teaches them
        # EXAMPLE_NCH, imported there before their first fill
        res = run_tune(_config(), tmp_path / "o", scheduler=cluster.scheduler_address, progress=False)
        with distributed.Client(cluster) as client:
            loaded = client.run(lambda: sorted(__import__("tuner.mc.analyses", fromlist=["ANALYSES"])
                                               .ANALYSES))
    assert res.n_evaluations == 3 and res.n_failed == 0
    assert any("EXAMPLE_NCH" in names for names in loaded.values())  # imported in a worker


def test_a_tune_whose_every_evaluation_fails_says_why(tmp_path):
    """A plug-in whose fill raises: each evaluation is recorded failed, and the tune's one error
    quotes the first failure (it said only 'no successful evaluation')."""
    from tuner.errors import TunerError

    plugin = tmp_path / "raising.py"  # an analysis of its own name: EXAMPLE_NCH is the example's
    plugin.write_text(_SOURCE.replace("EXAMPLE_NCH", "RAISING_NCH").replace(
        "def fill(self, batch: EventBatch) -> None:",
        "def fill(self, batch: EventBatch) -> None:\n        raise ValueError('a fill that breaks')"))
    ref = tmp_path / "RAISING_NCH.yoda"
    example_ref = (EXAMPLES / "plugins" / "EXAMPLE_NCH.yoda").read_text()
    ref.write_text(example_ref.replace("EXAMPLE_NCH", "RAISING_NCH"))
    cfg = _config(plugins=[str(plugin)], analyses=["RAISING_NCH"], refdata=[str(ref)])
    with pytest.raises(TunerError, match=r"no successful evaluation \(3 failed; the first: ValueError: "
                                         r"a fill that breaks\): nothing to recommend"):
        run_tune(cfg, tmp_path / "o", workers=1, progress=False)
    trials = Study(tmp_path / "o" / "study.db", __import__("tuner").Space(
        [__import__("tuner").Real(0.3, 1.5, name="StringZ:aLund")]), create=False).trials()
    assert [t.state for t in trials] == ["failed"] * 3
