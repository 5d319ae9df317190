"""The ``summit-bot`` command line: index, ask, chat, eval, add, articles, remove, gaps, run, start,
serve, webhook and settings.

Thin by design: each command parses its flags, builds what it needs from
:class:`~bot.settings.Settings` and calls into ``embeddings`` or ``bot``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from .settings import REPO_ROOT, Settings, SettingsError

EXIT_USAGE = 2
DEFAULT_QUESTIONS = REPO_ROOT / "eval" / "questions.jsonl"
log = logging.getLogger("summit-bot")


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit code 2."""


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # These libraries narrate every request or import at INFO; keep the log about us.
    for noisy in ("faiss.loader", "httpx", "bm25s", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _open_dialogue(settings: Settings, *, repair: bool = False):
    """:func:`bot.services.open_dialogue`, its failure reported as a :class:`CommandError`."""
    from .services import ServiceError, open_dialogue

    try:
        return open_dialogue(settings, repair=repair)
    except ServiceError as exc:
        raise CommandError(str(exc)) from exc


def _progress(done: int, total: int) -> None:
    if total >= 200:  # not worth a progress line for a single article
        print(f"\rembedding {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)


# -- index ------------------------------------------------------------------------------------


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    """Build or refresh the index of seeds/; with ``--out DIR``, also publish it there as a shipped index."""
    from embeddings.corpus import CorpusError, load_corpus
    from embeddings.embedders import EmbedderError, create_embedder
    from embeddings.store import IndexUnreadableError, open_index

    if args.keep is not None and args.out is None:
        raise CommandError("--keep applies to a shipped index: use it with --out DIR")
    try:
        corpus = load_corpus(settings.seeds_dir)
        embedder = create_embedder(settings.embedder, model=settings.model)
        loaded = open_index(corpus, embedder, settings.index_dir, rebuild=args.rebuild, repair=True, progress=_progress)
    except (CorpusError, EmbedderError, IndexUnreadableError) as exc:
        raise CommandError(str(exc)) from exc
    m = loaded.manifest
    print(
        f"index ready: {len(corpus.documents)} article(s), {m.passages} paragraphs, {m.count} vectors "
        f"({m.index_kind}, {m.backend} {m.model_id}, dim {m.dim}) in {settings.index_dir}"
    )
    if args.out is not None:
        _publish(Path(args.out), args.keep, settings, corpus, embedder, loaded)
    return 0


def _publish(out: Path, keep: int | None, settings: Settings, corpus, embedder, loaded) -> None:
    """Write the index just built (its vectors are not embedded again) into ``out`` as a new version."""
    from embeddings.artifact import ArtifactError, write_artifact
    from embeddings.retriever import Retriever

    from .intents import IntentClassifier, IntentDataError

    try:
        # Built exactly as a server would build them from seeds/: the BM25 models and the speller.
        retriever = Retriever(corpus=corpus, embedder=embedder, index=loaded)
        intents = IntentClassifier.load(embedder, cache_dir=settings.index_dir)
        assert retriever.speller is not None  # built in __post_init__
        published = write_artifact(
            out,
            corpus=corpus,
            embedder=embedder,
            index=loaded,
            lexical=retriever.lexical,
            expanded=retriever.expanded,
            speller=retriever.speller,
            extras={IntentClassifier.cache_name(embedder): intents.vectors},
            keep=keep,
        )
    except (ArtifactError, IntentDataError, OSError) as exc:
        raise CommandError(f"cannot publish the index into {out}: {exc}") from exc
    state = "new" if published.created else "unchanged: identical to the version already there"
    print(f"version {published.version}: {published.path} ({state}); {out / 'CURRENT'} -> {published.version}")
    if published.pruned:
        print(f"pruned {len(published.pruned)} older version(s): {', '.join(published.pruned)}")
    if settings.database_url:
        _catalogue(settings, published.version, published.path)


def _catalogue(settings: Settings, version: str, path: Path) -> None:
    """Record the published version in the shared index catalogue (PostgreSQL) as the active one."""
    from .catalogue import IndexCatalogue
    from .connections import StoreUnavailable

    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    catalogue = None
    try:
        catalogue = IndexCatalogue(settings.database_url)
        catalogue.register(version, manifest, str(path))
        catalogue.activate(version)
    except StoreUnavailable as exc:
        # The artifact is published (CURRENT moved): the servers pick it up; only the record is missing.
        print(f"summit-bot: warning: the index catalogue was not updated ({exc})", file=sys.stderr)
        return
    finally:
        if catalogue is not None:
            catalogue.close()
    print(f"index catalogue: {version} registered and active")


# -- ask --------------------------------------------------------------------------------------


def _stdin_questions() -> Iterator[tuple[int, str | None, str | None]]:
    """(line number, question, error) for each non-blank stdin line; bad UTF-8 is an error, not a stop."""
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            yield number, None, f"line {number} is not valid UTF-8 (byte {exc.start}); skipped"
            continue
        if text:
            yield number, text, None


def _is_utf8(text: str) -> bool:
    """False for text holding undecodable bytes (Python passes them on as lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer one question, or one per stdin line, through the same engine as the bot."""
    from embeddings.retriever import RetrievalError

    from .dialogue import DialogueState
    from .terminal import render_plain

    if args.question is not None and not args.question.strip():
        raise CommandError('the question is empty: summit-bot ask "Where did Kim and Putin meet?"')
    if args.k < 1:
        raise CommandError("-k must be at least 1")
    for value in (args.question, args.context):
        if value is not None and not _is_utf8(value):
            raise CommandError("the question is not valid UTF-8 text; check your terminal's encoding")
    dialogue = _open_dialogue(settings)
    start = DialogueState()
    if args.context and args.context.strip():
        # The previous question is asked first, as in a chat, so a follow-up sees the answer it got.
        with contextlib.suppress(RetrievalError):
            _, start = dialogue.respond(start, args.context, depth=args.k)

    def emit(question: str) -> None:
        reply, _ = dialogue.respond(DialogueState(start.previous, start.shown), question, depth=args.k)
        if args.json:
            print(json.dumps(reply.to_json(), ensure_ascii=False), flush=True)
        else:
            print(render_plain(reply) + "\n", flush=True)

    if args.question is not None:
        emit(args.question)
        return 0
    failures = 0
    for number, question, error in _stdin_questions():
        if error is None and question is not None:
            try:
                emit(question)
                continue
            except RetrievalError as exc:
                error = f"line {number}: {exc}"
        failures += 1
        print(f"summit-bot: {error}", file=sys.stderr)
        if args.json:
            print(json.dumps({"line": number, "error": error}), flush=True)
    return EXIT_USAGE if failures else 0


# -- chat -------------------------------------------------------------------------------------


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    """A terminal conversation with the same replies the bot gives."""
    from .terminal import run_chat

    return run_chat(_open_dialogue(settings, repair=True), is_utf8=_is_utf8)


# -- eval -------------------------------------------------------------------------------------


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Run a question set through the conversation engine and print the metrics table."""
    from embeddings.evaluation import evaluate, load_questions

    from .dialogue import Dialogue

    path = Path(args.questions)
    try:
        questions = load_questions(path)
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read the question set: {exc}") from exc
    dialogue = _open_dialogue(settings, repair=True)

    def responder(retriever):
        return Dialogue(retriever, dialogue.intents, cache=False).responder()

    if args.ablation:
        from embeddings.ablation import run_ablation

        print(run_ablation(dialogue.retriever, questions, as_json=args.json, responder=responder))
        return 0
    report = evaluate(responder(dialogue.retriever), questions)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print(report.table())
        if args.misses:
            print("\nMisses (top passage not an answer, off-topic question answered, or small talk read wrong):")
            print("\n".join(f"  {m}" for m in report.misses()))
    return 0


# -- articles ---------------------------------------------------------------------------------


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    """Add an article from a file or URL: written into seeds/, embedded alone, indexed."""
    from embeddings.ingest import IngestError

    from .articles import add_article, languages, read_source, refuse_if_shipped

    try:
        refuse_if_shipped(settings)  # before fetching anything
    except IngestError as exc:
        raise CommandError(str(exc)) from exc
    try:
        source = read_source(args.source)
        translation = read_source(args.translation) if args.translation else None
        added = add_article(
            settings, source, translation=translation, title=args.title, origin=args.origin, date=args.date
        )
    except IngestError as exc:
        raise CommandError(f"{args.source}: {exc}") from exc
    doc, corpus = added.document, added.retriever.corpus
    print(
        f"added {doc.id}: {doc.title(doc.language)} ({doc.date or 'no date'}; {doc.paragraph_count} paragraphs; "
        f"{', '.join(languages(corpus, doc))}) in {added.seconds:.1f}s; {len(corpus.documents)} articles in "
        f"{settings.seeds_dir}"
    )
    return 0


def cmd_articles(args: argparse.Namespace, settings: Settings) -> int:
    """List the articles in seeds/."""
    from embeddings.corpus import CorpusError, load_corpus

    from .articles import article_rows

    try:
        corpus = load_corpus(settings.seeds_dir)
    except CorpusError as exc:
        raise CommandError(str(exc)) from exc
    print("\n".join(article_rows(corpus, "en")))
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    """Take one article out of seeds/ and the index."""
    from embeddings.corpus import CorpusError, load_corpus
    from embeddings.ingest import IngestError

    from .articles import find_document, refuse_if_shipped, remove_article

    try:
        refuse_if_shipped(settings)
        document = find_document(load_corpus(settings.seeds_dir), args.article)
        if document is None:
            raise IngestError(f"there is no article {args.article!r} (see summit-bot articles)")
        retriever = remove_article(settings, document.id)
    except (CorpusError, IngestError) as exc:
        raise CommandError(str(exc)) from exc
    print(f"removed {document.id}; {len(retriever.corpus.documents)} articles left")
    return 0


# -- gaps -------------------------------------------------------------------------------------


def cmd_gaps(args: argparse.Namespace, settings: Settings) -> int:
    """List the knowledge gaps, or export the editors' decisions as eval rows."""
    from .gaps import export_rows, table
    from .services import ServiceError, open_gap_store

    try:
        store = open_gap_store(settings)
    except ServiceError as exc:
        raise CommandError(str(exc)) from exc
    if store is None:
        if args.action == "list":
            print(f"no gaps recorded yet ({settings.gaps_db} does not exist)")
        rows: list[dict] = []
    else:
        try:
            if args.action == "list":
                print(table(store.groups(), store.decisions()))
                return 0
            rows = export_rows(store.decisions())
        finally:
            store.close()
    if args.action == "export":
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        if args.out:
            try:
                Path(args.out).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"cannot write {args.out}: {exc}") from exc
            print(f"{len(rows)} rows written to {args.out}", file=sys.stderr)
        else:
            sys.stdout.write(text)
    return 0


# -- run / start ------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the Telegram bot (long polling)."""
    try:
        settings.require_token()
    except SettingsError as exc:
        raise CommandError(str(exc)) from exc
    from .app import run_bot
    from .services import ServiceError

    try:
        return run_bot(settings)
    except ServiceError as exc:
        raise CommandError(str(exc)) from exc


def cmd_start(args: argparse.Namespace, settings: Settings) -> int:
    """The bot when TELEGRAM_BOT_TOKEN is set, the terminal chat otherwise."""
    if settings.token:
        return cmd_run(args, settings)
    print("TELEGRAM_BOT_TOKEN is not set: starting the terminal chat (see README to run the Telegram bot).\n")
    return cmd_chat(args, settings)


SCALE_EXTRA = "summit-bot serve needs the server libraries: pip install -e '.[scale]' (or make setup)"


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the webhook server (one of N processes behind a load balancer)."""
    try:
        settings.require_token()
        settings.require_webhook_secret()
    except SettingsError as exc:
        raise CommandError(str(exc)) from exc
    try:
        from .server import serve
    except ImportError as exc:
        raise CommandError(f"{SCALE_EXTRA} ({exc.name} is missing)") from exc
    return serve(settings, host=args.host, port=args.port)


def cmd_webhook(args: argparse.Namespace, settings: Settings) -> int:
    """Set, delete or show the bot's webhook at Telegram."""
    from .webhook import WebhookError, delete_webhook, set_webhook, webhook_info

    try:
        if args.action == "set":
            info = set_webhook(settings, args.url)
        elif args.action == "delete":
            info = delete_webhook(settings)
        else:
            info = webhook_info(settings)
    except (SettingsError, WebhookError) as exc:
        raise CommandError(str(exc)) from exc
    if args.json:
        print(json.dumps(info.to_json(), ensure_ascii=False))
        return 0
    print(f"url: {info.url or '(none: the bot long-polls with summit-bot run)'}")
    print(f"pending updates: {info.pending_update_count}")
    if info.max_connections is not None:
        print(f"max connections: {info.max_connections}")
    if info.allowed_updates:
        print(f"allowed updates: {', '.join(info.allowed_updates)}")
    print(f"last error: {info.last_error or 'none'}")
    return 0


def cmd_settings(args: argparse.Namespace, settings: Settings) -> int:
    """Every environment variable, its default and what it does."""
    from .settings import describe

    for name, default, description in describe():
        print(f"{name}={default}\n    {description}")
    return 0


def _at_least_one(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="summit-bot", description="Questions and answers about the Kim–Putin summit article (Arabic/English)."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    index = sub.add_parser("index", help="build or refresh the index of seeds/")
    index.add_argument("--rebuild", action="store_true", help="rebuild even when the index is up to date")
    index.add_argument(
        "--out",
        metavar="DIR",
        help="also publish it as a shipped index: DIR/<version>/, then DIR/CURRENT names that version",
    )
    index.add_argument(
        "--keep",
        type=_at_least_one,
        metavar="N",
        help="with --out: keep N versions (the current one and the newest others)",
    )
    index.set_defaults(func=cmd_index)

    ask = sub.add_parser("ask", help="answer a question (or one per line from stdin)")
    ask.add_argument("question", nargs="?", help="the question; omit to read one per line from stdin")
    ask.add_argument("-k", type=int, default=3, help="passages to return (default 3)")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")
    ask.add_argument("--context", metavar="PREVIOUS QUESTION", help="the previous question, for follow-ups")
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", help="talk to the bot in the terminal")
    chat.set_defaults(func=cmd_chat)

    ev = sub.add_parser("eval", help="Recall@1/3, MRR and refusal on the project's question set")
    ev.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ev.add_argument("--questions", default=str(DEFAULT_QUESTIONS), help="question set (JSONL)")
    ev.add_argument("--misses", action="store_true", help="also list questions whose top passage is wrong")
    ev.add_argument("--ablation", action="store_true", help="switch each retrieval technique off in turn")
    ev.set_defaults(func=cmd_eval)

    add = sub.add_parser("add", help="add an article from a file (.txt .md .html .pdf .docx) or an http(s) URL")
    add.add_argument("source", metavar="PATH_OR_URL")
    add.add_argument("--translation", metavar="PATH_OR_URL", help="its translation, aligned paragraph for paragraph")
    add.add_argument("--title", help="the title (default: the one the file or page gives)")
    add.add_argument("--source", dest="origin", metavar="SOURCE", help="where it was published")
    add.add_argument("--date", help="publication date, YYYY-MM-DD")
    add.set_defaults(func=cmd_add)
    sub.add_parser("articles", help="list the articles in seeds/").set_defaults(func=cmd_articles)
    remove = sub.add_parser("remove", help="take an article out of seeds/ and the index")
    remove.add_argument("article", metavar="ID_OR_NUMBER")
    remove.set_defaults(func=cmd_remove)

    gaps = sub.add_parser("gaps", help="questions the bot could not answer well, and the editors' decisions")
    gaps_sub = gaps.add_subparsers(dest="action", required=True)
    gaps_sub.add_parser("list", help="open gaps grouped by question, most asked first, then the decisions")
    export = gaps_sub.add_parser("export", help="decisions as eval/questions.jsonl rows (for eval --questions)")
    export.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    gaps.set_defaults(func=cmd_gaps)

    run = sub.add_parser("run", help="run the Telegram bot")
    run.set_defaults(func=cmd_run)
    start = sub.add_parser("start", help="the bot if TELEGRAM_BOT_TOKEN is set, else the terminal chat")
    start.set_defaults(func=cmd_start)

    serve = sub.add_parser("serve", help="the bot as a webhook server (POST /telegram, /healthz, /readyz, /metrics)")
    serve.add_argument("--host", help="address to listen on (default SUMMIT_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default SUMMIT_PORT, 8080)")
    serve.set_defaults(func=cmd_serve)

    webhook = sub.add_parser("webhook", help="point Telegram at the webhook servers (set URL), or back (delete)")
    webhook_sub = webhook.add_subparsers(dest="action", required=True)
    webhook_set = webhook_sub.add_parser("set", help="register URL (https://…/telegram) with the secret")
    webhook_set.add_argument("url", metavar="URL")
    webhook_delete = webhook_sub.add_parser("delete", help="remove the webhook (pending updates are kept)")
    webhook_info = webhook_sub.add_parser("info", help="Telegram's view: URL, pending updates, last error")
    for action in (webhook_set, webhook_delete, webhook_info):
        action.add_argument("--json", action="store_true", help="print Telegram's view of the webhook as JSON")
    webhook.set_defaults(func=cmd_webhook)

    sub.add_parser("settings", help="every environment variable, its default and meaning").set_defaults(
        func=cmd_settings
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"summit-bot: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(settings.log_level if args.command in ("run", "start", "serve") else "WARNING")
    # Whatever the command, say when (and why) the index is being rebuilt: it takes a while.
    logging.getLogger("embeddings.store").setLevel(logging.INFO)
    try:
        return int(args.func(args, settings) or 0)
    except CommandError as exc:
        print(f"summit-bot: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
