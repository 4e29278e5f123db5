"""The assistant's retrieval as a LangChain `BaseRetriever`, for users who build their own chain or agent.

It calls the assistant's own `retrieve()` (hybrid search, theme choice, the answer's ordering, the privacy
policy and the filters), so a chain sees the same passages the assistant would answer from. Nothing loads
when the retriever is built: the Assistant (one per settings, shared with `assistant.answer()`) and its
models are made on the first query.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.types import Filters, Passage
from praktijkkaart.settings import Settings


def passage_document(passage: Passage) -> Document:
    """A Passage as a Document: its text, and everything needed to cite it in the metadata (plain JSON types)."""
    return Document(
        id=passage.id,
        page_content=passage.text,
        metadata={
            "theme": passage.effective_theme,  # a linked resource counts for the theme of the item linking it
            "theme_title": passage.theme_title,
            "kind": passage.kind,
            "item_id": passage.item_id,
            "parent_item_id": passage.parent_item_id,
            "location": passage.location,
            "heading": passage.heading,
            "links": [{"url": lk.url, "title": lk.title, "dead": lk.dead} for lk in passage.links],
            "school_type": passage.school_type,
            "source_url": passage.source_url,
            "score": round(float(passage.score), 6),
        },
    )


class PraktijkkaartRetriever(BaseRetriever):
    """Passages of the NPO-praktijkkaart (and its linked resources) for a question, best first."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    settings: Settings
    k: int | None = None  # default: settings.retrieval.top_k
    filters: Filters | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun  # noqa: ARG002 - LangChain's interface
    ) -> list[Document]:
        from assistant.wiring import _KEPT

        passages = _KEPT.get(self.settings).retrieve(query, k=self.k, filters=self.filters)
        return [passage_document(p) for p in passages]


def as_langchain_retriever(settings: Settings | None = None, *, k: int | None = None,
                           filters: Filters | None = None, **kwargs: Any) -> PraktijkkaartRetriever:
    """`retriever = as_langchain_retriever(settings)`; `retriever.invoke("vraag")` gives LangChain Documents.

    `kwargs` go to BaseRetriever (tags, metadata)."""
    return PraktijkkaartRetriever(settings=settings or Settings(), k=k, filters=filters, **kwargs)
