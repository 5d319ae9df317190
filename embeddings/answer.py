"""What retrieval returns: ranked passages (:class:`Hit`) and the answer to one question (:class:`Answer`).

Its own module so that what stores answers (the answer cache) needs only these, not the retriever.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .corpus import Passage
from .language import Language

# Which passage ranks first when two are close: below this z-score gap the answer offers the
# runner-up as a button. Measured at the end of issue 10: where the right paragraph came second,
# the gap was 0.04-0.62 on the tuning set (5 of 6 under 0.6) and 0.47-0.49 on blind5; where it
# came first, 9 % of gaps were under 0.6 (median 2.7), so the buttons seldom clutter a clear answer.
CLOSE_CALL = 0.6


@dataclass(frozen=True, slots=True)
class Hit:
    """One ranked passage for a question."""

    passage: Passage
    score: float
    dense: float
    lexical: float
    highlights: dict[str, str]

    def highlight(self, language: str) -> str:
        """Best sentence of the passage in ``language`` (falls back to the original's)."""
        return self.highlights.get(language) or self.highlights[self.passage.language]


@dataclass(frozen=True, slots=True)
class Answer:
    """The retrieval result for one question."""

    question: str
    language: Language
    answered: bool
    confidence: str  # "high", "medium", "low" (low is never answered)
    hits: tuple[Hit, ...]
    used_context: bool = False
    truncated: bool = False
    # Why a question was not answered: "not_in_article", or "fact_not_stated" when the article
    # is about the right thing but never gives the fact asked for (``attribute``).
    reason: str | None = None
    attribute: str | None = None
    # For a question naming someone or something the article never mentions: its key in data/entities.json.
    entity: str | None = None
    arabizi: bool = False  # typed in Latin letters: the reply is in Arabic script
    decided: bool = False  # settled by an editor's gap decision (a taught or a forbidden question)

    @property
    def close_call(self) -> bool:
        """Whether the runner-up is nearly as good as the best passage (worth offering)."""
        return len(self.hits) > 1 and self.hits[0].score - self.hits[1].score < CLOSE_CALL

    def to_json(self) -> dict[str, Any]:
        """The ``summit-bot ask --json`` object."""
        return {
            "question": self.question,
            "language": self.language,
            "answered": self.answered,
            "confidence": self.confidence,
            "used_context": self.used_context,
            **({"reason": self.reason} if not self.answered and self.reason else {}),
            "passages": [
                {
                    "id": hit.passage.id,
                    "doc": hit.passage.doc,
                    "paragraph": hit.passage.paragraph,
                    "score": round(hit.score, 4),
                    "text": hit.passage.text,
                    "translation": hit.passage.translation,
                    "highlight": hit.highlight(self.language),
                }
                for hit in self.hits
            ],
        }
