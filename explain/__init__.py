"""Explaining trained jet taggers in the language of physics observables (work in progress)."""

from __future__ import annotations

__all__: list[str] = []
