"""An answer as it is produced: iterate for the text pieces, then read `.result` for the final Answer.

The pieces are for showing while the answer is made (the UI streams them); only `.result` counts (an LLM
answer that fails validation is replaced by the extractive one after its pieces were shown).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

from assistant.types import Answer

# What produces a stream: a generator that yields the text pieces and returns the final Answer.
Pieces = Generator[str, None, Answer]


class AnswerStream:
    def __init__(self, pieces: Pieces) -> None:
        self._pieces = pieces
        self._result: Answer | None = None
        self._done = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._done:
            raise StopIteration
        try:
            return next(self._pieces)
        except StopIteration as stop:
            self._done, self._result = True, stop.value
            raise StopIteration from None
        except BaseException:
            self._done = True  # the error reaches the reader once; `.result` then says there is none
            raise

    @property
    def result(self) -> Answer:
        """The final Answer; reading it first runs the rest of the stream (its pieces are dropped)."""
        for _ in self:
            pass
        if self._result is None:
            raise RuntimeError("de antwoordstroom eindigde zonder antwoord (fout tijdens het antwoorden)")
        return self._result

    def close(self) -> None:
        """Stop early (the generator's cleanup runs, e.g. a streaming LLM connection is closed)."""
        self._done = True
        self._pieces.close()
