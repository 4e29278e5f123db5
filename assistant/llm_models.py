"""Chat models for the optional LLM generator: an OpenAI-compatible server, Ollama, or a local GGUF
through llama.cpp (header and SHA-256 checked before loading)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from praktijkkaart.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

log = logging.getLogger(__name__)


MAX_OUTPUT_TOKENS = 800
GGUF_MAGIC = b"GGUF"


# Instruction-like sentences in sources are masked before the prompt (and before validation).


class LLMUnavailable(RuntimeError):
    """The configured model cannot be used (not configured, package missing, bad GGUF file). Dutch message."""


# --- chat models ---------------------------------------------------------------------------------


def make_chat_model(settings: Settings) -> BaseChatModel:
    """The LangChain chat model for `settings.generation.provider`; raises LLMUnavailable with a Dutch message."""
    provider = settings.generation.provider
    if provider == "none":
        raise LLMUnavailable("er is geen taalmodel ingesteld (PRAKTIJKKAART_GENERATION__PROVIDER is 'none').")
    if provider == "ollama":
        if not settings.generation.model:
            raise LLMUnavailable("stel met PRAKTIJKKAART_GENERATION__MODEL in welk Ollama-model gebruikt moet worden.")
        try:
            from langchain_ollama import ChatOllama
        except ImportError as exc:
            raise LLMUnavailable("het pakket langchain-ollama is niet geïnstalleerd (extra 'llm').") from exc
        kwargs: dict[str, Any] = {"model": settings.generation.model, "temperature": 0.1,
                                  "num_predict": MAX_OUTPUT_TOKENS,
                                  "client_kwargs": {"timeout": settings.generation.timeout_s}}
        if settings.generation.base_url:
            kwargs["base_url"] = settings.generation.base_url
        return ChatOllama(**kwargs)
    if provider == "openai":
        if not settings.generation.model:
            raise LLMUnavailable("stel met PRAKTIJKKAART_GENERATION__MODEL in welk model het OpenAI-compatibele "
                                 "endpoint moet gebruiken.")
        try:
            from langchain_openai import ChatOpenAI
            from pydantic import SecretStr
        except ImportError as exc:
            raise LLMUnavailable("het pakket langchain-openai is niet geïnstalleerd (extra 'llm').") from exc
        # Explicit key (a placeholder for keyless local servers): never fall back to OPENAI_API_KEY.
        key = settings.generation.api_key or SecretStr("niet-ingesteld")
        return ChatOpenAI(model=settings.generation.model, base_url=settings.generation.base_url, api_key=key,
                          timeout=settings.generation.timeout_s, max_retries=1, temperature=0.1,
                          max_tokens=MAX_OUTPUT_TOKENS)
    if provider == "llamacpp":
        path = check_gguf(settings.generation.gguf_path)
        try:
            import llama_cpp  # noqa: F401
        except ImportError as exc:
            raise LLMUnavailable("llama-cpp-python is niet geïnstalleerd; installeer de extra 'llm' "
                                 "(pip install -e '.[llm]').") from exc
        return cast("BaseChatModel", _define_llamacpp_adapter()(model_path=str(path)))
    raise LLMUnavailable(f"onbekende PRAKTIJKKAART_GENERATION__PROVIDER {provider!r}.")


def check_gguf(path: Path | None) -> Path:
    """The GGUF file, after checking that it exists and starts with the GGUF magic bytes."""
    if path is None:
        raise LLMUnavailable("stel met PRAKTIJKKAART_GENERATION__GGUF_PATH het pad naar een GGUF-modelbestand in.")
    path = Path(path).expanduser()
    if not path.is_file():
        raise LLMUnavailable(f"het GGUF-modelbestand {path} bestaat niet.")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise LLMUnavailable(f"het GGUF-modelbestand {path} kan niet worden gelezen ({exc.strerror}).") from exc
    if magic != GGUF_MAGIC:
        raise LLMUnavailable(f"{path} is geen GGUF-modelbestand (het begint niet met 'GGUF'); controleer "
                             "PRAKTIJKKAART_GENERATION__GGUF_PATH.")
    return path


_LLAMA_LOCK = threading.Lock()  # one llama.cpp context is not safe to use from two threads at once


@lru_cache(maxsize=1)
def _load_llama(model_path: str, n_ctx: int, mtime: float) -> Any:  # noqa: ARG001 - mtime: a new file is a new cache key
    from llama_cpp import Llama

    return Llama(model_path=model_path, n_ctx=n_ctx, verbose=False)


def _role(message: BaseMessage) -> str:
    return {"system": "system", "human": "user", "ai": "assistant"}.get(message.type, "user")


@lru_cache(maxsize=1)
def _define_llamacpp_adapter() -> type:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, AIMessageChunk
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

    class LlamaCppChatModel(BaseChatModel):
        """A LangChain chat model over `llama_cpp.Llama.create_chat_completion` (sync, with streaming).

        The GGUF file is checked (magic bytes) and loaded on first use and kept (one model per process).
        llama.cpp has no request timeout; `llm_answer` stops reading once `llm_timeout_s` has passed.
        """

        model_path: str
        n_ctx: int = 4096
        temperature: float = 0.1
        max_tokens: int = MAX_OUTPUT_TOKENS

        @property
        def _llm_type(self) -> str:
            return "llama-cpp"

        @property
        def _identifying_params(self) -> dict[str, Any]:
            return {"model_path": self.model_path, "n_ctx": self.n_ctx}

        def _llama(self) -> Any:
            path = check_gguf(Path(self.model_path))
            return _load_llama(str(path), self.n_ctx, path.stat().st_mtime)

        def _request(self, messages: list[BaseMessage], stop: list[str] | None) -> dict[str, Any]:
            return {"messages": [{"role": _role(m), "content": m.text} for m in messages],
                    "temperature": self.temperature, "max_tokens": self.max_tokens, "stop": stop or []}

        def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,  # noqa: ARG002 - the BaseChatModel signature
                      **kwargs: Any) -> ChatResult:  # noqa: ARG002
            llama = self._llama()
            with _LLAMA_LOCK:
                out = llama.create_chat_completion(**self._request(messages, stop))
            text = out["choices"][0]["message"].get("content") or ""
            return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

        def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                    **kwargs: Any) -> Iterator[ChatGenerationChunk]:  # noqa: ARG002 - the BaseChatModel signature
            llama = self._llama()
            with _LLAMA_LOCK:
                for part in llama.create_chat_completion(**self._request(messages, stop), stream=True):
                    delta = (part.get("choices") or [{}])[0].get("delta") or {}
                    text = delta.get("content") or ""
                    if not text:
                        continue
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                    if run_manager:
                        run_manager.on_llm_new_token(text, chunk=chunk)
                    yield chunk

    return LlamaCppChatModel


def __getattr__(name: str) -> Any:  # LlamaCppChatModel is defined on first use (keeps langchain_core lazy)
    if name == "LlamaCppChatModel":
        return _define_llamacpp_adapter()
    raise AttributeError(name)
