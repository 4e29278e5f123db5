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
