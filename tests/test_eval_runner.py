"""The eval runner end to end with a deterministic fake assistant, the report files, and the golden set."""

from __future__ import annotations

import json
import sys
import types
from collections import Counter
from pathlib import Path

import pytest
import yaml

from assistant.diagnostics import Diagnostics
from assistant.types import Answer, Citation, LinkRef, Passage, Turn
from corpus.model import load_card
from evals.command import eval_command
from evals.report import compare_to_baseline, latest_report, load_report, render_table, write_report
from evals.runner import (
    Gate,
    check_gates,
    load_golden,
    load_thresholds,
    parse_golden,
    run_eval,
)

CARD = load_card()
URL = {lk.id: lk.url for lk in CARD.links}


def _passage(item_id: str, rank: int) -> Passage:
    item = CARD.by_id[item_id]
    return Passage(id=f"chunk-{item_id}", item_id=item_id, theme=item.theme, theme_title=item.theme_title,
                   kind=item.kind, heading=item.heading, text=item.full_text, score=1.0 - rank / 10,
                   links=tuple(LinkRef(lk.url, lk.title) for lk in item.links))


class FakeAssistant:
    """Keyword rules -> hand-built extractive answers from real card items; deterministic."""

    RULES = (
        (("overgang", "groep 8", " vo"), ["t4.intro.1", "t4.vraag.3", "t4.direct.2", "t4.direct.5"]),
        (("ouders",), ["t2.intro.3", "t2.vraag.3", "t2.direct.1"]),
        (("trauma",), ["t1.intro.1", "t1.vraag.1", "t1.direct.1"]),  # deliberately the wrong theme
    )

    def __init__(self, settings: object | None = None) -> None:
        self.calls: list[tuple[str, list[Turn] | None]] = []

    def answer(self, question: str, history: list[Turn] | None = None) -> Answer:
        self.calls.append((question, history))
        if "crash" in question:
            raise RuntimeError("store unavailable")
        text = " ".join([question] + [h.content for h in history or [] if h.role == "user"]).lower()
        items = next((ids for keys, ids in self.RULES if any(k in f" {text}" for k in keys)), None)
        diagnostics = Diagnostics(timings={"total_ms": 1.0})
        if items is None:
            return Answer(question=question, in_scope=False, generator="extractive", status="declined",
                          answer="Daar gaat de praktijkkaart niet over. De kaart gaat over vijf thema's.",
                          diagnostics=diagnostics)
        passages = [_passage(i, n) for n, i in enumerate(items)]
        citations: list[Citation] = []
        lines = ["Dit staat in de praktijkkaart:"]
        for p in passages:
            marks = ""
            for lk in p.links:
                citations.append(Citation(n=len(citations) + 1, url=lk.url, title=lk.title, passage_id=p.id))
                marks += f" [{len(citations)}]"
            lines.append(f"- {p.text}{marks}")
        lines += ["", "**Bronnen:**"] + [f"[{c.n}] {c.title} — {c.url}" for c in citations]
        return Answer(question=question, answer="\n".join(lines), in_scope=True, generator="extractive",
                      citations=citations, passages=passages, themes=[passages[0].theme or 0],
                      diagnostics=diagnostics)


GOLDEN_RAW = [
    {"id": "g1", "category": "plain", "question": "Hoe begeleiden we de overgang naar het VO?", "themes": [4],
     "passages": ["t4.direct.5", "t4.vraag.3"], "links": [URL["voraad-kansrijke-doorstroom"]], "in_scope": True},
    {"id": "g2", "category": "paraphrase", "question": "Hoe krijgen we ouders betrokken?", "themes": [2],
     "passages": ["t2.vraag.3", "t2.direct.2"],
     "links": [URL["pharos-kaart-sleutelpersonen"], URL["hr-gereedschapskist"]], "in_scope": True},
    {"id": "g3", "category": "plain", "question": "Hoe werk ik traumasensitief?", "themes": [5],
     "passages": ["t5.lang.1"], "links": [URL["leony-coppens-traumasensitief"]], "in_scope": True},
    {"id": "g4", "category": "followup", "question": "en daarna?", "themes": [4], "passages": ["t4.direct.5"],
     "links": [URL["voraad-kansrijke-doorstroom"]], "in_scope": True,
     "history": [{"role": "user", "content": "Wat zegt de kaart over groep 8?"},
                 {"role": "assistant", "content": "Thema 4: het adviesgesprek."}]},
    {"id": "g5", "category": "out_of_scope", "question": "Wat verdient een leraar?", "themes": [], "passages": [],
     "links": [], "in_scope": False},
    {"id": "g6", "category": "out_of_scope", "question": "Hoeveel ouders komen er naar de borrel?", "themes": [],
     "passages": [], "links": [], "in_scope": False},
]


@pytest.fixture
def golden():
    return parse_golden(GOLDEN_RAW, CARD)


def test_run_eval_computes_metrics_from_the_answers(golden):
    fake = FakeAssistant()
    seen: list[tuple[int, int, str]] = []
    report = run_eval(fake, golden, progress=lambda i, n, rec: seen.append((i, n, rec["id"])))
    assert seen == [(i, 6, f"g{i}") for i in range(1, 7)]
    assert fake.calls[3] == ("en daarna?", Turn.coerce(GOLDEN_RAW[3]["history"]))  # typed turns reach the assistant
    assert fake.calls[0][1] is None
    o = report.overall
    assert report.generator == "extractive"
    assert (o["n"], o["n_in_scope"], o["n_out_of_scope"]) == (6, 4, 2)
    assert o["theme_hit_at_3"] == pytest.approx(3 / 4)  # g3 gets theme 1 instead of 5
    assert o["passage_hit_at_1"] == pytest.approx(0.0)
    assert o["passage_hit_at_5"] == pytest.approx(3 / 4)
    # First expected passage at rank 2 (g1: t4.vraag.3), 2 (g2: t2.vraag.3), none (g3), 4 (g4: t4.direct.5).
    assert o["mrr_passage"] == pytest.approx((1 / 2 + 1 / 2 + 0 + 1 / 4) / 4)
    assert o["link_recall"] == pytest.approx((1 + 0.5 + 0 + 1) / 4)
    assert o["link_hit"] == pytest.approx(3 / 4)
    assert o["citation_precision"] == 1.0
    assert o["grounding"] == 1.0 and o["grounded_answers"] == 1.0
    # g6 (out of scope) is answered: one missed decline out of two.
    assert o["decline_accuracy"] == pytest.approx(5 / 6)
    assert o["decline_recall"] == pytest.approx(0.5) and o["decline_precision"] == 1.0
    assert o["foreign_urls"] == 0 and o["errors"] == 0
    assert o["dutch"] == 1.0
    assert report.per_category["plain"]["theme_hit_at_3"] == pytest.approx(0.5)
    assert report.per_category["out_of_scope"]["theme_hit_at_3"] is None
    assert set(report.per_theme) == {"2", "4", "5"}
    assert report.per_theme["5"]["theme_hit_at_3"] == 0.0 and report.per_theme["4"]["theme_hit_at_3"] == 1.0
    gates = {g["metric"]: g["passed"] for g in report.gates}
    assert gates["theme_hit_at_3"] is False and gates["grounding"] is True and gates["foreign_urls"] is True
    assert not report.passed
    assert report.latency["n"] == 6


def test_an_answer_that_raises_fails_its_question_but_not_the_run(golden):
    crashing = parse_golden([{**GOLDEN_RAW[0], "id": "c1", "question": "crash bij de overgang"}], CARD)
    report = run_eval(FakeAssistant(), [*golden, *crashing])
    rec = report.questions[-1]
    assert rec["error"] == "RuntimeError: store unavailable"
    assert rec["theme_hit_at_3"] == 0.0 and rec["link_recall"] == 0.0 and rec["decline_correct"] is False
    assert report.overall["errors"] == 1
    assert not {g["metric"]: g for g in report.gates}["errors"]["passed"]


def test_foreign_url_in_an_answer_fails_the_gate(golden):
    class Leaky(FakeAssistant):
        def answer(self, question, history=None):
            a = super().answer(question, history)
            a.answer += "\nZie ook https://www.example.com/tips."
            return a

    report = run_eval(Leaky(), golden)
    assert report.overall["foreign_urls"] == 6
    assert not {g["metric"]: g for g in report.gates}["foreign_urls"]["passed"]


def test_report_files_plots_and_baseline(golden, tmp_path: Path):
    report = run_eval(FakeAssistant(), golden)
    paths = write_report(report, tmp_path)
    assert set(paths) == {"json", "markdown", "thema-hit3", "grounding", "scope-scores"}
    for key in ("thema-hit3", "grounding", "scope-scores"):
        data = paths[key].read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000
    md = paths["markdown"].read_text(encoding="utf-8")
    assert "| theme_hit_at_3 | 0.750 |" in md and "## Per thema" in md
    assert f"]({paths['grounding'].name})" in md
    loaded = load_report(paths["json"])
    assert loaded.overall == report.overall and loaded.questions == report.questions
    assert latest_report(tmp_path) == paths["json"]

    # A second run written in the same second gets its own files; the baseline deltas show the change.
    better = run_eval(FakeAssistant(), [q for q in golden if q.id != "g3"])
    deltas = {d["metric"]: d for d in compare_to_baseline(better.overall, json.loads(paths["json"].read_text()))}
    assert deltas["theme_hit_at_3"]["delta"] == pytest.approx(0.25) and deltas["theme_hit_at_3"]["better"] is True
    assert deltas["foreign_urls"]["delta"] == 0 and deltas["foreign_urls"]["better"] is None
    better.baseline = {"path": str(paths["json"]), "deltas": list(deltas.values())}
    better.created_at = report.created_at
    paths2 = write_report(better, tmp_path)
    assert paths2["json"] != paths["json"] and latest_report(tmp_path) == paths2["json"]
    assert "+0.250 ▲" in render_table(better)


def test_eval_command_builds_the_assistant_prints_and_returns_the_gate(golden, tmp_path: Path, monkeypatch, capsys):
    from praktijkkaart.settings import Settings

    built: list[object] = []

    def make(settings):
        built.append(settings)
        return FakeAssistant(settings)

    monkeypatch.setitem(sys.modules, "assistant.wiring", types.SimpleNamespace(build_assistant=make))
    golden_path = tmp_path / "golden.yaml"
    golden_path.write_text(yaml.safe_dump({"questions": GOLDEN_RAW}, allow_unicode=True), encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data")

    code = eval_command(settings, as_json=True, baseline=None, generator="extractive",
                        reports_dir=tmp_path / "reports", golden_path=golden_path)
    out, err = capsys.readouterr()
    assert code == 1  # theme_hit_at_3 is below the gate
    data = json.loads(out)
    assert data["passed"] is False and data["overall"]["theme_hit_at_3"] == pytest.approx(0.75)
    assert Path(data["files"]["json"]).exists()
    assert Path(data["files"]["json"]).parent == tmp_path / "reports" / "golden"  # not the default set: own folder
    assert err.count("\n") == 6 and "g6 out_of_scope" in err and "NIET afgewezen" in err
    assert built[0].generation.mode == "extractive"

    code = eval_command(settings, as_json=False, baseline=data["files"]["json"], generator=None,
                        reports_dir=tmp_path / "reports", golden_path=golden_path)
    out, _ = capsys.readouterr()
    assert code == 1
    assert "theme_hit_at_3" in out and "NIET GESLAAGD" in out and "g3 (plain)" in out

    assert eval_command(settings, baseline=tmp_path / "missing.json", reports_dir=tmp_path / "r",
                        golden_path=golden_path) == 2


def test_eval_command_reports_a_setup_failure(tmp_path: Path, monkeypatch, capsys):
    from praktijkkaart.settings import Settings

    def broken(settings):
        raise RuntimeError("geen index")

    monkeypatch.setitem(sys.modules, "assistant.wiring", types.SimpleNamespace(build_assistant=broken))
    assert eval_command(Settings(data_dir=tmp_path), reports_dir=tmp_path / "r") == 2
    assert "praktijkkaart ingest" in capsys.readouterr().err


# --- gates and the golden set ---------------------------------------------------------------------------


def test_thresholds_file_holds_the_agreed_gates():
    gates = {g.metric: g for g in load_thresholds()}
    assert (gates["theme_hit_at_3"].op, gates["theme_hit_at_3"].value) == (">=", 0.95)
    assert (gates["link_recall"].op, gates["link_recall"].value) == (">=", 0.90)
    assert (gates["citation_precision"].op, gates["citation_precision"].value) == (">=", 0.95)
    assert (gates["grounding"].op, gates["grounding"].value, gates["grounding"].generators) == ("==", 1.0, ("extractive",))
    assert (gates["decline_accuracy"].op, gates["decline_accuracy"].value) == (">=", 0.95)
    assert (gates["foreign_urls"].op, gates["foreign_urls"].value) == ("==", 0)


def test_check_gates():
    gates = [Gate("a", ">=", 0.9), Gate("b", "==", 0), Gate("c", "==", 1.0, ("extractive",)), Gate("d", "<=", 5)]
    res = {g["metric"]: g["passed"] for g in check_gates({"a": 0.9, "b": 1, "c": 0.5, "d": None}, gates, "llm")}
    assert res == {"a": True, "b": False, "d": False}  # c only gates extractive runs; a missing value fails
    assert {g["metric"] for g in check_gates({}, gates, "extractive")} == {"a", "b", "c", "d"}


def test_parse_golden_rejects_inconsistent_entries():
    bad = [
        {**GOLDEN_RAW[0], "id": "x1", "passages": ["t9.vraag.1"]},
        {**GOLDEN_RAW[0], "id": "x2", "passages": ["t2.vraag.1"]},  # theme 2, but themes: [4]
        {**GOLDEN_RAW[0], "id": "x3", "links": [URL["kansenkaart"]]},  # not carried by the expected passages
        {**GOLDEN_RAW[4], "id": "x4", "in_scope": True},
        {**GOLDEN_RAW[0], "id": "x5", "category": "followup"},  # follow-up without history
    ]
    with pytest.raises(ValueError) as exc:
        parse_golden(bad, CARD)
    msg = str(exc.value)
    for qid in ("x1", "x2", "x3", "x4", "x5"):
        assert f"{qid}:" in msg


def test_golden_set_is_large_varied_and_balanced():
    golden = load_golden()  # validates every passage id and link against the card
    assert len(golden) >= 130
    cats = Counter(q.category for q in golden)
    minimum = {"paraphrase": 20, "abbreviation_typo": 15, "long_story": 10, "english": 10, "followup": 10,
               "out_of_scope": 22, "plain": 20, "general": 6}
    for cat, n in minimum.items():
        assert cats[cat] >= n, cat
    themes = Counter(t for q in golden for t in q.themes)
    assert min(themes[t] for t in range(1, 6)) >= 18 and themes[0] >= 8
    assert max(themes[t] for t in range(1, 6)) <= 1.5 * min(themes[t] for t in range(1, 6))
    # Follow-ups may repeat a short question ("en voor het VO?"); with their history every entry is unique.
    assert len({(q.question.casefold(), tuple(h["content"] for h in q.history)) for q in golden}) == len(golden)
    assert all(q.history[0]["role"] == "user" for q in golden if q.category == "followup")
    used_links = {u for q in golden for u in q.links}
    assert len(used_links) >= 30  # most of the card's 38 links are expected somewhere
    card_sentences = {i.text.casefold().rstrip(";.") for i in CARD.items}
    assert not [q.id for q in golden if q.question.casefold().rstrip("?;.") in card_sentences]
