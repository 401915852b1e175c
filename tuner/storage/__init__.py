"""Trial state, owned by one storage: every change of a trial goes through a :class:`Storage`.

:class:`InMemoryStorage` (no file) and :class:`Study` (SQLite: every ask and tell committed, a
study file resumes) implement the same protocol; the optimiser holds one of them and never changes
a trial itself.
"""

from __future__ import annotations

from tuner.storage.base import InMemoryStorage, Storage, Trial, plain_json
from tuner.storage.sqlite import Study

__all__ = ["InMemoryStorage", "Storage", "Study", "Trial", "plain_json"]
