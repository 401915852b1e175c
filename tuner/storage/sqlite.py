"""Persistent studies in SQLite: every trial committed the moment it is asked or told.

A study file holds the search space, free-form metadata and one row per trial
(``pending`` -> ``complete`` | ``failed``). Reopening the file resumes: completed and failed trials
are read back, pending ones (in flight when the process died) are handed out again.
The process that owns the optimiser is the only writer; WAL journalling keeps readers (a notebook
looking at a running study) from blocking it, and a SIGKILL loses nothing that was committed.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from tuner.errors import StorageError
from tuner.space import Categorical, Space
from tuner.storage.base import Storage, Trial, mark_complete, mark_failed

__all__ = ["Study"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY,
    x TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'complete', 'failed')),
    y REAL,
    noise REAL,
    seed INTEGER,
    error TEXT,
    info TEXT,
    artifact BLOB,
    asked REAL NOT NULL,
    told REAL
);
"""


def _encode(space: Space, x: list[Any]) -> str:
    out = [d.index(v) if isinstance(d, Categorical) else v  # type: ignore[attr-defined]
           for d, v in zip(space.dimensions, x, strict=True)]
    return json.dumps(out)


def _decode(space: Space, s: str) -> list[Any]:
    raw = json.loads(s)
    return [d.categories[v] if isinstance(d, Categorical) else v
            for d, v in zip(space.dimensions, raw, strict=True)]


class Study(Storage):
    """A study file bound to one search space (the SQLite :class:`~tuner.storage.Storage`).

    Args:
        path: SQLite file; created (with its folder) if absent.
        space: The search space. An existing file must have been created with an equal space.
        meta: Metadata stored when the file is created (e.g. the optimiser's settings).
        create: Create the file if absent; ``False``: a missing, empty or foreign file is an error.

    Raises:
        StorageError: the file is not a study (missing or empty with ``create=False``, foreign,
            damaged, unreadable), or was created for a different space.
    """

    def __init__(self, path: str | Path, space: Space, meta: dict[str, Any] | None = None,
                 create: bool = True) -> None:
        self.path = Path(path)
        self.space = space
        if not create and (not self.path.is_file() or self.path.stat().st_size == 0):
            what = "is empty" if self.path.is_file() else "does not exist"
            raise StorageError(f"no study to open: {self.path} {what}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the folder of the study {self.path}: {exc}") from None
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path} is not a usable study file: {exc}") from None
        try:
            # look before writing anything: a foreign file is refused as it was
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if (tables or not create) and not {"meta", "trials"} <= tables:
                raise StorageError(f"{self.path} is an SQLite file but not a study (its tables: "
                                   f"{sorted(tables) or 'none'}; a study has meta and trials); "
                                   "nothing was changed in it")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            if create:
                self._create(space, meta)
            if self._db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("integrity check failed")
        except (sqlite3.Error, StorageError) as exc:
            self._db.close()
            if isinstance(exc, StorageError):
                raise
            raise StorageError(f"{self.path} is not a usable study file: {exc}") from None
        stored = self.get_meta("space")
        if stored is None:
            raise StorageError(f"{self.path} is not a study: it records no search space")
        elif Space.from_spec(stored) != space:
            diff = _space_diff(Space.from_spec(stored), space)
            raise StorageError(f"study {self.path} was created for a different search space ({diff}); "
                               "use a new storage path")

    def _create(self, space: Space, meta: dict[str, Any] | None) -> None:
        """Write the tables, the space and the metadata in one transaction, if not there yet.

        A reader opening the file meanwhile (a notebook, ``report``, a resume) sees either no
        study or a whole one, never the tables without the space; a kill loses the whole attempt.
        """
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                self._db.execute(statement)
            if self._db.execute("SELECT 1 FROM meta WHERE key = 'space'").fetchone() is None:
                for k, v in {"space": space.spec(), "created": time.time(), **(meta or {})}.items():
                    self.set_meta(k, v)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _sql(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """Run one statement; a damaged or read-only file is a :class:`StorageError`."""
        try:
            return self._db.execute(sql, args)
        except sqlite3.Error as exc:
            raise StorageError(f"study {self.path}: {exc} (while running: {sql.split()[0]})") from None

    # --- metadata --------------------------------------------------------------------------
    def set_meta(self, key: str, value: Any) -> None:
        self._sql("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self._sql("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    # --- trials ----------------------------------------------------------------------------
    def add(self, x: list[Any], seed: int | None = None) -> Trial:
        """Record a newly asked point as a pending trial and return it."""
        now = time.time()
        cur = self._sql("INSERT INTO trials (x, state, seed, asked) VALUES (?, 'pending', ?, ?)",
                               (_encode(self.space, x), seed, now))
        assert cur.lastrowid is not None
        return Trial(id=cur.lastrowid - 1, x=x, seed=seed, asked=now)

    def complete(self, trial: Trial, y: float, noise: float | None = None,
                 info: dict[str, Any] | None = None, artifact: bytes | None = None) -> None:
        """Commit a result."""
        mark_complete(trial, y, noise, info)
        self._sql(
            "UPDATE trials SET state='complete', y=?, noise=?, info=?, artifact=?, told=? WHERE id=?",
            (y, noise, json.dumps(trial.info), artifact, trial.told, trial.id + 1))

    def fail(self, trial: Trial, error: str | None = None, info: dict[str, Any] | None = None) -> None:
        """Commit a failure; the trial stays out of the model."""
        mark_failed(trial, error, info)
        self._sql("UPDATE trials SET state='failed', error=?, info=?, told=? WHERE id=?",
                         (error, json.dumps(trial.info), trial.told, trial.id + 1))

    def trials(self) -> list[Trial]:
        """All trials in the order they were asked."""
        rows = self._sql(
            "SELECT id, x, state, y, noise, seed, error, info, asked, told FROM trials ORDER BY id"
        ).fetchall()
        return [Trial(id=r[0] - 1, x=_decode(self.space, r[1]), state=r[2], y=r[3], noise=r[4],
                      seed=r[5], error=r[6], info=json.loads(r[7]) if r[7] else {}, asked=r[8],
                      told=r[9]) for r in rows]

    def artifact(self, trial_id: int) -> bytes | None:
        """The binary artifact stored with a trial (e.g. its filled histograms)."""
        row = self._sql("SELECT artifact FROM trials WHERE id = ?", (trial_id + 1,)).fetchone()
        return None if row is None else row[0]

    def update_info(self, trial_id: int, info: dict[str, Any], y: float | None = None) -> None:
        """Replace a trial's info (and value), e.g. after re-scoring stored histograms."""
        if y is None:
            self._sql("UPDATE trials SET info=? WHERE id=?", (json.dumps(info), trial_id + 1))
        else:
            self._sql("UPDATE trials SET info=?, y=? WHERE id=?",
                             (json.dumps(info), y, trial_id + 1))

    def close(self) -> None:
        self._db.close()


def _space_diff(stored: Space, given: Space) -> str:
    """The first differences between two spaces, on one line."""
    if stored.n_dims != given.n_dims:
        return (f"stored {stored.n_dims} dimensions {stored.dimension_names}, given "
                f"{given.n_dims} {given.dimension_names}")
    diffs = [f"dimension {i}: stored {a!r}, given {b!r}"
             for i, (a, b) in enumerate(zip(stored.dimensions, given.dimensions, strict=True)) if a != b]
    return "; ".join(diffs[:3]) + (f"; and {len(diffs) - 3} more" if len(diffs) > 3 else "")
