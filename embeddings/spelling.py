"""Question words the corpus spells differently, rewritten to the corpus's own spelling.

Transliterated names have no one spelling: "Shoygu"/"Shoigu", "Vostochniy"/"Vostochny",
"Vladivostock", "pyong yang", "شويجو"/"شويغو", "بيونج يانج", "فلاديفستوك". A question
that spells a name differently from the article loses the name's lexical match, and the
4-bit e5 splits the unfamiliar spelling into other sub-words. So before retrieval, every
question word that the corpus never uses is compared with the corpus's own words and, when
one is a near-identical spelling, replaced by it. Words the corpus uses are never touched,
so a question spelled as in the article is read exactly as typed.

Built from the corpus itself: a new article brings its own names.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from .normalize import normalise, stem

_WORD = re.compile(r"\w+")
# Letters that transliterations of one sound swap: the hard g is written غ, ج, ق or گ in
# Arabic (شويغو/شويجو, بيونغ/بيونج); y and i alternate in Latin (Vostochny/Vostochniy);
# "ck", hard "c" and "q" are "k" (Vladivostock). Compared on these skeletons, such spellings are equal.
_AR_SOUNDS = str.maketrans({"غ": "ج", "ق": "ج", "گ": "ج", "ك": "ج"})
# Doubled Latin letters are one sound ("Vladivostokk"); Arabic writes no doubled letters for a
# sound (that is shadda), so "اللي" (dialect "who") keeps its two lams.
_LATIN_SOUNDS = ((re.compile(r"ck|c(?=[aou])|q"), "k"), (re.compile(r"y"), "i"), (re.compile(r"([a-z])\1+"), r"\1"))
# Words of at least this many letters may differ from the corpus's spelling by one edit
# (فلاديفستوك/فلاديفوستوك, فوستوتشني/فوستوشني); shorter ones must have the same skeleton. Measured on
# eval/questions.jsonl: allowing one edit from five letters, or two from eight, rewrote ordinary
# words into other corpus words (times -> ties, اتفاق -> آفاق, الهجومية -> الكورية) and cost more
# than the names gained.
MIN_EDIT_LENGTH = 8
MIN_LENGTH = 4


def skeleton(word: str) -> str:
    """The letters of a normalised word that survive the usual transliteration swaps."""
    word = word.translate(_AR_SOUNDS)
    for pattern, replacement in _LATIN_SOUNDS:
        word = pattern.sub(replacement, word)
    return word


# Arabizi writes vowels the way they sound ("el bet el abyad" -> "البت الابياد") and one Latin
# letter for emphatic and plain consonants alike (d for د and ض, s for س and ص): transliterated
# words are compared with the article's on their consonants, emphatics folded.
_AR_VOWEL_LETTERS = str.maketrans("", "", "اويىءأإآؤئ")
_AR_EMPHATICS = str.maketrans(
    {"ض": "د", "ص": "س", "ط": "ت", "ظ": "ز", "ح": "ه", "ق": "ك", "غ": "ج", "ث": "ت", "ذ": "د"}
)
# Fewer consonants than this match too many words ("بت" is بيت, بات, بنت...).
MIN_CONSONANTS = 3


def consonants(word: str) -> str:
    """The consonants of a normalised Arabic word, emphatics folded, a final ت/ه alike."""
    bare = word.translate(_AR_VOWEL_LETTERS).translate(_AR_EMPHATICS)
    return bare[:-1] + "ت" if bare.endswith("ه") else bare


def _opens_sentence(text: str, at: int) -> bool:
    """Whether the word at ``at`` opens a sentence or a quote (its capital says nothing)."""
    before = text[:at].rstrip()
    return not before or before[-1] in '.!?:;"“«(–-\n'


def _max_edits(word: str) -> int:
    return 1 if len(word) >= MIN_EDIT_LENGTH else 0


@dataclass(slots=True)
class Speller:
    """The corpus's words, by skeleton, and how the article writes each one."""

    surface: dict[str, str] = field(default_factory=dict)  # normalised word -> as written in the article
    stems: set[str] = field(default_factory=set)
    _by_skeleton: dict[str, str] = field(default_factory=dict)  # skeleton -> normalised word
    _buckets: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # first letter -> skeletons
    # Latin words the article writes with a capital inside a sentence more often than without:
    # its names ("kim" -> "Kim", "vostochny" -> "Vostochny"), for :meth:`truecase`. A name written
    # only at the start of sentences is not among them: that capital says nothing.
    proper: set[str] = field(default_factory=set)
    _by_consonants: dict[str, str] | None = None  # consonants -> the one article word with them (see snap)

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Speller:
        """Learn the vocabulary of ``texts`` (every language view of every passage)."""
        speller = cls()
        capitals: dict[str, int] = defaultdict(int)  # capitalised inside a sentence minus written small
        for text in texts:
            for match in _WORD.finditer(text):
                raw = match.group()
                if raw.isascii() and raw.isalpha() and not _opens_sentence(text, match.start()):
                    capitals[raw.lower()] += 1 if raw[0].isupper() else -1
                word = normalise(match.group())
                if not word or " " in word or word in speller.surface:
                    continue
                speller.surface[word] = match.group()
                speller.stems.add(stem(word))
                if len(word) >= MIN_LENGTH - 1:
                    key = skeleton(word)
                    if key not in speller._by_skeleton:
                        speller._by_skeleton[key] = word
                        speller._buckets[key[0]].append(key)
        speller.proper = {word for word, lead in capitals.items() if lead > 0}
        return speller

    def to_json(self) -> dict[str, Any]:
        """The learnt vocabulary as JSON (a shipped index carries it, so loading re-reads no text)."""
        return {
            "surface": self.surface,
            "stems": sorted(self.stems),
            "skeletons": self._by_skeleton,
            "proper": sorted(self.proper),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Speller:
        """The speller :meth:`to_json` described; buckets are rebuilt in the original order."""
        speller = cls(
            surface={str(k): str(v) for k, v in data["surface"].items()},
            stems={str(s) for s in data["stems"]},
            _by_skeleton={str(k): str(v) for k, v in data["skeletons"].items()},
            proper={str(w) for w in data.get("proper", ())},  # absent from indexes shipped before it
        )
        for key in speller._by_skeleton:  # dicts keep insertion order: the order from_texts appended in
            speller._buckets[key[0]].append(key)
        return speller

    def known(self, word: str) -> bool:
        """Whether the corpus uses this normalised word (or another form of its stem)."""
        return word in self.surface or stem(word) in self.stems

    def closest(self, word: str) -> str | None:
        """The corpus word this unknown normalised word is a variant spelling of, if any."""
        if len(word) < MIN_LENGTH or word.isdigit() or self.known(word):
            return None
        key = skeleton(word)
        found = process.extractOne(
            key, self._buckets.get(key[0], ()), scorer=Levenshtein.distance, score_cutoff=_max_edits(key)
        )
        return self._by_skeleton[found[0]] if found else None

    def _lookup(self, word: str) -> str | None:
        """How the article writes ``word`` or its closest spelling (None: leave the word as typed)."""
        if word in self.surface:
            return self.surface[word]
        corpus_word = self.closest(word)
        return self.surface[corpus_word] if corpus_word else None

    def snap(self, text: str, *, keep: frozenset[str] = frozenset()) -> str:
        """Arabizi transliterated to Arabic, each word the article never uses rewritten to the one
        article word with the same consonants ("البت الابياد" -> "البيت الأبيض"); else as it is.

        Words in ``keep`` (the Arabizi and dialect dictionaries' own spellings: "كده") stay, and a
        glued "و" ("and") stays in front of the word it is glued to."""
        if self._by_consonants is None:
            found: dict[str, set[str]] = defaultdict(set)
            for word in self.surface:
                if word.isascii():
                    continue
                # An article word without its "ال" too: "korea chamalia" is "كوريا شمالية", and the
                # article only writes "الشمالية". The surface form then drops the "ال" as well.
                forms = [word, word[2:]] if word.startswith("ال") else [word]
                for form in forms:
                    key = consonants(form)
                    if len(key) >= MIN_CONSONANTS:
                        found[key].add(form)
            self._by_consonants = {k: next(iter(v)) for k, v in found.items() if len(v) == 1}

        by_consonants = self._by_consonants

        def rewrite(match: re.Match[str]) -> str:
            word = normalise(match.group())
            if not word or word.isascii() or word in keep or self.known(word):
                return match.group()
            glued = "و" if word.startswith("و") and len(consonants(word[1:])) >= MIN_CONSONANTS else ""
            corpus_word = by_consonants.get(consonants(word[len(glued) :]))
            if corpus_word is None:
                return match.group()
            surface = self.surface.get(corpus_word) or self.surface["ال" + corpus_word][2:]
            return glued + surface

        return _WORD.sub(rewrite, text)

    def truecase(self, text: str) -> str:
        """English ``text`` with a capital first letter and the article's names capitalised."""
        text = _WORD.sub(lambda m: m.group().capitalize() if m.group() in self.proper else m.group(), text)
        return text[:1].upper() + text[1:]

    def correct(self, text: str) -> str:
        """``text`` with each variant spelling replaced by the article's; unchanged when there is none."""
        matches = list(_WORD.finditer(text))
        words = [normalise(m.group()) for m in matches]
        out: list[str] = []
        position = i = 0
        while i < len(matches):
            span = 1
            replacement = None
            if words[i] and not self.known(words[i]):
                # "pyong yang" typed apart: two unknown words that together are one corpus word.
                if i + 1 < len(words) and words[i + 1] and not self.known(words[i + 1]):
                    replacement = self._lookup(words[i] + words[i + 1])
                    span = 2 if replacement else 1
                replacement = replacement or self._lookup(words[i])
            if replacement is not None:
                out += [text[position : matches[i].start()], replacement]
                position = matches[i + span - 1].end()
            i += span
        out.append(text[position:])
        return "".join(out)
