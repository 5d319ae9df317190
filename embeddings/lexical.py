"""BM25 over normalised, lightly stemmed words, one index per language view of the corpus."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .corpus import Corpus, Passage
from .normalize import normalise, stem, tokens

# Question and function words: they say how a question is asked, not what about.
# Kept short on purpose; anything else frequent is discounted by BM25's idf.
STOPWORDS = frozenset(
    normalise(w)
    for w in """
    a an the and or but of to in on at for from by with about as is are was were be been being do
    does did has have had will would can could should shall may might must this that these those it
    its there then than what which who whom whose when where why how tell me please us you your i we
    he she they them his her their our so if not no yes any some all also just into over after
    before during while again more most very much many did says said say according s
    في من على الى إلى عن مع ما ماذا لماذا متى اين أين كيف كم هل من هو هي هم هما انا نحن انت انتم
    الذي التي الذين ذلك تلك هذا هذه هؤلاء هناك هنا ثم او أو ام أم لا لم لن قد كان كانت يكون تكون و ف
    ب ل ك اي أي كل بعد قبل عند بين حول ايه إيه ايش إيش شو وين ليش ازاي إزاي امتى إمتى فين مين اللي
    ده دي دا كده عشان علشان يعني بس مش مو شنو وش
    """.split()
)

# Arabic clitics glued to the front of a word: conjunctions (و ف), prepositions
# (ب ك ل) and the article (ال). Snowball's Arabic stemmer misses "وال..." forms.
_AR_PREFIXES = ("وبال", "وال", "بال", "كال", "فال", "لل", "ال")


def _light_stem(word: str) -> str:
    for prefix in _AR_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 3:
            word = word[len(prefix) :]
            break
    else:
        if word[:1] in ("و", "ف") and len(word) >= 5:
            word = word[1:]
    return stem(word)


def terms(text: str) -> list[str]:
    """Stemmed content words of ``text`` used for lexical matching."""
    return [_light_stem(t) for t in tokens(text) if t not in STOPWORDS]


def _bm25s() -> Any:
    import bm25s  # imported here so commands that never search do not pay for it

    # bm25s forces its logger to DEBUG on import, which floods our logs.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


class LexicalIndexError(Exception):
    """A saved BM25 index cannot be read."""


class LexicalIndex:
    """BM25 (via ``bm25s``) over one language view of every passage."""

    def __init__(self, documents: Sequence[list[str]]) -> None:
        self._size = len(documents)
        self._bm25 = _bm25s().BM25()
        # bm25s rejects an empty vocabulary; a placeholder keeps every row addressable.
        rows = [doc or ["\x00"] for doc in documents]
        # bm25s numbers words in set order, which string hashing changes from process to process;
        # numbered here in sorted order, one corpus always saves to the same bytes (a shipped
        # index's version is a hash of its files). The scores are the same either way.
        vocabulary = {word: n for n, word in enumerate(sorted({word for row in rows for word in row}))}
        self._bm25.index(([[vocabulary[word] for word in row] for row in rows], vocabulary), show_progress=False)

    def __len__(self) -> int:
        return self._size

    def save(self, directory: Path) -> None:
        """Write the model in bm25s's own format: JSON vocabulary and parameters, and the sparse
        score matrix as ``.npy`` arrays (no pickle). Loading it needs no tokenising."""
        self._bm25.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, *, mmap: bool = False) -> LexicalIndex:
        """A model written by :meth:`save`; ``mmap`` maps the score arrays read-only instead of reading them."""
        try:
            bm25 = _bm25s().BM25.load(str(directory), mmap=mmap, show_progress=False)
            size = int(bm25.scores["num_docs"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LexicalIndexError(f"cannot read the BM25 model in {directory}: {exc}") from exc
        index = cls.__new__(cls)
        index._size, index._bm25 = size, bm25
        return index

    def scores(self, query_terms: list[str]) -> np.ndarray:
        """BM25 score of every passage for the query terms (zeros when nothing matches)."""
        if not query_terms:
            return np.zeros(self._size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(query_terms), dtype=np.float32)


def build_lexical(
    corpus: Corpus,
    *,
    with_questions: bool = False,
    extra: Mapping[int, Sequence[tuple[str, str]]] | None = None,
    languages: Iterable[str] | None = None,
) -> dict[str, LexicalIndex]:
    """One BM25 index per language; passages without that language use their original text.

    ``with_questions`` expands each paragraph with its editors' questions in that language
    (document expansion: the words readers use for what the paragraph says). ``extra`` adds
    more (language, question) pairs per passage position (questions taught at run time), and
    ``languages`` limits the build to those languages (a taught question rebuilds one).
    """

    def document(n: int, passage: Passage, language: str) -> list[str]:
        words = terms(passage.text_in(language))
        if with_questions:
            words += [t for q in passage.questions_in(language) for t in terms(q)]
            words += [t for lang, q in (extra or {}).get(n, ()) if lang == language for t in terms(q)]
        return words

    return {
        language: LexicalIndex([document(n, p, language) for n, p in enumerate(corpus.passages)])
        for language in sorted(corpus.languages if languages is None else languages)
    }
