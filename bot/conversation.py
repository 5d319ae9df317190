"""One chat's conversation: the previous question (for follow-ups) and the last answer (for More/Original).

Shared by the Telegram handlers and ``summit-bot chat`` so both answer the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from embeddings.retriever import Answer, Retriever

# How many passages an answer keeps for the "More" button.
ANSWER_DEPTH = 5


@dataclass(slots=True)
class Conversation:
    """The state a follow-up needs; small enough to persist per chat."""

    previous: str | None = None  # the last question, with the context it was read in
    last_answer: Answer | None = None
    shown: int = 0  # index of the hit currently shown from last_answer

    def ask(self, retriever: Retriever, question: str) -> Answer:
        """Answer ``question`` in the light of the previous one and remember it."""
        answer = retriever.ask(question, k=ANSWER_DEPTH, context=self.previous)
        # A follow-up's meaning includes its context: "and when?" after "Where did they meet?"
        # is remembered as both, so the next follow-up still knows the topic.
        self.previous = f"{self.previous} {question}" if answer.used_context and self.previous else question
        self.previous = self.previous[-500:]
        self.last_answer = answer
        self.shown = 0
        return answer
