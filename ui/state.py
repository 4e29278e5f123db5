"""What the pages share: the settings, the cached assistant and card, and the fixed Dutch texts."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import streamlit as st

from assistant.core import Assistant
from assistant.wiring import build_assistant
from corpus.model import Card, load_card
from praktijkkaart.settings import Settings
from vectorstore.base import StoreError

log = logging.getLogger(__name__)

INTRO = (
    "Deze assistent vat de NPO-praktijkkaart *Welbevinden en gelijke kansen* voor je samen, met de bronnen "
    "erbij. Hij geeft geen individueel advies over een leerling en kent je leerlingen niet."
)

# One example question per theme, plus one about the card itself.
EXAMPLES: tuple[str, ...] = (
    "Hoe hangt welbevinden samen met gelijke kansen op school?",
    "Hoe betrekken we ouders die slecht Nederlands spreken?",
    "Welke interventies helpen nieuwkomers zich welkom te voelen?",
    "Hoe begeleiden we leerlingen goed bij de overstap van groep 8 naar het vo?",
    "Wat kan ik als leraar dagelijks doen om kansengelijkheid te vergroten?",
    "Voor wie is deze praktijkkaart bedoeld?",
)

STORE_NOT_READY = (
    "De zoekindex van de praktijkkaart is nog niet klaar of niet bereikbaar, dus de assistent kan nu geen "
    "vragen beantwoorden. Vraag de beheerder om `praktijkkaart ingest` uit te voeren (en `praktijkkaart doctor` "
    "voor meer uitleg). Intussen kun je de praktijkkaart zelf lezen op de pagina Bronnen."
)
ANSWER_FAILED = (
    "Er ging iets mis bij het beantwoorden van je vraag. Probeer het nog eens; blijft het misgaan, "
    "meld het dan bij de beheerder."
)
DEAD_LINK = "deze link werkte bij de laatste controle niet"
SCHOOL_LABELS = {"beide": "Beide", "po": "PO", "vo": "VO"}
MODE_LABELS = {"extractive": "Samengesteld uit de praktijkkaart", "llm": "Taalmodel"}



# --- shared resources ---------------------------------------------------------------------------


def current_settings() -> Settings:
    """The settings from the environment, read once per distinct PRAKTIJKKAART_* environment."""
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("PRAKTIJKKAART_")))
    return _settings_for(env)


@st.cache_resource(show_spinner=False)
def _settings_for(env: tuple[tuple[str, str], ...]) -> Settings:  # noqa: ARG001 - the cache key
    return Settings()


@st.cache_resource(show_spinner="De praktijkkaart-assistent wordt geladen…")
def _assistant_for(key: str, _settings: Settings) -> Assistant:  # noqa: ARG001 - `key` is the cache key
    assistant = build_assistant(_settings)
    assistant.warm()
    return assistant


def get_assistant(settings: Settings) -> tuple[Assistant | None, str | None]:
    """The warm, shared assistant, or None and a Dutch message when the store is not ready."""
    try:
        return _assistant_for(settings.model_dump_json(), settings), None
    except StoreError as exc:  # the failure is not cached, so the next rerun tries again
        log.warning("store not ready: %s", exc)
        return None, f"{exc} Intussen kun je de praktijkkaart zelf lezen op de pagina Bronnen."
    except Exception:
        log.exception("assistant could not be loaded")
        return None, STORE_NOT_READY


@st.cache_resource(show_spinner=False)
def get_card(corpus_dir: str) -> Card:
    return load_card(Path(corpus_dir))
