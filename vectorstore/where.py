"""The small metadata filter language both stores understand.

A filter is a dict of field -> value (equality) or field -> {"$in": [values]}; all must hold.
"""

from __future__ import annotations

from typing import Any


def matches(metadata: dict[str, Any], where: dict[str, Any] | None) -> bool:
    if not where:
        return True
    for key, cond in where.items():
        value = metadata.get(key)
        if isinstance(cond, dict):
            if "$in" in cond and value not in cond["$in"]:
                return False
        elif value != cond:
            return False
    return True


def to_chroma(where: dict[str, Any] | None) -> dict[str, Any] | None:
    """Chroma wants one condition per dict and an explicit $and for several."""
    if not where:
        return None
    parts = [{k: v} for k, v in where.items()]
    return parts[0] if len(parts) == 1 else {"$and": parts}
