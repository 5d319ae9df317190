"""The terminal front-end: ``summit-bot chat`` and the plain text of ``summit-bot ask``.

It renders the conversation engine's replies (:mod:`bot.dialogue`) as plain text, the way
the Telegram handlers render them as HTML: the same reply, the same buttons, as typed commands.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from dataclasses import dataclass

from embeddings.retriever import RetrievalError

from .dialogue import Dialogue, DialogueState, Reply
from .messages import other_language, t
from .replies import answer_segments, to_plain

PROMPT = "you> "
HINT = (
    "Ask in English or Arabic. Commands: /more, /original, /summary, /quit (and /1, /2 when offered).  "
    "اسأل بالعربية أو الإنجليزية.\n"
)


def render_plain(reply: Reply) -> str:
    """A reply as plain text: its segments, then its buttons as lines a reader can act on."""
    lines = [reply.text]
    alternatives = [b for b in reply.buttons if b.action == "alternative"]
    suggestions = [b for b in reply.buttons if b.action == "suggest"]
    if alternatives:
        lines.append(t(reply.language, "alternatives"))
        lines += [f"  /{b.index}  {b.label}" for b in alternatives]
    elif reply.kind == "answer" and reply.answer is not None and len(reply.answer.hits) > 1:
        others = ", ".join(f"¶{h.passage.paragraph}" for h in reply.answer.hits[1:])
        lines.append(f"{t(reply.language, 'more')}: {others}")
    lines += [f"  - {b.label}" for b in suggestions]
    return "\n".join(lines)


@dataclass
class TerminalChat:
    """One terminal conversation: the engine's state plus the answer on screen (for /more, /original)."""

    dialogue: Dialogue
    write: Callable[[str], None] = print
    state: DialogueState | None = None
    last: Reply | None = None
    shown: int = 0  # index of the passage of ``last`` on screen

    def say(self, text: str) -> None:
        self.write("bot> " + text.replace("\n", "\n     ") + "\n")

    def handle(self, line: str) -> bool:
        """React to one typed line; False when the user asked to quit."""
        if line in ("/quit", "/exit"):
            return False
        if line == "/summary":
            language = self.last.language if self.last else "en"
            self.say(render_plain(self.dialogue.summary(language)))
            return True
        if line in ("/more", "/original") or (line[:1] == "/" and line[1:].isdigit()):
            self._show(line)
            return True
        try:
            reply, self.state = self.dialogue.respond(self.state or DialogueState(), line)
        except RetrievalError:
            self.say(t("en", "empty"))
            return True
        if reply.kind == "answer":
            self.last, self.shown = reply, 0
        self.say(render_plain(reply))
        return True

    def _show(self, command: str) -> None:
        """/more, /original or /N: another passage of the last answer, or the same one in the other language."""
        reply = self.last
        answer = reply.answer if reply is not None else None
        if reply is None or answer is None:
            self.say(t("en", "empty"))
            return
        language = reply.language
        if command == "/original":
            language = other_language(language)
        else:
            index = self.shown + 1 if command == "/more" else int(command[1:])
            if index >= len(answer.hits):
                self.say(t(language, "no_more"))
                return
            self.shown = index
            if self.state is not None:  # a follow-up now refers to the passage on screen
                self.state.shown = answer.hits[index].passage.id
        hit = answer.hits[self.shown]
        self.say(to_plain(answer_segments(answer, hit, self.dialogue.retriever.corpus, language, confidence=False)))


def run_chat(dialogue: Dialogue, *, is_utf8: Callable[[str], bool]) -> int:
    """The interactive loop on stdin/stdout until /quit or end of input."""
    if isinstance(sys.stdin, io.TextIOWrapper):  # undecodable bytes become surrogates, reported per line
        sys.stdin.reconfigure(errors="surrogateescape")
    doc = dialogue.retriever.corpus.documents[0]
    print(f"{doc.title('en')}\n{doc.title('ar')}")
    print(HINT)
    chat = TerminalChat(dialogue)
    while True:
        try:
            line = input(PROMPT).strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        except UnicodeDecodeError:
            line = "\udcff"  # reported just below
        if not is_utf8(line):
            print("bot> That line was not valid UTF-8 text; please type it again.\n")
            continue
        if line and not chat.handle(line):
            return 0
