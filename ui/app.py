"""Entry point: `streamlit run ui/app.py` — the chat for school staff and its pages."""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run ui/app.py` puts ui/ on sys.path, not the repository root that holds the packages.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from praktijkkaart.retention import apply_retention_once  # noqa: E402
from praktijkkaart.settings import Settings, SettingsError, describe_settings_error  # noqa: E402
from ui import views  # noqa: E402
from ui.page_setup import FAVICON, page_helpers  # noqa: E402


def pages(settings: Settings) -> list[st.Page]:
    """The navigation. Beheer only when switched on: a page that is not listed has no URL either."""
    listed = [
        st.Page(views.chat_page, title="Chat", icon=":material/chat:", url_path="chat", default=True),
        st.Page(views.sources_page, title="Bronnen", icon=":material/menu_book:", url_path="bronnen"),
        st.Page(views.about_page, title="Over", icon=":material/info:", url_path="over"),
    ]
    if settings.app.beheer_page:
        listed.append(st.Page(views.beheer_page, title="Beheer", icon=":material/admin_panel_settings:",
                              url_path="beheer"))
    return listed


def main() -> None:
    st.set_page_config(page_title="Praktijkkaart-assistent", page_icon=str(FAVICON), layout="centered")
    try:
        settings = views.current_settings()
    except (ValidationError, SettingsError) as exc:  # a wrong PRAKTIJKKAART_* variable: say which, in Dutch
        st.error(f"De assistent kan niet starten. {describe_settings_error(exc)} Vraag de beheerder dit aan te passen.")
        st.stop()
    apply_retention_once(settings)  # old feedback and logs go at app start, without a command
    page_helpers()
    page = st.navigation(pages(settings))
    page.run()


main()
