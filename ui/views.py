"""The pages of the app (Chat, Bronnen, Over, and Beheer when it is switched on), each in its own module, and
the shared state in ui/state.py. User text and document text are never rendered as HTML (see ui/render.py and
ui/html_text.py)."""

from __future__ import annotations

from ui.about_page import about_page as about_page
from ui.answer_view import render_answer as render_answer
from ui.beheer_page import beheer_page as beheer_page
from ui.chat import chat_page as chat_page
from ui.eval_page import _set_label as _set_label
from ui.eval_page import eval_report as eval_report
from ui.render import escape_markdown as escape_markdown
from ui.sources_page import sources_page as sources_page
from ui.state import EXAMPLES as EXAMPLES
from ui.state import current_settings as current_settings
from ui.state import get_assistant as get_assistant
