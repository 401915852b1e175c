"""The trial record and the storage protocol that owns every change of a trial's state.

A trial goes ``pending`` (asked) -> ``complete`` (told a value) | ``failed`` (told ``None``).
Only a storage changes a trial: :meth:`Storage.add`, :meth:`Storage.complete`,
:meth:`Storage.fail` and :meth:`Storage.update_info`; everybody else reads.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

__all__ = ["InMemoryStorage", "Storage", "Trial", "plain_json"]


def plain_json(value: Any) -> Any:
    """``value`` with numpy (or torch) scalars and arrays turned into Python numbers and lists,
    tuples into lists and dict keys into strings, recursively: what an objective computed with
    numpy reports (``{"acc": np.float32(0.9)}``) is kept in memory as the plain JSON the study
    stores and reads back. Anything else is returned as it is (the caller's JSON check then names
    it)."""
    if isinstance(value, dict):  # keys as JSON keeps them, strings (``{np.int64(3): x}`` -> ``"3"``)
        return {k if isinstance(k, str) else str(plain_json(k)): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays, torch tensors
    if callable(tolist) and type(value).__module__.split(".")[0] in ("numpy", "torch"):
        return plain_json(tolist())
    return value


@dataclass
class Trial:
    """One evaluation of the objective.

    Attributes:
        id: Trial number, from 0, in the order asked.
        x: The point, in user space.
        state: ``"pending"``, ``"complete"`` or ``"failed"``.
        y: Objective value (complete trials).
        noise: Known noise variance of ``y``, if given.
        seed: Seed handed to the evaluation.
        error: Why it failed (failed trials).
        info: JSON-able extra results (e.g. a per-histogram chi2 breakdown).
        asked: Unix time it was asked.
        told: Unix time it was told.
    """

    id: int
    x: list[Any]
    state: str = "pending"
    y: float | None = None
    noise: float | None = None
    seed: int | None = None
    error: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    asked: float = 0.0
    told: float | None = None

    @property
    def duration(self) -> float | None:
        return None if self.told is None else self.told - self.asked


def mark_complete(trial: Trial, y: float, noise: float | None, info: dict[str, Any] | None) -> None:
    """Update a trial record for a result (for :class:`Storage` implementations)."""
    trial.state, trial.y, trial.noise, trial.told = "complete", y, noise, time.time()
    trial.info = dict(info or {})


def mark_failed(trial: Trial, error: str | None, info: dict[str, Any] | None) -> None:
    """Update a trial record for a failure (for :class:`Storage` implementations)."""
    trial.state, trial.error, trial.told = "failed", error, time.time()
    trial.info = dict(info or {})


class Storage(ABC):
    """Where trials live. Implementations: :class:`InMemoryStorage`, :class:`~tuner.storage.Study`.

    Contract: trial ids are 0, 1, 2, ... in the order :meth:`add` was called; :meth:`trials`
    returns the records in that order; :meth:`complete` and :meth:`fail` are called once per
    trial, on a pending one, and update the record passed in as well as the stored one (the
    optimiser keeps references). Metadata values are JSON-able.
    """

    @abstractmethod
    def add(self, x: list[Any], seed: int | None = None) -> Trial:
        """Record a newly asked point as a pending trial and return it."""

    @abstractmethod
    def complete(self, trial: Trial, y: float, noise: float | None = None,
                 info: dict[str, Any] | None = None, artifact: bytes | None = None) -> None:
        """Commit a result."""

    @abstractmethod
    def fail(self, trial: Trial, error: str | None = None, info: dict[str, Any] | None = None) -> None:
        """Commit a failure."""

    @abstractmethod
    def trials(self) -> list[Trial]:
        """All trials in the order they were asked."""

    @abstractmethod
    def artifact(self, trial_id: int) -> bytes | None:
        """The binary artifact stored with a trial, or ``None``."""

    @abstractmethod
    def update_info(self, trial_id: int, info: dict[str, Any], y: float | None = None) -> None:
        """Replace a trial's info (and value), e.g. after re-scoring stored histograms."""

    @abstractmethod
    def set_meta(self, key: str, value: Any) -> None:
        """Store a metadata value."""

    @abstractmethod
    def get_meta(self, key: str, default: Any = None) -> Any:
        """A metadata value, or ``default``."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the storage's resources."""


class InMemoryStorage(Storage):
    """Trials in a list: the storage of an optimiser without a study file."""

    def __init__(self) -> None:
        self._trials: list[Trial] = []
        self._artifacts: dict[int, bytes] = {}
        self._meta: dict[str, Any] = {}

    def add(self, x: list[Any], seed: int | None = None) -> Trial:
        trial = Trial(id=len(self._trials), x=x, seed=seed, asked=time.time())
        self._trials.append(trial)
        return trial

    def complete(self, trial: Trial, y: float, noise: float | None = None,
                 info: dict[str, Any] | None = None, artifact: bytes | None = None) -> None:
        mark_complete(trial, y, noise, info)
        if artifact is not None:
            self._artifacts[trial.id] = artifact

    def fail(self, trial: Trial, error: str | None = None, info: dict[str, Any] | None = None) -> None:
        mark_failed(trial, error, info)

    def trials(self) -> list[Trial]:
        return list(self._trials)

    def artifact(self, trial_id: int) -> bytes | None:
        return self._artifacts.get(trial_id)

    def update_info(self, trial_id: int, info: dict[str, Any], y: float | None = None) -> None:
        t = self._trials[trial_id]
        t.info = dict(info)
        if y is not None:
            t.y = y

    def set_meta(self, key: str, value: Any) -> None:
        self._meta[key] = value

    def get_meta(self, key: str, default: Any = None) -> Any:
        return self._meta.get(key, default)
