from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

# keep torch from oversubscribing the 2 CI cores when tests spawn workers
os.environ.setdefault("OMP_NUM_THREADS", "1")

# the measurements shipped inside the package (a clone needs nothing outside the repository)
REFDATA = Path(__file__).resolve().parents[1] / "tuner" / "mc" / "analyses" / "data"


@pytest.fixture(autouse=True)
def _seed_global_rngs(request):
    """Each test draws the same numbers from numpy's and torch's global generators whatever ran
    before it in its process (pytest-xdist shares processes between tests in no fixed order):
    both are seeded from the test's id."""
    import sys
    import zlib

    seed = zlib.crc32(request.node.nodeid.encode())
    np.random.seed(seed)
    if "torch" in sys.modules:  # a test that imports torch first gets torch's fixed start seed
        sys.modules["torch"].manual_seed(seed)


@pytest.fixture(autouse=True)
def _close_figures():
    """Each test starts without open matplotlib figures (and leaves none behind)."""
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


class Examples:
    """Runs the scripts of ``examples/`` as a user would: a fresh interpreter, the repository on the path."""

    root = Path(__file__).resolve().parents[1]

    def argv(self, script: str, *args: object) -> list[str]:
        import sys

        return [sys.executable, str(self.root / "examples" / script), *map(str, args)]

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(self.root)}

    def run(self, script: str, *args: object, timeout: int = 400):
        import subprocess

        return subprocess.run(
            self.argv(script, *args),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
            cwd=self.root,
        )


@pytest.fixture(scope="session")
def examples() -> Examples:
    return Examples()


@pytest.fixture(scope="session")
def refdata() -> Path:
    assert (REFDATA / "ALEPH_1996_S3486095.yoda").is_file(), f"shipped reference data missing in {REFDATA}"
    return REFDATA


# ---------------------------------------------------------------- a small real W vs QCD jet sample
# generated once per session; the explain notebook and the HPO script read the same cache

N_PER_CLASS = 300
OBS_NAMES = ["mass", "tau21", "tau32", "D2", "C2", "n_constituents", "dR_subjets"]


@dataclass
class Data:
    cache: Path
    sample: object
    images: np.ndarray
    obs: dict
    x_obs: np.ndarray
    label: np.ndarray
    train: np.ndarray
    val: np.ndarray
    names: list


@pytest.fixture(scope="session")
def jet_cache(tmp_path_factory) -> Path:
    """One jet cache for the whole run: under pytest-xdist the workers share it (the folder above
    each worker's own), so the sample is generated once."""
    if os.environ.get("EXPLAIN_TEST_CACHE"):
        return Path(os.environ["EXPLAIN_TEST_CACHE"])
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent / "jets"
        shared.mkdir(exist_ok=True)
        return shared
    return tmp_path_factory.mktemp("jets")


@pytest.fixture(scope="session")
def jets(jet_cache) -> Data:
    from filelock import FileLock

    from explain import jet_images, jet_observables, load_or_generate

    with FileLock(str(jet_cache / ".generating.lock")):  # one xdist worker generates, the others read
        sample = load_or_generate(N_PER_CLASS, cache_dir=jet_cache, seed=1, n_jobs=2)
    obs = jet_observables(sample)
    x_obs = np.nan_to_num(np.stack([obs[k] for k in OBS_NAMES], 1)).astype(np.float32)
    idx = np.arange(len(sample))
    return Data(
        jet_cache,
        sample,
        jet_images(sample),
        obs,
        x_obs,
        sample.label,
        idx[: len(idx) * 3 // 4],
        idx[len(idx) * 3 // 4 :],
        OBS_NAMES,
    )


def _trained(model, x, jets, epochs):
    from explain import train_tagger

    t, v = jets.train, jets.val
    res = train_tagger(
        model, x[t], jets.label[t], x[v], jets.label[v], epochs=epochs, lr=3e-3, seed=0, device="cpu"
    )
    return model, res


@pytest.fixture(scope="session")
def trained_cnn(jets):
    from explain import JetImageCNN

    return _trained(JetImageCNN(channels=8, dense=32).float(), jets.images, jets, epochs=8)


@pytest.fixture(scope="session")
def trained_dnn(jets):
    from explain import ObservableDNN

    return _trained(
        ObservableDNN.for_data(jets.x_obs[jets.train], hidden=(32, 16)).float(), jets.x_obs, jets, epochs=15
    )
