"""User analyses as plug-ins: modules or ``.py`` files imported in every process that fills.

A configuration names them (``plugins: [my_analyses.py, mypkg.analyses]``); each is imported once
per process (the tune's and every worker's, local or Dask), where its ``@register`` decorators add
its analyses to :data:`tuner.mc.analyses.ANALYSES`. A plug-in file defines analyses as the built-in
ones do (see :class:`tuner.mc.analyses.Analysis` and ``examples/plugins/example_nch.py``).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path

from tuner.errors import ConfigError

__all__ = ["load_plugins", "plugin_digest"]

_LOADED: set[str] = set()


def _module_name(path: Path) -> str:
    return "tuner_plugin_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]


#: endings of files that are not Python modules, which a plug-in entry names by mistake
_NOT_MODULES = {".yaml", ".yml", ".json", ".txt", ".yoda", ".cmnd", ".cfg", ".ini", ".pyc", ".ipynb"}


def _import_file(path: Path) -> None:
    """Import a plug-in file as a module of its own (named after its resolved path)."""
    name = _module_name(path)
    mspec = importlib.util.spec_from_file_location(name, path)
    assert mspec is not None and mspec.loader is not None
    module = importlib.util.module_from_spec(mspec)
    sys.modules[name] = module
    try:
        mspec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise


def load_plugins(plugins: Iterable[str]) -> None:
    """Import every plug-in not yet imported in this process.

    Args:
        plugins: ``.py`` file paths (absolute, or relative to the working directory) or module
            names.

    Raises:
        ConfigError: a missing file or module, or one that fails to import (its error quoted).
    """
    for spec in plugins:
        if spec in _LOADED:
            continue
        is_file = spec.endswith(".py")
        if is_file and not Path(spec).is_file():
            raise ConfigError(f"plug-in file not found: {spec}")
        if not is_file and ("/" in spec or "\\" in spec or Path(spec).suffix.lower() in _NOT_MODULES):
            raise ConfigError(f"plug-ins are Python files (.py) or importable module names, got {spec!r}")
        try:
            if is_file:
                _import_file(Path(spec))
            else:
                importlib.import_module(spec)
        except ConfigError as exc:  # register's: an analysis that breaks the contract
            raise ConfigError(f"plug-in {spec}: {exc}") from None
        except Exception as exc:
            raise ConfigError(f"plug-in {spec} failed to import: {type(exc).__name__}: {exc}") from None
        _LOADED.add(spec)


def plugin_digest(plugins: Iterable[str]) -> list[list[str]]:
    """What the plug-ins are, for a study's fingerprint: each file's content digest, or the module
    name."""
    out = []
    for spec in plugins:
        if spec.endswith(".py") and Path(spec).is_file():
            out.append([Path(spec).name, hashlib.sha256(Path(spec).read_bytes()).hexdigest()[:16]])
        else:
            out.append([spec, "module"])
    return out
