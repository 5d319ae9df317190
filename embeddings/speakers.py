"""Who speaks in the article, for "What did Lavrov say?" when Lavrov only took part.

A report names people who speak ("Putin said", "Kim told his counterpart", "according to Mr
Putin") and people who do not ("Foreign Minister Sergei Lavrov took part in the talks"). A
question about what a silent one said clears every similarity threshold — its paragraph names
him — yet the article cannot answer it. The ``said`` kind of ``data/fact_types.json`` hands such
questions here.

People are read from the English text (the original or the aligned translation): two capitalised
words in a row, neither a title, a nationality or a weekday ("Sergei Lavrov", "Ahn Chan-il"). A
person speaks when a sentence names them before a speech word ("said", "told", "warned") or after
"according to". Their Arabic spellings are the article's own words that their names become when
transliterated ("lavrov" -> "لافروف"), so an Arabic question is read too. A question naming nobody
the article knows as a person is not refused here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from .names import SENTENCE, TOKEN, is_name
from .normalize import normalise

_AR_CLITICS = ("و", "ف", "ب", "ل", "ك")


@dataclass(frozen=True, slots=True)
class Speakers:
    """The article's people (Latin and Arabic spellings, normalised) and those of them who speak."""

    people: frozenset[str]
    speaking: frozenset[str]
    arabic: Mapping[str, str] = field(default_factory=dict)  # a name's word -> its spelling in the Arabic text

    @classmethod
    def from_texts(
        cls,
        english: Iterable[str],
        *,
        not_names: frozenset[str],
        speech_words: frozenset[str],
        arabic_spelling: Callable[[str], str | None] = lambda name: None,
    ) -> Speakers:
        """Read people and speakers from the English texts; ``arabic_spelling`` gives a name's
        spelling in the Arabic text, if it has one."""
        people: set[str] = set()
        speaking: set[str] = set()
        for text in english:
            for sentence in SENTENCE.split(text):
                tokens = TOKEN.findall(sentence)
                names = _people(tokens, not_names)
                people |= {tokens[i].lower() for i in names}
                for i in names:
                    before = [t.lower() for t in tokens[max(0, i - 4) : i]]
                    after = {t.lower() for t in tokens[i + 1 :]}
                    if after & speech_words or "according" in before:
                        speaking.add(tokens[i].lower())
        spelled: dict[str, str] = {}
        for name in list(people):
            arabic = arabic_spelling(name)
            if arabic:
                spelled[name] = arabic
                people.add(arabic)
                if name in speaking:
                    speaking.add(arabic)
        return cls(frozenset(people), frozenset(speaking), spelled)

    def names_someone_else(self, sentence: str, question: str, *, not_names: frozenset[str]) -> bool:
        """Whether an English sentence names a person the question does not (in either spelling)."""
        asked = set(normalise(question).split())
        asked |= {word[len(c) :] for word in asked for c in _AR_CLITICS if word.startswith(c)}
        tokens = TOKEN.findall(sentence)
        for run in _names(tokens, not_names):
            words = [tokens[i].lower() for i in run]
            if not any(w in asked or self.arabic.get(w) in asked for w in words):
                return True  # no word of this name is in the question: someone else
        return False

    def silent(self, question: str) -> str | None:
        """A person the question names who never speaks in the article, if any (as written there)."""
        for word in normalise(question).split():
            for form in (word, *(word[len(c) :] for c in _AR_CLITICS if word.startswith(c) and len(word) > 3)):
                stem = form[:-1] if form.endswith("s") and form[:-1] in self.people else form  # "lavrovs"
                if stem in self.people:
                    if stem not in self.speaking:
                        return stem
                    break
        return None


def _names(tokens: list[str], not_names: frozenset[str]) -> list[list[int]]:
    """Each person's name in ``tokens``: a run of two or more capitalised words ("Kim Jong Un")."""

    runs: list[list[int]] = []
    run: list[int] = []
    for i in range(len(tokens) + 1):
        if i < len(tokens) and is_name(tokens[i], not_names):
            run.append(i)
            continue
        if len(run) >= 2:
            runs.append(run)
        run = []
    return runs


def _people(tokens: list[str], not_names: frozenset[str]) -> list[int]:
    """Indexes of tokens that belong to a person's name."""
    return [i for run in _names(tokens, not_names) for i in run]
