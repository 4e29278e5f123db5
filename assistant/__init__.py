"""Retrieval and grounded Dutch answers. `from assistant import answer, Assistant`.

Imports are lazy so that importing the package does no work (models load on first use).
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("Assistant", "answer"):
        from assistant import core

        return getattr(core, name)
    raise AttributeError(name)
