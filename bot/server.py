"""``summit-bot serve``: the bot as a webhook server, one of N processes behind a load balancer.

Telegram POSTs each update to ``/telegram``. The update is handled **inside the request**
(``Application.process_update``; the Application has no Updater) and the answer is 200 only
once the reply went out, so an update is never acknowledged before it is answered. PTB's own
``run_webhook`` acknowledges first and queues, which loses the queue on a crash: not used here.

Exactly-once across processes: before handling, the process takes the update's lease
(:mod:`bot.leases`; Redis ``SET NX PX`` when shared). A redelivered update that was answered
gets 200 without work; one being answered elsewhere gets 503 (Telegram retries later). On a
transient failure (a store or Telegram unreachable) the lease is released and the answer is
503 with ``Retry-After``, so Telegram delivers the update again, to this or another process.

Endpoints: ``POST /telegram``, ``GET /healthz`` (the process answers), ``GET /readyz`` (index
loaded, stores reachable, not draining), ``GET /metrics`` (Prometheus, :mod:`bot.metrics`).
SIGTERM stops readiness and new connections, lets requests in flight finish, then shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.error import NetworkError
from telegram.ext import Application
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from embeddings.answer_cache import StoredAnswerCache
from embeddings.embedders import BatchingEmbedder
from embeddings.retriever import Retriever

from . import metrics
from .app import build_application, install_token_filter, key_prefix, post_init, prepare_data_dir, stop_following
from .connections import StoreUnavailable, sync_redis
from .handlers.errors import track_outcome
from .index_watch import IndexWatcher
from .leases import Claim
from .services import SERVICES_KEY, ServiceError, Services, load_embedder, open_retriever
from .settings import Settings

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Retry-After seconds: short for a busy process (another may take it), longer while starting.
RETRY_BUSY = 1
RETRY_STORES = 2
RETRY_NOT_READY = 5
# Answers kept in the shared cache: keys carry the index version and the editors' decisions, so an
# entry is never wrong, only unused after a change; an hour bounds what a news burst leaves behind.
ANSWER_TTL = 3600
START_RETRY_MAX = 30  # seconds between start attempts while a store is down


def _retry(seconds: int, outcome: str) -> Response:
    metrics.UPDATES.labels(outcome).inc()
    return PlainTextResponse(outcome, status_code=503, headers={"Retry-After": str(seconds)})


def shared_answer_cache(settings: Settings) -> StoredAnswerCache | None:
    """The answer cache all processes share (Redis), or None for the retriever's own memory cache."""
    if not settings.redis_url:
        return None
    prefix = key_prefix(settings.require_token()) + "answer:"
    return StoredAnswerCache(sync_redis(settings.redis_url), ttl=ANSWER_TTL, prefix=prefix)


class WebhookServer:
    """One process's webhook app: loads the bot in the background, then takes updates."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._secret = settings.require_webhook_secret().encode()
        self.application: Application | None = None
        self.not_ready: str | None = "loading the index"
        self.draining = False
        self.in_flight = 0
        self._loader: asyncio.Task[None] | None = None
        self._watcher: IndexWatcher | None = None

    # -- lifecycle ------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        """Start loading (so /healthz answers at once), and on shutdown close everything."""
        self._loader = asyncio.create_task(self._load(), name="load the bot")
        try:
            yield
        finally:
            self.draining = True
            metrics.READY.set(0)
            await self._close()

    async def _load(self) -> None:
        settings = self.settings
        try:
            # One model for the life of the process, behind the micro-batcher that lets questions
            # of several chats waiting at once share one embedding call.
            embedder = BatchingEmbedder(await asyncio.to_thread(load_embedder, settings))
            answers = shared_answer_cache(settings)
            retriever = await asyncio.to_thread(
                open_retriever, settings, repair=True, embedder=embedder, answers=answers
            )
            application = await self._start_bot(retriever)
        except ServiceError as exc:
            # Stay up and say why on /readyz: an operator reads it there, the orchestrator waits.
            log.critical("not ready: %s", exc)
            self.not_ready = str(exc)
            return
        except Exception as exc:
            log.critical("not ready: the bot failed to start", exc_info=True)
            self.not_ready = f"start-up failed: {exc.__class__.__name__}"
            return
        self.application = application
        svc = self.services
        metrics.INDEX.info({"version": svc.retriever.version})
        if settings.shipped_index is not None:
            self._watcher = IndexWatcher.for_settings(
                settings,
                embedder,
                self._swap,
                version=svc.retriever.version,
                prepare=svc.gaps.apply,  # the editors' decisions hold in every version
                lock=svc.reload_lock,
                answers=answers,
            )
            self._watcher.start()
        self.not_ready = None
        metrics.READY.set(1)
        log.info("ready: index %s, %d paragraphs", svc.retriever.version, len(svc.retriever.corpus.passages))

    async def _start_bot(self, retriever: Retriever) -> Application:
        """Build and start the Application, waiting out stores (or Telegram) not answering yet.

        Processes often start together with their stores (compose, a cluster restart): a store
        that is not up yet is a reason to wait, with /readyz saying so, not to stay unready forever.
        """

        def waiting(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            self.not_ready = f"waiting for the stores or Telegram: {exc}"
            log.warning("%s; trying again", self.not_ready)

        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type((StoreUnavailable, NetworkError)),
            wait=wait_exponential(multiplier=1, max=START_RETRY_MAX),
            before_sleep=waiting,
            reraise=True,
        ):
            with attempt:
                application = build_application(self.settings, retriever, webhook=True)
                try:
                    await application.initialize()
                    await post_init(application)
                    await application.start()  # the job queue; and delivery retries only while running
                except BaseException:
                    await self._discard(application)
                    raise
        return application

    @staticmethod
    async def _discard(application: Application) -> None:
        """Close what a failed start opened (its stores and gap store)."""
        svc: Services | None = application.bot_data.get(SERVICES_KEY)
        with contextlib.suppress(Exception):
            if application.running:
                await application.stop()
            await stop_following(application)
            await application.shutdown()
        if svc is not None:
            with contextlib.suppress(Exception):
                await svc.stores.aclose()
            with contextlib.suppress(Exception):
                svc.gaps.close()

    def _swap(self, retriever: Retriever) -> None:
        """A new shipped index version: updates already in flight finish on the old one."""
        self.services.retriever = retriever
        metrics.INDEX.info({"version": retriever.version})
        metrics.INDEX_SWAPS.inc()
        log.info("now answering from index %s", retriever.version)

    async def _close(self) -> None:
        if self._loader is not None and not self._loader.done():
            self._loader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loader
        if self._watcher is not None:
            await self._watcher.stop()
        application = self.application
        if application is None:
            return
        if application.running:
            await application.stop()
        await stop_following(application)
        await application.shutdown()
        await self.services.stores.aclose()
        self.services.gaps.close()
        log.info("stopped")

    @property
    def services(self) -> Services:
        assert self.application is not None
        return self.application.bot_data[SERVICES_KEY]

    # -- endpoints ------------------------------------------------------------------------

    async def telegram(self, request: Request) -> Response:
        """One update from Telegram: 200 once answered (or already answered), else 403/400/503."""
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, "").encode(), self._secret):
            metrics.UPDATES.labels("forbidden").inc()
            return PlainTextResponse("wrong secret token", status_code=403)
        application = self.application
        if application is None or self.draining:
            return _retry(RETRY_NOT_READY, "not_ready")
        if self.in_flight >= self.settings.max_in_flight:
            return _retry(RETRY_BUSY, "overloaded")
        try:
            update = Update.de_json(json.loads(await request.body()), application.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            metrics.UPDATES.labels("malformed").inc()
            return PlainTextResponse("not a Telegram update", status_code=400)
        self.in_flight += 1
        metrics.IN_FLIGHT.inc()
        started = time.perf_counter()
        try:
            return await self._handle(application, update)
        finally:
            self.in_flight -= 1
            metrics.IN_FLIGHT.dec()
            metrics.UPDATE_SECONDS.observe(time.perf_counter() - started)

    async def _handle(self, application: Application, update: Update) -> Response:
        leases = self.services.stores.leases
        try:
            claim = await leases.claim(update.update_id)
        except StoreUnavailable as exc:
            log.warning("update %s: lease store unreachable (%s); Telegram will redeliver", update.update_id, exc)
            return _retry(RETRY_STORES, "store_down")
        if claim is Claim.DONE:
            metrics.UPDATES.labels("duplicate").inc()
            return Response(status_code=200)
        if claim is Claim.BUSY:
            return _retry(RETRY_BUSY, "busy")
        outcome = track_outcome()
        try:
            await application.process_update(update)
        except BaseException:
            # Cancelled (shutdown past its grace) or a bug outside the handlers: let it be redelivered.
            with contextlib.suppress(StoreUnavailable):
                await leases.release(update.update_id)
            raise
        if outcome.retry is not None:
            with contextlib.suppress(StoreUnavailable):
                await leases.release(update.update_id)
            kind = "store_down" if isinstance(outcome.retry, StoreUnavailable) else "telegram_down"
            return _retry(RETRY_STORES, kind)
        try:
            await leases.finish(update.update_id)
        except StoreUnavailable as exc:
            # The reply went out: a 503 now would answer it twice. The lease expires on its own.
            log.warning("update %s answered but not marked done (%s)", update.update_id, exc)
        metrics.UPDATES.labels("answered").inc()
        # An empty body: Telegram would run a method named in a 2xx body.
        return Response(status_code=200)

    async def healthz(self, _request: Request) -> Response:
        """The process answers (liveness): nothing here may block on a store or the index."""
        return JSONResponse({"ok": True})

    async def readyz(self, _request: Request) -> Response:
        """Ready for updates: index loaded, stores reachable, not draining (503 with the reason)."""
        reason = "draining" if self.draining else self.not_ready
        if reason is None:
            try:
                await asyncio.wait_for(self.services.stores.ping(), timeout=2.0)
            except (StoreUnavailable, TimeoutError) as exc:
                reason = f"store unreachable: {exc}"
        metrics.READY.set(0 if reason else 1)
        if reason:
            return JSONResponse({"ready": False, "reason": reason}, status_code=503)
        svc = self.services
        return JSONResponse(
            {"ready": True, "index": svc.retriever.version, "paragraphs": len(svc.retriever.corpus.passages)}
        )

    async def metrics(self, _request: Request) -> Response:
        """Prometheus text format."""
        return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)

    def asgi(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/telegram", self.telegram, methods=["POST"]),
                Route("/healthz", self.healthz, methods=["GET"]),
                Route("/readyz", self.readyz, methods=["GET"]),
                Route("/metrics", self.metrics, methods=["GET"]),
            ],
            lifespan=self.lifespan,
        )


class _DrainingServer(uvicorn.Server):
    """uvicorn, made unready the moment SIGTERM/SIGINT arrives (before it stops listening)."""

    def __init__(self, config: uvicorn.Config, webhook: WebhookServer) -> None:
        super().__init__(config)
        self.webhook = webhook

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.webhook.draining = True
        metrics.READY.set(0)
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM:
            # A drain is the orderly end (exit 0); uvicorn would re-raise the signal after it.
            self._captured_signals = [s for s in self._captured_signals if s != signal.SIGTERM]


def serve(settings: Settings, *, host: str | None = None, port: int | None = None) -> int:
    """Run the webhook server until SIGTERM/SIGINT; requests in flight finish first."""
    token = settings.require_token()
    install_token_filter(token)
    os.umask(0o077)
    prepare_data_dir(settings)
    webhook = WebhookServer(settings)
    config = uvicorn.Config(
        webhook.asgi(),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,  # our logging (with the token filter), not uvicorn's
        access_log=False,  # one line per update is Prometheus's job
        lifespan="on",
        # In-flight answers get as long as an update's lease to finish; after that they are cut
        # and Telegram redelivers them to another process.
        timeout_graceful_shutdown=max(1, int(settings.update_lease)),
    )
    _DrainingServer(config, webhook).run()
    return 0
