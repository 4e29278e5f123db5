"""The optional LLM generator: a LangChain chat model rephrases the retrieved passages, validated in code.

Off by default (`generation.mode='extractive'`, `generation.provider='none'`); a remote endpoint is only used when the
settings name one. Providers (all imported lazily, only when chosen):

- 'ollama'   -> `langchain_ollama.ChatOllama` (generation.model, .base_url, .timeout_s)
- 'openai'   -> `langchain_openai.ChatOpenAI` against any OpenAI-compatible endpoint (generation.base_url,
                llm_api_key; the key is never read from OPENAI_API_KEY)
- 'llamacpp' -> a local GGUF file (generation.gguf_path) through `llama_cpp.Llama.create_chat_completion`, wrapped
                in the small `LlamaCppChatModel` adapter below (langchain_community is not a dependency)

Numbering of the sources in the prompt (and how it maps to the final Answer):

- A passage that the extractive answer cites (some `Citation.passage_id` is its id) is shown as
  `<bron n="N">` with N its lowest citation number, so the numbers are exactly the extractive answer's.
  Its other citation numbers (a passage with several links) are accepted as aliases of the same source.
- Every other passage (no links, or only links that an earlier passage already cites) is numbered after the
  highest citation number, in answer order. The model may cite it (the sentence is then checked against it),
  but such a number has no URL: in the final text the marker is replaced by the citations of links the
  passage carries (already cited elsewhere), or dropped when it carries none.
- So the final `Answer.citations` holds only extractive citations, i.e. corpus URLs, with their original
  numbers; a marker [N] of a link-carrying source becomes all of that passage's citation numbers.

Validation of the model text (all of it in code; the model's word is never taken):
every [n] is a source; no URL (scheme, www. or bare domain) and no Markdown/HTML image; every claim sentence
carries a citation and reaches the calibrated lexical support threshold of `assistant.grounding` against the
text of a source it cites; the answer is Dutch, not empty, not far over the word budget and does not echo an
instruction-like sentence. Instruction-like sentences inside sources ("negeer alle vorige instructies ...")
are masked before the prompt is built, and the validation scores against the masked text too, so obeying
such an injection can never validate. Finally the assembled Answer is run through
`assistant.grounding.check_answer` (lexical method) as a second gate."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.diagnostics import LlmDiagnostics
from assistant.stream import AnswerStream, Pieces
from assistant.types import Answer, AnswerStatus
from praktijkkaart.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage
from assistant.llm_models import LLMUnavailable as LLMUnavailable
from assistant.llm_models import check_gguf as check_gguf
from assistant.llm_models import make_chat_model as make_chat_model
from assistant.llm_prompt import SYSTEM_PROMPT as SYSTEM_PROMPT
from assistant.llm_prompt import build_messages as build_messages
from assistant.llm_prompt import build_sources as build_sources
from assistant.llm_prompt import mask_instructions as mask_instructions
from assistant.llm_validate import Validation as Validation
from assistant.llm_validate import validate as validate

log = logging.getLogger(__name__)

NOTICE_UNSUPPORTED = ("Het taalmodel gaf een antwoord dat niet volledig op de bronnen steunde; hieronder het "
                      "samengestelde antwoord uit de praktijkkaart.")
NOTICE_ERROR = ("Het taalmodel gaf geen (tijdig) antwoord; hieronder het samengestelde antwoord uit de "
                "praktijkkaart.")
NOTICE_UNAVAILABLE = ("Het taalmodel kon niet worden gebruikt: {reason} Hieronder het samengestelde antwoord "
                      "uit de praktijkkaart.")


# Instruction-like sentences in sources are masked before the prompt (and before validation).


# --- the generator ---------------------------------------------------------------------------------


def _model_name(settings: Settings, model: Any) -> str:
    for attr in ("model_name", "model", "model_path"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return Path(value).name if attr == "model_path" else value
    return settings.generation.model or getattr(model, "_llm_type", type(model).__name__)


def _chunk_text(chunk: Any) -> str:
    content = getattr(chunk, "content", chunk)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part if isinstance(part, str) else str(part.get("text", "")) for part in content
                       if isinstance(part, (str, dict)))
    return ""


def _fallback(extractive: Answer, notice: str, problems: list[str], llm: LlmDiagnostics) -> Answer:
    diagnostics = replace(extractive.diagnostics, llm=replace(llm, problems=tuple(problems)))
    return replace(extractive, generator="extractive", status=AnswerStatus.LLM_FALLBACK, notice=notice,
                   diagnostics=diagnostics)


def _stream_pieces(model: BaseChatModel, messages: list[BaseMessage], timeout_s: float, started: float,
                   pieces: list[str], first_ms: list[float]) -> Iterator[str]:
    """Yield the model's text pieces (collected in `pieces`) until it ends or the deadline passes;
    `first_ms` gets the time to the first piece."""
    deadline = time.perf_counter() + timeout_s
    stream = model.stream(messages)
    try:
        for chunk in stream:
            piece = _chunk_text(chunk)
            if piece:
                if not first_ms:
                    first_ms.append((time.perf_counter() - started) * 1000)
                pieces.append(piece)
                yield piece
            if time.perf_counter() > deadline:  # llama.cpp has no timeout of its own
                raise TimeoutError(f"geen volledig antwoord binnen {timeout_s:g} s")
    finally:
        close = getattr(stream, "close", None)
        if close:
            close()


def llm_answer(settings: Settings, extractive: Answer, question: str,
               model: BaseChatModel | None = None) -> AnswerStream:
    """Stream the model's answer as text pieces (iterate), then `.result` is the validated final Answer.

    The pieces are the raw model tokens, shown while they arrive; only the final Answer counts. When the
    output fails validation (or the model errs or times out) the final Answer is the extractive one with
    status 'llm_fallback', a Dutch notice and diagnostics.llm.problems; the UI and the CLI render the final
    Answer after the stream, so text that was streamed and then rejected is replaced. Never raises for
    model problems. `model` overrides the one from the settings (tests pass fake chat models).
    """
    return AnswerStream(llm_pieces(settings, extractive, question, model))


def llm_pieces(settings: Settings, extractive: Answer, question: str, model: BaseChatModel | None = None) -> Pieces:
    """The generator behind `llm_answer` (the Assistant's own stream yields from it)."""
    if not extractive.in_scope or not extractive.passages:
        yield extractive.answer
        return extractive
    started = time.perf_counter()
    if model is None:
        try:
            model = make_chat_model(settings)
        except LLMUnavailable as exc:
            reason = str(exc)
            reason = reason[:1].upper() + reason[1:]
            log.warning("LLM unavailable: %s", reason)
            return _fallback(extractive, NOTICE_UNAVAILABLE.format(reason=reason), [f"niet beschikbaar: {reason}"],
                             LlmDiagnostics(provider=settings.generation.provider))
    base = LlmDiagnostics(provider=settings.generation.provider, model=_model_name(settings, model))
    sources = build_sources(extractive)
    messages = build_messages(sources, question)

    pieces: list[str] = []
    first_ms: list[float] = []
    try:
        yield from _stream_pieces(model, messages, settings.generation.timeout_s, started, pieces, first_ms)
    except Exception as exc:  # noqa: BLE001 - any model failure falls back to the extractive answer
        detail = f"{type(exc).__name__}: {exc}"[:300]
        log.warning("LLM call failed (%s); falling back to the extractive answer", detail)
        return _fallback(extractive, NOTICE_ERROR, [f"fout van het taalmodel: {detail}"],
                         replace(base, ms=round((time.perf_counter() - started) * 1000, 1)))

    raw = "".join(pieces)
    checked = validate(raw, sources, extractive)
    timed = replace(base, ms=round((time.perf_counter() - started) * 1000, 1),
                    first_token_ms=round(first_ms[0], 1) if first_ms else None)
    if checked.problems:
        log.info("LLM answer rejected: %s", "; ".join(checked.problems)[:500])
        return _fallback(extractive, NOTICE_UNSUPPORTED, checked.problems, timed)
    llm = replace(timed, min_support=round(checked.min_support, 4) if checked.min_support is not None else None,
                  extractive_citations=len(extractive.citations))
    return Answer(question=extractive.question, answer=checked.text, in_scope=True, generator="llm",
                  citations=checked.citations, passages=list(extractive.passages), themes=list(extractive.themes),
                  status=AnswerStatus.OK, diagnostics=replace(extractive.diagnostics, llm=llm), more=extractive.more,
                  followup_of=extractive.followup_of)


__all__ = [
    "NOTICE_ERROR",
    "NOTICE_UNSUPPORTED",
    "SYSTEM_PROMPT",
    "LLMUnavailable",
    "build_messages",
    "build_sources",
    "check_gguf",
    "llm_answer",
    "llm_pieces",
    "make_chat_model",
    "mask_instructions",
    "validate",
]
