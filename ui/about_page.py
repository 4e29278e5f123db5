"""The Over page: what the assistant is, what it stores and what leaves the machine (nothing, by default)."""

from __future__ import annotations

import logging

import streamlit as st

from praktijkkaart.settings import Settings
from ui.render import (
    domain,
    escape_markdown,
)
from ui.state import (
    INTRO,
    STORE_NOT_READY,
    current_settings,
    get_assistant,
    get_card,
)

log = logging.getLogger(__name__)

# --- Over ---------------------------------------------------------------------------------------

_STATUS_LABELS = {
    "version": "Versie van de index", "embedder": "Embeddingmodel", "created_at": "Gemaakt op",
    "ingested_at": "Ingelezen op", "chunks": "Aantal tekstdelen", "per_theme": "Tekstdelen per thema",
    "per_kind": "Tekstdelen per soort",
}


def _llm_leaves_machine(settings: Settings) -> bool:
    if settings.generation.provider == "openai":
        base = settings.generation.base_url or "https://api.openai.com"
        host = domain(base).split(":", 1)[0]
        return host not in {"localhost", "127.0.0.1", "::1", "[::1]"}
    return False


def about_page() -> None:
    settings = current_settings()
    card = get_card(str(settings.corpus_dir))
    st.title("Over deze assistent", anchor=False)
    st.markdown(INTRO)

    st.header("Bronnen", anchor=False)
    st.markdown(
        "De antwoorden komen uit de praktijkkaart *Welbevinden en gelijke kansen* van het Nationaal Programma "
        f"Onderwijs (NPO): {len(card.themes)} thema's, {len(card.items)} onderdelen en {len(card.links)} links "
        "naar achtergrondinformatie en tools. Het standaardantwoord bestaat alleen uit zinnen uit de praktijkkaart, "
        "met een genummerde bron bij elke suggestie. Op de pagina Bronnen lees je de hele kaart."
    )

    st.header("Privacy", anchor=False)
    lines = [
        "- De assistent draait op deze computer of server van de school; je vragen worden hier beantwoord.",
        "- Vragen met persoonsgegevens (zoals een BSN, e-mailadres, telefoonnummer, rekeningnummer of de naam "
        "van een leerling) worden niet verstuurd; je krijgt eerst de vraag ze weg te halen.",
        "- Als je feedback geeft (duim omhoog of omlaag), worden je vraag, het antwoord en je toelichting op deze "
        "computer bewaard, zonder je naam.",
        f"- Feedback en (als de beheerder het bijhouden van vragen heeft aangezet) de vragenlogboeken worden "
        f"automatisch verwijderd zodra ze ouder zijn dan {settings.privacy.retention_days} dagen: telkens wanneer de "
        "assistent start en na elke update van de index (`praktijkkaart ingest`, ook de nachtelijke). Een "
        "vragenlogboek beslaat één dag en verdwijnt zodra die hele dag ouder is dan de bewaartermijn. Eerder "
        "verwijderen kan de beheerder met `praktijkkaart forget --before JJJJ-MM-DD`.",
    ]
    if settings.privacy.log_questions:
        lines.append("- De beheerder heeft het bijhouden van vragen aangezet: vragen worden lokaal bewaard, "
                     "met persoonsgegevens weggehaald.")
    else:
        lines.append("- Vragen worden verder niet bewaard.")
    if _llm_leaves_machine(settings):
        lines.append("- Let op: de beheerder heeft een extern taalmodel ingesteld. Kies je de antwoordvorm "
                     "'Taalmodel', dan gaan je vraag en de gevonden tekst uit de praktijkkaart naar "
                     f"{escape_markdown(domain(settings.generation.base_url or 'https://api.openai.com'))}.")
    else:
        lines.append("- Er gaat niets naar internet: er worden geen gebruiksgegevens verzameld.")
    st.markdown("\n".join(lines))

    st.header("Versie van de index", anchor=False)
    assistant, error = get_assistant(settings)
    if assistant is None:
        st.warning(error or STORE_NOT_READY)
        return
    try:
        status = assistant.status()
    except Exception:
        log.exception("status failed")
        st.warning(STORE_NOT_READY)
        return
    rows = []
    for key, value in status.items():
        label = _STATUS_LABELS.get(key, key)
        shown = ", ".join(f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
        rows.append(f"- **{escape_markdown(label)}**: {escape_markdown(shown)}")
    st.markdown("\n".join(rows) if rows else "Geen gegevens over de index beschikbaar.")
