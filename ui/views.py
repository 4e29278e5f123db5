"""The four pages of the app (Chat, Bronnen, Evaluatie, Over), each in its own module, and the shared state
in ui/state.py. User text and document text are never rendered as HTML (see ui/render.py)."""

from __future__ import annotations

from ui.about_page import about_page as about_page
from ui.chat import _render_answer as _render_answer
from ui.chat import chat_page as chat_page
from ui.eval_page import _set_label as _set_label
from ui.eval_page import eval_page as eval_page
from ui.render import escape_markdown as escape_markdown
from ui.sources_page import sources_page as sources_page
from ui.state import EXAMPLES as EXAMPLES
from ui.state import current_settings as current_settings
from ui.state import get_assistant as get_assistant
