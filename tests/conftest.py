from __future__ import annotations

import os
from pathlib import Path

import pytest

# keep torch from oversubscribing the 2 CI cores when tests spawn workers
os.environ.setdefault("OMP_NUM_THREADS", "1")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REFDATA = SHARED / "refdata"


@pytest.fixture(scope="session")
def refdata() -> Path:
    if not REFDATA.is_dir():
        pytest.skip(f"reference data not found at {REFDATA}")
    return REFDATA
