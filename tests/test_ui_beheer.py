"""The Beheer page (PRAKTIJKKAART_APP__BEHEER_PAGE, off by default) in Streamlit's AppTest: not in the navigation and not
served when off; with it on, the feedback given in the chat and the evaluation report in plain Dutch.

Fixtures and helpers are those of tests/test_ui_apptest.py (the same in-memory assistant, loaded once).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash
from test_ui_apptest import APP, QUESTION, TIMEOUT, ask, data_dir, env, start  # noqa: F401 - fixtures

from praktijkkaart.settings import Settings
from ui import eval_page, views
from ui.beheer_page import OFF

REPORTS = Path(eval_page.__file__).resolve().parent.parent / "evals" / "reports"
JARGON = re.compile(r"theme_hit|passage_hit|ndcg|mrr|gate|grounded_answers|decline_accuracy|citation_precision|"
                    r"link_recall|foreign_urls|@\d", re.IGNORECASE)


def url_paths(at: AppTest) -> set[str]:
    """The URL paths st.navigation registered in the last run (what the browser can open)."""
    return {str(info.get("url_pathname")) for info in at._registered_pages.values()}


def open_url(at: AppTest, url_path: str) -> AppTest:
    """Run the page a browser asks for at /<url_path>. AppTest can only switch to file pages, so this sets the
    hash that st.Page derives from a url_path (streamlit.navigation.page: calc_hash(url_path)), as a
    browser's request for that path resolves to."""
    at._page_hash = calc_hash(url_path)
    at.run()
    assert not at.exception, at.exception
    return at


def shown_text(at: AppTest) -> str:
    parts = [*(m.value for m in at.markdown), *(c.value for c in at.caption), *(i.value for i in at.info),
             *(w.value for w in at.warning), *(s.value for s in at.success), *(t.value for t in at.title),
             *(h.value for h in at.header), *(h.value for h in at.subheader), *(s.label for s in at.selectbox)]
    return "\n".join(parts)


def test_beheer_is_off_by_default_not_listed_and_not_served(env: Settings) -> None:  # noqa: F811
    assert env.app.beheer_page is False
    at = start()
    assert url_paths(at) == {"", "bronnen", "over"}  # Chat (the default), Bronnen, Over; Evaluatie left the menu
    open_url(at, "beheer")
    assert [t.value for t in at.title] == ["Praktijkkaart-assistent"]  # the chat, not Beheer
    assert "Feedback uit de chat" not in shown_text(at) and "Evaluatie" not in shown_text(at)


def test_beheer_lists_feedback_given_in_the_app(env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("PRAKTIJKKAART_APP__BEHEER_PAGE", "true")
    at = ask(start(), QUESTION)
    assert "beheer" in url_paths(at)
    msg_id = at.session_state["messages"][-1]["id"]
    at.feedback[0].set_value(0).run()
    at.text_input(key=f"fbc_{msg_id}").input("Ik miste de tolk van leerling Sami.")
    [submit] = [b for b in at.button if b.label == "Verstuur toelichting"]
    submit.click().run()
    assert not at.exception

    open_url(at, "beheer")
    assert [t.value for t in at.title] == ["Beheer"]
    [table] = [m.value for m in at.markdown if m.value.startswith("| Datum | Vraag | Oordeel")]
    [row] = [line for line in table.splitlines() if QUESTION in line]
    assert "| Niet nuttig |" in row and "Ik miste de tolk van leerling \\[naam\\]\\." in row  # redacted when stored
    assert "Samengesteld uit de praktijkkaart" in row and "Sami" not in table


def _report_app() -> None:
    from ui import views

    views.eval_report()


def test_eval_report_without_reports_says_so(env: Settings, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                                             tmp_path: Path) -> None:
    monkeypatch.setattr(eval_page, "REPORTS_DIR", tmp_path / "reports")
    at = AppTest.from_function(_report_app, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("nog geen evaluatierapport" in i.value for i in at.info)


def test_eval_report_is_plain_dutch(env: Settings) -> None:  # noqa: F811
    """The committed reports, as staff see them: Dutch names with a sentence each, no developer jargon."""
    newest = sorted(REPORTS.glob("*.json"))[-1]
    data = json.loads(newest.read_text(encoding="utf-8"))
    at = AppTest.from_function(_report_app, default_timeout=TIMEOUT).run()
    assert not at.exception
    text = shown_text(at)
    assert JARGON.search(text) is None, JARGON.findall(text)
    assert not at.image  # the plots carry no text for a screen reader; the tables hold their numbers
    [measures] = [m.value for m in at.markdown if m.value.startswith("| Wat we meten |")]
    hit3 = f"{data['overall']['theme_hit_at_3']:.0%}"
    assert f"| Juiste thema gevonden | {hit3} | minstens 95% · gehaald | Hoe vaak het thema" in measures
    assert any(m.value.startswith("| Thema | Vragen |") and "| Thema 2 | " in m.value for m in at.markdown)
    assert ("Alle normen zijn gehaald." in text) is data["passed"]
    assert f"Getest met {data['overall']['n']} vragen" in text


def test_eval_report_offers_the_held_out_sets(env: Settings, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                                              tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    (reports / "holdout2").mkdir(parents=True)
    gate = {"metric": "theme_hit_at_3", "op": ">=", "threshold": 0.95}
    (reports / "20240301T120000Z.json").write_text(json.dumps(
        {"overall": {"theme_hit_at_3": 0.97}, "gates": [{**gate, "value": 0.97, "passed": True}], "passed": True}))
    (reports / "holdout2" / "20240302T080000Z.json").write_text(json.dumps(
        {"overall": {"theme_hit_at_3": 0.81}, "gates": [{**gate, "value": 0.81, "passed": False}], "passed": False}))
    (reports / "holdout2" / "20240101T080000Z.json").write_text("{not json")
    monkeypatch.setattr(eval_page, "REPORTS_DIR", reports)
    at = AppTest.from_function(_report_app, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.selectbox[0].options == [views._set_label("golden"), views._set_label("holdout2")]
    assert "Alle normen zijn gehaald." in shown_text(at)
    at.selectbox[0].set_value("holdout2").run()
    assert not at.exception
    assert at.selectbox[1].value == reports / "holdout2" / "20240302T080000Z.json"
    assert at.selectbox[1].options == ["02-03-2024 08:00 UTC", "01-01-2024 08:00 UTC"]  # newest first, as dates
    assert [w.value for w in at.warning] == ["Niet alle normen zijn gehaald: Juiste thema gevonden."]
    assert any("| Juiste thema gevonden | 81% | minstens 95% · niet gehaald |" in m.value for m in at.markdown)
    at.selectbox[1].set_value(reports / "holdout2" / "20240101T080000Z.json").run()
    assert any("kon niet worden gelezen" in e.value for e in at.error)


def _beheer_app() -> None:
    from ui import views

    views.beheer_page()


def test_beheer_page_called_while_off_shows_nothing(env: Settings) -> None:  # noqa: F811
    at = AppTest.from_function(_beheer_app, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [i.value for i in at.info] == [OFF]
    assert not at.markdown and not at.selectbox
