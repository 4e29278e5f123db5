"""Retrieval and grounded Dutch answers. `from assistant import answer, build_assistant, as_langchain_retriever`.

Imports are lazy so that importing the package does no work (models load on first use).
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "Assistant":
        from assistant import core

        return core.Assistant
    if name in ("answer", "build_assistant"):
        from assistant import wiring

        return getattr(wiring, name)
    if name == "as_langchain_retriever":
        from assistant import langchain_retriever

        return langchain_retriever.as_langchain_retriever
    raise AttributeError(name)
