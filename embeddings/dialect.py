"""Dialect question and function words rewritten as their MSA equivalents, for lexical matching.

Questions come in Egyptian, Levantine, Gulf, Iraqi and Maghrebi Arabic ("مين حضر؟",
"وين التقوا؟", "شو قال بوتين؟", "هو كيم راح روسيا ازاي؟"); the article is in MSA. Lexical
matching and the answer-type rules read MSA question words, so :func:`to_msa` rewrites the
dialect ones: مين -> من, وين/فين -> أين, شو/ايه/شنو -> ماذا, ليش/ليه -> لماذا, كام/قديش -> كم,
اللي -> الذي, مش/مو -> ليس, دلوقتي/هلق -> الآن, بده/عايز -> يريد...

Words are matched on their :func:`embeddings.normalize.normalise` form, so the output is
normalised text. A conjunction or preposition glued to a dialect word is kept (وليش ->
ولماذا, بكام -> بكم, لمين -> لمن); Levantine هال+noun is هذا ال+noun; رح/راح before an
imperfect verb is the future (رح يزور -> سيزور), راح elsewhere is "went" (ذهب). Words that
are also common MSA words with another meaning (عمل, سوى, صار, دول...) are left out; the data
file says why.

All language data is in ``embeddings/data/dialect.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .datafile import read_json_object
from .normalize import normalise

DATA_FILE = "dialect.json"
DIALECTS = ("egyptian", "levantine", "gulf", "iraqi", "maghrebi")
KINDS = ("question", "function", "verb", "noun")


class DialectDataError(ValueError):
    """``embeddings/data/dialect.json`` does not have the expected shape."""


@dataclass(frozen=True, slots=True)
class DialectData:
    """The contents of ``dialect.json``, normalised and indexed."""

    words: dict[str, str]  # normalised dialect word -> normalised MSA
    kinds: dict[str, str]  # normalised dialect word -> "question" / "function" / "verb" / "noun"
    dialects: dict[str, frozenset[str]]  # normalised dialect word -> dialects that use it
    prefixes: tuple[str, ...]  # longest first
    min_stem: int
    min_stem_after_waw: int
    never_split: frozenset[str]
    this_prefix: str
    this_msa: str
    this_min_stem: int
    future_particles: frozenset[str]
    future_prefix: str
    verb_initials: frozenset[str]
    not_after: dict[str, frozenset[str]]
    not_before_prefix: dict[str, tuple[str, ...]]
    at_start: dict[str, str]
    left_out: dict[str, str]

    @property
    def contextual(self) -> frozenset[str]:
        """Words whose mapping depends on their neighbours (decided after the others)."""
        return frozenset({*self.future_particles, *self.not_after, *self.not_before_prefix, *self.at_start})


def _data_path() -> Any:
    return resources.files("embeddings") / "data" / DATA_FILE


def _fail(message: str) -> DialectDataError:
    return DialectDataError(f"{_data_path()}: {message}")


def _word(value: object, where: str) -> str:
    """One normalised Arabic word (or words) from the data file."""
    if not isinstance(value, str) or not normalise(value):
        raise _fail(f"{where}: {value!r} must be a non-empty Arabic word")
    return normalise(value)


def _words(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _fail(f"{where} must be a non-empty list of words")
    return [_word(item, where) for item in value]


def _section(raw: dict[str, Any], name: str, kind: type) -> Any:
    value = raw.get(name)
    if not isinstance(value, kind):
        raise _fail(f"{name} must be a JSON {'object' if kind is dict else kind.__name__}")
    return value


@cache
def load_dialect() -> DialectData:
    """Read and check ``embeddings/data/dialect.json`` (once per process)."""
    raw = read_json_object(_data_path(), DialectDataError)

    words: dict[str, str] = {}
    kinds: dict[str, str] = {}
    dialects: dict[str, set[str]] = {}
    entries = _section(raw, "entries", list)
    if not entries:
        raise _fail("entries is empty")
    for number, entry in enumerate(entries, 1):
        where = f"entries[{number}]"
        if not isinstance(entry, dict) or entry.get("kind") not in KINDS:
            raise _fail(f"{where} must be an object with msa, kind ({', '.join(KINDS)}) and dialect word lists")
        unknown = set(entry) - {"msa", "kind", *DIALECTS}
        if unknown or not set(entry) & set(DIALECTS):
            raise _fail(f"{where} must list words under {', '.join(DIALECTS)} only (found {sorted(entry)})")
        msa = _word(entry.get("msa"), f"{where}.msa")
        for dialect in DIALECTS:
            for word in _words(entry[dialect], f"{where}.{dialect}") if dialect in entry else ():
                if " " in word:
                    raise _fail(f"{where}.{dialect}: {word!r} must be one word")
                if words.get(word, msa) != msa:
                    raise _fail(f"{word!r} maps to both {words[word]!r} and {msa!r}")
                if word == msa:
                    raise _fail(f"{where}.{dialect}: {word!r} is already the MSA word")
                words[word] = msa
                kinds[word] = entry["kind"]
                dialects.setdefault(word, set()).add(dialect)
    outputs = {w for msa in words.values() for w in msa.split()}
    if outputs & words.keys():
        raise _fail(f"MSA words that are also dialect words: {sorted(outputs & words.keys())}")

    this = _section(raw, "this_prefix", dict)
    future = _section(raw, "future", dict)
    context = _section(raw, "context", dict)
    not_after: dict[str, frozenset[str]] = {}
    not_before: dict[str, tuple[str, ...]] = {}
    at_start: dict[str, str] = {}
    for key, rule in context.items():
        word = _word(key, "context")
        if word not in words or not isinstance(rule, dict) or len(rule) != 1:
            raise _fail(f"context: {key!r} must be a dialect word from entries with one rule")
        if "not_after" in rule:
            not_after[word] = frozenset(_words(rule["not_after"], f"context.{key}.not_after"))
        elif "not_before_prefix" in rule:
            not_before[word] = tuple(_words(rule["not_before_prefix"], f"context.{key}.not_before_prefix"))
        elif "at_start" in rule:
            at_start[word] = _word(rule["at_start"], f"context.{key}.at_start")
        else:
            raise _fail(f"context: {key!r} has an unknown rule {sorted(rule)}")
    min_stem, min_stem_after_waw = raw.get("min_stem"), raw.get("min_stem_after_waw")
    if not all(isinstance(n, int) and n >= 1 for n in (min_stem, min_stem_after_waw)):
        raise _fail("min_stem and min_stem_after_waw must be positive integers")
    left_out = _section(raw, "left_out", dict)
    if not all(isinstance(v, str) for v in left_out.values()):
        raise _fail("left_out must map words to the reason they are not mapped")
    if {normalise(w) for w in left_out} & words.keys():
        raise _fail(f"left_out words that are mapped anyway: {sorted({normalise(w) for w in left_out} & words.keys())}")
    this_min_stem = this.get("min_stem")
    if not isinstance(this_min_stem, int) or this_min_stem < 1:
        raise _fail("this_prefix.min_stem must be a positive integer")
    return DialectData(
        words=words,
        kinds=kinds,
        dialects={word: frozenset(found) for word, found in dialects.items()},
        prefixes=tuple(sorted(_words(raw.get("prefixes"), "prefixes"), key=len, reverse=True)),
        min_stem=min_stem,
        min_stem_after_waw=min_stem_after_waw,
        never_split=frozenset(_words(raw.get("never_split"), "never_split")),
        this_prefix=_word(this.get("prefix"), "this_prefix.prefix"),
        this_msa=_word(this.get("msa"), "this_prefix.msa"),
        this_min_stem=this_min_stem,
        future_particles=frozenset(_words(future.get("particles"), "future.particles")),
        future_prefix=_word(future.get("msa_prefix"), "future.msa_prefix"),
        verb_initials=frozenset(_words(future.get("verb_initials"), "future.verb_initials")),
        not_after=not_after,
        not_before_prefix=not_before,
        at_start=at_start,
        left_out=left_out,
    )


def _glue(prefix: str, msa: str, data: DialectData) -> str:
    """Prefix + MSA word; when that is itself a dialect word (ف + أين = فاين), its MSA word."""
    glued = prefix + msa
    return data.words.get(glued, glued)


@dataclass(frozen=True, slots=True)
class _Match:
    prefix: str  # glued clitic kept in front of the MSA word ("و" in "وليش")
    core: str  # the dialect word, or a هال+noun word


def _find(word: str, data: DialectData) -> _Match | None:
    """The dialect word inside a normalised word, behind at most one glued prefix."""
    for prefix in ("", *data.prefixes):
        if prefix and (not word.startswith(prefix) or word in data.never_split):
            continue
        core = word[len(prefix) :]
        if prefix and len(core) < (data.min_stem_after_waw if prefix == "و" else data.min_stem):
            continue
        if core in data.words or core in data.future_particles:
            return _Match(prefix, core)
        if core.startswith(data.this_prefix) and len(core) - len(data.this_prefix) >= data.this_min_stem:
            return _Match(prefix, core)
    return None


def _rewrite(text: str) -> tuple[list[str], list[str]]:
    """(output words, dialect words that were mapped) for ``text``."""
    data = load_dialect()
    words = normalise(text).split()
    found = [_find(word, data) for word in words]
    out = list(words)
    # Pass 1: words that mean the same wherever they stand.
    for i, match in enumerate(found):
        if match is None or match.core in data.contextual:
            continue
        if match.core in data.words:
            out[i] = _glue(match.prefix, data.words[match.core], data)
        else:  # هالاجتماع -> هذا الاجتماع
            out[i] = f"{match.prefix}{data.this_msa} ال{match.core[len(data.this_prefix) :]}"
    # Pass 2: words read from their neighbours as pass 1 left them.
    settled = list(out)
    consumed: set[int] = set()
    for i, match in enumerate(found):
        if match is None or match.core not in data.contextual or i in consumed:
            continue
        core = match.core
        before = settled[i - 1].split()[-1] if i > 0 else None
        after = settled[i + 1].split()[0] if i + 1 < len(words) else None
        if core in data.future_particles and after and after[0] in data.verb_initials and len(after) >= 3:
            out[i] = match.prefix + data.future_prefix + settled[i + 1]  # رح يزور -> سيزور
            out[i + 1] = ""
            consumed.add(i + 1)
            continue
        if before in data.not_after.get(core, ()) or (after and after.startswith(data.not_before_prefix.get(core, ()))):
            continue  # the MSA word in this context: في ذلك الحين, أنهى الزعيمان
        msa = data.at_start[core] if i == 0 and core in data.at_start else data.words.get(core)
        if msa is not None:
            out[i] = _glue(match.prefix, msa, data)
    mapped = [words[i] for i in range(len(words)) if out[i] != words[i] and i not in consumed]
    return [w for w in out if w], mapped


def to_msa(text: str) -> str:
    """Normalised ``text`` with dialect words replaced by MSA ones: "وين التقوا؟" -> "اين التقوا".

    Idempotent: the MSA words are never dialect words themselves.
    """
    return " ".join(_rewrite(text)[0])


def dialect_words(text: str) -> list[str]:
    """The (normalised) words of ``text`` that :func:`to_msa` rewrites, in order."""
    return _rewrite(text)[1]
