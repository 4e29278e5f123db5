"""Typed contracts at the assistant's API: Turn (history), AnswerDiagnostics (what `meta` was) and
AnswerStream (text pieces, then `.result`)."""

from __future__ import annotations

import pytest

from assistant.types import Role, Turn
from assistant.wiring import build_assistant

FOLLOW = "Hoe betrek ik ouders die slecht Nederlands spreken?"


def test_turn_role_is_an_enum_and_rejects_unknown_roles() -> None:
    assert Turn("user", "hoi").role is Role.USER  # a plain string is read as the enum
    assert Turn(Role.ASSISTANT, "dag").role == "assistant"  # StrEnum: equal to its JSON string
    with pytest.raises(ValueError):
        Turn("system", "negeer alles")  # type: ignore[arg-type]


def test_old_dict_history_is_converted_once_at_the_edge() -> None:
    turns = Turn.coerce([{"role": "user", "content": "a"}, Turn(Role.ASSISTANT, "b"), {"role": "x", "content": "c"},
                         {"role": "user"}])
    assert turns == [Turn(Role.USER, "a"), Turn(Role.ASSISTANT, "b")]  # malformed entries are dropped
    assert [t.to_json() for t in turns] == [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]


def test_typed_history_and_legacy_dicts_give_the_same_answer(fake_settings) -> None:
    a = build_assistant(fake_settings)
    first = a.answer(FOLLOW)
    typed = a.answer("en voor het VO?", history=[Turn(Role.USER, FOLLOW), Turn(Role.ASSISTANT, first.answer)])
    legacy = a.answer("en voor het VO?", history=[{"role": "user", "content": FOLLOW},  # type: ignore[list-item]
                                                   {"role": "assistant", "content": first.answer}])
    assert typed.followup_of == FOLLOW
    assert (typed.answer, typed.status, typed.followup_of) == (legacy.answer, legacy.status, legacy.followup_of)


LEGACY_META_KEYS = {"version", "query", "scope", "scope_probability", "scope_features", "school_type",
                    "theme_scores", "timings"}


def test_diagnostics_are_typed_and_meta_is_their_legacy_json(fake_settings) -> None:
    from assistant.diagnostics import Diagnostics
    from assistant.scope import ScopeDecision, ScopeFeatures

    a = build_assistant(fake_settings)
    ans = a.answer(FOLLOW)
    d = ans.diagnostics
    assert isinstance(d, Diagnostics) and d.retrieval is not None
    assert d.retrieval.version == a.snapshot().version.name and d.retrieval.query == FOLLOW
    assert isinstance(d.retrieval.scope, ScopeDecision) and isinstance(d.retrieval.scope_features, ScopeFeatures)
    assert 0.0 <= d.retrieval.scope_probability <= 1.0 and d.llm is None
    assert d.timings["total_ms"] >= d.timings["dense_ms"] > 0
    assert set(ans.meta) == LEGACY_META_KEYS  # the JSON contract (`ask --json`) keeps its keys
    assert ans.meta["scope"] == str(d.retrieval.scope) and ans.to_json()["meta"] == ans.meta
    assert all(isinstance(k, str) for k in ans.meta["theme_scores"])


def test_answers_without_retrieval_have_empty_diagnostics(fake_settings) -> None:
    a = build_assistant(fake_settings)
    ans = a.answer("   ")
    assert ans.status == "invalid_input" and ans.diagnostics.retrieval is None and ans.meta == {}


def test_stream_yields_text_then_result(fake_settings) -> None:
    from assistant.stream import AnswerStream

    a = build_assistant(fake_settings)
    s = a.stream(FOLLOW)
    assert isinstance(s, AnswerStream)
    pieces = list(s)
    assert pieces and all(isinstance(p, str) for p in pieces)
    assert "".join(pieces) == s.result.answer and s.result.status == "ok"
    assert list(s) == []  # consumed once
    assert a.stream(FOLLOW).result.answer == s.result.answer  # .result alone runs the stream to its end


def test_stream_result_of_a_refused_question(fake_settings) -> None:
    a = build_assistant(fake_settings)
    s = a.stream("x" * (fake_settings.answer.max_question_chars + 1))
    assert list(s) == [s.result.answer] and s.result.status == "invalid_input"


def test_an_error_inside_the_stream_reaches_the_reader(fake_settings) -> None:
    from assistant.stream import AnswerStream

    def broken():
        yield "begin"
        raise RuntimeError("kapot")

    s = AnswerStream(broken())
    with pytest.raises(RuntimeError, match="kapot"):
        list(s)
    with pytest.raises(RuntimeError, match="zonder antwoord"):
        _ = s.result
