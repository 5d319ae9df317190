"""The conversation engine: (conversation state, user text) -> a reply as data.

Transport-free: the Telegram handlers, ``summit-bot chat`` and ``summit-bot ask`` all call
:meth:`Dialogue.respond` and only render its :class:`Reply` (segments, buttons as data), so
the terminal and Telegram can never disagree. One message takes this path:

1. read it once (:meth:`Retriever.read`: Arabizi, spelling, dialect) and embed it once;
2. decide its intent on that vector (:mod:`bot.intents`): small talk, a question about the
   bot or the article, a summary request, or a question;
3. a question goes to retrieval with the previous question and the passage shown last, so
   follow-ups ("and when?", "who said that?") read the conversation as the user saw it;
4. compose the reply: the answer with its key sentence, the runner-up passages as buttons
   when the best does not clearly win, or an honest "the article does not say".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Literal

from embeddings.answer_types import describe
from embeddings.corpus import Document, Passage, example_questions
from embeddings.entities import entity_named
from embeddings.evaluation import Responder, Response
from embeddings.language import detect_language
from embeddings.retriever import Answer, Hit, RetrievalError, Retriever
from embeddings.summary import summarise

from .intents import Guess, Intent, IntentClassifier
from .messages import t
from .replies import Segment, answer_segments, refusal_segments, to_plain

# How many passages an answer keeps for the "More" button.
ANSWER_DEPTH = 5
# Runner-up passages offered as buttons when the best does not clearly win.
ALTERNATIVES = 2
SUGGESTIONS = 3
LABEL_WORDS = 6  # words of a key sentence on a button
CONTEXT_CHARS = 500  # a follow-up chain keeps this much of its history

ReplyKind = Literal["answer", "refusal", "greeting", "thanks", "goodbye", "help", "summary"]
ButtonAction = Literal["alternative", "suggest"]


@dataclass(frozen=True, slots=True)
class Button:
    """A button under a reply, as data: front-ends decide how to offer it.

    ``alternative``: show passage ``index`` of this answer; ``suggest``: ask example question
    ``index`` of ``language``.
    """

    action: ButtonAction
    label: str
    index: int
    language: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One reply: what kind it is, its text as segments, the passages it quotes, its buttons."""

    kind: ReplyKind
    intent: Intent
    language: str
    segments: tuple[Segment, ...]
    answer: Answer | None = None
    buttons: tuple[Button, ...] = ()
    reason: str | None = None  # for a question not answered: "not_in_article" or "fact_not_stated"
    passages: tuple[Passage, ...] = ()  # the passages the reply quotes, in order
    message: str = ""  # what the user typed (retrieval answers carry it in ``answer.question``)

    @property
    def text(self) -> str:
        """The reply as a person reads it, plain text (bold as *asterisks*)."""
        return to_plain(self.segments)

    def to_json(self) -> dict[str, Any]:
        """The ``summit-bot ask --json`` object: the retrieval fields, plus intent, text and reason."""
        if self.answer is not None:
            data = self.answer.to_json()
        else:
            data = {
                "question": self.message,
                "language": self.language,
                "answered": self.kind == "summary",
                "confidence": "high" if self.kind == "summary" else "low",
                "used_context": False,
                "passages": [
                    {"id": p.id, "doc": p.doc, "paragraph": p.paragraph, "text": p.text, "translation": p.translation}
                    for p in self.passages
                ],
            }
        data["intent"] = self.intent
        data["text"] = self.text
        if self.reason is not None:
            data["reason"] = self.reason
        return data


@dataclass(slots=True)
class DialogueState:
    """What a follow-up needs from the conversation so far; small enough to persist per chat."""

    previous: str | None = None  # the last question, folded with the context it was read in
    shown: str | None = None  # id of the passage the last answer showed

    def dumps(self) -> str:
        """One JSON string, for a state store."""
        return json.dumps({"previous": self.previous, "shown": self.shown}, ensure_ascii=False)

    @classmethod
    def loads(cls, stored: str | None) -> DialogueState:
        """The state a store kept; plain text (stored before the state held more) is the previous question."""
        if not stored:
            return cls()
        try:
            data = json.loads(stored)
        except ValueError:
            return cls(previous=stored)
        if not isinstance(data, dict):
            return cls(previous=stored)
        previous, shown = data.get("previous"), data.get("shown")
        return cls(
            previous=previous if isinstance(previous, str) else None,
            shown=shown if isinstance(shown, str) else None,
        )


@dataclass
class Dialogue:
    """Answers messages about the corpus a :class:`Retriever` serves."""

    retriever: Retriever
    intents: IntentClassifier
    cache: bool = True  # False: every answer is computed afresh (evaluation times real work)

    def respond(
        self, state: DialogueState, text: str, *, language: str | None = None, depth: int = ANSWER_DEPTH
    ) -> tuple[Reply, DialogueState]:
        """The reply to ``text`` and the state after it; ``language`` forces the reply language.

        Raises :class:`embeddings.retriever.RetrievalError` for an empty message.
        """
        retriever = self.retriever
        query = retriever.read(text)
        if not query.typed:
            raise RetrievalError("the question is empty")
        vector = retriever.vector(query.text)
        guess = self.intents.classify(
            query.typed, query.text, vector=vector, article_similarity=lambda: retriever.closeness(vector)
        )
        reply_language = language or query.language
        if state.previous and not any(c.isalpha() for c in query.typed):
            reply_language = language or detect_language(state.previous)  # "👍" answers in the chat's language
        if guess.language and not language:
            reply_language = guess.language  # "bslama", "shukran": Arabic in Latin letters
        if guess.intent != "question":
            return replace(self._small_talk(guess, reply_language, state), message=query.typed), state

        answer = retriever.ask(
            text, k=depth, context=state.previous, shown=state.shown, cache=self.cache, read=(query, vector)
        )
        reply_language = language or answer.language
        folded = f"{state.previous} {query.typed}" if answer.used_context and state.previous else query.typed
        after = replace(state, previous=folded[-CONTEXT_CHARS:])
        if not answer.answered or not answer.hits:
            return self._refusal(answer, reply_language), after
        after.shown = answer.hits[0].passage.id
        return self._answer(answer, reply_language), after

    def responder(self) -> Responder:
        """For ``summit-bot eval``: each question in a fresh chat, after its context question if any."""

        def respond(question: str, *, context: str | None = None) -> Response:
            state = DialogueState()
            if context:
                _, state = self.respond(state, context, depth=3)
            reply, _ = self.respond(state, question, depth=3)
            return Response(reply.intent, reply.answer)

        return respond

    # -- replies --------------------------------------------------------------------------------

    def _answer(self, answer: Answer, language: str) -> Reply:
        corpus = self.retriever.corpus
        best = answer.hits[0]
        segments = answer_segments(answer, best, corpus, language)
        buttons: tuple[Button, ...] = ()
        if answer.close_call or answer.confidence != "high":
            # The runner-ups within one tap: the top-3 figure is what a reader reaches.
            buttons = tuple(
                Button("alternative", _label(hit, language), n, language)
                for n, hit in enumerate(answer.hits[1 : 1 + ALTERNATIVES], start=1)
            )
        return Reply(
            kind="answer",
            intent="question",
            language=language,
            segments=tuple(segments),
            answer=answer,
            buttons=buttons,
            passages=tuple(h.passage for h in answer.hits),
        )

    def _refusal(self, answer: Answer, language: str) -> Reply:
        if answer.reason == "fact_not_stated" and answer.hits and answer.attribute:
            # The article is about the right thing but never gives the fact: say so, and show what it does say.
            best = answer.hits[0]
            segments: list[Segment] = [
                (t(language, "fact_not_stated", what=describe(answer.attribute, language)), False),
                ("\n" + t(language, "closest") + "\n", False),
                (best.highlight(language), False),
                (" (", False),
                Segment(f"¶{best.passage.paragraph}", cite=best.passage.id),
                (")", False),
            ]
            passages: tuple[Passage, ...] = (best.passage,)
        elif answer.entity is not None and (stranger := entity_named(answer.entity)) is not None:
            # Names someone the article never mentions: say who, rather than a bare "not in the article".
            segments = [
                (t(language, "not_mentioned", who=stranger.name(language)), False),
                ("\n" + t(language, "suggest"), False),
            ]
            passages = ()
        else:
            segments = refusal_segments(language)
            passages = ()
        return Reply(
            kind="refusal",
            intent="question",
            language=language,
            segments=tuple(segments),
            answer=answer,
            buttons=self.suggestions(language),
            reason=answer.reason or "not_in_article",
            passages=passages,
        )

    def _small_talk(self, guess: Guess, language: str, state: DialogueState) -> Reply:
        document = self._document(state)
        title = document.title(language)
        if guess.intent == "summary":
            return self.summary(language, document=document)
        if guess.intent == "greeting":
            segments: list[Segment] = [(t(language, "hello", title=title), False)]
            return Reply("greeting", "greeting", language, tuple(segments), buttons=self.suggestions(language))
        if guess.intent == "thanks":
            return Reply("thanks", "thanks", language, ((t(language, "welcome"), False),))
        if guess.intent == "goodbye":
            return Reply("goodbye", "goodbye", language, ((t(language, "bye"), False),))
        lines = [t(language, "whoami", title=title)]
        source = document.source_in(language)
        if source:
            lines.append(t(language, "source_line", source=source))
        if document.date:
            lines.append(t(language, "date_line", date=document.date))
        return Reply("help", "help", language, (("\n\n".join(lines), False),), buttons=self.suggestions(language))

    def summary(self, language: str, *, document: Document | None = None) -> Reply:
        """The title, dateline and key sentences of an article (the first one by default), each cited."""
        document = document or self.retriever.corpus.documents[0]
        summary = summarise(self.retriever, document, language)
        head = summary.title
        where = t(language, "list_separator").join(x for x in (summary.dateline, summary.date) if x)
        segments: list[Segment] = [(head, True), (f"\n{where}" if where else "", False)]
        segments.append((f"\n\n{t(language, 'summary_editor' if summary.by_editor else 'summary_intro')}", False))
        by_number = {p.paragraph: p for p in self.retriever.corpus.passages if p.doc == document.id}
        for point in summary.points:
            cited = by_number.get(point.paragraph)
            segments += [
                Segment(f"\n• {point.text} ("),
                Segment(f"¶{point.paragraph}", cite=cited.id if cited else None),
                Segment(")"),
            ]
        passages = tuple(by_number[p.paragraph] for p in summary.points if p.paragraph in by_number)
        return Reply("summary", "summary", language, tuple(s for s in segments if s[0]), passages=passages)

    def suggestions(self, language: str) -> tuple[Button, ...]:
        """The first example questions of the articles, as "suggest" buttons."""
        questions = example_questions(self.retriever.corpus, language)[:SUGGESTIONS]
        return tuple(Button("suggest", q, n, language) for n, q in enumerate(questions))

    def _document(self, state: DialogueState) -> Document:
        """The article the conversation is about: the one last answered from, else the first."""
        corpus = self.retriever.corpus
        shown = corpus.passage(state.shown) if state.shown else None
        if shown is not None:
            return next(d for d in corpus.documents if d.id == shown.doc)
        return corpus.documents[0]


def _label(hit: Hit, language: str) -> str:
    """A button label: the paragraph number and the first words of its key sentence."""
    words = hit.highlight(language).split()
    text = " ".join(words[:LABEL_WORDS]) + (" …" if len(words) > LABEL_WORDS else "")
    return f"¶{hit.passage.paragraph} · {text}"
