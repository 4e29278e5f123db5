"""What every page gets: the local favicon, Dutch as the page language (and Dutch for Streamlit's own English
labels such as the skip link), the contrast fixes and the copy buttons' handler.

Streamlit has no setting for the page language, so ui/static/page.js sets it in the browser; it is our own
same-origin code, never user or document text, and nothing is loaded from outside the machine.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import streamlit as st

STATIC = Path(__file__).resolve().parent / "static"
FAVICON = STATIC / "favicon.png"  # page_icon=":material/…" made the browser fetch the icon from a font CDN


@lru_cache(maxsize=4)
def _static_text(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def page_helpers() -> None:
    """The page's style and script; call once per run, before the page itself renders."""
    st.html(f"<style>{_static_text('page.css')}</style>")  # style only: Streamlit gives it no room
    st.html(f"<script>{_static_text('page.js')}</script>", unsafe_allow_javascript=True)
